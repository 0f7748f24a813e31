"""Writing events to the outbox, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Collection, Mapping

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


async def requeue_unapplied(conn: Connection, subscriptions: Mapping[str, Collection[str]]) -> int:
    """Mark unsent again every sent event that a consumer reading its topic has neither applied
    nor dead-lettered; returns how many rows were requeued.

    For a broker that lost its messages, such as the embedded one, which keeps them in memory:
    the relay publishes them again, and consumers drop what they had already applied.
    """
    requeued = 0
    for consumer, topics in subscriptions.items():
        status = await conn.execute(
            """UPDATE outbox.events o SET sent_at = NULL
               WHERE o.sent_at IS NOT NULL AND o.topic = ANY($2::text[])
                 AND NOT EXISTS (SELECT 1 FROM delivery.processed_events p
                                 WHERE p.consumer = $1 AND p.event_id = o.event_id)
                 AND NOT EXISTS (SELECT 1 FROM delivery.dead_letters d
                                 WHERE d.consumer = $1 AND d.event_id = o.event_id)""",
            consumer,
            list(topics),
        )
        requeued += int(status.split()[-1])
    return requeued
