"""Work that waits longer than its service level, from the projections in PostgreSQL and
the worker's record of retrying activities. Each item names its workflow (never a person)
and the repairs that fit it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

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


async def late_work(conn: Connection, levels: ServiceLevels, limit: int = 200) -> list[LateItem]:
    """Everything past its service level, the longest wait first."""
    items: list[LateItem] = []
    for row in await conn.fetch(
        """SELECT application_id, session_id, submitted_at AS since,
                  extract(epoch FROM now() - submitted_at) AS waited
           FROM certification.applications
           WHERE stage = 'awaiting_review' AND submitted_at < now() - make_interval(secs => $1)
           ORDER BY submitted_at LIMIT $2""",
        levels.registration_review_seconds,
        limit,
    ):
        items.append(
            LateItem(
                "registration_review",
                f"application {row['application_id']} (session {row['session_id']}) awaits "
                "its body's review",
                application_workflow_id(row["application_id"]),
                row["since"],
                float(row["waited"]),
                levels.registration_review_seconds,
                ["terminate"],
            )
        )
    for row in await conn.fetch(
        """SELECT o.application_id, o.objection_id, o.raised_at AS since,
                  extract(epoch FROM now() - o.raised_at) AS waited
           FROM certification.objections o
           WHERE o.resolved_at IS NULL AND o.raised_at < now() - make_interval(secs => $1)
           ORDER BY o.raised_at LIMIT $2""",
        levels.objection_seconds,
        limit,
    ):
        items.append(
            LateItem(
                "objection",
                f"objection {row['objection_id']} on application {row['application_id']} "
                "awaits the regulator",
                application_workflow_id(row["application_id"]),
                row["since"],
                float(row["waited"]),
                levels.objection_seconds,
            )
        )
    for row in await conn.fetch(
        f"""SELECT s.session_id, s.exam_date::timestamptz AS since, count(*) AS outstanding,
                  extract(epoch FROM now() - s.exam_date::timestamptz) AS waited
           FROM certification.sessions s
           JOIN certification.applications a USING (session_id)
           WHERE a.stage = 'assessment' AND s.exam_date + $1::int < {CHINA_TODAY}
           GROUP BY s.session_id, s.exam_date ORDER BY s.exam_date LIMIT $2""",
        levels.scores_after_exam_days,
        limit,
    ):
        items.append(
            LateItem(
                "scores_outstanding",
                f"session {row['session_id']}: {row['outstanding']} candidate(s) without "
                "scores after the exam date",
                session_workflow_id(row["session_id"]),
                row["since"],
                float(row["waited"]),
                levels.scores_after_exam_days * 86400.0,
            )
        )
    for row in await conn.fetch(
        """SELECT application_id, body_id, updated_at AS since,
                  extract(epoch FROM now() - updated_at) AS waited
           FROM certification.applications
           WHERE stage = 'held' AND updated_at < now() - make_interval(secs => $1)
           ORDER BY updated_at LIMIT $2""",
        levels.held_issuance_seconds,
        limit,
    ):
        items.append(
            LateItem(
                "held_issuance",
                f"certificate for application {row['application_id']} held since body "
                f"{row['body_id']} was found inactive",
                application_workflow_id(row["application_id"]),
                row["since"],
                float(row["waited"]),
                levels.held_issuance_seconds,
                ["recheck", "terminate"],
            )
        )
    for row in await conn.fetch(
        """SELECT workflow_id, workflow_type, activity_type, attempt, last_error,
                  first_failed_at AS since, extract(epoch FROM now() - first_failed_at) AS waited
           FROM operations.activity_retries
           -- a row not refreshed for half an hour belongs to a run that ended otherwise
           WHERE attempt >= $1 AND last_failed_at > now() - interval '30 minutes'
           ORDER BY first_failed_at LIMIT $2""",
        levels.activity_attempts,
        limit,
    ):
        items.append(
            LateItem(
                "activity_retrying",
                f"{row['workflow_type']}: activity {row['activity_type']} failed "
                f"{row['attempt']} times ({row['last_error'][:200]})",
                row["workflow_id"],
                row["since"],
                float(row["waited"]),
                0.0,
                ["reset", "terminate"],
            )
        )
    items.sort(key=lambda item: item.since)
    return items
