"""The session workflow: opened by an active body, staffing checked before it runs."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError

from policy.rule_ids import Rule
from schemas.exam_session import CloseSession, SessionExaminer, SessionOpening, StartExam
from schemas.payloads import SessionOpened
from schemas.workflow_ids import session_workflow_id
from tests.workflow.conftest import FakeBody, Harness
from workflows.exam_session import ExamSessionWorkflow
from workflows.rules import rule_violations_from


def examiner(n: int, grade: str = "ordinary", panel: str = "practical") -> SessionExaminer:
    return SessionExaminer(
        examiner_id=f"E{n}",
        name=f"考评员{n}",
        grade=grade,
        employer=f"EMP{n}",
        panel=panel,  # type: ignore[arg-type]
    )


def opening(
    harness: Harness, *, level: int = 5, examiners: int = 3, proctors: int = 2
) -> SessionOpening:
    harness.store.bodies["S-B"] = FakeBody("S", "active", ["6-20-01-01:5", "6-20-01-01:2"])
    return SessionOpening(
        session_id=harness.unique("sess"),
        body_id="S-B",
        occupation_code="6-20-01-01",
        level=level,
        exam_date=date(2027, 3, 1),
        registration_closes_on=date(2027, 2, 1),
        capacity=100,
        theory_rooms=1,
        proctors=proctors,
        examiners=[examiner(i) for i in range(examiners)],
    )


async def opened(harness: Harness, session: SessionOpening) -> Any:
    return await harness.start(
        ExamSessionWorkflow.run, session, session_workflow_id(session.session_id)
    )


async def start_refused(handle: Any) -> set[str]:
    """The rules ``start_exam`` broke (it must refuse)."""
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update(ExamSessionWorkflow.start_exam, StartExam())
    violations = rule_violations_from(caught.value)
    assert violations is not None
    return {v.rule for v in violations.violations}


async def test_session_runs_when_staffing_covers_the_roster(harness: Harness) -> None:
    handle = await opened(harness, opening(harness))
    harness.store.roster = 15
    state = await handle.execute_update(ExamSessionWorkflow.start_exam, StartExam())
    assert state.status == "running"
    assert state.pass_mark == 60
    # Stranded registrations are started before the roster is counted.
    assert harness.store.calls["start_unstarted_applications"] == 1
    await handle.execute_update(ExamSessionWorkflow.close, CloseSession())
    assert (await handle.result()).status == "closed"
    assert harness.store.event_types() == [SessionOpened.event_type]


async def test_a_session_closes_only_when_every_first_round_score_is_in(
    harness: Harness,
) -> None:
    handle = await opened(harness, opening(harness))
    harness.store.roster = 15
    await handle.execute_update(ExamSessionWorkflow.start_exam, StartExam())
    harness.store.outstanding = 2
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update(ExamSessionWorkflow.close, CloseSession())
    violations = rule_violations_from(caught.value)
    assert violations is not None
    assert [v.rule for v in violations.violations] == [Rule.SESSION_SCORES_OUTSTANDING]
    assert (await handle.query(ExamSessionWorkflow.state)).status == "running"
    harness.store.outstanding = 0
    await handle.execute_update(ExamSessionWorkflow.close, CloseSession())
    assert (await handle.result()).status == "closed"


async def test_session_does_not_run_understaffed(harness: Harness) -> None:
    handle = await opened(harness, opening(harness))
    # 40 candidates need 3 proctors and 8 practical examiners (odd: 9).
    harness.store.roster = 40
    assert await start_refused(handle) == {
        Rule.STAFFING_PROCTORS_PER_CANDIDATES,
        Rule.STAFFING_PRACTICAL_EXAMINERS_TOO_FEW,
    }
    assert (await handle.query(ExamSessionWorkflow.state)).status == "open"


async def test_a_suspended_body_cannot_open_a_session(harness: Harness) -> None:
    session = opening(harness)
    harness.store.bodies["S-B"].status = "suspended"
    handle = await opened(harness, session)
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    violations = rule_violations_from(caught.value)
    assert violations is not None
    assert violations.violations[0].rule == Rule.BODY_NOT_ACTIVE


async def test_staffing_is_checked_against_the_components_recorded_at_opening(
    harness: Harness,
) -> None:
    # The occupation required a review at opening; the catalogue has since dropped it for
    # level 5. The session is staffed for what it opened with, so it needs a review panel.
    harness.store.components_at_opening = ("theory", "practical", "review")
    handle = await opened(harness, opening(harness))
    harness.store.roster = 10
    assert await start_refused(handle) == {
        Rule.STAFFING_REVIEW_PANEL_TOO_FEW,
        Rule.STAFFING_REVIEW_PANEL_EVEN,
    }
