"""The records service on the real PostgreSQL and API: the append-only archive, lookup by ID
number (hashed, POST only), certificate verification and body statistics."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from consumers.records.consumer import records_consumer
from policy.idnumber import person_key
from policy.rule_ids import Rule
from schemas.events import EventEnvelope, EventPayload
from schemas.payloads import (
    AssessmentFailed,
    AssessmentPassed,
    BodyFiled,
    BodySuspended,
    CertificateIssued,
    CertificateRevoked,
    CompetitionResultRecorded,
    SubsidyGranted,
)
from skillflow.settings import Role
from tests.integration.sample_events import certificate, certificate_number, envelope
from tests.integration.steps import new_id_number

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


def event(payload: EventPayload, person: str | None) -> EventEnvelope:
    return envelope(payload, person, correlation_id="test", occurred_at=NOW)


def number(level: int = 4) -> str:
    return certificate_number(level)


async def apply(stack: Any, *events: EventEnvelope) -> None:
    handlers = records_consumer(stack.settings).handlers
    async with stack.pool.acquire() as conn, conn.transaction():
        for envelope in events:
            await handlers[envelope.event_type](conn, envelope)


def issued(number: str, body: str = "S0001", level: int = 4) -> CertificateIssued:
    return certificate(
        number=number, body_id=body, level=level, issued_on=NOW.date(), holder_name_masked="王*"
    )


async def test_archive_by_id_number_is_append_only_and_ordered(
    stack: Any, api: Any, auth: Any
) -> None:
    id_number = new_id_number(region="110101")
    person = person_key(id_number, stack.settings.person_key_secret_bytes)
    certificate = number()
    await apply(
        stack,
        event(issued(certificate), person),
        event(
            SubsidyGranted(
                claim_id=f"skill_upgrade:{certificate}",
                kind="skill_upgrade",
                certificate_number=certificate,
                amount_fen=150_000,
                rule_version="skill-upgrade-2024",
            ),
            person,
        ),
        event(
            CompetitionResultRecorded(
                competition_id="national-2025",
                tier="national",
                occupation_code="6-31-01-03",
                rank=2,
                field_size=60,
                medal="silver",
                score=91.5,
                competed_on=NOW.date(),
            ),
            person,
        ),
        event(
            CertificateRevoked(
                certificate_number=certificate, reason="fraud", revoked_on=NOW.date()
            ),
            person,
        ),
    )
    answer = await api.post(
        "/records/archives/lookup",
        json={"id_number": id_number},
        headers=auth(Role.RECORDS_OFFICER),
    )
    assert answer.status_code == 200, answer.text
    archive = answer.json()
    assert archive["person_key"] == person
    assert [e["entry_kind"] for e in archive["timeline"]] == [
        "certificate_issued",
        "subsidy_granted",
        "competition_result",
        "certificate_revoked",
    ]
    # The revocation is a new entry; the issued entry is still there, unchanged.
    assert archive["certificates"][0]["status"] == "revoked"
    assert id_number not in answer.text

    async with stack.pool.acquire() as conn:
        with pytest.raises(asyncpg.RestrictViolationError):
            await conn.execute(
                "UPDATE records.timeline SET entry_kind = 'x' WHERE person_key = $1", person
            )
        with pytest.raises(asyncpg.RestrictViolationError):
            await conn.execute("DELETE FROM records.timeline WHERE person_key = $1", person)
        with pytest.raises(asyncpg.RestrictViolationError):
            await conn.execute("DELETE FROM records.certificates WHERE person_key = $1", person)


async def test_lookup_needs_an_authorised_role_and_a_valid_number(
    stack: Any, api: Any, auth: Any
) -> None:
    id_number = new_id_number(region="110101")
    assert (
        await api.post("/records/archives/lookup", json={"id_number": id_number})
    ).status_code == 401
    forbidden = await api.post(
        "/records/archives/lookup", json={"id_number": id_number}, headers=auth(Role.CENTRE)
    )
    assert forbidden.status_code == 403
    bad = id_number[:17] + ("0" if id_number[17] != "0" else "1")
    invalid = await api.post(
        "/records/archives/lookup", json={"id_number": bad}, headers=auth(Role.REGULATOR)
    )
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["rule"] == Rule.ID_NUMBER_CHECK_CHARACTER
    assert bad not in invalid.text
    unknown = await api.post(
        "/records/archives/lookup", json={"id_number": id_number}, headers=auth(Role.REGULATOR)
    )
    assert unknown.status_code == 404 and id_number not in unknown.text


async def test_anyone_verifies_a_certificate_number(stack: Any, api: Any) -> None:
    person = secrets.token_hex(32)
    certificate = number(3)
    await apply(stack, event(issued(certificate, level=3), person))
    answer = await api.get(f"/records/certificates/{certificate}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "valid" and answer.json()["level"] == 3
    assert person not in answer.text
    await apply(
        stack,
        event(
            CertificateRevoked(certificate_number=certificate, reason="x", revoked_on=NOW.date()),
            person,
        ),
    )
    assert (await api.get(f"/records/certificates/{certificate}")).json()["status"] == "revoked"
    assert (await api.get(f"/records/certificates/{number()}")).status_code == 404
    malformed = await api.get("/records/certificates/X123")
    assert (
        malformed.status_code == 422
        and malformed.json()["errors"][0]["rule"] == Rule.CERTIFICATE_NUMBER_FORMAT
    )


async def test_revocation_before_the_certificate_is_still_shown(stack: Any, api: Any) -> None:
    person = secrets.token_hex(32)
    certificate = number()
    await apply(
        stack,
        event(
            CertificateRevoked(certificate_number=certificate, reason="x", revoked_on=NOW.date()),
            person,
        ),
    )
    await apply(stack, event(issued(certificate), person))
    assert (await api.get(f"/records/certificates/{certificate}")).json()["status"] == "revoked"


async def test_body_statistics(stack: Any, api: Any, auth: Any) -> None:
    body = f"S{uuid.uuid4().hex[:8]}"
    outcomes: list[EventEnvelope] = [
        event(
            BodyFiled(
                body_id=body,
                body_type="S",
                name="centre",
                province_code="21",
                scope=["6-31-01-03:4"],
            ),
            None,
        )
    ]
    for i in range(40):
        common = {
            "application_id": f"app-{uuid.uuid4().hex}",
            "session_id": "s",
            "body_id": body,
            "occupation_code": "6-31-01-03",
            "level": 4,
        }
        if i < 39:
            outcomes.append(
                event(
                    AssessmentPassed(**common, scores={"theory": 90}, passed_on=NOW.date()),
                    secrets.token_hex(32),
                )
            )
        else:
            outcomes.append(
                event(
                    AssessmentFailed(
                        **common,
                        scores={"theory": 40},
                        failed_components=["theory"],
                        resit_deadline=None,
                    ),
                    secrets.token_hex(32),
                )
            )
    outcomes.append(event(BodySuspended(body_id=body, reason="quality"), None))
    await apply(stack, *outcomes)
    answer = await api.get(f"/records/bodies/{body}/statistics", headers=auth(Role.REGULATOR))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "body_id": body,
        "assessed": 40,
        "passed": 39,
        "pass_rate": 0.975,
        "abnormal_pass_rate": True,
        "certificates_issued": 0,
        "status": "suspended",
    }
    listed = await api.get(
        "/records/bodies/statistics", params={"min_volume": 40}, headers=auth(Role.OPERATOR)
    )
    assert body in [b["body_id"] for b in listed.json()]
    assert (
        await api.get(f"/records/bodies/{body}/statistics", headers=auth(Role.CENTRE))
    ).status_code == 403
