"""After the embedded broker lost its messages, events no consumer applied are published again."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from schemas.events import build_event
from schemas.payloads import RegistrationExpired
from store.database import apply_migrations, create_pool, ensure_database
from store.outbox import enqueue, requeue_unapplied

pytestmark = pytest.mark.integration


@pytest.fixture
async def own_database(stack) -> AsyncIterator[asyncpg.Pool]:
    dsn = stack.settings.postgres_dsn.rsplit("/", 1)[0] + f"/requeue_{uuid.uuid4().hex[:8]}"
    await ensure_database(dsn)
    pool = await create_pool(dsn, max_size=2)
    async with pool.acquire() as conn:
        await apply_migrations(conn)
    yield pool
    await pool.close()


async def test_requeue_only_what_a_subscribed_consumer_has_not_applied(own_database) -> None:
    events = []
    for n in range(4):
        key = f"requeue-{uuid.uuid4().hex}"
        events.append(
            build_event(
                RegistrationExpired(application_id=key, session_id=f"s{n}"),
                business_key=key,
                occurred_at=datetime.now(UTC),
                producer="tests",
                correlation_id=key,
                person_key=uuid.uuid4().hex * 2,
            )
        )
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
