"""One candidate's application: review, scores, corrections, objections."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.access import ApplicationOwner, ApplicationReader, ObjectionRaiser, Regulator
from api.commands import execute_update
from api.services import ApiServices, Services
from policy.catalogue import Component
from policy.errors import RuleViolation
from schemas.application import (
    ApplicationStatus,
    Objection,
    ObjectionResolution,
    ReviewDecision,
    ScoreCorrection,
    ScoreEntry,
    ScoreSheet,
    application_workflow_id,
)
from store.sealed import holder_name_place
from workflows.application import ApplicationWorkflow

router = APIRouter(prefix="/applications", tags=["applications"])


async def _command(
    services: ApiServices, application_id: str, update: Any, arg: Any
) -> ApplicationStatus:
    status: ApplicationStatus = await execute_update(
        services.temporal, application_workflow_id(application_id), update, arg, what="application"
    )
    return status


@router.get("/{application_id}")
async def get_application(
    application_id: str, _: ApplicationReader, services: Services
) -> dict[str, Any]:
    row = await services.pool.fetchrow(
        """SELECT application_id, session_id, body_id, occupation_code, level,
                  holder_name_masked, relationship, sub_level, eligibility_path, stage,
                  stage_rule, stage_reason, scores, attempts, notice_ends_on, resit_deadline,
                  certificate_number, submitted_at
           FROM certification.applications WHERE application_id = $1""",
        application_id,
    )
    if row is None:
        raise LookupError("no application with this id")
    audit = await services.pool.fetch(
        """SELECT correction_id, component, previous_score, new_score, reason, corrected_by,
                  corrected_at
           FROM certification.score_audit WHERE application_id = $1 ORDER BY corrected_at""",
        application_id,
    )
    recusals = await services.pool.fetch(
        """SELECT examiner_id, reason FROM certification.recusals
           WHERE application_id = $1 ORDER BY examiner_id, reason""",
        application_id,
    )
    return {
        **dict(row),
        "score_audit": [
            {
                **dict(a),
                "previous_score": float(a["previous_score"]),
                "new_score": float(a["new_score"]),
            }
            for a in audit
        ],
        "recusals": [dict(r) for r in recusals],
    }


class HolderName(BaseModel):
    application_id: str
    holder_name: str = Field(description="in full, as the certificate is made out")


@router.get("/{application_id}/holder-name")
async def holder_name(application_id: str, _: ApplicationOwner, services: Services) -> HolderName:
    """The candidate's full name, for the body that registered them (it prints the
    certificate). Kept sealed at rest; every other view shows the masked name."""
    sealed = await services.pool.fetchval(
        """SELECT holder_name_sealed FROM certification.applications
           WHERE application_id = $1""",
        application_id,
    )
    if sealed is None:
        raise LookupError("no application with this id, or its name predates sealing")
    name = services.settings.key_ring.open_text(sealed, holder_name_place(application_id))
    return HolderName(application_id=application_id, holder_name=name)


@router.post("/{application_id}/review")
async def review(
    application_id: str, decision: ReviewDecision, caller: ApplicationOwner, services: Services
) -> ApplicationStatus:
    """Approve, or reject with a reason, before the review deadline."""
    if decision.approve:
        session_status = await services.pool.fetchval(
            """SELECT s.status FROM certification.applications a
               JOIN certification.sessions s USING (session_id) WHERE a.application_id = $1""",
            application_id,
        )
        check_approval_allowed(session_status)
    return await _command(
        services,
        application_id,
        ApplicationWorkflow.review,
        decision.model_copy(update={"reviewed_by": caller.name}),
    )


def check_approval_allowed(session_status: str | None) -> None:
    """Approvals end when the exam starts: staffing was checked against the roster then,
    and a closed session takes no first-round scores."""
    if session_status is not None and session_status != "open":
        raise RuleViolation(
            "decision",
            "review.session_started",
            f"the session is {session_status}: approve the candidate for a later session "
            "(rejecting is still possible)",
        )


class ScoresRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    examiner_id: str = Field(min_length=1, max_length=64)
    scores: dict[Component, float] = Field(min_length=1)


# The panel of each examiner, built in PostgreSQL: a large session has thousands of
# examiners, and a sheet needs one or two of them.
PANELS_SQL = """(SELECT coalesce(jsonb_object_agg(e->>'examiner_id',
                                            coalesce(e->>'panel', 'practical')), '{}')
                 FROM jsonb_array_elements(s.examiners) e
                 WHERE $2::text[] IS NULL OR e->>'examiner_id' = ANY($2::text[]))"""


def check_examiners(
    sheet: ScoreSheet, session_status: str, panels: dict[str, str], recused: Collection[str]
) -> None:
    """The examiners of a sheet are assigned to the session, on the right panel, and not
    recused from the candidate; the session takes scores."""
    # A closed session still takes re-sits (补考 is sat after the main sitting); closing
    # waits until no candidate has a first-round score outstanding.
    if session_status not in ("running", "closed"):
        raise RuleViolation(
            "session_id",
            "session.not_running",
            f"the session is {session_status}: scores are taken once it has started",
        )
    for entry in sheet.entries:
        field = f"scores.{entry.component}"
        if entry.examiner_id not in panels:
            raise RuleViolation(
                field, "score.examiner_not_assigned", "the examiner is not assigned to this session"
            )
        if entry.component == "review" and panels[entry.examiner_id] != "review":
            raise RuleViolation(
                field, "score.examiner_panel", "review scores come from the review panel"
            )
        if entry.examiner_id in recused:
            raise RuleViolation(
                field,
                "score.examiner_recused",
                "the examiner is recused from this candidate (conflict of interest)",
            )


async def enter_scores_checked(
    services: ApiServices, application_id: str, sheet: ScoreSheet
) -> ApplicationStatus:
    """Check the examiners and send the sheet to the workflow, whose validator checks the
    scores themselves."""
    row = await services.pool.fetchrow(
        f"""SELECT s.status, {PANELS_SQL} AS panels,
                   array(SELECT r.examiner_id FROM certification.recusals r
                         WHERE r.application_id = a.application_id) AS recused
            FROM certification.applications a JOIN certification.sessions s USING (session_id)
            WHERE a.application_id = $1""",
        application_id,
        sorted({entry.examiner_id for entry in sheet.entries}),
    )
    if row is None:
        raise LookupError("no application with this id")
    check_examiners(sheet, row["status"], row["panels"], row["recused"])
    return await send_scores(services, application_id, sheet)


async def send_scores(
    services: ApiServices, application_id: str, sheet: ScoreSheet
) -> ApplicationStatus:
    return await _command(services, application_id, ApplicationWorkflow.enter_scores, sheet)


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


class CorrectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    component: Component
    score: float
    reason: str = Field(min_length=1, max_length=1000)
    correction_id: str = Field(
        default_factory=lambda: uuid.uuid4().hex, min_length=1, max_length=64
    )


@router.post("/{application_id}/score-corrections")
async def correct_score(
    application_id: str, request: CorrectionRequest, caller: ApplicationOwner, services: Services
) -> ApplicationStatus:
    """Change a signed-off score: needs a reason and leaves an audit entry and event."""
    return await _command(
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


class ObjectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)
    objection_id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1, max_length=64)


@router.post("/{application_id}/objections")
async def raise_objection(
    application_id: str, request: ObjectionRequest, caller: ObjectionRaiser, services: Services
) -> ApplicationStatus:
    """Object during the public notice: issuance waits until the regulator resolves it."""
    return await _command(
        services,
        application_id,
        ApplicationWorkflow.raise_objection,
        Objection(objection_id=request.objection_id, reason=request.reason, raised_by=caller.name),
    )


class ResolutionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    upheld: bool
    resolution: str = Field(min_length=1, max_length=1000)


@router.post("/{application_id}/objections/{objection_id}/resolution")
async def resolve_objection(
    application_id: str,
    objection_id: str,
    request: ResolutionRequest,
    caller: Regulator,
    services: Services,
) -> ApplicationStatus:
    """Upheld: no certificate. Dismissed: issuance goes ahead once the notice is over."""
    return await _command(
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
