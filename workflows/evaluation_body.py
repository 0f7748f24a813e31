"""The filing (备案) of an evaluation body: submitted -> approved / rejected -> active ->
suspended / reinstated -> revoked, with quality supervision of an enterprise's certificates.

Workflow id ``body-{body_id}``. The workflow decides every transition; activities write
the ``certification.bodies`` projection that sessions and issuance read, with the event.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from temporalio import workflow

from policy.assessment import AssessmentPolicy
from policy.calendar import china_date
from policy.rule_ids import Rule
from schemas.evaluation_body import (
    AwaitFiled,
    BodyDecision,
    BodyFiledRecord,
    BodyFiling,
    BodyRun,
    BodyState,
    BodyStatus,
    BodyStatusChange,
    BodyStatusRecord,
    QualityReview,
    QualityReviewRecord,
    QualitySample,
    QualitySampleRecord,
    QualitySampleRequest,
)
from workflows import search_attributes
from workflows.rules import rule_error

with workflow.unsafe.imports_passed_through():
    from activities.evaluation_body import EvaluationBodyActivities
    from activities.resources import STEP_TIMEOUT

BodyEvent = Literal["approved", "rejected", "suspended", "reinstated", "revoked"]
_FINAL: frozenset[BodyStatus] = frozenset({"rejected", "revoked"})


@workflow.defn(name="EvaluationBodyWorkflow")
class EvaluationBodyWorkflow:
    @workflow.init
    def __init__(self, run: BodyRun) -> None:
        self._state = run.carried or BodyState(body_id=run.filing.body_id, status="submitted")
        self._filing: BodyFiling = run.filing
        # Commands wait until the filing is recorded and the policy loaded.
        self._ready = False
        self._policy: AssessmentPolicy | None = None
        # Commands run one at a time: each reads the status the previous one left.
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, run: BodyRun) -> BodyState:
        if run.carried is None:
            await workflow.execute_activity_method(
                EvaluationBodyActivities.record_body_filed,
                BodyFiledRecord(filing=run.filing, occurred_at=workflow.now()),
                start_to_close_timeout=STEP_TIMEOUT,
            )
        self._policy = await workflow.execute_activity_method(
            EvaluationBodyActivities.assessment_policy,
            run.filing.policy_version,
            start_to_close_timeout=STEP_TIMEOUT,
        )
        self._ready = True
        self._upsert_search_attributes()
        await workflow.wait_condition(
            lambda: self.state.status in _FINAL or workflow.info().is_continue_as_new_suggested()
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.state.status in _FINAL:
            return self.state
        workflow.continue_as_new(BodyRun(filing=run.filing, carried=self.state))

    @property
    def state(self) -> BodyState:
        return self._state

    @property
    def filing(self) -> BodyFiling:
        return self._filing

    @workflow.query
    def status(self) -> BodyState:
        return self.state

    @workflow.update
    async def await_filed(self, _: AwaitFiled) -> BodyState:
        """Answers once the filing is recorded, so the API can answer a refused one (the
        recording activity refuses it, failing this workflow) at once."""
        await workflow.wait_condition(lambda: self._ready)
        return self.state

    # --- regulator decision on the filing ----------------------------------------------

    @workflow.update
    async def decide(self, decision: BodyDecision) -> BodyState:
        await workflow.wait_condition(lambda: self._ready)
        async with self._lock:
            self.validate_decision(decision)
            if decision.approve:
                receipt = f"BA{china_date(workflow.now()):%Y%m%d}-{self.filing.body_id}"
                await self._transition("active", "approved", decision.reason, receipt)
            else:
                await self._transition("rejected", "rejected", decision.reason, None)
            return self.state

    @decide.validator
    def validate_decision(self, decision: BodyDecision) -> None:
        if self.state.status != "submitted":
            raise rule_error(
                "decision", Rule.BODY_NOT_SUBMITTED, "only a submitted filing is decided"
            )
        if not decision.approve and not decision.reason.strip():
            raise rule_error("reason", Rule.BODY_REJECTION_REASON, "a rejection must give a reason")

    # --- suspension, reinstatement, revocation ------------------------------------------

    @workflow.update
    async def change_status(self, change: BodyStatusChange) -> BodyState:
        await workflow.wait_condition(lambda: self._ready)
        async with self._lock:
            self.validate_change(change)
            await self._apply_change(change)
            return self.state

    @change_status.validator
    def validate_change(self, change: BodyStatusChange) -> None:
        allowed: dict[str, tuple[BodyStatus, ...]] = {
            "suspend": ("active",),
            "reinstate": ("suspended",),
            "revoke": ("active", "suspended"),
        }
        if self.state.status not in allowed[change.action]:
            status = self.state.status
            raise rule_error(
                "action",
                Rule(f"body.cannot_{change.action}"),
                f"a {status} filing cannot be {change.action}d here "
                f"(needs {' or '.join(allowed[change.action])})",
            )

    async def _apply_change(self, change: BodyStatusChange) -> None:
        if change.action == "suspend":
            await self._transition("suspended", "suspended", change.reason, None)
        elif change.action == "reinstate":
            await self._transition("active", "reinstated", change.reason, None)
        else:
            await self._transition("revoked", "revoked", change.reason, None)

    # --- quality supervision -------------------------------------------------------------

    @workflow.update
    async def quality_sample(self, request: QualitySampleRequest) -> QualitySample:
        await workflow.wait_condition(lambda: self._ready)
        async with self._lock:
            self.validate_sample(request)
            assert self._policy is not None
            number = self.state.quality_samples + 1
            sample = await workflow.execute_activity_method(
                EvaluationBodyActivities.sample_certificates,
                QualitySampleRecord(
                    body_id=self.filing.body_id,
                    sample_id=f"{self.filing.body_id}-q{number}",
                    share_pct=self._policy.quality_sample_pct,
                    occurred_at=workflow.now(),
                ),
                start_to_close_timeout=STEP_TIMEOUT,
            )
            self._state = self.state.model_copy(update={"quality_samples": number})
            return sample

    @quality_sample.validator
    def validate_sample(self, request: QualitySampleRequest) -> None:
        if self.filing.body_type != "Y":
            raise rule_error(
                "body_id",
                Rule.QUALITY_ENTERPRISE_ONLY,
                "quality sampling applies to enterprise self-evaluation filings",
            )
        if self.state.status not in ("active", "suspended"):
            raise rule_error(
                "body_id", Rule.QUALITY_NOT_FILED, "only an approved filing has certificates"
            )

    @workflow.update
    async def quality_review(self, review: QualityReview) -> BodyState:
        await workflow.wait_condition(lambda: self._ready)
        async with self._lock:
            self.validate_review(review)
            await workflow.execute_activity_method(
                EvaluationBodyActivities.record_quality_review,
                QualityReviewRecord(
                    body_id=self.filing.body_id, review=review, occurred_at=workflow.now()
                ),
                start_to_close_timeout=STEP_TIMEOUT,
            )
            if not review.passed and review.suspend and self.state.status == "active":
                reason = f"quality review of {review.certificate_number} failed: {review.finding}"
                await self._transition("suspended", "suspended", reason, None)
            return self.state

    @quality_review.validator
    def validate_review(self, review: QualityReview) -> None:
        self.validate_sample(QualitySampleRequest())
        if review.passed and review.suspend:
            raise rule_error(
                "suspend", Rule.QUALITY_SUSPEND_NEEDS_FAILURE, "only a failed review suspends"
            )

    # --- shared -------------------------------------------------------------------------

    async def _transition(
        self,
        status: BodyStatus,
        event: BodyEvent,
        reason: str,
        receipt: str | None,
    ) -> None:
        transition = self.state.transitions + 1
        await workflow.execute_activity_method(
            EvaluationBodyActivities.record_body_status,
            BodyStatusRecord(
                body_id=self.filing.body_id,
                status=status,
                event=event,
                reason=reason,
                filing_receipt=receipt,
                transition=transition,
                occurred_at=workflow.now(),
            ),
            start_to_close_timeout=STEP_TIMEOUT,
        )
        self._state = self.state.model_copy(
            update={
                "status": status,
                "reason": reason or None,
                "filing_receipt": receipt or self.state.filing_receipt,
                "transitions": transition,
            }
        )
        self._upsert_search_attributes()

    def _upsert_search_attributes(self) -> None:
        workflow.upsert_search_attributes(
            [
                search_attributes.BODY.value_set(self.filing.body_id),
                search_attributes.STAGE.value_set(self.state.status),
            ]
        )
