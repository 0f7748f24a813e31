"""A registration saved by an API that stopped before starting its workflow is not lost.

The crash is simulated by making the workflow start fail after the registration's
transaction committed, as a process killed at that instant would leave it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus

from api.app import create_app
from api.routes import sessions
from policy.rule_ids import Rule
from schemas.workflow_ids import application_workflow_id
from skillflow.settings import Role
from tests.integration.steps import (
    Auth,
    approved_body,
    id_number,
    new_session,
    open_session,
    registered,
    reject,
    start,
)

pytestmark = pytest.mark.integration


class ApiStopped(Exception):
    pass


async def _stop_before_start(*_: Any, **__: Any) -> int:
    raise ApiStopped


async def stranded_registration(
    api: httpx.AsyncClient, auth: Auth, sequence: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str]:
    """A registration in a new session, committed but its workflow never started:
    (session id, application id)."""
    session_id = await open_session(api, auth, await approved_body(api, auth))
    with monkeypatch.context() as patch:
        patch.setattr(sessions, "start_applications", _stop_before_start)
        # The API's catch-all answers the unexpected stop (it no longer escapes the app).
        stopped = await api.post(
            f"/sessions/{session_id}/applications",
            headers=auth(Role.CENTRE),
            json={"id_number": id_number(sequence), "name": "周八", "years_in_occupation": 2},
        )
        assert stopped.status_code == 500, stopped.text
        assert stopped.json()["errors"][0]["rule"] == Rule.SERVER_UNEXPECTED
    listing = await api.get(f"/sessions/{session_id}/applications", headers=auth(Role.CENTRE))
    [row] = listing.json()
    assert row["stage"] == "awaiting_review"
    application_id: str = row["application_id"]
    # Nothing drives it: no workflow to review.
    response = await api.post(
        f"/applications/{application_id}/review", headers=auth(Role.CENTRE), json={"approve": True}
    )
    assert response.status_code == 404, response.text
    return session_id, application_id


async def test_starting_the_exam_starts_registrations_a_crash_left_behind(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id, application_id = await stranded_registration(api, auth, 501, monkeypatch)

    await start(api, auth, session_id)
    # Approvals end at the start; the repaired registration's workflow takes its rejection.
    await reject(api, auth, application_id, "did not attend")
    started = await stack.pool.fetchval(
        """SELECT workflow_started_at IS NOT NULL FROM certification.applications
           WHERE application_id = $1""",
        application_id,
    )
    assert started


async def test_an_api_starting_up_starts_registrations_a_crash_left_behind(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, application_id = await stranded_registration(api, auth, 502, monkeypatch)

    restarted = create_app(stack.settings)
    async with restarted.router.lifespan_context(restarted):
        await asyncio.wait_for(restarted.state.start_up_repair, 30)
    handle = stack.temporal.get_workflow_handle(application_workflow_id(application_id))
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    response = await api.post(
        f"/applications/{application_id}/review", headers=auth(Role.CENTRE), json={"approve": True}
    )
    assert response.status_code == 200, response.text


async def test_a_repair_never_revives_a_finished_application(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    from activities.registration import start_unstarted

    session_id = await new_session(api, auth)
    application_id = await registered(api, auth, session_id, "吴九", id_number=id_number(503))
    await reject(api, auth, application_id, "材料不全")
    handle = stack.temporal.get_workflow_handle(application_workflow_id(application_id))
    await handle.result()
    # As if the process had stopped after starting the workflow but before noting it.
    await stack.pool.execute(
        """UPDATE certification.applications SET workflow_started_at = NULL
           WHERE application_id = $1""",
        application_id,
    )
    started = await start_unstarted(
        stack.temporal, stack.settings.task_queue, stack.pool, session_id
    )
    assert started == 0
    # The latest run is still the finished one: no new run in awaiting_review.
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
