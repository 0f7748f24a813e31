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
from schemas.events import EventEnvelope, EventPayload
from skillflow.settings import Role
from tests.integration.steps import (
    Auth,
    approved_body,
    body_status,
    examined,
    id_number,
    open_session,
    registered,
)

pytestmark = pytest.mark.integration

NOTICE_S = 3
RECHECK_S = 2


def about(event_type: str, application_id: str) -> Callable[[EventEnvelope], bool]:
    return lambda e: e.event_type == event_type and e.payload["application_id"] == application_id


async def certificate_event(
    events: Any, payload: type[EventPayload], application_id: str, timeout: float = 30
) -> EventEnvelope:
    """The application's event of ``payload``'s type, on its topic."""
    found: EventEnvelope = await events.wait_for(
        payload.topic.value, about(payload.event_type, application_id), timeout=timeout
    )
    return found


async def never_issued(events: Any, application_id: str) -> bool:
    """No ``certificate.issued`` for the application among the events seen so far."""
    issued = about(payloads.CertificateIssued.event_type, application_id)
    return bool(await events.all("skills.certificate", issued) == [])


async def in_notice(api: httpx.AsyncClient, auth: Auth, sequence: int) -> tuple[str, str]:
    """(body id, application id) of a candidate who just passed and is in public notice."""
    body_id = await approved_body(api, auth)
    session_id = await open_session(api, auth, body_id)
    application_id = await registered(api, auth, session_id, "孙悟", id_number=id_number(sequence))
    response = await examined(api, auth, session_id, application_id, theory=80, practical=80)
    assert response.json()["stage"] == "public_notice", response.text
    return body_id, application_id


async def raise_objection(
    api: httpx.AsyncClient, auth: Auth, application_id: str, objection_id: str, reason: str
) -> None:
    """An objection is raised during the notice: the application waits on it."""
    response = await api.post(
        f"/applications/{application_id}/objections",
        headers=auth(Role.CENTRE),
        json={"reason": reason, "objection_id": objection_id},
    )
    assert response.json()["stage"] == "objection", response.text


async def resolve_objection(
    api: httpx.AsyncClient,
    auth: Auth,
    application_id: str,
    objection_id: str,
    resolution: str,
    *,
    upheld: bool,
) -> httpx.Response:
    """The regulator resolves the objection (the answer, for the test to read)."""
    return await api.post(
        f"/applications/{application_id}/objections/{objection_id}/resolution",
        headers=auth(Role.REGULATOR),
        json={"upheld": upheld, "resolution": resolution},
    )


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
    assert await never_issued(events, application_id)

    await body_status(api, auth, body_id, "reinstate")
    issued = await certificate_event(events, payloads.CertificateIssued, application_id)
    found = await reaches(api, auth, application_id, "issued")
    assert found["certificate_number"] == issued.payload["certificate_number"]


async def test_revocation_during_hold_withholds_the_certificate(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth, events: Any
) -> None:
    body_id, application_id = await in_notice(api, auth, 402)
    await body_status(api, auth, body_id, "suspend")
    await reaches(api, auth, application_id, "held")
    await body_status(api, auth, body_id, "revoke")

    withheld = await certificate_event(events, payloads.CertificateWithheld, application_id)
    assert withheld.payload["rule"] == Rule.BODY_BODY_REVOKED
    found = await reaches(api, auth, application_id, "withheld")
    assert found["certificate_number"] is None
    assert await never_issued(events, application_id)


async def test_an_upheld_objection_withholds_the_certificate(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth, events: Any
) -> None:
    _, application_id = await in_notice(api, auth, 403)
    await raise_objection(api, auth, application_id, "obj-1", "举报：实操由他人代考")
    response = await resolve_objection(
        api, auth, application_id, "obj-1", "监控录像证实代考", upheld=True
    )
    assert response.json()["stage"] == "withheld", response.text

    withheld = await certificate_event(events, payloads.CertificateWithheld, application_id)
    assert withheld.payload["rule"] == Rule.OBJECTION_UPHELD
    resolved = await certificate_event(events, payloads.ObjectionResolved, application_id)
    assert resolved.payload["upheld"] is True
    # Well past the notice: still no certificate.
    await asyncio.sleep(NOTICE_S)
    assert (await application(api, auth, application_id))["certificate_number"] is None
    assert await never_issued(events, application_id)


async def test_a_dismissed_objection_lets_the_certificate_issue_after_resolution(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth, events: Any
) -> None:
    _, application_id = await in_notice(api, auth, 404)
    await raise_objection(api, auth, application_id, "obj-2", "成绩存疑")
    # The notice runs out while the objection is open: issuance waits for the resolution.
    await asyncio.sleep(NOTICE_S + 1)
    waiting = await application(api, auth, application_id)
    assert (waiting["stage"], waiting["certificate_number"]) == ("objection", None)

    response = await resolve_objection(
        api, auth, application_id, "obj-2", "复核成绩无误", upheld=False
    )
    assert response.status_code == 200, response.text
    issued = await certificate_event(events, payloads.CertificateIssued, application_id)
    resolved = await certificate_event(events, payloads.ObjectionResolved, application_id)
    assert resolved.occurred_at <= issued.occurred_at
    assert (await reaches(api, auth, application_id, "issued"))["certificate_number"] == (
        issued.payload["certificate_number"]
    )
