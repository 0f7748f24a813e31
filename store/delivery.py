"""Queries on the ``delivery`` schema that operators read: what each consumer has applied
and the dead letters it could not apply.

``consumers.delivery`` writes this schema (exactly-once application, dead-lettering,
replay); the operator's routes read it through here.
"""

from __future__ import annotations

from typing import Any

from store.database import Connection


async def consumer_progress(conn: Connection) -> list[dict[str, Any]]:
    """Per consumer: events applied and when the last one was."""
    rows = await conn.fetch(
        """SELECT consumer, count(*) AS processed, max(applied_at) AS last_applied_at
           FROM delivery.processed_events GROUP BY consumer ORDER BY consumer"""
    )
    return [dict(r) for r in rows]


async def open_dead_letters(conn: Connection) -> dict[str, int]:
    """Open dead letters by consumer (a consumer with none is absent)."""
    rows = await conn.fetch(
        """SELECT consumer, count(*) AS open FROM delivery.dead_letters
           WHERE status = 'open' GROUP BY consumer ORDER BY consumer"""
    )
    return {r["consumer"]: r["open"] for r in rows}


async def dead_letters(
    conn: Connection, status: str, consumer: str | None, limit: int
) -> list[dict[str, Any]]:
    """Dead letters in ``status`` (of one consumer, or all), oldest first."""
    rows = await conn.fetch(
        """SELECT id, consumer, topic, kafka_partition, kafka_offset, event_id, event_type, error,
                  attempts, status, created_at, resolved_at, resolved_by
           FROM delivery.dead_letters
           WHERE status = $1 AND ($2::text IS NULL OR consumer = $2)
           ORDER BY id LIMIT $3""",
        status,
        consumer,
        limit,
    )
    return [{**dict(r), "event_id": str(r["event_id"]) if r["event_id"] else None} for r in rows]
