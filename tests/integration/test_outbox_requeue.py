"""After the embedded broker lost its messages, events no consumer applied are published again."""

from __future__ import annotations

import pytest

from store.outbox import enqueue, requeue_unapplied
from tests.integration.sample_events import expired

pytestmark = pytest.mark.integration


async def test_requeue_only_what_a_subscribed_consumer_has_not_applied(own_database) -> None:
    events = []
    for n in range(4):
        events.append(expired(f"s{n}", prefix="requeue"))
    applied_by_both, applied_by_records, dead_lettered, unsent = events
    async with own_database.acquire() as conn, conn.transaction():
        await enqueue(conn, *events)
        await conn.execute(
            "UPDATE outbox.events SET sent_at = now() WHERE event_id <> $1", unsent.event_id
        )
        for consumer, event in [
            ("records", applied_by_both),
            ("incentives", applied_by_both),
            ("records", applied_by_records),
            ("records", dead_lettered),
        ]:
            await conn.execute(
                """INSERT INTO delivery.processed_events (consumer, event_id, event_type, outcome)
                   VALUES ($1, $2, 'registration.expired', 'applied')""",
                consumer,
                event.event_id,
            )
        await conn.execute(
            """INSERT INTO delivery.dead_letters (consumer, topic, kafka_partition, kafka_offset, value,
                 event_id, error, attempts) VALUES ('incentives', 'skills.registration', 0, 1, '\\x00', $1, 'x', 3)""",
            dead_lettered.event_id,
        )
        requeued = await requeue_unapplied(
            conn,
            {
                "records": ["skills.registration"],
                "incentives": ["skills.registration"],
                "other": ["skills.competition"],
            },
        )
        unsent_now = {
            r["event_id"]
            for r in await conn.fetch("SELECT event_id FROM outbox.events WHERE sent_at IS NULL")
        }
    assert requeued == 1
    assert unsent_now == {applied_by_records.event_id, unsent.event_id}
