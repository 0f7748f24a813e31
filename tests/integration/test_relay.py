"""The outbox relay on the real broker: order per key, and no event lost while the broker is down."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer

from schemas.events import EventEnvelope
from skillflow import kafka
from skillflow.stack.process import free_port
from skillflow.stack.servers import KafkaBroker
from store.database import create_pool
from store.outbox import enqueue
from store.relay import _RELAY_LOCK_ID
from tests.integration.sample_events import expired

pytestmark = pytest.mark.integration


def _event(person_key: str, n: int) -> EventEnvelope:
    return expired(f"s-{n}", person_key, prefix="order")


async def _read_all(
    bootstrap: str, topic: str, expected: int, timeout: float = 30
) -> list[EventEnvelope]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=f"t-{uuid.uuid4().hex}",
    )
    await consumer.start()
    seen: list[EventEnvelope] = []
    try:
        async with asyncio.timeout(timeout):
            while len(seen) < expected:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    seen += [EventEnvelope.model_validate_json(r.value) for r in records]
    finally:
        await consumer.stop()
    return seen


async def test_relay_keeps_per_person_order_and_survives_a_broker_outage(
    stack, own_database, tmp_path
) -> None:
    port = free_port()
    broker = KafkaBroker(tmp_path, port)
    broker.start()
    settings = stack.settings.model_copy(
        update={"kafka_bootstrap_servers": broker.bootstrap_servers}
    )
    await kafka.ensure_topics(settings)
    stop = asyncio.Event()
    relay = asyncio.create_task(kafka.run_outbox_relay(settings, own_database, stop))
    people = [uuid.uuid4().hex * 2 for _ in range(3)]
    try:
        first = [_event(people[n % 3], n) for n in range(30)]
        async with own_database.acquire() as conn, conn.transaction():
            await enqueue(conn, *first)
        seen = await _read_all(broker.bootstrap_servers, "skills.registration", len(first))
        for person in people:
            assert [e.event_id for e in seen if e.person_key == person] == [
                e.event_id for e in first if e.person_key == person
            ]

        broker.process.stop()
        during = [_event(people[n % 3], n) for n in range(10)]
        async with own_database.acquire() as conn, conn.transaction():
            await enqueue(conn, *during)
        await asyncio.sleep(4)
        row = await own_database.fetchrow(
            "SELECT count(*) AS unsent, max(attempts) AS attempts FROM outbox.events WHERE sent_at IS NULL"
        )
        assert row["unsent"] == len(during)

        broker = KafkaBroker(tmp_path, port)  # memory storage: a fresh, empty broker
        broker.start()
        await kafka.ensure_topics(settings)
        delivered = await _read_all(
            broker.bootstrap_servers, "skills.registration", len(during), timeout=60
        )
        assert {e.event_id for e in delivered} >= {e.event_id for e in during}
        assert (
            await own_database.fetchval("SELECT count(*) FROM outbox.events WHERE sent_at IS NULL")
            == 0
        )
    finally:
        stop.set()
        await asyncio.wait_for(relay, 30)
        broker.process.stop()


async def test_relay_whose_database_connections_are_cut_leads_again_and_publishes(
    stack, own_database
) -> None:
    """PostgreSQL restarting ends every session: the leader's lock goes with its session and
    a standing-by relay's next lock attempt fails. That relay must not die there: it tries
    again, takes the leadership and publishes what came in meanwhile."""
    database = await own_database.fetchval("SELECT current_database()")
    dsn = stack.settings.postgres_dsn.rsplit("/", 1)[0] + f"/{database}"

    async def unsent() -> int:
        conn = await asyncpg.connect(dsn)
        try:
            return int(
                await conn.fetchval("SELECT count(*) FROM outbox.events WHERE sent_at IS NULL")
            )
        finally:
            await conn.close()

    # Another relay leads: this one stands by, trying the lock every two seconds.
    leader = await asyncpg.connect(dsn)
    assert await leader.fetchval("SELECT pg_try_advisory_lock($1)", _RELAY_LOCK_ID)
    stop = asyncio.Event()
    relay = asyncio.create_task(kafka.run_outbox_relay(stack.settings, own_database, stop))
    try:
        await asyncio.sleep(3)  # it has tried the lock and stands by on a pooled connection
        # As while PostgreSQL restarts: every session ends, and new ones are refused a while.
        await stack.pool.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        try:
            cut = await stack.pool.fetchval(
                """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                   WHERE datname = $1 AND pid <> pg_backend_pid()""",
                database,
            )
            assert cut >= 2  # the leader's session and the standing-by relay's
            await asyncio.sleep(5)  # the relay's next lock attempts find no database
        finally:
            await stack.pool.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        writer = await create_pool(dsn, min_size=1, max_size=1)  # jsonb codec, fresh session
        try:
            async with writer.acquire() as conn, conn.transaction():
                await enqueue(conn, *[_event(uuid.uuid4().hex * 2, n) for n in range(3)])
        finally:
            await writer.close()
        for _ in range(300):
            if not await unsent() or relay.done():
                break
            await asyncio.sleep(0.2)
        assert not relay.done(), relay.exception() if relay.done() else None
        assert await unsent() == 0
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await leader.close()
        await asyncio.wait_for(relay, 30)
