"""The event contract and settings, without any server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from policy.idnumber import make_id_number, person_key
from schemas.events import EVENT_CATALOG, EventEnvelope, build_event, event_id_for, parse_payload
from schemas.payloads import (
    FREE_TEXT,
    CertificateIssued,
    CertificateRevoked,
    RegistrationApproved,
    RegistrationExpired,
)
from schemas.topics import Topic, all_topic_names
from skillflow.settings import Settings, SettingsError, load_settings

PERSON = person_key("11010519491231002X", b"0123456789abcdef")


def _envelope(application_id: str = "a-1") -> EventEnvelope:
    return build_event(
        RegistrationExpired(application_id=application_id, session_id="s-1"),
        business_key=application_id,
        occurred_at=datetime(2026, 11, 22, tzinfo=UTC),
        producer="tests",
        correlation_id="wf-1",
        person_key=PERSON,
    )


def test_event_id_is_deterministic_per_type_and_business_key() -> None:
    assert _envelope().event_id == _envelope().event_id
    assert _envelope("a-1").event_id != _envelope("a-2").event_id
    assert event_id_for(RegistrationExpired.event_type, "a-1") != event_id_for(
        RegistrationApproved.event_type, "a-1"
    )


def test_envelope_round_trips_and_routes_to_its_topic() -> None:
    envelope = _envelope()
    again = EventEnvelope.model_validate_json(envelope.model_dump_json())
    assert again == envelope
    assert envelope.topic is Topic.REGISTRATION
    assert envelope.message_key == PERSON.encode()
    assert parse_payload(again) == RegistrationExpired(application_id="a-1", session_id="s-1")


def test_envelope_rejects_a_raw_id_number_as_person_key_and_naive_times() -> None:
    raw = _envelope().model_dump(mode="json")
    with pytest.raises(ValidationError) as error:
        EventEnvelope.model_validate({**raw, "person_key": "11010519491231002X"})
    assert "person_key" in str(error.value)
    with pytest.raises(ValidationError):
        EventEnvelope.model_validate({**raw, "occurred_at": "2026-11-22T08:00:00"})
    with pytest.raises(ValidationError):
        EventEnvelope.model_validate({**raw, "unexpected": 1})


def test_no_payload_can_carry_an_id_number_field() -> None:
    for event_type, payload in EVENT_CATALOG.items():
        fields = set(payload.model_fields)
        assert not fields & {"id_number", "id_card", "identity_number", "holder_name"}, event_type


def test_free_text_fields_are_optional_and_read_as_before() -> None:
    """Producers leave them empty; events written before, with the text, still parse."""
    for event_type, field in FREE_TEXT:
        model = EVENT_CATALOG[event_type].model_fields[field]
        assert not model.is_required() and model.default == "", (event_type, field)
    old = CertificateRevoked.model_validate_json(
        '{"certificate_number": "S000000000000000000000", "reason": "伪造学历", '
        '"revoked_on": "2026-01-01"}'
    )
    assert old.reason == "伪造学历"
    assert (
        CertificateRevoked(certificate_number="S" + "0" * 21, revoked_on=old.revoked_on).reason
        == ""
    )


def test_certificate_issued_payload_validates_the_number_shape() -> None:
    with pytest.raises(ValidationError):
        CertificateIssued(
            application_id="a",
            certificate_number="X123",
            body_id="b",
            body_type="S",
            occupation_code="6-31-01-03",
            level=3,
            issued_on=datetime(2026, 1, 1).date(),
            holder_name_masked="张*",
        )


def test_every_topic_has_a_dead_letter_twin() -> None:
    names = all_topic_names()
    for topic in Topic:
        assert topic.value in names and f"{topic.value}.dlq" in names


def test_make_id_number_keeps_the_raw_number_out_of_person_key() -> None:
    number = make_id_number("110105", datetime(1990, 1, 1).date(), 7, "M")
    key = person_key(number, b"0123456789abcdef")
    assert number not in key and len(key) == 64
    assert person_key(number, b"another-secret-1234") != key


def test_settings_errors_name_the_variable_and_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKILLFLOW_POSTGRES_DSN", "mysql://nope")
    monkeypatch.setenv("SKILLFLOW_PERSON_KEY_SECRET", "short")
    monkeypatch.setenv("SKILLFLOW_API_PORT", "70000")
    with pytest.raises(SettingsError) as error:
        load_settings()
    message = str(error.value)
    assert "SKILLFLOW_POSTGRES_DSN: Value error, must start with postgresql://" in message
    assert "SKILLFLOW_PERSON_KEY_SECRET" in message and "16 characters" in message
    assert "short" not in message  # never echo a secret
    assert "SKILLFLOW_API_PORT" in message


def test_settings_file_is_read_and_environment_wins(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_file = tmp_path / "skillflow.env"
    settings_file.write_text("SKILLFLOW_TASK_QUEUE=from-file\nSKILLFLOW_API_PORT=9000\n")
    monkeypatch.setenv("SKILLFLOW_API_PORT", "9100")
    settings = load_settings(settings_file)
    assert settings.task_queue == "from-file" and settings.api_port == 9100
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "missing.env")


def test_a_bad_token_entry_is_reported_without_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKILLFLOW_API_TOKENS", '{"s3cret-token": "janitor"}')
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "SKILLFLOW_API_TOKENS:" in str(error.value)
    assert "s3cret" not in str(error.value).lower()


def test_tokens_map_to_roles() -> None:
    settings = Settings(api_tokens={"t": "operator"})  # type: ignore[dict-item]
    assert settings.api_tokens["t"].role == "operator"
    assert settings.api_tokens["t"].name == "operator"
    named = Settings(api_tokens={"u": "centre:wang.li"})  # type: ignore[dict-item]
    assert (named.api_tokens["u"].role, named.api_tokens["u"].name) == ("centre", "wang.li")
    with pytest.raises(ValidationError):
        Settings(api_tokens={"t": "janitor"})  # type: ignore[dict-item]
    assert uuid.UUID(str(_envelope().event_id)).version == 5


def test_a_token_may_name_the_bodies_it_acts_for() -> None:
    settings = Settings(api_tokens={"t": "centre:li.ming@S-LN-1,S-LN-2"})  # type: ignore[dict-item]
    holder = settings.api_tokens["t"]
    assert (holder.role, holder.name, holder.bodies) == ("centre", "li.ming", ("S-LN-1", "S-LN-2"))
    assert Settings(api_tokens={"u": "regulator"}).api_tokens["u"].bodies == ()  # type: ignore[dict-item]
