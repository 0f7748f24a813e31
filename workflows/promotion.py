"""The no-exam certification of a competition promotion.

Workflow ``PromotionCertificationWorkflow``, id ``promotion-{promotion_id}``, started by
the incentive consumer on ``promotion.granted``. The issuing body must be active and
filed for the occupation and level; otherwise the certificate is withheld, naming why.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from schemas.certificate import IssueRequest, IssueResult, PromotionResult, WithholdingRecord
from schemas.commands import PROMOTION_CERTIFICATION_WORKFLOW, PromotionCertificationRequest

_TIMEOUT = timedelta(seconds=30)


@workflow.defn(name=PROMOTION_CERTIFICATION_WORKFLOW)
class PromotionCertificationWorkflow:
    @workflow.run
    async def run(self, request: PromotionCertificationRequest) -> PromotionResult:
        source_id = f"promotion-{request.promotion_id}"
        result: IssueResult = await workflow.execute_activity(
            "certification.issue_certificate",
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
            result_type=IssueResult,
            start_to_close_timeout=_TIMEOUT,
        )
        if result.status != "issued":
            await workflow.execute_activity(
                "certification.record_withholding",
                WithholdingRecord(
                    source_id=source_id,
                    person_key=request.person_key,
                    rule=f"body.{result.status}",
                    reason=result.reason,
                    correlation_id=workflow.info().workflow_id,
                    occurred_at=workflow.now(),
                ),
                start_to_close_timeout=_TIMEOUT,
            )
        return PromotionResult(status=result.status, certificate_number=result.certificate_number)
