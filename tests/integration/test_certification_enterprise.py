"""Enterprise self-evaluation (企业自主评价) and quality supervision on the real stack.

Driven through the HTTP API; outcomes are read back from the broker. Each test files its
own enterprise so that suspensions stay local to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from policy.rule_ids import Rule
from schemas import payloads
from schemas.events import EventEnvelope
from skillflow.settings import Role
from tests.integration.steps import (
    Auth,
    approve_all_and_start,
    approved_body,
    body_filing,
    enter_scores,
    event_about,
    file_body,
    id_number,
    import_rows,
    session_request,
)

pytestmark = pytest.mark.integration

EMPLOYER = "91210100MA0XXXXX1A"  # the enterprise's own unified social credit code


async def enterprise(
    api: httpx.AsyncClient, auth: Auth, *, pass_mark: int | None = None
) -> tuple[str, str]:
    """An active enterprise filing (prefix Y); returns (body id, body code)."""
    body_code = f"{uuid.uuid4().int % 10_000:04d}"
    body_id = await approved_body(
        api,
        auth,
        role=Role.ENTERPRISE,
        levels=(5, 4),
        name="沈阳机床集团",
        site_serial="000002",
        body_code=body_code,
        pass_mark=pass_mark,
        sub_levels=[
            {"code": "G5A", "name": "初级工一档", "national_level": 5},
            {"code": "G4A", "name": "中级工一档", "national_level": 4},
        ],
    )
    return body_id, body_code


async def enterprise_session(api: httpx.AsyncClient, auth: Auth, body_id: str) -> dict[str, Any]:
    response = await api.post(
        "/sessions", headers=auth(Role.ENTERPRISE), json=session_request(body_id)
    )
    assert response.status_code == 201, response.text
    session: dict[str, Any] = response.json()
    return session


def candidate(sequence: int, **extra: Any) -> dict[str, Any]:
    return {
        "id_number": id_number(sequence),
        "name": "赵师傅",
        "years_in_occupation": 2,
        "employer": EMPLOYER,
        "relationship": "employee",
        **extra,
    }


async def register(
    api: httpx.AsyncClient, auth: Auth, session_id: str, payload: dict[str, Any]
) -> httpx.Response:
    return await api.post(
        f"/sessions/{session_id}/applications", headers=auth(Role.ENTERPRISE), json=payload
    )


def refused_for(response: httpx.Response, rule: str) -> None:
    assert response.status_code == 422, response.text
    assert [e["rule"] for e in response.json()["errors"]] == [rule]


def issued_for(application_id: str) -> Callable[[EventEnvelope], bool]:
    return lambda e: (
        e.event_type == payloads.CertificateIssued.event_type
        and e.payload["application_id"] == application_id
    )


async def test_enterprise_evaluates_its_own_workforce_and_others_only_under_commission(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth, events: Any
) -> None:
    body_id, _ = await enterprise(api, auth)
    session_id = (await enterprise_session(api, auth, body_id))["session_id"]

    own = await register(api, auth, session_id, candidate(301))
    assert own.status_code == 201, own.text
    intern = await register(api, auth, session_id, candidate(302, relationship="intern"))
    assert intern.status_code == 201, intern.text

    outsider = candidate(303, relationship="individual", employer="OTHER-CO")
    refused_for(await register(api, auth, session_id, outsider), Rule.ENTERPRISE_NOT_OWN_WORKER)
    commissioned = {**outsider, "relationship": "commissioned", "commission_id": "WT-2026-01"}
    refused_for(
        await register(api, auth, session_id, commissioned), Rule.ENTERPRISE_COMMISSION_MISSING
    )
    response = await api.post(
        f"/bodies/{body_id}/commissions",
        headers=auth(Role.ENTERPRISE),
        json={
            "commission_id": "WT-2026-01",
            "client": "沈阳某配套厂",
            "valid_until": str(date.today() + timedelta(days=90)),
        },
    )
    assert response.status_code == 201, response.text
    recorded = await event_about(events, payloads.CommissionRecorded, body_id=body_id)
    assert (recorded.payload["commission_id"], recorded.payload["client"]) == (
        "WT-2026-01",
        "沈阳某配套厂",
    )
    accepted = await register(api, auth, session_id, commissioned)
    assert accepted.status_code == 201, accepted.text

    # A commission that has run out no longer covers anyone.
    await api.post(
        f"/bodies/{body_id}/commissions",
        headers=auth(Role.ENTERPRISE),
        json={
            "commission_id": "WT-2025-09",
            "client": "过期客户",
            "valid_until": str(date.today() - timedelta(days=1)),
        },
    )
    lapsed = {**candidate(304, relationship="commissioned"), "commission_id": "WT-2025-09"}
    refused_for(await register(api, auth, session_id, lapsed), Rule.ENTERPRISE_COMMISSION_MISSING)

    count = await stack.pool.fetchval(
        "SELECT count(*) FROM certification.applications WHERE session_id = $1", session_id
    )
    assert count == 3


async def test_a_sub_level_registers_under_its_national_level_only(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    body_id, _ = await enterprise(api, auth)
    session_id = (await enterprise_session(api, auth, body_id))["session_id"]

    response = await register(api, auth, session_id, candidate(311, sub_level="G5A"))
    assert response.status_code == 201, response.text
    application = (
        await api.get(
            f"/applications/{response.json()['application_id']}", headers=auth(Role.ENTERPRISE)
        )
    ).json()
    assert (application["sub_level"], application["level"]) == ("G5A", 5)

    # G4A is filed under level 4; this session is level 5.
    refused_for(
        await register(api, auth, session_id, candidate(312, sub_level="G4A")),
        Rule.ENTERPRISE_SUB_LEVEL_UNMAPPED,
    )
    refused_for(
        await register(api, auth, session_id, candidate(313, sub_level="G9Z")),
        Rule.ENTERPRISE_SUB_LEVEL_UNMAPPED,
    )


async def test_a_raised_pass_mark_applies_and_a_lowered_one_is_refused_at_filing(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth, events: Any
) -> None:
    lowered = body_filing(
        role=Role.ENTERPRISE, name="降低标准的企业", site_serial="000003", pass_mark=55
    )
    response = await file_body(api, auth, lowered, Role.ENTERPRISE)
    refused_for(response, Rule.ENTERPRISE_PASS_MARK_BELOW_NATIONAL)

    body_id, body_code = await enterprise(api, auth, pass_mark=70)
    session = await enterprise_session(api, auth, body_id)
    assert session["pass_mark"] == 70
    session_id = session["session_id"]
    between = (await register(api, auth, session_id, candidate(321))).json()["application_id"]
    above = (await register(api, auth, session_id, candidate(322))).json()["application_id"]
    reviewed = await approve_all_and_start(api, auth, session_id, Role.ENTERPRISE)
    assert reviewed == ["approved"] * 2

    # 65 passes nationally (60) but not at this enterprise (70).
    response = await enter_scores(
        api, auth, between, "E1", role=Role.ENTERPRISE, theory=65, practical=80
    )
    assert response.status_code == 200, response.text
    assert response.json()["stage"] == "resit"
    failed = await event_about(events, payloads.AssessmentFailed, application_id=between)
    assert failed.payload["failed_components"] == ["theory"]

    response = await enter_scores(
        api, auth, above, "E1", role=Role.ENTERPRISE, theory=75, practical=80
    )
    assert response.json()["stage"] == "public_notice", response.text
    issued = await events.wait_for("skills.certificate", issued_for(above), timeout=60)
    number = issued.payload["certificate_number"]
    assert number.startswith(f"Y{body_code}21000002")
    assert issued.payload["body_type"] == "Y"


async def test_quality_supervision_samples_a_share_and_a_failed_review_suspends(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth, events: Any
) -> None:
    body_id, _ = await enterprise(api, auth)
    session_id = (await enterprise_session(api, auth, body_id))["session_id"]
    rows = ["id_number,name,years_in_occupation,employer,relationship"]
    rows += [f"{id_number(330 + i)},职工{i},2,{EMPLOYER},employee" for i in range(3)]
    report = await import_rows(
        api,
        f"/sessions/{session_id}/applications.csv",
        headers=auth(Role.ENTERPRISE),
        content="\n".join(rows),
    )
    ids = [r["application_id"] for r in report]
    assert [r["status"] for r in report] == ["accepted"] * 3
    await approve_all_and_start(api, auth, session_id, Role.ENTERPRISE)
    scores = ["application_id,examiner_id,theory,practical"]
    scores += [f"{i},E1,80,80" for i in ids]
    await import_rows(
        api,
        f"/sessions/{session_id}/scores.csv",
        headers=auth(Role.ENTERPRISE),
        content="\n".join(scores),
    )
    issued = [
        (await events.wait_for("skills.certificate", issued_for(i), timeout=60)).payload[
            "certificate_number"
        ]
        for i in ids
    ]

    response = await api.post(f"/bodies/{body_id}/quality-samples", headers=auth(Role.REGULATOR))
    assert response.status_code == 200, response.text
    first = response.json()["certificate_numbers"]
    # 10% of 3 certificates, rounded up: one, from this body.
    assert len(first) == 1 and set(first) <= set(issued)
    second = (
        await api.post(f"/bodies/{body_id}/quality-samples", headers=auth(Role.REGULATOR))
    ).json()["certificate_numbers"]
    assert len(second) == 1 and not set(second) & set(first)

    unsampled = next(n for n in issued if n not in first + second)
    response = await api.post(
        f"/bodies/{body_id}/quality-reviews",
        headers=auth(Role.REGULATOR),
        json={"certificate_number": unsampled, "passed": False, "finding": "x", "suspend": True},
    )
    refused_for(response, Rule.QUALITY_NOT_SAMPLED)
    assert (await api.get(f"/bodies/{body_id}", headers=auth(Role.REGULATOR))).json()[
        "status"
    ] == "active"

    response = await api.post(
        f"/bodies/{body_id}/quality-reviews",
        headers=auth(Role.REGULATOR),
        json={
            "certificate_number": first[0],
            "passed": False,
            "finding": "实操考核记录缺失",
            "suspend": True,
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "suspended"
    suspended = await events.wait_for(
        "skills.evaluation-body",
        lambda e: (
            e.event_type == payloads.BodySuspended.event_type and e.payload["body_id"] == body_id
        ),
    )
    # The finding is free text: it stays in the body's row, out of the event.
    assert suspended.payload["reason"] == ""
    status_reason = await stack.pool.fetchval(
        "SELECT status_reason FROM certification.bodies WHERE body_id = $1", body_id
    )
    assert first[0] in status_reason and "实操考核记录缺失" in status_reason
    sampled = await events.wait_for(
        "skills.evaluation-body",
        lambda e: (
            e.event_type == payloads.QualitySampled.event_type and e.payload["body_id"] == body_id
        ),
    )
    assert sampled.payload["certificate_numbers"] in (first, second)
    reviewed = await events.wait_for(
        "skills.evaluation-body",
        lambda e: (
            e.event_type == payloads.QualityReviewed.event_type and e.payload["body_id"] == body_id
        ),
    )
    assert (reviewed.payload["certificate_number"], reviewed.payload["passed"]) == (first[0], False)

    response = await api.post(
        "/sessions", headers=auth(Role.ENTERPRISE), json=session_request(body_id)
    )
    refused_for(response, Rule.BODY_NOT_ACTIVE)


async def test_quality_supervision_is_for_enterprise_filings_only(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    centre = await approved_body(api, auth)
    response = await api.post(f"/bodies/{centre}/quality-samples", headers=auth(Role.REGULATOR))
    refused_for(response, Rule.QUALITY_ENTERPRISE_ONLY)
