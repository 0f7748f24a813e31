"""Work that waits longer than its service level, from the projections in PostgreSQL and
the worker's record of retrying activities. Each item names its workflow (never a person)
and the repairs that fit it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from policy.service_levels import ServiceLevels
from schemas.workflow_ids import application_workflow_id, session_workflow_id
from store.database import Connection

CHINA_TODAY = "(now() AT TIME ZONE 'Asia/Shanghai')::date"


@dataclass
class LateItem:
    kind: str
    what: str
    workflow_id: str
    since: datetime
    waited_seconds: float
    limit_seconds: float
    repairs: list[str] = field(default_factory=list)
    link: str | None = None


@dataclass(frozen=True)
class _Wait:
    """One kind of late work: the query that finds it (``$1`` its service level, ``$2`` the
    limit; each row has ``since`` and ``waited``) and how an item of it reads."""

    kind: str
    query: str
    level: Callable[[ServiceLevels], float]
    what: Callable[[asyncpg.Record], str]
    workflow_id: Callable[[asyncpg.Record], str]
    repairs: tuple[str, ...] = ()
    # The service level in seconds, where ``level`` is counted otherwise.
    limit_seconds: Callable[[ServiceLevels], float] | None = None


def _in_stage(stage: str, since: str) -> str:
    """Applications that have been in ``stage`` (since their column ``since``) longer than
    the service level."""
    return f"""SELECT application_id, session_id, body_id, {since} AS since,
                  extract(epoch FROM now() - {since}) AS waited
           FROM certification.applications
           WHERE stage = '{stage}' AND {since} < now() - make_interval(secs => $1)
           ORDER BY {since} LIMIT $2"""


_WAITS = (
    _Wait(
        "registration_review",
        _in_stage("awaiting_review", since="submitted_at"),
        lambda levels: levels.registration_review_seconds,
        lambda row: (
            f"application {row['application_id']} (session {row['session_id']}) awaits "
            "its body's review"
        ),
        lambda row: application_workflow_id(row["application_id"]),
        ("terminate",),
    ),
    _Wait(
        "objection",
        """SELECT o.application_id, o.objection_id, o.raised_at AS since,
                  extract(epoch FROM now() - o.raised_at) AS waited
           FROM certification.objections o
           WHERE o.resolved_at IS NULL AND o.raised_at < now() - make_interval(secs => $1)
           ORDER BY o.raised_at LIMIT $2""",
        lambda levels: levels.objection_seconds,
        lambda row: (
            f"objection {row['objection_id']} on application {row['application_id']} "
            "awaits the regulator"
        ),
        lambda row: application_workflow_id(row["application_id"]),
    ),
    _Wait(
        "scores_outstanding",
        f"""SELECT s.session_id, s.exam_date::timestamptz AS since, count(*) AS outstanding,
                  extract(epoch FROM now() - s.exam_date::timestamptz) AS waited
           FROM certification.sessions s
           JOIN certification.applications a USING (session_id)
           WHERE a.stage = 'assessment' AND s.exam_date + $1::int < {CHINA_TODAY}
           GROUP BY s.session_id, s.exam_date ORDER BY s.exam_date LIMIT $2""",
        lambda levels: levels.scores_after_exam_days,
        lambda row: (
            f"session {row['session_id']}: {row['outstanding']} candidate(s) without "
            "scores after the exam date"
        ),
        lambda row: session_workflow_id(row["session_id"]),
        limit_seconds=lambda levels: levels.scores_after_exam_days * 86400.0,
    ),
    _Wait(
        "held_issuance",
        _in_stage("held", since="updated_at"),
        lambda levels: levels.held_issuance_seconds,
        lambda row: (
            f"certificate for application {row['application_id']} held since body "
            f"{row['body_id']} was found inactive"
        ),
        lambda row: application_workflow_id(row["application_id"]),
        ("recheck", "terminate"),
    ),
    _Wait(
        "activity_retrying",
        """SELECT workflow_id, workflow_type, activity_type, attempt, last_error,
                  first_failed_at AS since, extract(epoch FROM now() - first_failed_at) AS waited
           FROM operations.activity_retries
           -- a row not refreshed for half an hour belongs to a run that ended otherwise
           WHERE attempt >= $1 AND last_failed_at > now() - interval '30 minutes'
           ORDER BY first_failed_at LIMIT $2""",
        lambda levels: levels.activity_attempts,
        lambda row: (
            f"{row['workflow_type']}: activity {row['activity_type']} failed "
            f"{row['attempt']} times ({row['last_error'][:200]})"
        ),
        lambda row: str(row["workflow_id"]),
        ("reset", "terminate"),
        limit_seconds=lambda levels: 0.0,  # counted in attempts, not time
    ),
)


async def late_work(conn: Connection, levels: ServiceLevels, limit: int = 200) -> list[LateItem]:
    """Everything past its service level, the longest wait first."""
    items = [
        LateItem(
            wait.kind,
            wait.what(row),
            wait.workflow_id(row),
            row["since"],
            float(row["waited"]),
            (wait.limit_seconds or wait.level)(levels),
            list(wait.repairs),
        )
        for wait in _WAITS
        for row in await conn.fetch(wait.query, wait.level(levels), limit)
    ]
    items.sort(key=lambda item: item.since)
    return items
