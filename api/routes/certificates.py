"""Certificates: public verification, and revocation by the regulator."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.access import Regulator
from api.services import Services
from policy.catalogue import get_occupation
from policy.certificate_number import parse_certificate_number
from policy.errors import NotFound, RuleViolation
from policy.rule_ids import Rule
from schemas.certificate import RevocationRequest, RevocationResult, Verification
from schemas.workflow_ids import revocation_workflow_id
from store import certification
from workflows.certificate import CertificateRevocationWorkflow

router = APIRouter(prefix="/certificates", tags=["certificates"])


@router.get("/{certificate_number}")
async def verify(certificate_number: str, services: Services) -> Verification:
    """Anyone may verify a number (全国联网查询): valid, revoked or unknown."""
    written = certificate_number.strip()
    async with services.pool.acquire() as conn:
        # Numbers of imported certificates are kept as written, older forms included.
        prior = await certification.prior_certificate(conn, written)
    if prior is not None:
        return Verification(
            certificate_number=written,
            status="valid",
            occupation_code=prior["occupation_code"],
            occupation_name=get_occupation(prior["occupation_code"]).name,
            level=prior["level"],
            issued_on=prior["issued_on"],
            holder_name_masked=prior["holder_name_masked"] or None,
            imported=True,
            issuing_body=prior["issuing_body"],
            checked_against=prior["checked_against"],
            checked_on=prior["checked_on"],
        )
    number = written.upper()
    parse_certificate_number(number)
    row = await services.pool.fetchrow(
        """SELECT c.certificate_number, c.status, c.occupation_code, c.level, c.body_id,
                  b.name AS body_name, c.issued_on, c.holder_name_masked, c.revoked_on
           FROM certification.certificates c
           LEFT JOIN certification.bodies b USING (body_id)
           WHERE c.certificate_number = $1""",
        number,
    )
    if row is None:
        return Verification(certificate_number=number, status="unknown")
    return Verification(
        certificate_number=number,
        status=row["status"],
        occupation_code=row["occupation_code"],
        occupation_name=get_occupation(row["occupation_code"]).name,
        level=row["level"],
        body_id=row["body_id"],
        body_name=row["body_name"],
        issued_on=row["issued_on"],
        holder_name_masked=row["holder_name_masked"],
        revoked_on=row["revoked_on"],
    )


class RevocationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)


@router.post("/{certificate_number}/revocation")
async def revoke(
    certificate_number: str, body: RevocationBody, caller: Regulator, services: Services
) -> RevocationResult:
    """Revoke (fraud, altered scores). The certificate.revoked event makes the records
    service note it and the incentive service claw back subsidies paid on it."""
    number = certificate_number.strip().upper()
    parse_certificate_number(number)
    try:
        result: RevocationResult = await services.temporal.execute_workflow(
            CertificateRevocationWorkflow.run,
            RevocationRequest(
                certificate_number=number, reason=body.reason, revoked_by=caller.name
            ),
            id=revocation_workflow_id(number),
            task_queue=services.settings.task_queue,
        )
    except WorkflowAlreadyStartedError:
        raise RuleViolation(
            "certificate_number",
            Rule.CERTIFICATE_REVOCATION_IN_PROGRESS,
            "a revocation of this certificate is under way",
        ) from None
    if result.status == "unknown":
        raise NotFound("no certificate with this number")
    if result.status == "already_revoked":
        raise RuleViolation(
            "certificate_number",
            Rule.CERTIFICATE_ALREADY_REVOKED,
            "the certificate is already revoked",
        )
    return result
