"""One candidate's application: review, scores, corrections, objections."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.access import ApplicationOwner, ApplicationReader, ObjectionRaiser, Regulator
from api.commands import APPLICATIONS
from api.services import ApiServices, Services
from api.views import ApplicationView
from policy.assessment import check_examiners
from policy.catalogue import Component
from policy.errors import NotFound
from schemas.application import (
    ApplicationStatus,
    Objection,
    ObjectionResolution,
    ReviewDecision,
    ScoreCorrection,
    ScoreEntry,
    ScoreSheet,
)
from schemas.inputs import Reason, RequestBody, Score
from store import certification
from store.sealed import holder_name_place
from workflows.application import ApplicationWorkflow

router = APIRouter(prefix="/applications", tags=["applications"])


@router.get("/{application_id}")
async def get_application(
    application_id: str, _: ApplicationReader, services: Services
) -> ApplicationView:
    view = await services.found(
        certification.application_view, application_id, "no application with this id"
    )
    return ApplicationView(**view)


class HolderName(BaseModel):
    application_id: str
    holder_name: str = Field(description="in full, as the certificate is made out")


@router.get("/{application_id}/holder-name")
async def holder_name(application_id: str, _: ApplicationOwner, services: Services) -> HolderName:
    """The candidate's full name, for the body that registered them (it prints the
    certificate). Kept sealed at rest; every other view shows the masked name."""
    sealed = await services.found(
        certification.holder_name_sealed,
        application_id,
        "no application with this id, or its name predates sealing",
    )
    name = services.settings.key_ring.open_text(sealed, holder_name_place(application_id))
    return HolderName(application_id=application_id, holder_name=name)


@router.post("/{application_id}/review")
async def review(
    application_id: str, decision: ReviewDecision, caller: ApplicationOwner, services: Services
) -> ApplicationStatus:
    """Approve, or reject with a reason, before the review deadline (and before the
    session starts: the recording activity refuses a later approval)."""
    return await APPLICATIONS.update(
        services,
        application_id,
        ApplicationWorkflow.review,
        decision.model_copy(update={"reviewed_by": caller.name}),
    )


class ScoresRequest(RequestBody):
    examiner_id: str = Field(min_length=1, max_length=64)
    scores: dict[Component, Score] = Field(min_length=1)


async def enter_scores_checked(
    services: ApiServices, application_id: str, sheet: ScoreSheet
) -> ApplicationStatus:
    """Check the examiners and send the sheet to the workflow, whose validator checks the
    scores themselves."""
    async with services.pool.acquire() as conn:
        facts = await certification.scoring_facts_for_application(
            conn, application_id, [entry.examiner_id for entry in sheet.entries]
        )
    if facts is None:
        raise NotFound("no application with this id")
    check_examiners(
        sheet.entries, facts.session_status, facts.panels, facts.recused[application_id]
    )
    return await send_scores(services, application_id, sheet)


async def send_scores(
    services: ApiServices, application_id: str, sheet: ScoreSheet
) -> ApplicationStatus:
    return await APPLICATIONS.update(
        services, application_id, ApplicationWorkflow.enter_scores, sheet
    )


@router.post("/{application_id}/scores")
async def enter_scores(
    application_id: str, request: ScoresRequest, _: ApplicationOwner, services: Services
) -> ApplicationStatus:
    """Enter (and so sign off) component scores, 0-100. Passed components are not re-sat;
    a signed-off score changes only through a correction with a reason."""
    sheet = ScoreSheet(
        entries=[
            ScoreEntry(component=component, score=score, examiner_id=request.examiner_id)
            for component, score in request.scores.items()
        ]
    )
    return await enter_scores_checked(services, application_id, sheet)


class CorrectionRequest(RequestBody):
    component: Component
    score: Score
    reason: Reason
    correction_id: str = Field(
        default_factory=lambda: uuid.uuid4().hex, min_length=1, max_length=64
    )


@router.post("/{application_id}/score-corrections")
async def correct_score(
    application_id: str, request: CorrectionRequest, caller: ApplicationOwner, services: Services
) -> ApplicationStatus:
    """Change a signed-off score: needs a reason and leaves an audit entry and event."""
    return await APPLICATIONS.update(
        services,
        application_id,
        ApplicationWorkflow.correct_score,
        ScoreCorrection(
            correction_id=request.correction_id,
            component=request.component,
            score=request.score,
            reason=request.reason,
            corrected_by=caller.name,
        ),
    )


class ObjectionRequest(RequestBody):
    reason: Reason
    objection_id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1, max_length=64)


@router.post("/{application_id}/objections")
async def raise_objection(
    application_id: str, request: ObjectionRequest, caller: ObjectionRaiser, services: Services
) -> ApplicationStatus:
    """Object during the public notice: issuance waits until the regulator resolves it."""
    return await APPLICATIONS.update(
        services,
        application_id,
        ApplicationWorkflow.raise_objection,
        Objection(objection_id=request.objection_id, reason=request.reason, raised_by=caller.name),
    )


class ResolutionRequest(RequestBody):
    upheld: bool
    resolution: Reason


@router.post("/{application_id}/objections/{objection_id}/resolution")
async def resolve_objection(
    application_id: str,
    objection_id: str,
    request: ResolutionRequest,
    caller: Regulator,
    services: Services,
) -> ApplicationStatus:
    """Upheld: no certificate. Dismissed: issuance goes ahead once the notice is over."""
    return await APPLICATIONS.update(
        services,
        application_id,
        ApplicationWorkflow.resolve_objection,
        ObjectionResolution(
            objection_id=objection_id,
            upheld=request.upheld,
            resolution=request.resolution,
            resolved_by=caller.name,
        ),
    )
