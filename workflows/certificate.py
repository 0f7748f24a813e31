"""Revoking a certificate (fraud, altered scores): workflow id ``revocation-{number}``.

The revocation event is what the records and incentive services act on (archive entry,
subsidy claw-back); the workflow makes the single step durable and visible to operators.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from schemas.certificate import RevocationRecord, RevocationRequest, RevocationResult


def revocation_workflow_id(certificate_number: str) -> str:
    return f"revocation-{certificate_number}"


@workflow.defn(name="CertificateRevocationWorkflow")
class CertificateRevocationWorkflow:
    @workflow.run
    async def run(self, request: RevocationRequest) -> RevocationResult:
        result: RevocationResult = await workflow.execute_activity(
            "certification.revoke_certificate",
            RevocationRecord(
                request=request,
                occurred_at=workflow.now(),
                correlation_id=workflow.info().workflow_id,
            ),
            result_type=RevocationResult,
            start_to_close_timeout=timedelta(seconds=30),
        )
        return result
