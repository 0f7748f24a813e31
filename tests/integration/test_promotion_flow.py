"""A competition promotion (竞赛晋级) end to end on the real stack: ``promotion.granted`` on
the broker, the no-exam certification path, the worker's archive, the subsidy decided on
the certificate, and the one-promotion-per-calendar-year rule."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from policy.idnumber import person_key
from policy.rule_ids import Rule
from schemas import payloads
from schemas.certificate import PromotionResult
from schemas.events import EventEnvelope, build_event
from schemas.payloads import PromotionGranted
from schemas.topics import Topic
from schemas.workflow_ids import promotion_workflow_id
from skillflow.settings import Role
from tests.integration.steps import (
    FITTER,
    Auth,
    approved_body,
    event_about,
    eventually,
    insured,
    new_id_number,
    today,
    workflow_exists,
)

# The worker and the consumers run for every test here (certificates issued, then archived).
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker", "consumers")]

# FITTER is not a shortage occupation: the plain level-4 cap applies.
LEVEL_4_CAP_FEN = 150_000  # skill-upgrade-2024: 1,500 yuan at level 4


async def tianjin_centre(api: httpx.AsyncClient, auth: Auth, **filing: Any) -> str:
    """An approved assessment centre in Tianjin (province 12), where the competition ran."""
    return await approved_body(
        api, auth, province_code="12", name="天津市职业技能鉴定中心", **filing
    )


def promotion(body_id: str, granted_on: date, to_level: int = 4) -> PromotionGranted:
    return PromotionGranted(
        promotion_id=f"promo-{uuid.uuid4().hex[:10]}",
        competition_id=f"tianjin-class1-{uuid.uuid4().hex[:6]}",
        tier="provincial_class1",
        occupation_code=FITTER,
        to_level=to_level,
        issuing_body_id=body_id,
        holder_name_masked="周*",
        granted_on=granted_on,
        rule_version="tianjin-2020",
    )


def granted_event(payload: PromotionGranted, person: str) -> EventEnvelope:
    return build_event(
        payload,
        business_key=payload.promotion_id,
        occurred_at=datetime.now(UTC),
        producer="tests.competition",
        correlation_id=f"competition-{payload.competition_id}",
        person_key=person,
    )


def issued_for(promotion_id: str) -> Callable[[EventEnvelope], bool]:
    return lambda e: (
        e.event_type == payloads.CertificateIssued.event_type
        and e.payload.get("application_id") == promotion_workflow_id(promotion_id)
    )


async def test_promotion_is_certified_archived_subsidised_and_once_a_year(
    stack: Any, api: httpx.AsyncClient, auth: Auth, events: Any, publish: Any
) -> None:
    site_serial = f"{secrets.randbelow(10**6):06d}"
    body_id = await tianjin_centre(api, auth, levels=(5, 4), site_serial=site_serial)
    id_number = new_id_number()
    person = person_key(id_number, stack.settings.person_key_secret_bytes)
    on = today()
    loaded = await insured(api, auth, id_number, as_of=on - timedelta(days=1))
    assert loaded.status_code == 200 and loaded.json()["applied"] == 1, loaded.text

    first = promotion(body_id, on)
    await publish(granted_event(first, person))

    # The no-exam path issues a level-4 certificate on the body's number range.
    issued = await events.wait_for(
        Topic.CERTIFICATE.value, issued_for(first.promotion_id), timeout=60
    )
    assert issued.payload["route"] == "promotion"
    assert issued.person_key == person
    assert (issued.payload["body_id"], issued.payload["occupation_code"]) == (body_id, FITTER)
    assert (issued.payload["level"], issued.payload["holder_name_masked"]) == (4, "周*")
    number = issued.payload["certificate_number"]
    assert number.startswith(f"S000012{site_serial}{on.year % 100:02d}4"), number
    assert id_number not in issued.model_dump_json()
    result = await stack.temporal.get_workflow_handle(
        promotion_workflow_id(first.promotion_id), result_type=PromotionResult
    ).result()
    assert (result.status, result.certificate_number) == ("issued", number)
    # A promotion's certificate keeps the masked name only: a name that masks to it.
    verification = (
        await api.post(f"/certificates/{number}/verification", json={"holder_name": "周杰"})
    ).json()
    assert (verification["status"], verification["level"], verification["body_id"]) == (
        "valid",
        4,
        body_id,
    )
    assert verification["issued_on"] == str(on)

    # The incentive service decides the skill-upgrading subsidy on it like any other
    # certificate; a promotion paid no appraisal fee, so no appraisal claim is made.
    claim_id = f"skill_upgrade:{number}"
    granted = await events.wait_for(
        Topic.INCENTIVE.value,
        lambda e: e.payload.get("claim_id") == claim_id,
        timeout=60,
    )
    assert granted.event_type == payloads.SubsidyGranted.event_type, granted.payload
    assert granted.payload["amount_fen"] == LEVEL_4_CAP_FEN and granted.person_key == person
    claim = await api.get(f"/incentives/claims/{claim_id}", headers=auth(Role.REGULATOR))
    assert claim.status_code == 200, claim.text
    assert (claim.json()["status"], claim.json()["paid_fen"], claim.json()["level"]) == (
        "granted",
        LEVEL_4_CAP_FEN,
        4,
    )
    appraisal = await api.get(
        f"/incentives/claims/appraisal:{number}", headers=auth(Role.REGULATOR)
    )
    assert appraisal.status_code == 404

    # The worker's archive, found by ID number, holds the certificate and the subsidy.
    async def archive() -> dict[str, Any] | None:
        answer = await api.post(
            "/records/archives/lookup",
            json={"id_number": id_number},
            headers=auth(Role.RECORDS_OFFICER),
        )
        if answer.status_code != 200:
            return None
        found: dict[str, Any] = answer.json()
        kinds = [e["entry_kind"] for e in found["timeline"]]
        return found if "subsidy_granted" in kinds and found["certificates"] else None

    found = await eventually(archive)
    assert id_number not in str(found)
    [certificate] = found["certificates"]
    assert {k: certificate[k] for k in ("certificate_number", "route", "level", "status")} == {
        "certificate_number": number,
        "route": "promotion",
        "level": 4,
        "status": "valid",
    }
    kinds = [e["entry_kind"] for e in found["timeline"]]
    assert {"promotion_granted", "certificate_issued", "subsidy_granted"} <= set(kinds)
    assert kinds.index("certificate_issued") < kinds.index("subsidy_granted")

    # A second promotion in the same calendar year is refused, and certifies nothing.
    second = promotion(body_id, on, to_level=3)
    await publish(granted_event(second, person))
    refusal = await event_about(
        events, payloads.PromotionRefused, timeout=60, promotion_id=second.promotion_id
    )
    assert refusal.payload["rule"] == Rule.PROMOTION_ONE_PER_YEAR
    assert refusal.person_key == person
    assert str(on.year) in refusal.payload["reason"]

    people = await api.get(f"/incentives/people/{person}", headers=auth(Role.REGULATOR))
    assert people.status_code == 200, people.text
    promotions = {p["promotion_id"]: p for p in people.json()["promotions"]}
    assert (
        promotions[first.promotion_id]["status"],
        promotions[first.promotion_id]["rule"],
        promotions[first.promotion_id]["workflow_id"],
    ) == ("started", None, promotion_workflow_id(first.promotion_id))
    assert (
        promotions[second.promotion_id]["status"],
        promotions[second.promotion_id]["rule"],
        promotions[second.promotion_id]["workflow_id"],
    ) == ("refused", Rule.PROMOTION_ONE_PER_YEAR, None)
    assert people.json()["paid_fen"] == LEVEL_4_CAP_FEN
    assert [c["claim_id"] for c in people.json()["claims"]] == [claim_id]

    assert not await workflow_exists(stack, promotion_workflow_id(second.promotion_id))
    assert (
        await stack.pool.fetchval(
            "SELECT count(*) FROM certification.certificates WHERE person_key = $1", person
        )
        == 1
    )
    assert await events.all(Topic.CERTIFICATE.value, issued_for(second.promotion_id)) == []


async def test_promotion_outside_the_bodys_scope_is_withheld(
    stack: Any, api: httpx.AsyncClient, auth: Auth, events: Any, publish: Any
) -> None:
    body_id = await tianjin_centre(api, auth, site_serial=f"{secrets.randbelow(10**6):06d}")
    person = person_key(new_id_number(), stack.settings.person_key_secret_bytes)
    granted = promotion(body_id, today(), to_level=3)  # the body is filed for level 5 only
    await publish(granted_event(granted, person))

    withheld = await event_about(
        events,
        payloads.CertificateWithheld,
        timeout=60,
        application_id=promotion_workflow_id(granted.promotion_id),
    )
    assert withheld.payload["rule"] == Rule.BODY_OUT_OF_SCOPE
    assert withheld.person_key == person
    result = await stack.temporal.get_workflow_handle(
        promotion_workflow_id(granted.promotion_id), result_type=PromotionResult
    ).result()
    assert (result.status, result.certificate_number) == ("out_of_scope", None)
    assert (
        await stack.pool.fetchval(
            "SELECT count(*) FROM certification.certificates WHERE person_key = $1", person
        )
        == 0
    )
    assert await events.all(Topic.CERTIFICATE.value, issued_for(granted.promotion_id)) == []

    # A withheld promotion does not use up the year's one promotion.
    assert (
        await eventually(
            lambda: stack.pool.fetchval(
                """SELECT rule FROM incentives.promotions
               WHERE promotion_id = $1 AND status = 'withheld'""",
                granted.promotion_id,
            )
        )
        == Rule.BODY_OUT_OF_SCOPE
    )
    in_scope = promotion(body_id, today(), to_level=5)
    await publish(granted_event(in_scope, person))
    issued = await events.wait_for(
        Topic.CERTIFICATE.value, issued_for(in_scope.promotion_id), timeout=60
    )
    assert issued.person_key == person
