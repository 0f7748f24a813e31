"""Writing events to the outbox, inside the caller's transaction."""

from __future__ import annotations

from schemas.events import EventEnvelope
from store.database import Connection


async def enqueue(conn: Connection, *events: EventEnvelope) -> int:
    """Add ``events`` to the outbox in the caller's transaction; returns how many were new.

    A retried activity re-enqueues the same deterministic event ids, which are ignored, so
    an event is published once however often the activity runs.
    """
    if not events:
        return 0
    rows = [
        (
            event.event_id,
            event.topic.value,
            event.message_key,
            event.model_dump(mode="json"),
        )
        for event in events
    ]
    inserted = await conn.fetch(
        """INSERT INTO outbox.events (event_id, topic, message_key, envelope)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::jsonb[])
           ON CONFLICT (event_id) DO NOTHING
           RETURNING seq""",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
    )
    return len(inserted)
