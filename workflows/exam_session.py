"""An exam session: opened by a body within its filed scope, staffed, run, closed.

Workflow id ``session-{session_id}``. Candidates are not children of this workflow: each
has its own ``ApplicationWorkflow``, so the session's history stays a handful of events
however many candidates register (see ``skillflow/benchmarks/certification.py``).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow

from policy.assessment import check_session_may_close, check_staffing
from policy.catalogue import get_occupation, required_components
from policy.errors import RuleViolation
from policy.rule_ids import Rule
from schemas.exam_session import (
    CloseSession,
    OpenedSession,
    SessionExaminer,
    SessionOpening,
    SessionOpenRecord,
    SessionState,
    SessionStatus,
    SessionStatusRecord,
    StartExam,
)
from workflows import search_attributes
from workflows.rules import as_rule_error, rule_error, rules_error

with workflow.unsafe.imports_passed_through():
    from activities.exam_session import ExamSessionActivities
    from activities.registration import RegistrationActivities
    from activities.resources import STEP_TIMEOUT

# The components a session staffs for are those recorded at its opening, not the live
# catalogue's at start_exam. Sessions opened before read the catalogue, as they did.
SNAPSHOT_COMPONENTS = "session-components-snapshot"
# Closing waits for every first-round score (the rule was the API's before). Sessions
# closed before replay without the count.
CLOSE_AFTER_SCORES = "session-close-after-scores"
# Starting a whole session's stranded registrations is a few thousand workflow starts.
_REPAIR_TIMEOUT = timedelta(minutes=10)


def panels(
    examiners: list[SessionExaminer],
) -> tuple[list[SessionExaminer], list[SessionExaminer]]:
    practical = [e for e in examiners if e.panel == "practical"]
    review = [e for e in examiners if e.panel == "review"]
    return practical, review


@workflow.defn(name="ExamSessionWorkflow")
class ExamSessionWorkflow:
    @workflow.init
    def __init__(self, opening: SessionOpening) -> None:
        self._opening = opening
        self._status: SessionStatus = "open"
        self._opened: OpenedSession | None = None
        self._components_at_opening: tuple[str, ...] | None = None
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, opening: SessionOpening) -> SessionState:
        self._opened = await workflow.execute_activity_method(
            ExamSessionActivities.open_session,
            SessionOpenRecord(opening=opening, occurred_at=workflow.now()),
            start_to_close_timeout=STEP_TIMEOUT,
        )
        if workflow.patched(SNAPSHOT_COMPONENTS):
            self._components_at_opening = self._opened.required_components
        workflow.upsert_search_attributes(
            [
                search_attributes.BODY.value_set(opening.body_id),
                search_attributes.OCCUPATION.value_set(opening.occupation_code),
                search_attributes.LEVEL.value_set(opening.level),
                search_attributes.SESSION.value_set(opening.session_id),
                search_attributes.STAGE.value_set(self._status),
            ]
        )
        await workflow.wait_condition(lambda: self._status == "closed")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    @workflow.query
    def state(self) -> SessionState:
        return SessionState(
            session_id=self._opening.session_id,
            status=self._status,
            pass_mark=self._opened.pass_mark if self._opened else None,
        )

    @workflow.update
    async def await_opened(self, _: StartExam) -> SessionState:
        """Answers once the session is recorded, so the API can return a usable session."""
        await workflow.wait_condition(lambda: self._opened is not None)
        return self.state()

    @workflow.update
    async def start_exam(self, _: StartExam) -> SessionState:
        """Check staffing against the approved roster, then let the exam run."""
        await workflow.wait_condition(lambda: self._opened is not None)
        assert self._opened is not None
        async with self._lock:
            self.validate_start(StartExam())
            # Registrations saved by a process that stopped before starting their workflow
            # would otherwise miss the exam. Histories from before this step replay without it.
            if workflow.patched("start-unstarted-applications"):
                await workflow.execute_activity_method(
                    RegistrationActivities.start_unstarted_applications,
                    self._opening.session_id,
                    start_to_close_timeout=_REPAIR_TIMEOUT,
                )
            candidates = await workflow.execute_activity_method(
                ExamSessionActivities.session_roster,
                self._opening.session_id,
                start_to_close_timeout=STEP_TIMEOUT,
            )
            practical, review = panels(self._opening.examiners)
            violations = check_staffing(
                self._opening.level,
                candidates,
                self._opening.theory_rooms,
                self._opening.proctors,
                list(practical),
                list(review),
                self._opened.policy.staffing,
                review_panel_needed="review" in self._components(),
            )
            if violations:
                raise rules_error(violations)
            await self._set_status("running")
            return self.state()

    def _components(self) -> tuple[str, ...]:
        if self._components_at_opening is not None:
            return self._components_at_opening
        opening = self._opening
        return required_components(get_occupation(opening.occupation_code), opening.level)

    @start_exam.validator
    def validate_start(self, _: StartExam) -> None:
        if self._status != "open":
            raise rule_error("session_id", Rule.SESSION_NOT_OPEN, f"the session is {self._status}")

    @workflow.update
    async def close(self, _: CloseSession) -> SessionState:
        async with self._lock:
            self.validate_close(CloseSession())
            if workflow.patched(CLOSE_AFTER_SCORES):
                outstanding = await workflow.execute_activity_method(
                    ExamSessionActivities.first_round_outstanding,
                    self._opening.session_id,
                    start_to_close_timeout=STEP_TIMEOUT,
                )
                try:
                    check_session_may_close(outstanding)
                except RuleViolation as violation:
                    raise as_rule_error(violation) from None
            await self._set_status("closed")
            return self.state()

    @close.validator
    def validate_close(self, _: CloseSession) -> None:
        if self._status == "closed":
            raise rule_error("session_id", Rule.SESSION_CLOSED, "the session is already closed")

    async def _set_status(self, status: SessionStatus) -> None:
        await workflow.execute_activity_method(
            ExamSessionActivities.record_session_status,
            SessionStatusRecord(
                session_id=self._opening.session_id, status=status, occurred_at=workflow.now()
            ),
            start_to_close_timeout=STEP_TIMEOUT,
        )
        self._status = status
        workflow.upsert_search_attributes([search_attributes.STAGE.value_set(status)])
