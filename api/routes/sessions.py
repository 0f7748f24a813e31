"""Exam sessions: opening with staffing, registration (JSON and CSV), bulk review, score
import, and the session's list of applications."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from activities.admission import Admitted, Registration, admit
from activities.exam_session import check_session_opening
from activities.registration import start_applications
from api.access import (
    BodyActor,
    SessionOwner,
    SessionReader,
    authorize_body,
)
from api.commands import APPLICATIONS, SESSIONS
from api.csv_import import CSV_REQUEST_BODY, CsvFile
from api.imports import import_job, submit_import
from api.paging import Limit, Offset, SessionPage
from api.services import Services
from api.views import SessionApplication, SessionView
from policy.assessment import ExaminerGrade
from policy.calendar import china_date
from policy.errors import (
    NOT_IN_SESSION,
    NotFound,
    RuleViolation,
    RuleViolations,
    Violation,
    as_violations,
)
from policy.idnumber import person_key, validate_id_number
from policy.rule_ids import Rule
from schemas.application import (
    ReviewDecision,
)
from schemas.exam_session import (
    SESSION_ID_PATTERN,
    CloseSession,
    SessionExaminer,
    SessionOpening,
    SessionState,
    StartExam,
)
from schemas.imports import ImportJob
from schemas.inputs import OptionalReason, RequestBody
from store import certification
from store.sealed import examiner_names_place
from workflows.application import ApplicationWorkflow
from workflows.exam_session import ExamSessionWorkflow

router = APIRouter(prefix="/sessions", tags=["exam sessions"])

UPDATE_CONCURRENCY = 64


def today() -> date:
    return china_date(datetime.now(UTC))


class ExaminerRequest(RequestBody):
    """An examiner. Relatives and trainees are given by ID number and kept as person keys."""

    examiner_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=50)
    grade: ExaminerGrade
    employer: str = Field("", max_length=64)
    former_employers: list[str] = Field(default_factory=list)
    panel: Literal["practical", "review"] = "practical"
    relative_id_numbers: list[str] = Field(default_factory=list)
    trainee_id_numbers: list[str] = Field(default_factory=list)


class SessionRequest(RequestBody):
    session_id: str = Field(pattern=SESSION_ID_PATTERN)
    body_id: str
    occupation_code: str
    # Whole numbers, strictly: ``true`` is not level 1 nor a capacity of one.
    level: int = Field(strict=True, ge=1, le=5)
    exam_date: date
    registration_closes_on: date
    capacity: int = Field(strict=True, ge=1, le=100_000)
    theory_rooms: int = Field(strict=True, ge=1, le=1000)
    proctors: int = Field(strict=True, ge=0, le=10_000)
    examiners: list[ExaminerRequest] = Field(min_length=1)
    policy_version: str = Field(
        "2024-default",
        description="Assessment policy the session runs under (notice, deadlines, pass mark); "
        "'demo-fast' shortens the public notice, and the recheck of an issuance held by a "
        "suspended body, to seconds for walkthroughs",
    )


def _examiner(request: ExaminerRequest, secret: bytes, index: int) -> SessionExaminer:
    def keys(numbers: list[str], field: str) -> list[str]:
        found = []
        for number in numbers:
            try:
                validate_id_number(number, today=today(), min_age=0)
            except RuleViolation as violation:
                raise RuleViolation(
                    f"examiners[{index}].{field}", violation.rule, violation.message
                ) from None
            found.append(person_key(number, secret))
        return found

    return SessionExaminer(
        examiner_id=request.examiner_id,
        name=request.name,
        grade=request.grade,
        employer=request.employer,
        former_employers=request.former_employers,
        panel=request.panel,
        relatives_person_keys=keys(request.relative_id_numbers, "relative_id_numbers"),
        trained_person_keys=keys(request.trainee_id_numbers, "trainee_id_numbers"),
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def open_session(
    request: SessionRequest, caller: BodyActor, services: Services
) -> SessionState:
    """Open a session: the session process checks the body (active, filed for the
    occupation and level), the dates and the panels (grades, odd sizes, proctors per
    room) now, and again when its activity records it; the checks that depend on the
    number of candidates run when it starts."""
    async with services.pool.acquire() as conn:
        await authorize_body(conn, caller, request.body_id)
    secret = services.settings.person_key_secret_bytes
    examiners = [_examiner(e, secret, i) for i, e in enumerate(request.examiners)]
    opening = SessionOpening(
        **request.model_dump(exclude={"examiners"}), examiners=examiners, opened_by=caller.name
    )
    async with services.pool.acquire() as conn:
        await check_session_opening(conn, opening, demo_allowed=services.settings.demo_policies)
    key = request.session_id
    await SESSIONS.start(
        services, key, ExamSessionWorkflow.run, opening, exists=Rule.SESSION_ALREADY_OPEN
    )
    return await SESSIONS.opened(services, key, ExamSessionWorkflow.await_opened, StartExam())


@router.post("/{session_id}/start")
async def start_exam(session_id: str, caller: SessionOwner, services: Services) -> SessionState:
    """Check staffing against the approved roster; the session then takes scores."""
    return await SESSIONS.update(
        services, session_id, ExamSessionWorkflow.start_exam, StartExam(started_by=caller.name)
    )


@router.post("/{session_id}/close")
async def close_session(session_id: str, caller: SessionOwner, services: Services) -> SessionState:
    """End the sitting. Candidates with a component still unscored would otherwise wait
    forever, so closing waits for their scores (0 for a candidate who did not sit): the
    session's workflow refuses it until then."""
    return await SESSIONS.update(
        services, session_id, ExamSessionWorkflow.close, CloseSession(closed_by=caller.name)
    )


@router.get("/{session_id}")
async def get_session(session_id: str, _: SessionReader, services: Services) -> SessionView:
    view = await services.found(certification.session_view, session_id, "no session with this id")
    return SessionView(**view)


class PanelExaminer(BaseModel):
    examiner_id: str
    name: str
    grade: ExaminerGrade
    panel: Literal["practical", "review"]


@router.get("/{session_id}/examiners")
async def list_examiners(
    session_id: str, _: SessionOwner, services: Services
) -> list[PanelExaminer]:
    """The session's panels with the examiners' names, for the body that runs it. The
    names are kept sealed at rest, apart from the facts the conflict checks read."""
    async with services.pool.acquire() as conn:
        row = await certification.session_examiners(conn, session_id)
    if row is None:
        raise NotFound("no session with this id")
    names: dict[str, str] = {}
    if row["examiner_names_sealed"] is not None:
        names = json.loads(
            services.settings.key_ring.open_text(
                row["examiner_names_sealed"], examiner_names_place(session_id)
            )
        )
    return [
        PanelExaminer(
            examiner_id=e["examiner_id"],
            name=names.get(e["examiner_id"], ""),
            grade=e["grade"],
            panel=e.get("panel", "practical"),
        )
        for e in row["examiners"]
    ]


@router.get("/{session_id}/applications")
async def list_applications(
    session_id: str,
    _: SessionReader,
    services: Services,
    stage: str | None = None,
    limit: SessionPage = 1000,
    offset: Offset = 0,
) -> list[SessionApplication]:
    """A session's applications with stage, scores and certificate number (masked names)."""
    async with services.pool.acquire() as conn:
        found = await certification.session_applications(conn, session_id, stage, limit, offset)
    return [SessionApplication(**row) for row in found]


# --- registration -----------------------------------------------------------------------


@router.post("/{session_id}/applications", status_code=status.HTTP_201_CREATED)
async def register(
    session_id: str, registration: Registration, _: SessionOwner, services: Services
) -> Admitted:
    """Register one candidate. Checks ID number, eligibility, duplicates, capacity and the
    body's scope; each refusal names its rule and writes nothing."""
    async with services.pool.acquire() as conn, conn.transaction():
        admitted, start = await admit(
            conn,
            session_id,
            registration,
            services.settings.person_key_secret_bytes,
            today(),
            services.settings.key_ring,
        )
    if start is not None:
        await start_applications(
            services.temporal, services.settings.task_queue, services.pool, [start]
        )
    return admitted


@router.post(
    "/{session_id}/applications.csv",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=CSV_REQUEST_BODY,
)
async def import_registrations(
    session_id: str,
    caller: SessionOwner,
    services: Services,
    body: CsvFile,
) -> ImportJob:
    """Register a whole session from CSV (header: id_number,name,years_in_occupation and
    optionally employer, former_employers (;-separated), relationship, commission_id,
    sub_level, education, apprenticeship_completed, category, appraisal_fee_fen), as a job:
    answered at once; poll ``GET /sessions/{id}/imports/{job_id}`` for progress and, when
    done, each row's answer. Each row is admitted as alone (one transaction; a bad row is
    reported with its rules and applies nothing). The same file sent again answers with the
    same job."""
    return await submit_import(
        services, session_id, "registrations", body, submitted_by=caller.name, judged_on=today()
    )


# --- bulk review ------------------------------------------------------------------------


class BulkReview(RequestBody):
    approve: bool
    reason: Annotated[OptionalReason, Field(max_length=500)] = ""
    application_ids: list[str] | None = Field(
        None, description="None: every application of the session awaiting review"
    )


class ReviewReport(BaseModel):
    application_id: str
    status: Literal["approved", "rejected", "refused"]
    errors: list[Violation] = Field(default_factory=list)


@router.post("/{session_id}/reviews")
async def review_many(
    session_id: str, review: BulkReview, caller: SessionOwner, services: Services
) -> list[ReviewReport]:
    """Approve or reject many registrations of this session at once, a bounded number in
    flight. An id of another session is refused for that application alone."""
    async with services.pool.acquire() as conn:
        ids = review.application_ids
        if ids is None:
            ids = await certification.awaiting_review(conn, session_id)
        ours = await certification.in_session(conn, session_id, ids)
    decision = ReviewDecision(approve=review.approve, reason=review.reason, reviewed_by=caller.name)
    limit = asyncio.Semaphore(UPDATE_CONCURRENCY)

    async def one(application_id: str) -> ReviewReport:
        if application_id not in ours:
            return ReviewReport(
                application_id=application_id,
                status="refused",
                errors=[NOT_IN_SESSION],
            )
        async with limit:
            try:
                await APPLICATIONS.update(
                    services, application_id, ApplicationWorkflow.review, decision
                )
            except (RuleViolation, RuleViolations) as exc:
                return ReviewReport(
                    application_id=application_id, status="refused", errors=as_violations(exc)
                )
            except NotFound as exc:
                return ReviewReport(
                    application_id=application_id,
                    status="refused",
                    errors=[
                        Violation(field="application_id", rule=Rule.NOT_FOUND, message=str(exc))
                    ],
                )
        return ReviewReport(
            application_id=application_id, status="approved" if review.approve else "rejected"
        )

    return list(await asyncio.gather(*(one(i) for i in ids)))


# --- score import -----------------------------------------------------------------------


@router.post(
    "/{session_id}/scores.csv",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=CSV_REQUEST_BODY,
)
async def import_scores(
    session_id: str,
    caller: SessionOwner,
    services: Services,
    body: CsvFile,
) -> ImportJob:
    """Enter scores from CSV (header: application_id,examiner_id and any of theory,
    practical,review; a blank cell is not scored), as a job like a registration import. A
    bad row is refused whole."""
    return await submit_import(
        services, session_id, "scores", body, submitted_by=caller.name, judged_on=today()
    )


@router.get("/{session_id}/imports/{job_id}")
async def get_import(
    session_id: str,
    job_id: str,
    _: SessionReader,
    services: Services,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> ImportJob:
    """An import job's progress (total, done, accepted, refused) and, once finished, its
    row answers in row order, one page at a time."""
    return await import_job(services, session_id, job_id, limit, offset)
