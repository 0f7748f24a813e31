"""Handlers keyed by payload class get their payload validated into that class."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from consumers.dispatch import PayloadHandlers, payload_types
from schemas.events import EventEnvelope, build_event
from schemas.payloads import CertificateRevoked, RegistrationExpired, SessionClosed

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _revoked(**payload: Any) -> EventEnvelope:
    event = build_event(
        CertificateRevoked(
            certificate_number="S000021000001265000001", revoked_on=NOW.date(), reason="altered"
        ),
        business_key="S000021000001265000001",
        occurred_at=NOW,
        producer="test",
        correlation_id="revocation-S000021000001265000001",
        person_key=None,
    )
    return event.model_copy(update={"payload": {**event.payload, **payload}})


async def test_a_handler_receives_its_payload_typed() -> None:
    seen: list[Any] = []

    async def on_revoked(conn: Any, event: EventEnvelope, revoked: CertificateRevoked) -> None:
        seen.append(revoked)

    handlers = PayloadHandlers().on(CertificateRevoked, on_revoked).by_event_type()
    # Over JSON the date is a string: the payload class turns it back into a date.
    await handlers[CertificateRevoked.event_type](None, _revoked(revoked_on="2026-03-01"))  # type: ignore[arg-type]
    assert seen == [
        CertificateRevoked(
            certificate_number="S000021000001265000001", revoked_on=NOW.date(), reason="altered"
        )
    ]


async def test_a_malformed_payload_is_refused_before_the_handler() -> None:
    called = False

    async def on_revoked(conn: Any, event: EventEnvelope, revoked: CertificateRevoked) -> None:
        nonlocal called
        called = True

    handlers = PayloadHandlers().on(CertificateRevoked, on_revoked).by_event_type()
    with pytest.raises(ValidationError):
        await handlers[CertificateRevoked.event_type](None, _revoked(revoked_on="not a date"))  # type: ignore[arg-type]
    assert not called


def test_one_handler_per_event_type() -> None:
    async def ignore(conn: Any, event: EventEnvelope, payload: Any) -> None:
        return None

    handlers = PayloadHandlers().on(SessionClosed, ignore)
    with pytest.raises(ValueError, match=SessionClosed.event_type):
        handlers.on(SessionClosed, ignore)


def test_payload_types_name_the_classes_a_consumer_handles() -> None:
    async def ignore(conn: Any, event: EventEnvelope, payload: Any) -> None:
        return None

    handlers = PayloadHandlers().on(SessionClosed, ignore).on(RegistrationExpired, ignore)
    assert set(payload_types(handlers.by_event_type())) == {SessionClosed, RegistrationExpired}
