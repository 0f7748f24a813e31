"""The no-exam certification of a competition promotion.

Workflow ``PromotionCertificationWorkflow``, id ``promotion-{promotion_id}``, started by
the incentive consumer on ``promotion.granted``. The issuing body must be active and
filed for the occupation and level; otherwise the certificate is withheld, naming why.
While the body is suspended the promotion waits, re-checking on the policy's interval.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from policy.assessment import DEFAULT_ASSESSMENT_POLICY
from policy.rule_ids import Rule
from schemas.certificate import IssueRequest, IssueResult, PromotionResult, WithholdingRecord
from schemas.commands import PromotionCertificationRequest
from schemas.workflow_ids import promotion_workflow_id

with workflow.unsafe.imports_passed_through():
    from activities.certificate import CertificateActivities
    from activities.evaluation_body import EvaluationBodyActivities
    from activities.resources import STEP_TIMEOUT

WAIT_FOR_SUSPENDED_BODY = "wait-for-suspended-body"


@workflow.defn(name="PromotionCertificationWorkflow")
class PromotionCertificationWorkflow:
    @workflow.run
    async def run(self, request: PromotionCertificationRequest) -> PromotionResult:
        source_id = promotion_workflow_id(request.promotion_id)
        result = await self._issue(request, source_id)
        if result.status == "body_inactive" and workflow.patched(WAIT_FOR_SUSPENDED_BODY):
            # A suspended body's promotions wait for its reinstatement (or revocation), as
            # its candidates in public notice do, instead of being lost for good.
            policy = await workflow.execute_activity_method(
                EvaluationBodyActivities.assessment_policy,
                DEFAULT_ASSESSMENT_POLICY,
                start_to_close_timeout=STEP_TIMEOUT,
            )
            while result.status == "body_inactive":
                await workflow.sleep(timedelta(seconds=policy.held_recheck_seconds))
                result = await self._issue(request, source_id)
        if result.status != "issued":
            await workflow.execute_activity_method(
                CertificateActivities.record_withholding,
                WithholdingRecord(
                    source_id=source_id,
                    person_key=request.person_key,
                    rule=Rule(f"body.{result.status}"),
                    reason=result.reason,
                    correlation_id=workflow.info().workflow_id,
                    occurred_at=workflow.now(),
                ),
                start_to_close_timeout=STEP_TIMEOUT,
            )
        return PromotionResult(status=result.status, certificate_number=result.certificate_number)

    async def _issue(self, request: PromotionCertificationRequest, source_id: str) -> IssueResult:
        return await workflow.execute_activity_method(
            CertificateActivities.issue_certificate,
            IssueRequest(
                source_id=source_id,
                route="promotion",
                body_id=request.issuing_body_id,
                person_key=request.person_key,
                occupation_code=request.occupation_code,
                level=request.to_level,
                holder_name_masked=request.holder_name_masked,
                correlation_id=workflow.info().workflow_id,
                issued_at=workflow.now(),
            ),
            start_to_close_timeout=STEP_TIMEOUT,
        )
