"""Determinism guard: recorded histories of every workflow replay against the current code.

The JSON files in ``histories/`` are committed. They are written by the scenarios below
when missing (or when ``SKILLFLOW_RECORD_HISTORIES=1``); a change to a workflow that would
break running executions makes ``test_recorded_histories_replay`` fail.

``v1_*.json`` were recorded by the code before applications took their figures instead of
the whole policy, ran their steps as local activities and had the session start stranded
registrations. No scenario writes them, so re-recording never replaces them: they keep
proving that executions started by that code still run on this one.

``v2_session_running.json`` is a level-2 session started (and still running) by the code
before sessions kept their components at opening (``session-components-snapshot``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from schemas.application import Objection, ObjectionResolution, ReviewDecision
from schemas.evaluation_body import BodyDecision, BodyRun, BodyStatusChange
from schemas.exam_session import CloseSession, StartExam
from schemas.workflow_ids import body_workflow_id
from skillflow.settings import Settings
from skillflow.temporal import data_converter, workflow_runner
from tests.workflow import test_application as app
from tests.workflow.conftest import Harness
from tests.workflow.test_certificate import promotion_started, revocation_started
from tests.workflow.test_evaluation_body import filing
from tests.workflow.test_exam_session import opened, opening
from workflows import all_workflows
from workflows.application import ApplicationWorkflow
from workflows.evaluation_body import EvaluationBodyWorkflow
from workflows.exam_session import CLOSE_AFTER_SCORES, SNAPSHOT_COMPONENTS, ExamSessionWorkflow

HISTORIES = Path(__file__).parent / "histories"


async def _application_issued(harness: Harness) -> Any:
    handle, _ = await app.approved(harness)
    await handle.execute_update(
        ApplicationWorkflow.enter_scores, app.sheet(theory=50, practical=81)
    )
    await handle.execute_update(ApplicationWorkflow.enter_scores, app.sheet(theory=70))
    await handle.execute_update(
        ApplicationWorkflow.raise_objection, Objection(objection_id="o1", reason="doubt")
    )
    await handle.execute_update(
        ApplicationWorkflow.resolve_objection,
        ObjectionResolution(objection_id="o1", upheld=False, resolution="no evidence"),
    )
    await handle.result()
    return handle


async def _application_rejected(harness: Harness) -> Any:
    handle = await app.start(harness, app.application(harness))
    await handle.execute_update(
        ApplicationWorkflow.review, ReviewDecision(approve=False, reason="forged record")
    )
    await handle.result()
    return handle


async def _application_expired(harness: Harness) -> Any:
    handle = await app.start(harness, app.application(harness))
    await handle.result()
    return handle


async def _application_corrected_then_issued(harness: Harness) -> Any:
    handle, _ = await app.approved(harness, occupation=app.ELECTRICIAN)
    await handle.execute_update(ApplicationWorkflow.enter_scores, app.sheet(theory=70))
    await handle.execute_update(ApplicationWorkflow.correct_score, app.correction("theory", 45))
    await handle.execute_update(
        ApplicationWorkflow.enter_scores, app.sheet(theory=72, practical=80)
    )
    await handle.result()
    return handle


async def _application_held_then_issued(harness: Harness) -> Any:
    handle, _ = await app.approved(harness)
    harness.store.bodies[app.BODY].status = "suspended"
    await handle.execute_update(
        ApplicationWorkflow.enter_scores, app.sheet(theory=70, practical=70)
    )
    await harness.env.sleep(timedelta(days=8))
    harness.store.bodies[app.BODY].status = "active"
    await handle.result()
    return handle


async def _body_lifecycle(harness: Harness) -> Any:
    body = filing(harness, "Y")
    handle = await harness.start(
        EvaluationBodyWorkflow.run, BodyRun(filing=body), body_workflow_id(body.body_id)
    )
    await handle.execute_update(EvaluationBodyWorkflow.decide, BodyDecision(approve=True))
    await handle.execute_update(
        EvaluationBodyWorkflow.change_status, BodyStatusChange(action="suspend", reason="audit")
    )
    await handle.execute_update(
        EvaluationBodyWorkflow.change_status, BodyStatusChange(action="revoke", reason="fraud")
    )
    await handle.result()
    return handle


async def _session(harness: Harness) -> Any:
    handle = await opened(harness, opening(harness))
    harness.store.roster = 10
    await handle.execute_update(ExamSessionWorkflow.start_exam, StartExam())
    await handle.execute_update(ExamSessionWorkflow.close, CloseSession())
    await handle.result()
    return handle


async def _promotion(harness: Harness) -> Any:
    handle = await promotion_started(harness, "active")
    await handle.result()
    return handle


async def _promotion_after_suspension(harness: Harness) -> Any:
    handle = await promotion_started(harness, "suspended")
    await harness.env.sleep(timedelta(days=2))
    harness.store.bodies["S-P"].status = "active"
    await handle.result()
    return handle


async def _revocation(harness: Harness) -> Any:
    harness.store.certificates["x"] = "S000021000001265000001"
    handle = await revocation_started(harness, "S000021000001265000001")
    await handle.result()
    return handle


SCENARIOS: dict[str, Callable[[Harness], Awaitable[Any]]] = {
    "application_resit_objection_issued": _application_issued,
    "application_rejected": _application_rejected,
    "application_expired": _application_expired,
    "application_held_then_issued": _application_held_then_issued,
    "application_corrected_then_issued": _application_corrected_then_issued,
    "body_lifecycle": _body_lifecycle,
    "session": _session,
    "promotion": _promotion,
    "promotion_after_suspension": _promotion_after_suspension,
    "revocation": _revocation,
}


def _replayer() -> Replayer:
    return Replayer(
        workflows=all_workflows(),
        workflow_runner=workflow_runner(),
        # Decodes the recorded, unencrypted histories unchanged and fresh encrypted ones.
        data_converter=data_converter(Settings()),
    )


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_scenario_history_replays(harness: Harness, name: str) -> None:
    """Each scenario runs to its end on today's code and its fresh history replays.

    A workflow that reads the clock, a random number or a dict ordering outside the
    SDK's control fails here before it ever reaches a recorded file. The history is
    written to ``histories/`` when missing or when ``SKILLFLOW_RECORD_HISTORIES=1``
    (run ``SKILLFLOW_RECORD_HISTORIES=1 scripts/test tests/workflow/test_replay.py``
    after an intended, patched workflow change).
    """
    handle = await SCENARIOS[name](harness)
    history = await handle.fetch_history()
    result = await _replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
    path = HISTORIES / f"{name}.json"
    if not path.exists() or os.environ.get("SKILLFLOW_RECORD_HISTORIES") == "1":
        HISTORIES.mkdir(exist_ok=True)
        path.write_text(history.to_json())


async def test_recorded_histories_replay() -> None:
    paths = sorted(HISTORIES.glob("*.json"))
    assert {p.stem for p in paths} >= set(SCENARIOS), "record the missing histories"
    replayer = _replayer()
    for path in paths:
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        await replayer.replay_workflow(history)


@pytest.mark.parametrize(
    ("recorded", "patch"),
    [
        # Its staffing was checked against the live catalogue; replay takes that path.
        ("v2_session_running", SNAPSHOT_COMPONENTS),
        # It closed without counting outstanding scores (the API counted them).
        ("session", CLOSE_AFTER_SCORES),
    ],
)
async def test_a_session_recorded_before_a_patch_replays_without_it(
    recorded: str, patch: str
) -> None:
    path = HISTORIES / f"{recorded}.json"
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    assert patch not in _patches(history)
    await _replayer().replay_workflow(history)


async def test_a_new_session_records_its_patches(harness: Harness) -> None:
    """The components snapshot at opening, the count of outstanding scores at close."""
    handle = await _session(harness)
    patches = _patches(await handle.fetch_history())
    assert {SNAPSHOT_COMPONENTS, CLOSE_AFTER_SCORES} <= patches


def _patches(history: WorkflowHistory) -> set[str]:
    """The patch ids a history's markers record."""
    found: set[str] = set()
    for event in history.events:
        if not event.HasField("marker_recorded_event_attributes"):
            continue
        for payloads in event.marker_recorded_event_attributes.details.values():
            for payload in payloads.payloads:
                data = json.loads(payload.data or b"null")
                if isinstance(data, dict) and "id" in data:
                    found.add(str(data["id"]))
    return found
