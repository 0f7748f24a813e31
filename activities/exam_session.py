"""Activities of the exam-session workflow: the session row, its status, its roster."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from temporalio import activity

from activities.resources import ActivityResources
from policy.assessment import (
    AssessmentPolicy,
    admit_policy_version,
    check_session_dates,
    check_staffing,
    effective_pass_mark,
)
from policy.catalogue import Component, get_occupation, required_components
from policy.errors import RuleViolation, RuleViolations
from policy.rule_ids import Rule
from schemas.events import EventEnvelope, workflow_event
from schemas.exam_session import (
    OpenedSession,
    SessionOpening,
    SessionOpenRecord,
    SessionStatusRecord,
)
from schemas.payloads import SessionClosed, SessionOpened, SessionStarted
from schemas.workflow_ids import session_workflow_id
from store import certification
from store.database import Connection
from store.outbox import enqueue
from store.sealed import examiner_names_place
from workflows.rules import as_rule_error, rules_error

PRODUCER = "skillflow.exam_session"


async def check_body_may_run(
    conn: Connection, body_id: str, occupation_code: str, level: int
) -> tuple[str, int | None]:
    """(body type, enterprise pass mark) of an active body filed for occupation x level.

    The API calls it for an immediate answer and the activity again inside its
    transaction, since the body may be suspended in between.
    """
    body = await conn.fetchrow(
        """SELECT body_type, status, scope, pass_mark FROM certification.bodies
           WHERE body_id = $1 FOR SHARE""",
        body_id,
    )
    if body is None:
        raise RuleViolation("body_id", Rule.BODY_UNKNOWN, "no evaluation body has this id")
    if body["status"] != "active":
        raise RuleViolation(
            "body_id", Rule.BODY_NOT_ACTIVE, f"the body's filing is {body['status']}, not active"
        )
    if f"{occupation_code}:{level}" not in body["scope"]:
        raise RuleViolation(
            "occupation_code",
            Rule.BODY_OUT_OF_SCOPE,
            f"the body is not filed for occupation {occupation_code} at level {level}",
        )
    return str(body["body_type"]), body["pass_mark"]


@dataclass(frozen=True)
class CheckedOpening:
    policy: AssessmentPolicy
    # Kept in the session's history: a later catalogue change does not change the
    # staffing a running session is checked against.
    components: tuple[Component, ...]
    body_type: str
    enterprise_mark: int | None


async def check_session_opening(
    conn: Connection, opening: SessionOpening, *, demo_allowed: bool
) -> CheckedOpening:
    """Every rule a new session meets: a policy version the service admits, registration
    closing by the exam date, the panels as filed (grades, odd sizes, proctors per room;
    what depends on the number of candidates is checked when it starts), and an active
    body filed for its occupation and level.

    The API calls it for an immediate answer (a refused session starts no workflow) and
    the activity again inside its transaction, since the body may be suspended in between.
    """
    policy = admit_policy_version(opening.policy_version, demo_allowed=demo_allowed)
    components = required_components(get_occupation(opening.occupation_code), opening.level)
    check_session_dates(opening.registration_closes_on, opening.exam_date)
    violations = check_staffing(
        opening.level,
        0,
        opening.theory_rooms,
        opening.proctors,
        [e for e in opening.examiners if e.panel == "practical"],
        [e for e in opening.examiners if e.panel == "review"],
        policy.staffing,
        review_panel_needed="review" in components,
    )
    if violations:
        raise RuleViolations(violations)
    body_type, enterprise_mark = await check_body_may_run(
        conn, opening.body_id, opening.occupation_code, opening.level
    )
    return CheckedOpening(policy, components, body_type, enterprise_mark)


def _session_event(
    payload: SessionOpened | SessionStarted | SessionClosed, occurred_at: datetime
) -> EventEnvelope:
    """An event of a session (one of each kind): correlated with its workflow, about no
    worker."""
    session_id = payload.session_id
    return workflow_event(
        payload, PRODUCER, session_workflow_id(session_id), session_id, occurred_at
    )


class ExamSessionActivities:
    def __init__(self, resources: ActivityResources) -> None:
        self._pool = resources.pool
        self._key_ring = resources.settings.key_ring
        self._demo_policies = resources.settings.demo_policies

    @activity.defn(name="certification.open_session")
    async def open_session(self, record: SessionOpenRecord) -> OpenedSession:
        opening = record.opening
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                checked = await check_session_opening(
                    conn, opening, demo_allowed=self._demo_policies
                )
                policy, components = checked.policy, checked.components
                body_type, enterprise_mark = checked.body_type, checked.enterprise_mark
                pass_mark = effective_pass_mark(
                    policy.pass_mark, enterprise_mark, score_max=policy.score_max
                )
                await conn.execute(
                    """INSERT INTO certification.sessions
                           (session_id, body_id, occupation_code, level, exam_date,
                            registration_closes_on, capacity, theory_rooms, proctors, examiners,
                            examiner_names_sealed, policy_version, pass_mark, status, opened_at,
                            updated_at)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'open',
                               $14, $14)
                       ON CONFLICT (session_id) DO NOTHING""",
                    opening.session_id,
                    opening.body_id,
                    opening.occupation_code,
                    opening.level,
                    opening.exam_date,
                    opening.registration_closes_on,
                    opening.capacity,
                    opening.theory_rooms,
                    opening.proctors,
                    # Names apart, sealed: the conflict checks read this column in clear.
                    [examiner.model_dump(exclude={"name"}) for examiner in opening.examiners],
                    self._key_ring.seal_text(
                        json.dumps({e.examiner_id: e.name for e in opening.examiners}),
                        examiner_names_place(opening.session_id),
                    ),
                    opening.policy_version,
                    pass_mark,
                    record.occurred_at,
                )
                await enqueue(
                    conn,
                    # The event carries the opening's own facts (those it names).
                    _session_event(
                        SessionOpened.model_validate(opening, from_attributes=True),
                        record.occurred_at,
                    ),
                )
        except RuleViolation as violation:
            raise as_rule_error(violation) from None
        except RuleViolations as violations:
            raise rules_error(violations.violations) from None
        return OpenedSession(
            pass_mark=pass_mark,
            policy=policy,
            body_type="Y" if body_type == "Y" else "S",
            required_components=components,
        )

    @activity.defn(name="certification.session_roster")
    async def session_roster(self, session_id: str) -> int:
        """Candidates approved to sit the exam."""
        count = await self._pool.fetchval(
            """SELECT count(*) FROM certification.applications
               WHERE session_id = $1 AND stage NOT IN ('awaiting_review', 'rejected', 'expired')""",
            session_id,
        )
        return int(count or 0)

    @activity.defn(name="certification.first_round_outstanding")
    async def first_round_outstanding(self, session_id: str) -> int:
        """Approved candidates still waiting for a first-round score (closing waits)."""
        async with self._pool.acquire() as conn:
            return await certification.first_round_outstanding(conn, session_id)

    @activity.defn(name="certification.record_session_status")
    async def record_session_status(self, record: SessionStatusRecord) -> None:
        payload = (
            SessionStarted(session_id=record.session_id)
            if record.status == "running"
            else SessionClosed(session_id=record.session_id)
        )
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """UPDATE certification.sessions SET status = $2, updated_at = $3
                   WHERE session_id = $1""",
                record.session_id,
                record.status,
                record.occurred_at,
            )
            await enqueue(
                conn,
                _session_event(payload, record.occurred_at),
            )
