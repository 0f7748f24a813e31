"""Gathering the facts behind a payment for the fraud rules in ``policy.fraud``."""

from __future__ import annotations

import asyncpg

from policy.fraud import BodyRecord, PaymentFacts
from schemas.payloads import SubsidyKind
from store.database import Connection


async def payment_facts(
    conn: Connection,
    kind: SubsidyKind,
    registration: asyncpg.Record | None,
    body_id: str | None,
) -> PaymentFacts:
    """The facts for one payment; without a registration (a promotion) only the body counts."""
    concurrent = edited = False
    if registration is not None:
        application_id = registration["application_id"]
        concurrent = bool(
            await conn.fetchval(
                """SELECT EXISTS (
                       SELECT 1 FROM incentives.registrations other
                       WHERE other.person_key = $1
                         AND other.session_id <> $2
                         AND other.application_id <> $3
                         AND other.submitted_at < coalesce($5::timestamptz, 'infinity')
                         AND $4::timestamptz < coalesce(other.concluded_at, 'infinity'))""",
                registration["person_key"],
                registration["session_id"],
                application_id,
                registration["submitted_at"],
                registration["concluded_at"],
            )
        )
        edited = bool(
            await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM incentives.score_edits WHERE application_id = $1)",
                application_id,
            )
        )
    body: BodyRecord | None = None
    if body_id is not None:
        row = await conn.fetchrow(
            """SELECT count(*) FILTER (WHERE passed) AS passed, count(*) AS assessed
               FROM incentives.assessment_outcomes WHERE body_id = $1""",
            body_id,
        )
        assert row is not None
        body = BodyRecord(passed=row["passed"], assessed=row["assessed"])
    return PaymentFacts(
        subsidy_kind=kind,
        candidate_category=registration["candidate_category"] if registration else None,
        candidate_age=registration["candidate_age"] if registration else None,
        concurrent_sessions=concurrent,
        score_edited_after_sign_off=edited,
        body=body,
    )
