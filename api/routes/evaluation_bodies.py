"""Evaluation bodies: filing (备案), the regulator's decision, suspension, revocation,
commission contracts and quality supervision."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi import APIRouter, status
from pydantic import Field

from activities.evaluation_body import check_body_filing, record_commission_contract
from api.access import BodyActor, BodyReader, EnterpriseBodyOwner, Regulator
from api.commands import BODIES
from api.services import Services
from api.views import BodyView, CommissionView, FilingAccepted
from policy.errors import RuleViolation
from policy.rule_ids import Rule
from schemas.evaluation_body import (
    BODY_ID_PATTERN,
    AwaitFiled,
    BodyDecision,
    BodyFiling,
    BodyRun,
    BodyState,
    BodyStatusChange,
    QualityReview,
    QualitySample,
    QualitySampleRequest,
    ScopeEntry,
    SubLevel,
)
from schemas.inputs import RequestBody
from schemas.payloads import CommissionRecorded
from skillflow.settings import Role
from store import certification
from workflows.evaluation_body import EvaluationBodyWorkflow

router = APIRouter(prefix="/bodies", tags=["evaluation bodies"])


class FilingRequest(RequestBody):
    body_id: str = Field(pattern=BODY_ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    province_code: str = Field(pattern=r"^\d{2}$")
    body_code: str = Field("0000", pattern=r"^\d{4}$")
    site_serial: str = Field(pattern=r"^\d{6}$")
    scope: list[ScopeEntry] = Field(min_length=1)
    pass_mark: int | None = Field(None, strict=True, ge=0, le=1000)
    sub_levels: list[SubLevel] = Field(default_factory=list)
    policy_version: str = "2024-default"


@router.post("", status_code=status.HTTP_202_ACCEPTED)
async def file_body(
    request: FilingRequest, caller: BodyActor, services: Services
) -> FilingAccepted:
    """File a body: an assessment centre (role centre, prefix S) or an enterprise (role
    enterprise, prefix Y). The filing's activity checks it (province, scope, policy, the
    enterprise-only pass mark and sub-levels); the regulator then approves or rejects it."""
    caller.check_body(request.body_id)
    body_type = "Y" if caller.role == Role.ENTERPRISE else "S"
    async with services.pool.acquire() as conn:
        earlier = await certification.body_status(conn, request.body_id)
    if earlier is not None:
        # A body id names one filing for good: its events, receipt and certificates refer
        # to it, so a rejected or revoked body files again under a new id.
        raise RuleViolation(
            "body_id",
            Rule.BODY_ALREADY_FILED,
            f"a body with this id was filed before (now {earlier}): file under a new id",
        )
    filing = BodyFiling(body_type=body_type, filed_by=caller.name, **request.model_dump())
    check_body_filing(filing, demo_allowed=services.settings.demo_policies)
    workflow_id = await BODIES.start(
        services,
        filing.body_id,
        EvaluationBodyWorkflow.run,
        BodyRun(filing=filing),
        exists=Rule.BODY_ALREADY_FILED,
    )
    await BODIES.opened(services, filing.body_id, EvaluationBodyWorkflow.await_filed, AwaitFiled())
    return FilingAccepted(
        body_id=filing.body_id, body_type=body_type, status="submitted", workflow_id=workflow_id
    )


@router.get("/{body_id}")
async def get_body(body_id: str, _: BodyReader, services: Services) -> BodyView:
    view = await services.found(
        certification.body_view,
        body_id,
        "no body with this id (a filing appears once it is recorded)",
    )
    return BodyView(**view)


@router.post("/{body_id}/decision")
async def decide(
    body_id: str, decision: BodyDecision, caller: Regulator, services: Services
) -> BodyState:
    """Approve (the body becomes active, with a filing receipt) or reject with a reason."""
    return await BODIES.update(
        services,
        body_id,
        EvaluationBodyWorkflow.decide,
        decision.model_copy(update={"decided_by": caller.name}),
    )


@router.post("/{body_id}/status")
async def change_status(
    body_id: str, change: BodyStatusChange, caller: Regulator, services: Services
) -> BodyState:
    """Suspend, reinstate or revoke a filing. A suspended body opens no sessions, admits
    no candidates and issues no certificates: those in public notice wait."""
    return await BODIES.update(
        services,
        body_id,
        EvaluationBodyWorkflow.change_status,
        change.model_copy(update={"changed_by": caller.name}),
    )


class CommissionRequest(RequestBody):
    commission_id: str = Field(min_length=1, max_length=64)
    client: str = Field(min_length=1, max_length=200)
    valid_until: date


@router.post("/{body_id}/commissions", status_code=status.HTTP_201_CREATED)
async def record_commission(
    body_id: str, commission: CommissionRequest, _: EnterpriseBodyOwner, services: Services
) -> CommissionView:
    """Record a commission contract, under which an enterprise may evaluate workers it
    does not employ."""
    recorded = CommissionRecorded(body_id=body_id, **commission.model_dump())
    async with services.pool.acquire() as conn, conn.transaction():
        await record_commission_contract(conn, recorded, datetime.now(UTC))
    return CommissionView(body_id=body_id, **commission.model_dump())


@router.post("/{body_id}/quality-samples")
async def sample(body_id: str, caller: Regulator, services: Services) -> QualitySample:
    """Sample the policy's share of an enterprise's issued certificates for review."""
    return await BODIES.update(
        services,
        body_id,
        EvaluationBodyWorkflow.quality_sample,
        QualitySampleRequest(requested_by=caller.name),
    )


@router.post("/{body_id}/quality-reviews")
async def review(
    body_id: str, review: QualityReview, caller: Regulator, services: Services
) -> BodyState:
    """Record the review of a sampled certificate; a failed one may suspend the filing."""
    return await BODIES.update(
        services,
        body_id,
        EvaluationBodyWorkflow.quality_review,
        review.model_copy(update={"reviewed_by": caller.name}),
    )
