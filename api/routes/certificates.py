"""Certificates: public verification, and revocation by the regulator."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.access import Regulator
from api.errors import RATE_LIMITED_RESPONSES
from api.rate_limit import AnonymousCall
from api.services import Services
from api.verification import HolderName, HolderQuery, holder_name_matches, holder_name_on_record
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
from schemas.inputs import Reason, RequestBody
from schemas.workflow_ids import revocation_workflow_id
from store import certification
from store.database import Connection
from workflows.certificate import CertificateRevocationWorkflow

router = APIRouter(prefix="/certificates", tags=["certificates"])


def _public(
    number: str, issued: dict[str, Any] | None, prior: dict[str, Any] | None
) -> Verification:
    """What the number alone tells: status, occupation and level, and whether it was
    imported from before SkillFlow. Nothing about the holder, the body or the dates."""
    found = prior if prior is not None else issued
    if found is None:
        return Verification(certificate_number=number, status="unknown")
    return Verification(
        certificate_number=number,
        # An imported certificate was checked valid by the records officer when imported.
        status="valid" if prior is not None else found["status"],
        occupation_code=found["occupation_code"],
        occupation_name=get_occupation(found["occupation_code"]).name,
        level=found["level"],
        imported=prior is not None,
    )


async def _look_up(
    conn: Connection, certificate_number: str
) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None]:
    """The number as answered, and the issued or imported certificate under it."""
    written = certificate_number.strip()
    # Numbers of imported certificates are kept as written, older forms included.
    prior = await certification.prior_certificate(conn, written)
    if prior is not None:
        return written, None, prior
    number = written.upper()
    parse_certificate_number(number)
    return number, await certification.certificate_verification(conn, number), None


@router.get("/{certificate_number}", dependencies=[AnonymousCall], responses=RATE_LIMITED_RESPONSES)
async def verify(certificate_number: str, services: Services) -> Verification:
    """Anyone may verify a number (全国联网查询): valid, revoked or unknown, with the
    occupation and level. The holder's details need their name too (``POST .../verification``)."""
    async with services.pool.acquire() as conn:
        return _public(*await _look_up(conn, certificate_number))


@router.post(
    "/{certificate_number}/verification",
    dependencies=[AnonymousCall],
    responses=RATE_LIMITED_RESPONSES,
)
async def verify_holder(
    certificate_number: str, query: HolderQuery, services: Services
) -> HolderVerification:
    """Verify a number with the holder's name: when the name is the holder's, the masked
    name, the body and the dates (and where an imported one was checked); otherwise what
    the number alone tells."""
    async with services.pool.acquire() as conn:
        number, issued, prior = await _look_up(conn, certificate_number)
        on_record = (
            await holder_name_on_record(conn, services.settings.key_ring, number)
            if issued is not None
            else None
        )
    public = _public(number, issued, prior).model_dump()
    if prior is not None:
        # An imported certificate carries at most a masked name.
        masked = prior["holder_name_masked"] or ""
        if not masked or not holder_name_matches(query.holder_name, HolderName(masked=masked)):
            return HolderVerification(**public, holder_name_matches=False)
        return HolderVerification(
            **public,
            holder_name_matches=True,
            holder_name_masked=masked,
            issued_on=prior["issued_on"],
            issuing_body=prior["issuing_body"],
            checked_against=prior["checked_against"],
            checked_on=prior["checked_on"],
        )
    if issued is None or on_record is None or not holder_name_matches(query.holder_name, on_record):
        return HolderVerification(**public, holder_name_matches=False)
    return HolderVerification(
        **public,
        holder_name_matches=True,
        holder_name_masked=on_record.masked,
        body_id=issued["body_id"],
        body_name=issued["body_name"],
        issued_on=issued["issued_on"],
        revoked_on=issued["revoked_on"],
    )


class RevocationBody(RequestBody):
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
