"""Public notice (公示) on the real stack: a suspended body holds issuance, objections.

Sessions run under the ``demo-fast`` policy: a 3-second notice and a held issuance tried
again every 2 seconds, so each path reaches its end in seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from policy.rule_ids import Rule
from schemas import payloads
from schemas.events import EventEnvelope
from skillflow.settings import Role
from tests.integration.steps import Auth, approved_body, id_number, open_session

pytestmark = pytest.mark.integration

NOTICE_S = 3
RECHECK_S = 2


def about(event_type: str, application_id: str) -> Callable[[EventEnvelope], bool]:
    return lambda e: e.event_type == event_type and e.payload["application_id"] == application_id


async def in_notice(api: httpx.AsyncClient, auth: Auth, sequence: int) -> tuple[str, str]:
    """(body id, application id) of a candidate who just passed and is in public notice."""
    body_id = await approved_body(api, auth)
    session_id = await open_session(api, auth, body_id)
    response = await api.post(
        f"/sessions/{session_id}/applications",
        headers=auth(Role.CENTRE),
        json={"id_number": id_number(sequence), "name": "孙悟", "years_in_occupation": 2},
    )
    assert response.status_code == 201, response.text
    application_id = response.json()["application_id"]
    await api.post(
        f"/applications/{application_id}/review", headers=auth(Role.CENTRE), json={"approve": True}
    )
    assert (
        await api.post(f"/sessions/{session_id}/start", headers=auth(Role.CENTRE))
    ).status_code == 200
    response = await api.post(
        f"/applications/{application_id}/scores",
        headers=auth(Role.CENTRE),
        json={"examiner_id": "E1", "scores": {"theory": 80, "practical": 80}},
    )
    assert response.json()["stage"] == "public_notice", response.text
    return body_id, application_id


async def application(api: httpx.AsyncClient, auth: Auth, application_id: str) -> dict[str, Any]:
    response = await api.get(f"/applications/{application_id}", headers=auth(Role.CENTRE))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def reaches(
    api: httpx.AsyncClient, auth: Auth, application_id: str, stage: str, timeout: float = 20
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await application(api, auth, application_id)
        if found["stage"] == stage:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"stage {found['stage']}, never {stage}")
        await asyncio.sleep(0.2)


async def body_status(api: httpx.AsyncClient, auth: Auth, body_id: str, action: str) -> None:
    response = await api.post(
        f"/bodies/{body_id}/status",
        headers=auth(Role.REGULATOR),
        json={"action": action, "reason": f"{action} for the test"},
    )
    assert response.status_code == 200, response.text


async def test_suspension_during_notice_holds_issuance_until_reinstated(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth, events: Any
) -> None:
    body_id, application_id = await in_notice(api, auth, 401)
    await body_status(api, auth, body_id, "suspend")

    held = await reaches(api, auth, application_id, "held")
    assert held["certificate_number"] is None
    assert held["stage_rule"] == Rule.BODY_NOT_ACTIVE
    # Still held after rechecks: a suspended body issues nothing.
    await asyncio.sleep(RECHECK_S * 1.5)
    assert (await application(api, auth, application_id))["stage"] == "held"
    assert (
        await events.all(
            "skills.certificate", about(payloads.CertificateIssued.event_type, application_id)
        )
        == []
    )

    await body_status(api, auth, body_id, "reinstate")
    issued = await events.wait_for(
        "skills.certificate",
        about(payloads.CertificateIssued.event_type, application_id),
        timeout=30,
    )
    found = await reaches(api, auth, application_id, "issued")
    assert found["certificate_number"] == issued.payload["certificate_number"]


async def test_revocation_during_hold_withholds_the_certificate(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth, events: Any
) -> None:
    body_id, application_id = await in_notice(api, auth, 402)
    await body_status(api, auth, body_id, "suspend")
    await reaches(api, auth, application_id, "held")
    await body_status(api, auth, body_id, "revoke")

    withheld = await events.wait_for(
        "skills.certificate",
        about(payloads.CertificateWithheld.event_type, application_id),
        timeout=30,
    )
    assert withheld.payload["rule"] == Rule.BODY_BODY_REVOKED
    found = await reaches(api, auth, application_id, "withheld")
    assert found["certificate_number"] is None
    assert (
        await events.all(
            "skills.certificate", about(payloads.CertificateIssued.event_type, application_id)
        )
        == []
    )


async def test_an_upheld_objection_withholds_the_certificate(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth, events: Any
) -> None:
    _, application_id = await in_notice(api, auth, 403)
    response = await api.post(
        f"/applications/{application_id}/objections",
        headers=auth(Role.CENTRE),
        json={"reason": "举报：实操由他人代考", "objection_id": "obj-1"},
    )
    assert response.json()["stage"] == "objection", response.text
    response = await api.post(
        f"/applications/{application_id}/objections/obj-1/resolution",
        headers=auth(Role.REGULATOR),
        json={"upheld": True, "resolution": "监控录像证实代考"},
    )
    assert response.json()["stage"] == "withheld", response.text

    withheld = await events.wait_for(
        "skills.certificate", about(payloads.CertificateWithheld.event_type, application_id)
    )
    assert withheld.payload["rule"] == Rule.OBJECTION_UPHELD
    resolved = await events.wait_for(
        "skills.certificate", about(payloads.ObjectionResolved.event_type, application_id)
    )
    assert resolved.payload["upheld"] is True
    # Well past the notice: still no certificate.
    await asyncio.sleep(NOTICE_S)
    assert (await application(api, auth, application_id))["certificate_number"] is None
    assert (
        await events.all(
            "skills.certificate", about(payloads.CertificateIssued.event_type, application_id)
        )
        == []
    )


async def test_a_dismissed_objection_lets_the_certificate_issue_after_resolution(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth, events: Any
) -> None:
    _, application_id = await in_notice(api, auth, 404)
    response = await api.post(
        f"/applications/{application_id}/objections",
        headers=auth(Role.CENTRE),
        json={"reason": "成绩存疑", "objection_id": "obj-2"},
    )
    assert response.json()["stage"] == "objection", response.text
    # The notice runs out while the objection is open: issuance waits for the resolution.
    await asyncio.sleep(NOTICE_S + 1)
    waiting = await application(api, auth, application_id)
    assert (waiting["stage"], waiting["certificate_number"]) == ("objection", None)

    response = await api.post(
        f"/applications/{application_id}/objections/obj-2/resolution",
        headers=auth(Role.REGULATOR),
        json={"upheld": False, "resolution": "复核成绩无误"},
    )
    assert response.status_code == 200, response.text
    issued = await events.wait_for(
        "skills.certificate",
        about(payloads.CertificateIssued.event_type, application_id),
        timeout=30,
    )
    resolved = await events.wait_for(
        "skills.certificate", about(payloads.ObjectionResolved.event_type, application_id)
    )
    assert resolved.occurred_at <= issued.occurred_at
    assert (await reaches(api, auth, application_id, "issued"))["certificate_number"] == (
        issued.payload["certificate_number"]
    )
