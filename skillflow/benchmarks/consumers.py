"""Events applied per second by the real consumer, against a plain loop, in the same run.

N ``registration.submitted`` events go to a topic of their own (so no running service sees
them), then are applied twice, one after the other, from the same broker into the same
database:

* **consumer** — the production path: FastStream batch subscriber, envelope and payload
  parsing, the batch's ``delivery.processed_events`` rows and the incentive service's real
  handlers (its batch handler: every ``incentives.registrations`` row of a run and the
  look-up for certificates that came first in one statement) under one savepoint per batch
  (per event only after a refusal), commit, then the offset commit;
* **plain** — aiokafka ``getmany`` + ``json.loads`` + one asyncpg ``executemany`` of the
  same row per batch, commit, then the offset commit.

Both are timed from their first committed batch to their last (group joins excluded) by
in-process counters bumped after each database commit. Every row written is removed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from consumers.app import ConsumerRuntime, build_broker
from consumers.delivery import Consumer
from consumers.dispatch import PayloadHandlers
from consumers.incentives.candidates import candidate_handlers
from schemas.events import build_event
from schemas.payloads import RegistrationSubmitted
from skillflow import kafka
from skillflow.settings import Settings
from store.database import create_pool

BATCH: Final = 500
_INSERT: Final = """
INSERT INTO incentives.registrations
  (application_id, person_key, session_id, body_id, occupation_code, level,
   candidate_age, candidate_category, appraisal_fee_fen, first_appraisal, submitted_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (application_id) DO NOTHING
"""


async def run(settings: Settings, events: int) -> dict[str, Any]:
    """Publish ``events`` events and measure both appliers; returns rates and their ratio."""
    if events < 1:
        raise ValueError("events must be at least 1")
    run_id = uuid.uuid4().hex[:10]
    topic = f"bench.{run_id}.registration"
    session_id = f"bench-{run_id}"
    plain_session_id = f"bench-plain-{run_id}"
    consumer_name = f"bench-consumer-{run_id}"
    partitions = settings.kafka_topic_partitions
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    pool = await create_pool(settings.postgres_dsn, min_size=2, max_size=10)
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
        published_per_second = await _publish(settings, topic, run_id, session_id, events)

        runtime = ConsumerRuntime(settings=settings, pool=pool)
        handlers = candidate_handlers(PayloadHandlers())
        consumer = Consumer(
            name=consumer_name,
            topics=(topic,),
            handlers=handlers.by_event_type(),
            batch_handlers=handlers.batches_by_event_type(),
        )
        broker = build_broker(runtime, [consumer], batch_max_records=BATCH)
        consumer_rate = await _timed(
            events, lambda: runtime.applied, start=broker.start, stop=broker.stop
        )

        plain = _PlainLoop(settings, pool, topic, plain_session_id, f"bench-plain-{run_id}")
        plain_rate = await _timed(events, lambda: plain.applied, start=plain.start, stop=plain.stop)
    finally:
        await _clean_up(pool, (session_id, plain_session_id), consumer_name)
        await pool.close()
        with contextlib.suppress(Exception):
            await admin.delete_topics([topic])
        await admin.close()
    return {
        "events": events,
        "partitions": partitions,
        "batch_max_records": BATCH,
        "published_per_second": round(published_per_second, 1),
        "consumer_events_per_second": round(consumer_rate, 1),
        "plain_events_per_second": round(plain_rate, 1),
        "ratio": round(consumer_rate / plain_rate, 3) if plain_rate else None,
        "consumer": "FastStream batch subscriber + exactly-once delivery + incentive handler",
        "plain": "aiokafka getmany + json.loads + asyncpg executemany, one transaction per batch",
    }


async def _publish(
    settings: Settings, topic: str, run_id: str, session_id: str, count: int
) -> float:
    now = datetime.now(UTC)
    producer = kafka.make_producer(settings)
    await producer.start()
    try:
        started = time.perf_counter()
        pending = []
        for i in range(count):
            # A few hundred workers, so every partition gets work and per-worker order matters.
            person_key = hashlib.sha256(f"{run_id}|{i % 500}".encode()).hexdigest()
            envelope = build_event(
                RegistrationSubmitted(
                    application_id=f"{session_id}-{i}",
                    session_id=session_id,
                    body_id="BENCH",
                    occupation_code="6-31-01-03",
                    level=5,
                    candidate_age=30,
                ),
                business_key=f"{session_id}-{i}",
                occurred_at=now,
                producer="skillflow.benchmark",
                correlation_id=session_id,
                person_key=person_key,
            )
            pending.append(
                await producer.send(
                    topic, envelope.model_dump_json().encode(), key=envelope.message_key
                )
            )
        await asyncio.gather(*pending)
        return count / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def _timed(
    expected: int,
    applied: Callable[[], int],
    *,
    start: Callable[[], Awaitable[Any]],
    stop: Callable[[], Awaitable[Any]],
    timeout: float = 600.0,
) -> float:
    """Events per second from the first committed batch to the last."""
    await start()
    try:
        deadline = time.perf_counter() + timeout
        first_at: float | None = None
        first_count = 0
        while applied() < expected:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"only {applied()} of {expected} events applied in {timeout}s")
            if first_at is None and applied() > 0:
                first_at, first_count = time.perf_counter(), applied()
            await asyncio.sleep(0.002)
        done_at = time.perf_counter()
        if first_at is None or done_at <= first_at:
            return float("inf") if expected else 0.0  # everything landed in one batch
        return (expected - first_count) / (done_at - first_at)
    finally:
        await stop()


class _PlainLoop:
    """The baseline: what a hand-written consumer without any guarantees would do."""

    def __init__(
        self, settings: Settings, pool: asyncpg.Pool, topic: str, session_id: str, group: str
    ) -> None:
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=max(settings.kafka_session_timeout_ms // 3, 300),
        )
        self._pool = pool
        self._session_id = session_id
        self._task: asyncio.Task[None] | None = None
        self.applied = 0

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def _loop(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=100, max_records=BATCH)
            records = [r for rs in batches.values() for r in rs]
            if not records:
                continue
            rows = []
            for record in records:
                envelope = json.loads(record.value)
                payload = envelope["payload"]
                rows.append(
                    (
                        f"plain:{payload['application_id']}",
                        envelope["person_key"],
                        self._session_id,
                        payload["body_id"],
                        payload["occupation_code"],
                        payload["level"],
                        payload["candidate_age"],
                        payload["candidate_category"],
                        payload["appraisal_fee_fen"],
                        payload["first_appraisal"],
                        datetime.fromisoformat(envelope["occurred_at"]),
                    )
                )
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.executemany(_INSERT, rows)
            self.applied += len(rows)
            await self._consumer.commit()


async def _clean_up(pool: asyncpg.Pool, session_ids: tuple[str, ...], consumer_name: str) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "DELETE FROM incentives.registrations WHERE session_id = ANY($1)", list(session_ids)
        )
        await conn.execute(
            "DELETE FROM delivery.processed_events WHERE consumer = $1", consumer_name
        )
