"""One candidate's way from registration to certificate (or to a named refusal).

Workflow id ``application-{application_id}``. Stages::

    awaiting_review -> rejected | expired
                    -> assessment -> failed
                                  -> resit -> failed
                                  -> public_notice <-> objection -> withheld
                                                   -> held (body suspended) -> issued | withheld
                                                   -> issued

Commands arrive as updates whose validators reject bad input before it enters history;
each handler records its step with one activity (state + events in one transaction) and
answers with the new status. The run loop only keeps the clocks: review deadline, re-sit
window, public notice, and the re-check of a held issuance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, TypedDict, TypeVar

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.types import MethodAsyncSingleParam

from policy.assessment import (
    RoundOutcome,
    after_failed_round,
    check_sitting_order,
    resit_deadline,
    round_outcome,
    still_to_sit,
    validate_score,
)
from policy.calendar import china_date, china_midnight
from policy.errors import RuleViolation
from policy.rule_ids import Rule
from schemas.application import (
    FINAL_STAGES,
    ApplicationStart,
    ApplicationStatus,
    AssessmentRecord,
    CorrectionRecord,
    HoldRecheck,
    Objection,
    ObjectionRecord,
    ObjectionResolution,
    ResolutionRecord,
    ReviewDecision,
    ReviewRecord,
    ScoreCorrection,
    ScoreRecorded,
    ScoreSheet,
    Stage,
    StageRecord,
)
from schemas.certificate import IssueRequest
from workflows import search_attributes
from workflows.rules import as_rule_error, rule_error

with workflow.unsafe.imports_passed_through():
    # Typed calls: a renamed activity or a changed argument fails mypy, not a running workflow.
    from activities.application import ApplicationActivities
    from activities.certificate import CertificateActivities
    from activities.resources import STEP_TIMEOUT


class _Step(TypedDict):
    """Whose application and when: what the record of every step of it names."""

    application_id: str
    person_key: str
    occurred_at: datetime


_Arg = TypeVar("_Arg")
_Result = TypeVar("_Result")

# Each step is one short PostgreSQL transaction. As a local activity it runs inside the
# workflow task that decided it: an approval or a score sheet costs one workflow task and
# a marker instead of two tasks and an activity task, which roughly halves a candidate's
# history. Histories recorded before replay with the activities they scheduled.
LOCAL_RECORDS = "local-records"
# Corrections reconsider every required component (and the round in assessment), not
# only those awaited: before, a correction could leave a failed component unnoticed.
RECONSIDER_EVERY_COMPONENT = "reconsider-every-component"


def initial_search_attributes(start: ApplicationStart) -> TypedSearchAttributes:
    """What an application is found by from its start: never personal data."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(search_attributes.BODY, start.body_id),
            SearchAttributePair(search_attributes.OCCUPATION, start.occupation_code),
            SearchAttributePair(search_attributes.LEVEL, start.level),
            SearchAttributePair(search_attributes.SESSION, start.session_id),
            SearchAttributePair(search_attributes.STAGE, "awaiting_review"),
        ]
    )


@workflow.defn(name="ApplicationWorkflow")
class ApplicationWorkflow:
    @workflow.init
    def __init__(self, start: ApplicationStart) -> None:
        self._start = start
        self._figures = start.figures_in_force()
        self._stage: Stage = "awaiting_review"
        self._scores: dict[str, float] = {}
        self._attempts: dict[str, int] = {}
        self._awaiting: list[str] = list(start.required_components)
        self._failed: list[str] = []
        self._round = 1
        self._resit_deadline: date | None = None
        self._notice_ends_at: datetime | None = None
        self._objections: dict[str, bool] = {}
        self._corrections: list[str] = []
        self._certificate: str | None = None
        self._rule: str | None = None
        self._hold_until: datetime | None = None
        self._changes = 0
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, start: ApplicationStart) -> ApplicationStatus:
        # Starters pass these with the start (one event fewer per candidate); an execution
        # started without them, as before, sets them here.
        if workflow.info().typed_search_attributes.get(search_attributes.SESSION) is None:
            workflow.upsert_search_attributes(
                [pair.key.value_set(pair.value) for pair in initial_search_attributes(start)]
            )
        review_deadline = workflow.now() + timedelta(days=self._figures.registration_review_days)
        while self._stage not in FINAL_STAGES:
            seen = self._changes
            wait = self._time_to_next_deadline(review_deadline)
            if wait is None or wait > timedelta(0):
                try:
                    await workflow.wait_condition(self._moved_since(seen), timeout=wait)
                    continue
                except TimeoutError:
                    pass
            async with self._lock:
                # A command may have moved the application while the clock ran out.
                if self._changes == seen:
                    await self._on_deadline()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    def _moved_since(self, seen: int) -> Callable[[], bool]:
        return lambda: self._changes != seen

    @workflow.query
    def status(self) -> ApplicationStatus:
        return ApplicationStatus(
            application_id=self._start.application_id,
            stage=self._stage,
            scores=dict(self._scores),
            attempts=dict(self._attempts),
            awaiting=list(self._awaiting),
            failed_components=list(self._failed),
            resit_deadline=self._resit_deadline,
            notice_ends_at=self._notice_ends_at,
            open_objections=[oid for oid, is_open in self._objections.items() if is_open],
            certificate_number=self._certificate,
            rule=self._rule,
        )

    # --- clocks -------------------------------------------------------------------------

    def _time_to_next_deadline(self, review_deadline: datetime) -> timedelta | None:
        now = workflow.now()
        if self._stage == "awaiting_review":
            return review_deadline - now
        if self._stage == "resit":
            assert self._resit_deadline is not None
            # The deadline day (a day in China) is the last day a re-sit may be sat.
            lapses = china_midnight(self._resit_deadline + timedelta(days=1))
            return lapses - now
        if self._stage == "public_notice":
            assert self._notice_ends_at is not None
            return self._notice_ends_at - now
        if self._stage == "held":
            assert self._hold_until is not None
            return self._hold_until - now
        return None

    async def _on_deadline(self) -> None:
        if self._stage == "awaiting_review":
            await self._record_stage("expired", Rule.REVIEW_DEADLINE, "not reviewed in time")
        elif self._stage == "resit":
            await self._record_stage(
                "failed", Rule.RESIT_WINDOW_LAPSED, "the re-sit window closed without a pass"
            )
        elif self._stage in ("public_notice", "held"):
            await self._issue()

    async def _issue(self) -> None:
        start = self._start
        result = await self._record(
            CertificateActivities.issue_certificate,
            IssueRequest(
                source_id=start.application_id,
                route="assessment",
                body_id=start.body_id,
                person_key=start.person_key,
                occupation_code=start.occupation_code,
                level=start.level,
                correlation_id=workflow.info().workflow_id,
                issued_at=workflow.now(),
            ),
        )
        if result.status == "issued":
            self._certificate = result.certificate_number
            self._set_stage("issued")
        elif result.status == "body_inactive":
            # Polling the body's status costs one activity per recheck, instead of the
            # body's workflow signalling every candidate it has in notice.
            self._hold_until = workflow.now() + timedelta(
                seconds=self._figures.held_recheck_seconds
            )
            if self._stage != "held":
                await self._record_stage("held", Rule.BODY_NOT_ACTIVE, result.reason)
            else:
                self._changes += 1
        else:
            await self._record_stage("withheld", Rule(f"body.{result.status}"), result.reason)

    @workflow.signal(name="recheck_hold")
    def recheck_hold(self, request: HoldRecheck) -> None:
        """Check the body now rather than at the next scheduled recheck. Only a held issuance
        has a recheck to bring forward; elsewhere the signal changes nothing."""
        if self._stage == "held":
            workflow.logger.info("hold recheck requested by an operator")
            self._hold_until = workflow.now()
            self._changes += 1

    # --- registration review -------------------------------------------------------------

    @workflow.update
    async def review(self, decision: ReviewDecision) -> ApplicationStatus:
        async with self._lock:
            self.validate_review(decision)
            start = self._start
            await self._record(
                ApplicationActivities.record_review,
                ReviewRecord(
                    **self._step(),
                    session_id=start.session_id,
                    approve=decision.approve,
                    reason=decision.reason,
                    reviewed_by=decision.reviewed_by,
                ),
            )
            if decision.approve:
                self._set_stage("assessment")
            else:
                self._rule = Rule.REVIEW_REJECTED
                self._set_stage("rejected")
            return self.status()

    @review.validator
    def validate_review(self, decision: ReviewDecision) -> None:
        if self._stage != "awaiting_review":
            raise rule_error(
                "decision",
                Rule.REVIEW_NOT_AWAITING,
                f"the application is {self._stage}, not awaiting review",
            )
        if not decision.approve and not decision.reason.strip():
            raise rule_error(
                "reason", Rule.REVIEW_REASON_REQUIRED, "a rejection must give a reason"
            )

    # --- scores -------------------------------------------------------------------------

    @workflow.update
    async def enter_scores(self, sheet: ScoreSheet) -> ApplicationStatus:
        async with self._lock:
            self.validate_sheet(sheet)
            entered = []
            for entry in sheet.entries:
                attempt = self._attempts.get(entry.component, 0) + 1
                self._attempts[entry.component] = attempt
                self._scores[entry.component] = entry.score
                self._awaiting.remove(entry.component)
                entered.append(
                    ScoreRecorded(
                        component=entry.component,
                        score=entry.score,
                        attempt=attempt,
                        examiner_id=entry.examiner_id,
                    )
                )
            await self._record_assessment(entered, self._round_outcome())
            return self.status()

    @enter_scores.validator
    def validate_sheet(self, sheet: ScoreSheet) -> None:
        if self._stage not in ("assessment", "resit"):
            raise rule_error(
                "scores",
                Rule.SCORE_NOT_OPEN,
                f"scores are not taken while the application is {self._stage}",
            )
        start = self._start
        pass_mark = start.pass_mark
        for entry in sheet.entries:
            field = f"scores.{entry.component}"
            try:
                validate_score(entry.component, entry.score, self._figures)
            except RuleViolation as violation:
                raise as_rule_error(violation) from None
            if entry.component not in start.required_components:
                raise rule_error(
                    field,
                    Rule.SCORE_COMPONENT_NOT_REQUIRED,
                    f"level {start.level} has no {entry.component} component",
                )
            if entry.component not in self._awaiting:
                if self._scores.get(entry.component, -1) >= pass_mark:
                    raise rule_error(
                        field,
                        Rule.SCORE_COMPONENT_PASSED,
                        f"the {entry.component} component is passed and is not sat again",
                    )
                raise rule_error(
                    field,
                    Rule.SCORE_ALREADY_SIGNED_OFF,
                    f"the {entry.component} score is signed off; change it with a correction "
                    "and a reason",
                )
        sheet_scores: dict[str, float] = {e.component: e.score for e in sheet.entries}
        if "practical" in sheet_scores:
            # A theory score on the same sheet counts: both exams were sat in order.
            known: dict[str, float] = {**self._scores, **sheet_scores}
            if "theory" in self._awaiting and "theory" not in sheet_scores:
                known.pop("theory", None)
            try:
                check_sitting_order(
                    "practical",
                    known,
                    theory_before_practical=start.theory_before_practical,
                    pass_mark=pass_mark,
                )
            except RuleViolation as violation:
                raise as_rule_error(violation) from None

    def _round_outcome(self) -> RoundOutcome | None:
        start = self._start
        return round_outcome(
            start.required_components,
            self._scores,
            self._awaiting,
            pass_mark=start.pass_mark,
            theory_before_practical=start.theory_before_practical,
        )

    async def _record_assessment(
        self, entered: list[ScoreRecorded], outcome: RoundOutcome | None
    ) -> None:
        start = self._start
        now = workflow.now()
        notice_ends_on: date | None = None
        if outcome == "passed":
            self._failed = []
            self._notice_ends_at = now + timedelta(seconds=self._figures.public_notice_seconds)
            notice_ends_on = china_date(self._notice_ends_at)
            next_stage: Stage = "public_notice"
        elif outcome == "failed":
            today = china_date(now)
            if self._resit_deadline is None:
                self._resit_deadline = resit_deadline(today, self._figures)
            after = after_failed_round(
                start.required_components,
                self._scores,
                self._attempts,
                self._awaiting,
                pass_mark=start.pass_mark,
                max_resits=self._figures.max_resits,
                today=today,
                deadline=self._resit_deadline,
            )
            self._failed = after.failed
            self._awaiting = after.awaiting
            if after.resit:
                next_stage = "resit"
            else:
                next_stage = "failed"
                self._rule = Rule.ASSESSMENT_FAILED
        else:
            next_stage = self._stage
        await self._record(
            ApplicationActivities.record_assessment,
            AssessmentRecord(
                **self._step(),
                session_id=start.session_id,
                body_id=start.body_id,
                occupation_code=start.occupation_code,
                level=start.level,
                stage=next_stage,
                entered=entered,
                scores=dict(self._scores),
                attempts=dict(self._attempts),
                outcome=outcome,
                round=self._round,
                failed_components=list(self._failed),
                resit_deadline=self._resit_deadline
                if outcome == "failed" and next_stage == "resit"
                else None,
                notice_ends_on=notice_ends_on,
            ),
        )
        if outcome is not None:
            self._round += 1
        self._set_stage(next_stage)

    # --- corrections after sign-off ------------------------------------------------------

    @workflow.update
    async def correct_score(self, correction: ScoreCorrection) -> ApplicationStatus:
        async with self._lock:
            self.validate_correction(correction)
            start = self._start
            previous = self._scores[correction.component]
            await self._record(
                ApplicationActivities.record_correction,
                CorrectionRecord(
                    **self._step(),
                    session_id=start.session_id,
                    correction=correction,
                    previous_score=previous,
                ),
            )
            self._corrections.append(correction.correction_id)
            self._scores[correction.component] = correction.score
            await self._reconsider_after_correction()
            return self.status()

    @correct_score.validator
    def validate_correction(self, correction: ScoreCorrection) -> None:
        if self._stage in FINAL_STAGES or self._stage in ("awaiting_review", "held"):
            raise rule_error(
                "score",
                Rule.SCORE_CORRECTION_CLOSED,
                f"scores cannot be corrected while the application is {self._stage}",
            )
        if correction.correction_id in self._corrections:
            # Its audit row and event exist already: a reused id would change the score
            # without leaving either.
            raise rule_error(
                "correction_id",
                Rule.SCORE_CORRECTION_DUPLICATE,
                "a correction with this id was already recorded",
            )
        field = f"scores.{correction.component}"
        # A failed score awaiting its re-sit is signed off too: a marking error on it is
        # corrected, not re-sat.
        if correction.component not in self._scores:
            raise rule_error(
                field,
                Rule.SCORE_NOT_SIGNED_OFF,
                f"no signed-off {correction.component} score to correct; enter it instead",
            )
        try:
            validate_score(correction.component, correction.score, self._figures)
        except RuleViolation as violation:
            raise as_rule_error(violation) from None
        if correction.score == self._scores[correction.component]:
            raise rule_error(
                field, Rule.SCORE_UNCHANGED, "the corrected score equals the current one"
            )

    async def _reconsider_after_correction(self) -> None:
        pass_mark = self._start.pass_mark
        required = self._start.required_components
        if self._stage in ("public_notice", "objection"):
            if still_to_sit(required, self._scores, pass_mark):
                # The pass no longer stands: the notice ends and the round is a failure.
                self._objections = {oid: False for oid in self._objections}
                self._notice_ends_at = None
                await self._record_assessment([], "failed")
        elif not workflow.patched(RECONSIDER_EVERY_COMPONENT):
            if self._stage == "resit":
                self._awaiting = still_to_sit(self._awaiting, self._scores, pass_mark)
                if not self._awaiting:
                    await self._record_assessment([], "passed")
        elif self._stage == "resit":
            # A correction can fail a component that had passed, so it is taken again too.
            self._awaiting = still_to_sit(required, self._scores, pass_mark)
            if not self._awaiting:
                await self._record_assessment([], "passed")
        elif self._stage == "assessment":
            # A theory corrected below the mark ends the round where the practical may
            # only follow a passed theory; otherwise the round is still open.
            outcome = self._round_outcome()
            if outcome is not None:
                await self._record_assessment([], outcome)

    # --- public notice objections --------------------------------------------------------

    @workflow.update
    async def raise_objection(self, objection: Objection) -> ApplicationStatus:
        async with self._lock:
            self.validate_objection(objection)
            await self._record(
                ApplicationActivities.record_objection,
                ObjectionRecord(
                    **self._step(),
                    objection=objection,
                ),
            )
            self._objections[objection.objection_id] = True
            self._set_stage("objection")
            return self.status()

    @raise_objection.validator
    def validate_objection(self, objection: Objection) -> None:
        if self._stage not in ("public_notice", "objection"):
            raise rule_error(
                "objection",
                Rule.OBJECTION_NOT_IN_NOTICE,
                f"the application is {self._stage}, not in public notice",
            )
        assert self._notice_ends_at is not None
        if workflow.now() >= self._notice_ends_at:
            raise rule_error(
                "objection", Rule.OBJECTION_NOTICE_OVER, "the public notice period is over"
            )
        if objection.objection_id in self._objections:
            raise rule_error(
                "objection_id",
                Rule.OBJECTION_DUPLICATE,
                "an objection with this id was already raised",
            )

    @workflow.update
    async def resolve_objection(self, resolution: ObjectionResolution) -> ApplicationStatus:
        async with self._lock:
            self.validate_resolution(resolution)
            self._objections[resolution.objection_id] = False
            if resolution.upheld:
                next_stage: Stage = "withheld"
                self._rule = Rule.OBJECTION_UPHELD
            elif any(self._objections.values()):
                next_stage = "objection"
            else:
                next_stage = "public_notice"
            await self._record(
                ApplicationActivities.record_resolution,
                ResolutionRecord(
                    **self._step(),
                    resolution=resolution,
                    stage=next_stage,
                ),
            )
            self._set_stage(next_stage)
            return self.status()

    @resolve_objection.validator
    def validate_resolution(self, resolution: ObjectionResolution) -> None:
        is_open = self._objections.get(resolution.objection_id)
        if is_open is None:
            raise rule_error(
                "objection_id", Rule.OBJECTION_UNKNOWN, "no such objection on this application"
            )
        if not is_open or self._stage != "objection":
            raise rule_error(
                "objection_id", Rule.OBJECTION_RESOLVED, "this objection is already resolved"
            )

    # --- shared -------------------------------------------------------------------------

    def _step(self) -> _Step:
        return _Step(
            application_id=self._start.application_id,
            person_key=self._start.person_key,
            occurred_at=workflow.now(),
        )

    async def _record(
        self, activity: MethodAsyncSingleParam[Any, _Arg, _Result], arg: _Arg
    ) -> _Result:
        if workflow.patched(LOCAL_RECORDS):
            return await workflow.execute_local_activity_method(
                activity, arg, start_to_close_timeout=STEP_TIMEOUT
            )
        return await workflow.execute_activity_method(
            activity, arg, start_to_close_timeout=STEP_TIMEOUT
        )

    async def _record_stage(self, stage: Stage, rule: str, reason: str) -> None:
        start = self._start
        await self._record(
            ApplicationActivities.record_stage,
            StageRecord(
                **self._step(),
                session_id=start.session_id,
                stage=stage,
                rule=rule,
                reason=reason,
            ),
        )
        if stage in FINAL_STAGES:
            self._rule = rule
        self._set_stage(stage)

    def _set_stage(self, stage: Stage) -> None:
        self._changes += 1
        if stage != self._stage:
            self._stage = stage
            workflow.upsert_search_attributes([search_attributes.STAGE.value_set(stage)])
