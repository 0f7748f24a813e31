"""Events applied per second by the real consumer, against a plain loop, in the same run.

Each round publishes N ``registration.submitted`` events to two topics of its own (so no
running service sees them) and applies them with each applier in turn, from the same broker
into the same database:

* **consumer** — the production path: FastStream batch subscriber, envelope and payload
  parsing, the batch's ``delivery.processed_events`` rows and the incentive service's real
  handlers (its batch handler: every ``incentives.registrations`` row of a run and the
  look-up for certificates that came first in one statement) in one transaction per batch
  (per event only after a refusal), commit, then the offset commit;
* **plain** — aiokafka ``getmany`` + ``json.loads`` + one asyncpg ``executemany`` of the
  same row per batch, commit, then the offset commit.

Both are timed from their first committed batch to their last (group joins excluded) by
in-process counters bumped after each database commit. The machine is shared, so one pair
says little: the appliers run alternately for several rounds (consumer, plain, consumer,
plain, ...), each round is printed with the load average at its end, and the figures
reported are the medians, the ratio being the median of the rounds' ratios. Every row
written is removed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from consumers.app import ConsumerRuntime, build_broker, settle_heap
from consumers.delivery import Consumer
from consumers.dispatch import PayloadHandlers
from consumers.incentives.candidates import candidate_handlers
from schemas.events import build_event
from schemas.payloads import RegistrationSubmitted
from skillflow import kafka
from skillflow.benchmarks.certification import _progress
from skillflow.settings import Settings
from store.database import create_pool

BATCH: Final = 500
ROUNDS: Final = 5
_INSERT: Final = """
INSERT INTO incentives.registrations
  (application_id, person_key, session_id, body_id, occupation_code, level,
   candidate_age, candidate_category, appraisal_fee_fen, first_appraisal, submitted_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (application_id) DO NOTHING
"""


async def run(settings: Settings, events: int, rounds: int = ROUNDS) -> dict[str, Any]:
    """Publish ``events`` events per applier and round, apply them alternately for
    ``rounds`` rounds; returns each round and the medians."""
    if events < 1 or rounds < 1:
        raise ValueError("events and rounds must be at least 1")
    run_id = uuid.uuid4().hex[:10]
    pairs = [
        {
            mode: (f"bench.{run_id}.{i}.{mode}", f"bench-{mode}-{run_id}-{i}")
            for mode in ("consumer", "plain")
        }
        for i in range(rounds)
    ]
    consumer_names = [f"bench-consumer-{run_id}-{i}" for i in range(rounds)]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    pool = await create_pool(settings.postgres_dsn, min_size=2, max_size=10)
    topics = [topic for pair in pairs for topic, _ in pair.values()]
    try:
        await admin.create_topics([NewTopic(t, settings.kafka_topic_partitions, 1) for t in topics])
        published = [
            await _publish(settings, topic, run_id, session_id, events)
            for pair in pairs
            for topic, session_id in pair.values()
        ]
        figures = []
        for i, (pair, name) in enumerate(zip(pairs, consumer_names, strict=True)):
            consumer_rate = await _consumer_round(settings, pool, pair["consumer"][0], name, events)
            topic, session_id = pair["plain"]
            group = f"bench-plain-{run_id}-{i}"
            plain_rate = await _plain_round(settings, pool, topic, session_id, group, events)
            figure = {
                "round": i + 1,
                "consumer_events_per_second": round(consumer_rate, 1),
                "plain_events_per_second": round(plain_rate, 1),
                "ratio": round(consumer_rate / plain_rate, 3),
                "load_average": round(os.getloadavg()[0], 1),
            }
            figures.append(figure)
            _progress(
                f"round {i + 1}/{rounds}: consumer {consumer_rate:,.0f}/s, plain "
                f"{plain_rate:,.0f}/s, ratio {figure['ratio']:.2f} "
                f"(load average {figure['load_average']})"
            )
    finally:
        sessions = [session_id for pair in pairs for _, session_id in pair.values()]
        await _clean_up(pool, sessions, consumer_names)
        await pool.close()
        with contextlib.suppress(Exception):
            await admin.delete_topics(topics)
        await admin.close()
    return {
        "events": events,
        "rounds": figures,
        "partitions": settings.kafka_topic_partitions,
        "batch_max_records": BATCH,
        "published_per_second": round(statistics.median(published), 1),
        "consumer_events_per_second": _median(figures, "consumer_events_per_second"),
        "plain_events_per_second": _median(figures, "plain_events_per_second"),
        "ratio": _median(figures, "ratio"),
        "consumer": "FastStream batch subscriber + exactly-once delivery + incentive handler",
        "plain": "aiokafka getmany + json.loads + asyncpg executemany, one transaction per batch",
    }


def _median(figures: list[dict[str, Any]], key: str) -> float:
    return round(float(statistics.median(figure[key] for figure in figures)), 3)


def registration_consumer(name: str, topic: str) -> Consumer:
    """Consumer group ``name`` on ``topic`` with the incentive service's registration
    handlers: one at a time, and set-based for a run of events."""
    return candidate_handlers(PayloadHandlers()).consumer(name, topic)


async def _consumer_round(
    settings: Settings, pool: asyncpg.Pool, topic: str, name: str, events: int
) -> float:
    runtime = ConsumerRuntime(settings=settings, pool=pool)
    broker = build_broker(runtime, [registration_consumer(name, topic)], batch_max_records=BATCH)
    settle_heap()  # as the consumers role does before it starts its broker
    return await _timed(events, lambda: runtime.applied, start=broker.start, stop=broker.stop)


async def _plain_round(
    settings: Settings, pool: asyncpg.Pool, topic: str, session_id: str, group: str, events: int
) -> float:
    plain = _PlainLoop(settings, pool, topic, session_id, group)
    return await _timed(events, lambda: plain.applied, start=plain.start, stop=plain.stop)


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
        self._stopping = False
        self.applied = 0

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        # Let the batch in hand finish (a cancelled offset commit leaves a failed task behind).
        self._stopping = True
        if self._task is not None:
            await self._task
        await self._consumer.stop()

    async def _loop(self) -> None:
        while not self._stopping:
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


async def _clean_up(pool: asyncpg.Pool, session_ids: list[str], consumer_names: list[str]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "DELETE FROM incentives.registrations WHERE session_id = ANY($1)", session_ids
        )
        await conn.execute(
            "DELETE FROM delivery.processed_events WHERE consumer = ANY($1)", consumer_names
        )
