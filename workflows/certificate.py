"""Revoking a certificate (fraud, altered scores): workflow id ``revocation-{number}``.

The revocation event is what the records and incentive services act on (archive entry,
subsidy claw-back); the workflow makes the single step durable and visible to operators.
"""

from __future__ import annotations

from temporalio import workflow

from schemas.certificate import RevocationRecord, RevocationRequest, RevocationResult

with workflow.unsafe.imports_passed_through():
    from activities.certificate import CertificateActivities
    from activities.resources import STEP_TIMEOUT


@workflow.defn(name="CertificateRevocationWorkflow")
class CertificateRevocationWorkflow:
    @workflow.run
    async def run(self, request: RevocationRequest) -> RevocationResult:
        return await workflow.execute_activity_method(
            CertificateActivities.revoke_certificate,
            RevocationRecord(
                request=request,
                occurred_at=workflow.now(),
                correlation_id=workflow.info().workflow_id,
            ),
            start_to_close_timeout=STEP_TIMEOUT,
        )
