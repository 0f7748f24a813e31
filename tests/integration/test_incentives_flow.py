"""The incentive and records services on the real broker: events in, decisions out, the
archive following along, operators loading insurance records and reviewing held payments."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from policy.idnumber import person_key
from policy.rule_ids import Rule
from schemas import payloads
from schemas.events import EventEnvelope, EventPayload
from schemas.payloads import (
    CertificateIssued,
    CertificateRevoked,
    RegistrationSubmitted,
)
from schemas.topics import Topic
from skillflow.settings import Role
from tests.integration import sample_events
from tests.integration.sample_events import envelope
from tests.integration.steps import eventually, insured, new_id_number

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
ELECTRICIAN = "6-31-01-03"


def event(payload: EventPayload, person: str) -> EventEnvelope:
    return envelope(payload, person)


def certificate(level: int) -> CertificateIssued:
    return sample_events.certificate(
        level=level, occupation_code=ELECTRICIAN, issued_on=NOW.date(), holder_name_masked="赵*"
    )


def registration(issued: CertificateIssued, **changes: Any) -> RegistrationSubmitted:
    """The registration an assessed certificate came from: its claims wait for it."""
    fields: dict[str, Any] = {
        "application_id": issued.application_id,
        "session_id": f"s-{uuid.uuid4().hex[:8]}",
        "body_id": issued.body_id,
        "occupation_code": issued.occupation_code,
        "level": issued.level,
        "candidate_age": 35,
        "candidate_category": "employed",
    }
    return RegistrationSubmitted(**(fields | changes))


async def insured_person(stack: Any) -> str:
    """A person with 40 months of unemployment insurance two days ago (enough for the
    skill-upgrading subsidy)."""
    person = secrets.token_hex(32)
    await stack.pool.execute(
        """INSERT INTO incentives.insurance_records (person_key, as_of, insured_months, source, loaded_by)
           VALUES ($1, $2, 40, 'api', 'tests')""",
        person,
        NOW.date() - timedelta(days=2),
    )
    return person


async def review_claim(
    api: Any, auth: Any, claim_id: str, action: str, reason: str, role: Role
) -> httpx.Response:
    """``role`` releases, rejects or reconsiders (``action``) a claim, with its reason."""
    answer: httpx.Response = await api.post(
        f"/incentives/claims/{claim_id}/{action}", json={"reason": reason}, headers=auth(role)
    )
    return answer


async def claim_event(events: Any, claim_id: str, event_type: str) -> EventEnvelope:
    """The incentive service's ``event_type`` event about the claim."""
    found: EventEnvelope = await events.wait_for(
        Topic.INCENTIVE.value,
        lambda e: e.payload.get("claim_id") == claim_id and e.event_type == event_type,
    )
    return found


async def publish_certified(publish: Any, issued: CertificateIssued, person: str) -> None:
    await publish(event(registration(issued), person))
    await publish(event(issued, person))


async def test_grant_then_revocation_claws_back_end_to_end(
    stack: Any, consumers: Any, api: Any, auth: Any, events: Any, publish: Any
) -> None:
    id_number = new_id_number()
    person = person_key(id_number, stack.settings.person_key_secret_bytes)
    loaded = await insured(api, auth, id_number, as_of=NOW.date() - timedelta(days=1))
    assert loaded.status_code == 200 and loaded.json()["applied"] == 1, loaded.text
    assert id_number not in loaded.text

    issued = certificate(3)
    await publish_certified(publish, issued, person)
    claim_id = f"skill_upgrade:{issued.certificate_number}"
    granted = await claim_event(events, claim_id, payloads.SubsidyGranted.event_type)
    assert granted.payload["amount_fen"] == 240_000 and granted.person_key == person

    await publish(
        event(
            CertificateRevoked(
                certificate_number=issued.certificate_number,
                reason="altered scores",
                revoked_on=NOW.date(),
            ),
            person,
        )
    )
    clawed = await claim_event(events, claim_id, payloads.SubsidyClawedBack.event_type)
    assert clawed.payload["amount_fen"] == 240_000

    # The archive follows the decisions too (records consumes skills.incentive).
    async def archive_kinds() -> list[str] | None:
        answer = await api.post(
            "/records/archives/lookup",
            json={"id_number": id_number},
            headers=auth(Role.RECORDS_OFFICER),
        )
        kinds = (
            [e["entry_kind"] for e in answer.json().get("timeline", [])]
            if answer.status_code == 200
            else []
        )
        return kinds if "subsidy_clawed_back" in kinds else None

    kinds = await eventually(archive_kinds)
    assert kinds.index("certificate_issued") < kinds.index("subsidy_granted")
    assert kinds.index("certificate_revoked") < kinds.index("subsidy_clawed_back")
    people = await api.get(f"/incentives/people/{person}", headers=auth(Role.REGULATOR))
    assert people.json()["paid_fen"] == 0


async def test_duplicate_delivery_changes_nothing(
    stack: Any, consumers: Any, events: Any, publish: Any
) -> None:
    person = secrets.token_hex(32)
    assessed = certificate(4)
    await publish(event(registration(assessed), person))
    issued = event(assessed, person)
    await publish(issued)
    await publish(issued)
    await publish(issued)
    claim_id = f"skill_upgrade:{issued.payload['certificate_number']}"
    await events.wait_for(Topic.INCENTIVE.value, lambda e: e.payload.get("claim_id") == claim_id)
    decisions = await events.all(
        Topic.INCENTIVE.value, lambda e: e.payload.get("claim_id") == claim_id, settle=2.0
    )
    assert [e.event_type for e in decisions] == [
        payloads.SubsidyRefused.event_type
    ]  # no insurance record
    entries = await stack.pool.fetchval(
        "SELECT count(*) FROM records.timeline WHERE source_event_id = $1", issued.event_id
    )
    processed = await stack.pool.fetch(
        "SELECT consumer FROM delivery.processed_events WHERE event_id = $1 ORDER BY consumer",
        issued.event_id,
    )
    assert entries == 1
    assert [r["consumer"] for r in processed] == ["incentives", "records"]


async def test_out_of_order_across_workers_in_order_per_worker(
    stack: Any, consumers: Any, publish: Any
) -> None:
    workers = [secrets.token_hex(32) for _ in range(6)]
    sent: dict[str, list[str]] = {w: [] for w in workers}
    for round_ in range(5):
        for worker in reversed(workers) if round_ % 2 else workers:
            envelope = event(
                RegistrationSubmitted(
                    application_id=f"app-{round_}-{uuid.uuid4().hex[:6]}",
                    session_id=f"s-{round_}",
                    body_id="S0001",
                    occupation_code=ELECTRICIAN,
                    level=5,
                    candidate_age=30,
                ),
                worker,
            )
            sent[worker].append(str(envelope.event_id))
            await publish(envelope)

    async def applied() -> bool:
        count = await stack.pool.fetchval(
            "SELECT count(*) FROM records.timeline WHERE person_key = ANY($1)", workers
        )
        return bool(count == 30)

    await eventually(applied)
    for worker in workers:
        rows = await stack.pool.fetch(
            "SELECT source_event_id FROM records.timeline WHERE person_key = $1 ORDER BY entry_id",
            worker,
        )
        assert [str(r["source_event_id"]) for r in rows] == sent[worker]


async def test_insurance_csv_import_reports_row_by_row(stack: Any, api: Any, auth: Any) -> None:
    good, also_good = new_id_number(), new_id_number()
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    csv_text = (
        "id_number,insured_months,as_of\n"
        f"{good},24,2025-01-31\n"
        f"{bad_check},24,2025-01-31\n"
        f"{also_good},-3,2025-01-31\n"
        f"{also_good},13,2025-02-30\n"
        f"{also_good},13,2025-02-28\n"
    )
    headers = auth(Role.RECORDS_OFFICER) | {"Content-Type": "text/csv"}
    answer = await api.post(
        "/incentives/insurance-records/import", content=csv_text.encode(), headers=headers
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["applied"], report["rejected"]) == (2, 3)
    assert [(r["row"], r["status"]) for r in report["rows"]] == [
        (1, "applied"),
        (2, "rejected"),
        (3, "rejected"),
        (4, "rejected"),
        (5, "applied"),
    ]
    assert [r["errors"][0]["rule"] for r in report["rows"] if r["errors"]] == [
        Rule.ID_NUMBER_CHECK_CHARACTER,
        Rule.IMPORT_RANGE,
        Rule.IMPORT_DATE,
    ]
    for id_number in (good, bad_check, also_good):
        assert id_number not in answer.text
    rows = await stack.pool.fetch(
        "SELECT insured_months FROM incentives.insurance_records WHERE person_key = ANY($1) ORDER BY insured_months",
        [person_key(n, stack.settings.person_key_secret_bytes) for n in (good, also_good)],
    )
    assert [r["insured_months"] for r in rows] == [13, 24]

    strict = await api.post(
        "/incentives/insurance-records/import",
        params={"all_or_nothing": "true"},
        content=f"id_number,insured_months,as_of\n{new_id_number()},24,2025-01-31\n{bad_check},1,2025-01-31\n".encode(),
        headers=headers,
    )
    assert [r["status"] for r in strict.json()["rows"]] == ["not_applied", "rejected"]
    missing = await api.post(
        "/incentives/insurance-records/import", content=b"id,months\n1,2\n", headers=headers
    )
    assert (
        missing.status_code == 422
        and missing.json()["errors"][0]["rule"] == Rule.CSV_MISSING_COLUMNS
    )
    forbidden = await api.post(
        "/incentives/insurance-records/import",
        content=csv_text.encode(),
        headers=auth(Role.CENTRE) | {"Content-Type": "text/csv"},
    )
    assert forbidden.status_code == 403


async def test_training_subsidy_import_then_skill_upgrade_refused(
    stack: Any, consumers: Any, api: Any, auth: Any, events: Any, publish: Any
) -> None:
    person = await insured_person(stack)
    issued = certificate(4)
    # Issued (in the issuing register) before the incentive service has heard of it.
    await stack.pool.execute(
        """INSERT INTO certification.certificates
             (certificate_number, source_id, route, body_id, body_type, person_key,
              holder_name_masked, occupation_code, level, issued_on, status)
           VALUES ($1, $2, 'assessment', $3, 'S', $4, $5, $6, $7, $8, 'valid')""",
        issued.certificate_number,
        issued.application_id,
        issued.body_id,
        person,
        issued.holder_name_masked,
        issued.occupation_code,
        issued.level,
        issued.issued_on,
    )
    csv_text = f"certificate_number,amount_fen,granted_on\n{issued.certificate_number},80000,{NOW.date().isoformat()}\nS123,1,2025-01-01\n"
    answer = await api.post(
        "/incentives/training-subsidies/import",
        content=csv_text.encode(),
        headers=auth(Role.RECORDS_OFFICER) | {"Content-Type": "text/csv"},
    )
    assert [r["status"] for r in answer.json()["rows"]] == ["applied", "rejected"], answer.text
    await publish_certified(publish, issued, person)
    refused = await events.wait_for(
        Topic.INCENTIVE.value,
        lambda e: e.payload.get("claim_id") == f"skill_upgrade:{issued.certificate_number}",
    )
    assert refused.event_type == payloads.SubsidyRefused.event_type
    assert refused.payload["rule"] == Rule.SUBSIDY_COMBINED_WITH_TRAINING_SUBSIDY


async def test_training_subsidy_loaded_after_a_grant_claws_the_grant_back(
    stack: Any, consumers: Any, api: Any, auth: Any, events: Any, publish: Any
) -> None:
    person = await insured_person(stack)
    issued = certificate(4)
    claim_id = f"skill_upgrade:{issued.certificate_number}"
    await publish_certified(publish, issued, person)
    granted = await claim_event(events, claim_id, payloads.SubsidyGranted.event_type)
    answer = await api.post(
        "/incentives/training-subsidies",
        json={
            "records": [
                {
                    "certificate_number": issued.certificate_number,
                    "amount_fen": 80000,
                    "granted_on": NOW.date().isoformat(),
                }
            ]
        },
        headers=auth(Role.RECORDS_OFFICER),
    )
    assert answer.status_code == 200, answer.text
    clawed = await claim_event(events, claim_id, payloads.SubsidyClawedBack.event_type)
    assert clawed.payload["amount_fen"] == granted.payload["amount_fen"] > 0
    claim = (await api.get(f"/incentives/claims/{claim_id}", headers=auth(Role.REGULATOR))).json()
    assert claim["status"] == "clawed_back" and claim["paid_fen"] == 0


async def test_held_payment_is_released_by_a_reviewer(
    stack: Any, consumers: Any, api: Any, auth: Any, events: Any, publish: Any
) -> None:
    person = await insured_person(stack)
    issued = certificate(5)
    # The certificate comes first (another topic, a backlog): its claims wait for the
    # registration, whose facts (a retiree) the fraud checks need.
    await publish(event(issued, person))
    await eventually(
        lambda: stack.pool.fetchval(
            "SELECT true FROM incentives.certificates WHERE certificate_number = $1",
            issued.certificate_number,
        )
    )
    assert not await stack.pool.fetchval(
        "SELECT count(*) FROM incentives.claims WHERE certificate_number = $1",
        issued.certificate_number,
    )
    await publish(
        event(registration(issued, candidate_age=66, candidate_category="retired"), person)
    )
    claim_id = f"skill_upgrade:{issued.certificate_number}"
    held = await claim_event(events, claim_id, payloads.SubsidyHeld.event_type)
    assert held.payload["signals"] == [Rule.FRAUD_PHANTOM_TRAINEE, Rule.FRAUD_RETIREMENT_AGE]

    queue = await api.get(
        "/incentives/claims",
        params={"status": "held", "person_key": person},
        headers=auth(Role.REGULATOR),
    )
    assert [c["claim_id"] for c in queue.json()] == [claim_id]
    assert (
        await review_claim(api, auth, claim_id, "release", "ok", Role.CENTRE)
    ).status_code == 403
    released = await review_claim(api, auth, claim_id, "release", "checked on site", Role.REGULATOR)
    assert released.status_code == 200, released.text
    assert (released.json()["status"], released.json()["paid_fen"]) == ("granted", 120_000)
    again = await review_claim(api, auth, claim_id, "reject", "too late", Role.REGULATOR)
    assert again.status_code == 422 and again.json()["errors"][0]["rule"] == Rule.REVIEW_NOT_HELD
    await claim_event(events, claim_id, payloads.SubsidyReviewed.event_type)
    granted = await claim_event(events, claim_id, payloads.SubsidyGranted.event_type)
    assert granted.payload["amount_fen"] == 120_000
    assert (
        await api.get("/incentives/claims/skill_upgrade:nope", headers=auth(Role.REGULATOR))
    ).status_code == 404


async def test_a_late_insurance_record_turns_a_refusal_into_a_grant(
    stack: Any, consumers: Any, api: Any, auth: Any, events: Any, publish: Any
) -> None:
    id_number = new_id_number()
    person = person_key(id_number, stack.settings.person_key_secret_bytes)
    issued = certificate(4)
    claim_id = f"skill_upgrade:{issued.certificate_number}"
    await publish_certified(publish, issued, person)
    refused = await claim_event(events, claim_id, payloads.SubsidyRefused.event_type)
    assert refused.payload["rule"] == Rule.SUBSIDY_INSURED_MONTHS

    loaded = await insured(api, auth, id_number, NOW.date() - timedelta(days=3), months=18)
    assert loaded.json()["applied"] == 1, loaded.text
    officer = await review_claim(
        api, auth, claim_id, "reconsideration", "insurance record loaded", Role.RECORDS_OFFICER
    )
    assert officer.status_code == 403  # the regulator decides
    answer = await review_claim(
        api, auth, claim_id, "reconsideration", "insurance record loaded", Role.REGULATOR
    )
    assert answer.status_code == 200, answer.text
    # Level-4 cap 1,500 yuan with the electrician's 20 % shortage uplift.
    assert (answer.json()["status"], answer.json()["paid_fen"]) == ("granted", 180_000)
    granted = await claim_event(events, claim_id, payloads.SubsidyGranted.event_type)
    assert granted.payload["amount_fen"] == 180_000
