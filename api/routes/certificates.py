"""Certificates: public verification, and revocation by the regulator."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.access import Regulator
from api.errors import RATE_LIMITED_RESPONSES
from api.rate_limit import AnonymousCall
from api.services import Services
from api.verification import HolderQuery, holder_name_matches, holder_name_on_record
from policy.catalogue import get_occupation
from policy.certificate_number import parse_certificate_number
from policy.errors import NotFound, RuleViolation
from policy.rule_ids import Rule
from schemas.certificate import (
    HolderVerification,
    RevocationRequest,
    RevocationResult,
    Verification,
)
from schemas.inputs import Reason
from schemas.workflow_ids import revocation_workflow_id
from store import certification
from workflows.certificate import CertificateRevocationWorkflow

router = APIRouter(prefix="/certificates", tags=["certificates"])


def _verification(number: str, row: Any) -> Verification:
    if row is None:
        return Verification(certificate_number=number, status="unknown")
    return Verification(
        certificate_number=number,
        status=row["status"],
        occupation_code=row["occupation_code"],
        occupation_name=get_occupation(row["occupation_code"]).name,
        level=row["level"],
    )


@router.get("/{certificate_number}", dependencies=[AnonymousCall], responses=RATE_LIMITED_RESPONSES)
async def verify(certificate_number: str, services: Services) -> Verification:
    """Anyone may verify a number (全国联网查询): valid, revoked or unknown, with the
    occupation and level. The holder's details need their name too (``POST .../verification``)."""
    number = certificate_number.strip().upper()
    parse_certificate_number(number)
    async with services.pool.acquire() as conn:
        return _verification(number, await certification.certificate_verification(conn, number))


@router.post(
    "/{certificate_number}/verification",
    dependencies=[AnonymousCall],
    responses=RATE_LIMITED_RESPONSES,
)
async def verify_holder(
    certificate_number: str, query: HolderQuery, services: Services
) -> HolderVerification:
    """Verify a number with the holder's name: when the name is the holder's, the masked
    name, the body and the dates; otherwise what the number alone tells."""
    number = certificate_number.strip().upper()
    parse_certificate_number(number)
    async with services.pool.acquire() as conn:
        row = await certification.certificate_verification(conn, number)
        on_record = await holder_name_on_record(conn, number)
    public = _verification(number, row).model_dump()
    if row is None or on_record is None or not holder_name_matches(query.holder_name, on_record):
        return HolderVerification(**public, holder_name_matches=False)
    return HolderVerification(
        **public,
        holder_name_matches=True,
        holder_name_masked=on_record.masked,
        body_id=row["body_id"],
        body_name=row["body_name"],
        issued_on=row["issued_on"],
        revoked_on=row["revoked_on"],
    )


class RevocationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


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
