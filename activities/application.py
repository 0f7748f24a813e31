"""Activities of the application workflow. Each writes the application's row and the
events of its step in one transaction; event ids come from business keys, so a retry
changes nothing."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import datetime
from typing import Protocol

from temporalio import activity

from activities.resources import ActivityResources
from policy.assessment import (
    CandidateConflictFacts,
    ConflictIndex,
    Examiner,
    check_approval_allowed,
)
from policy.calendar import china_date
from policy.errors import NotFound, RuleViolation
from policy.rule_ids import Rule
from schemas.application import (
    AssessmentRecord,
    CorrectionRecord,
    ObjectionRecord,
    ResolutionRecord,
    ReviewOutcome,
    ReviewRecord,
    StageRecord,
)
from schemas.events import EventEnvelope, EventPayload, workflow_event
from schemas.payloads import (
    AssessmentFailed,
    AssessmentPassed,
    AssessmentResult,
    CertificateWithheld,
    ComponentScored,
    ExaminerRecused,
    ObjectionRaised,
    ObjectionResolved,
    PublicNoticeStarted,
    RegistrationApproved,
    RegistrationExpired,
    RegistrationRejected,
    ScoreCorrected,
)
from schemas.workflow_ids import application_workflow_id
from store import certification
from store.database import Connection
from store.outbox import enqueue
from workflows.rules import as_rule_error

PRODUCER = "skillflow.application"
# Sessions whose examiner index a worker keeps: the sessions being reviewed right now.
CACHED_SESSIONS = 32


class _Step(Protocol):
    """What every record of an application's step carries: whose it is and when."""

    @property
    def application_id(self) -> str: ...
    @property
    def person_key(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...


def _event(step: _Step, payload: EventPayload, business_key: str | None = None) -> EventEnvelope:
    """The envelope of an event of this step; one event of its kind per application unless a
    business key tells them apart."""
    workflow_id = application_workflow_id(step.application_id)
    return workflow_event(
        payload,
        PRODUCER,
        workflow_id,
        business_key or step.application_id,
        step.occurred_at,
        step.person_key,
    )


async def _set_stage(
    conn: Connection,
    application_id: str,
    stage: str,
    occurred_at: datetime,
    rule: str | None = None,
    reason: str | None = None,
) -> None:
    await conn.execute(
        """UPDATE certification.applications
           SET stage = $2, stage_rule = coalesce($3, stage_rule),
               stage_reason = coalesce($4, stage_reason), updated_at = $5
           WHERE application_id = $1""",
        application_id,
        stage,
        rule,
        reason,
        occurred_at,
    )


class ApplicationActivities:
    def __init__(self, resources: ActivityResources) -> None:
        self._pool = resources.pool
        # A session's examiners are fixed when it opens, so their index is built once per
        # session and worker, not parsed again for each of its candidates' approvals.
        self._conflicts: OrderedDict[str, asyncio.Task[ConflictIndex]] = OrderedDict()

    async def _conflict_index(self, session_id: str) -> ConflictIndex:
        task = self._conflicts.get(session_id)
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            # One load per session even when a hundred approvals arrive at once.
            task = asyncio.ensure_future(self._load_conflict_index(session_id))
            self._conflicts[session_id] = task
            while len(self._conflicts) > CACHED_SESSIONS:
                self._conflicts.popitem(last=False)
        else:
            self._conflicts.move_to_end(session_id)
        return await asyncio.shield(task)

    async def _load_conflict_index(self, session_id: str) -> ConflictIndex:
        examiners = await self._pool.fetchval(
            "SELECT examiners FROM certification.sessions WHERE session_id = $1", session_id
        )
        if examiners is None:
            raise NotFound(f"session {session_id} is not recorded")
        return ConflictIndex(
            [
                Examiner.model_validate({k: v for k, v in e.items() if k != "panel"})
                for e in examiners
            ]
        )

    @activity.defn(name="certification.record_review")
    async def record_review(self, record: ReviewRecord) -> ReviewOutcome:
        """Approve (recording every recusal the candidate causes) or reject a registration."""
        app_id = record.application_id
        # Before taking a connection: loading the index may need one of its own.
        conflicts = await self._conflict_index(record.session_id) if record.approve else None
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                """SELECT eligibility_path, employer, former_employers
                   FROM certification.applications
                   WHERE application_id = $1 FOR UPDATE""",
                app_id,
            )
            if row is None:
                raise NotFound(f"application {app_id} is not recorded")
            if record.approve:
                # Approvals end when the exam starts (staffing was checked against the
                # roster then): the session's status is a fact of this store.
                status = await certification.session_status(conn, record.session_id)
                try:
                    check_approval_allowed(status)
                except RuleViolation as violation:
                    raise as_rule_error(violation) from None
            events: list[EventEnvelope] = []
            found = []
            if record.approve:
                # Recusal is decided per candidate at approval, so it is settled before the
                # session runs and costs no extra step per candidate.
                candidate = CandidateConflictFacts(
                    person_key=record.person_key,
                    employer=row["employer"],
                    former_employers=list(row["former_employers"]),
                )
                assert conflicts is not None
                found = conflicts.recusals(candidate)
                await conn.executemany(
                    """INSERT INTO certification.recusals
                           (session_id, examiner_id, application_id, reason, recorded_at)
                       VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""",
                    [
                        (record.session_id, r.examiner_id, app_id, r.reason, record.occurred_at)
                        for r in found
                    ],
                )
                events += [
                    _event(
                        record,
                        ExaminerRecused(
                            session_id=record.session_id,
                            examiner_id=r.examiner_id,
                            reason=r.reason,
                        ),
                        f"{app_id}:{r.examiner_id}:{r.reason}",
                    )
                    for r in found
                ]
                events.append(
                    _event(
                        record,
                        RegistrationApproved(
                            application_id=app_id,
                            session_id=record.session_id,
                            eligibility_path=row["eligibility_path"],
                        ),
                    )
                )
                await _set_stage(conn, app_id, "assessment", record.occurred_at)
            else:
                events.append(
                    _event(
                        record,
                        RegistrationRejected(
                            application_id=app_id,
                            session_id=record.session_id,
                            rule=Rule.REVIEW_REJECTED,
                        ),
                    )
                )
                await _set_stage(
                    conn,
                    app_id,
                    "rejected",
                    record.occurred_at,
                    Rule.REVIEW_REJECTED,
                    record.reason,
                )
            await enqueue(conn, *events)
        return ReviewOutcome(recusals=len(found), eligibility_path=row["eligibility_path"])

    @activity.defn(name="certification.record_assessment")
    async def record_assessment(self, record: AssessmentRecord) -> None:
        app_id = record.application_id
        events = [
            _event(
                record,
                # The event is the recorded score (all its fields) of this application.
                ComponentScored(
                    application_id=app_id, session_id=record.session_id, **entry.model_dump()
                ),
                f"{app_id}:{entry.component}:{entry.attempt}",
            )
            for entry in record.entered
        ]
        today = china_date(record.occurred_at)
        # What a passed and a failed round both report, as the record has it.
        result = record.model_dump(include=set(AssessmentResult.model_fields))
        if record.outcome == "passed":
            assert record.notice_ends_on is not None
            events.append(
                _event(
                    record,
                    AssessmentPassed(**result, passed_on=today),
                    f"{app_id}:passed:{record.round}",
                )
            )
            events.append(
                _event(
                    record,
                    PublicNoticeStarted(
                        application_id=app_id, notice_ends_on=record.notice_ends_on
                    ),
                    f"{app_id}:{record.round}",
                )
            )
        elif record.outcome == "failed":
            events.append(
                _event(
                    record,
                    AssessmentFailed(
                        **result,
                        failed_components=record.failed_components,
                        resit_deadline=record.resit_deadline,
                    ),
                    f"{app_id}:failed:{record.round}",
                )
            )
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """UPDATE certification.applications
                   SET scores = $2, attempts = $3, stage = $4,
                       notice_ends_on = coalesce($5, notice_ends_on),
                       resit_deadline = coalesce($6, resit_deadline),
                       stage_rule = CASE WHEN $4 = 'failed' THEN $8 ELSE stage_rule END,
                       updated_at = $7
                   WHERE application_id = $1""",
                app_id,
                record.scores,
                record.attempts,
                record.stage,
                record.notice_ends_on,
                record.resit_deadline,
                record.occurred_at,
                Rule.ASSESSMENT_FAILED,
            )
            await enqueue(conn, *events)

    @activity.defn(name="certification.record_correction")
    async def record_correction(self, record: CorrectionRecord) -> None:
        correction = record.correction
        app_id = record.application_id
        event = _event(
            record,
            ScoreCorrected(
                application_id=app_id,
                session_id=record.session_id,
                component=correction.component,
                previous_score=record.previous_score,
                new_score=correction.score,
                corrected_by=correction.corrected_by,
            ),
            f"{app_id}:{correction.correction_id}",
        )
        async with self._pool.acquire() as conn, conn.transaction():
            inserted = await conn.fetchval(
                """INSERT INTO certification.score_audit
                       (application_id, correction_id, component, previous_score, new_score,
                        reason, corrected_by, corrected_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                   ON CONFLICT DO NOTHING RETURNING true""",
                app_id,
                correction.correction_id,
                correction.component,
                record.previous_score,
                correction.score,
                correction.reason,
                correction.corrected_by,
                record.occurred_at,
            )
            if inserted:
                await conn.execute(
                    """UPDATE certification.applications
                       SET scores = scores || jsonb_build_object($2::text, $3::float8),
                           updated_at = $4
                       WHERE application_id = $1""",
                    app_id,
                    correction.component,
                    correction.score,
                    record.occurred_at,
                )
            await enqueue(conn, event)

    @activity.defn(name="certification.record_objection")
    async def record_objection(self, record: ObjectionRecord) -> None:
        app_id = record.application_id
        objection = record.objection
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """INSERT INTO certification.objections
                       (application_id, objection_id, reason, raised_at)
                   VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
                app_id,
                objection.objection_id,
                objection.reason,
                record.occurred_at,
            )
            await _set_stage(conn, app_id, "objection", record.occurred_at)
            await enqueue(
                conn,
                _event(
                    record,
                    ObjectionRaised(application_id=app_id, objection_id=objection.objection_id),
                    f"{app_id}:{objection.objection_id}",
                ),
            )

    @activity.defn(name="certification.record_resolution")
    async def record_resolution(self, record: ResolutionRecord) -> None:
        app_id = record.application_id
        resolution = record.resolution
        events = [
            _event(
                record,
                ObjectionResolved(
                    application_id=app_id,
                    objection_id=resolution.objection_id,
                    upheld=resolution.upheld,
                ),
                f"{app_id}:{resolution.objection_id}",
            )
        ]
        if record.stage == "withheld":
            events.append(
                _event(
                    record,
                    CertificateWithheld(
                        application_id=app_id,
                        rule=Rule.OBJECTION_UPHELD,
                    ),
                )
            )
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """UPDATE certification.objections
                   SET upheld = $3, resolution = $4, resolved_at = $5
                   WHERE application_id = $1 AND objection_id = $2""",
                app_id,
                resolution.objection_id,
                resolution.upheld,
                resolution.resolution,
                record.occurred_at,
            )
            if record.stage == "withheld":
                await _set_stage(
                    conn,
                    app_id,
                    "withheld",
                    record.occurred_at,
                    Rule.OBJECTION_UPHELD,
                    resolution.resolution,
                )
            else:
                await _set_stage(conn, app_id, record.stage, record.occurred_at)
            await enqueue(conn, *events)

    @activity.defn(name="certification.record_stage")
    async def record_stage(self, record: StageRecord) -> None:
        app_id = record.application_id
        events: list[EventEnvelope] = []
        if record.stage == "expired":
            events.append(
                _event(
                    record,
                    RegistrationExpired(application_id=app_id, session_id=record.session_id),
                )
            )
        elif record.stage == "withheld":
            events.append(
                _event(
                    record,
                    CertificateWithheld(
                        application_id=app_id,
                        rule=record.rule or "withheld",
                    ),
                )
            )
        async with self._pool.acquire() as conn, conn.transaction():
            await _set_stage(
                conn, app_id, record.stage, record.occurred_at, record.rule, record.reason
            )
            await enqueue(conn, *events)
