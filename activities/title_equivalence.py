"""Finding workers due a title equivalence in the records tables and publishing it.

Idempotent: ``records.title_eligibilities`` has one row per worker and title, written in the
same transaction as the outbox event (whose id derives from worker and title), so a
retried activity or a second run the same day publishes nothing new.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

import asyncpg
from temporalio import activity

from policy.titles import held_since_cutoff, title_table
from schemas.archive import TitleEquivalenceBatch, TitleEquivalenceOutcome
from schemas.events import build_event
from schemas.payloads import TitleEligible
from store.outbox import enqueue

PRODUCER: Final = "skillflow.records"

# A certificate at the rule's level or higher (smaller number) counts; the earliest one
# names the title, revoked ones never do.
_DUE_SQL: Final = """
SELECT DISTINCT ON (c.person_key, r.title)
       c.person_key, r.title, c.occupation_code, c.level, c.certificate_number, c.issued_on
FROM records.certificates c
JOIN unnest($1::int[], $2::text[], $3::date[]) AS r(max_level, title, cutoff)
  ON c.level <= r.max_level AND c.issued_on <= r.cutoff
WHERE NOT EXISTS (SELECT 1 FROM records.certificate_revocations v
                  WHERE v.certificate_number = c.certificate_number)
  AND NOT EXISTS (SELECT 1 FROM records.title_eligibilities t
                  WHERE t.person_key = c.person_key AND t.title = r.title)
ORDER BY c.person_key, r.title, c.issued_on, c.certificate_number
LIMIT $4
"""


class TitleEquivalenceActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name="records.publish_due_title_equivalences")
    async def publish_due_title_equivalences(
        self, batch: TitleEquivalenceBatch
    ) -> TitleEquivalenceOutcome:
        rules = title_table().rules
        correlation_id = activity.info().workflow_id or activity.info().activity_type
        async with self._pool.acquire() as conn, conn.transaction():
            due = await conn.fetch(
                _DUE_SQL,
                [rule.level for rule in rules],
                [rule.title for rule in rules],
                [held_since_cutoff(rule.years_held, batch.as_of) for rule in rules],
                batch.limit,
            )
            published = 0
            for row in due:
                event = build_event(
                    TitleEligible(
                        title=row["title"],
                        occupation_code=row["occupation_code"],
                        level=row["level"],
                        certificate_number=row["certificate_number"],
                        held_since=row["issued_on"],
                    ),
                    business_key=f"{row['person_key']}|{row['title']}",
                    occurred_at=datetime.now(UTC),
                    producer=PRODUCER,
                    correlation_id=correlation_id,
                    person_key=row["person_key"],
                )
                inserted = await conn.fetchval(
                    """INSERT INTO records.title_eligibilities
                         (person_key, title, occupation_code, level, certificate_number,
                          held_since, found_on, event_id)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                       ON CONFLICT (person_key, title) DO NOTHING
                       RETURNING true""",
                    row["person_key"],
                    row["title"],
                    row["occupation_code"],
                    row["level"],
                    row["certificate_number"],
                    row["issued_on"],
                    batch.as_of,
                    event.event_id,
                )
                if inserted:
                    await enqueue(conn, event)
                    published += 1
        return TitleEquivalenceOutcome(as_of=batch.as_of, published=published)


def title_equivalence_activities(pool: asyncpg.Pool) -> list[Callable[..., Any]]:
    return [TitleEquivalenceActivities(pool).publish_due_title_equivalences]
