"""The consumers role: one FastStream Kafka broker carrying every consumer group.

Each consumer reads its topics in batches. Offsets are committed only after the batch's
database transaction commits (``AckPolicy.NACK_ON_ERROR`` rewinds on failure), which with
the processed-events table gives exactly-once effect. Message key = person key, so one
worker's events arrive in order on one partition.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from faststream.kafka import KafkaBroker
from faststream.middlewares import AckPolicy
from pydantic import BaseModel, Field
from temporalio.client import Client

from consumers.delivery import (
    TRANSIENT_ERRORS,
    Consumer,
    InboundRecord,
    apply_batch,
    log_context,
)
from consumers.incentives.consumer import incentives_consumer
from consumers.records.consumer import records_consumer
from schemas.events import EventEnvelope
from schemas.topics import Topic
from skillflow import kafka
from skillflow.metrics import CONSUMER_FAILED_BATCHES, count_outcome, lag_sampler, outbox_sampler
from skillflow.role import health_endpoint, role_resources
from skillflow.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConsumerDependencies:
    """What consumer handlers may use besides their transaction."""

    settings: Settings
    temporal: Client


def build_consumers(deps: ConsumerDependencies) -> tuple[Consumer, ...]:
    return (records_consumer(deps.settings), incentives_consumer(deps.settings, deps.temporal))


class DeadLetterMessage(BaseModel):
    """A ``.dlq`` record: the original bytes, unchanged, with the reason in headers
    (x-consumer, x-error, x-attempts, x-original-topic, x-original-partition, x-original-offset)."""

    original: EventEnvelope | str = Field(description="the original message, as it arrived")


@dataclass
class ConsumerRuntime:
    """What the handlers need at run time; the pool is opened when the role starts."""

    settings: Settings
    pool: asyncpg.Pool | None = None
    applied: int = 0
    dead_lettered: int = 0


# Young objects a collection waits for (CPython's default is 700). A batch holds hundreds of
# parsed events, several tracked objects each, so at 700 the collector ran six times a batch.
_YOUNG_COLLECTION_THRESHOLD = 20_000


def settle_heap() -> None:
    """Set the collector up for batch consumption, once the process has started.

    What start-up built (modules, pydantic schemas, clients) lives as long as the process:
    frozen, full collections no longer walk it. Before, a full collection walked some 170,000
    such objects every 20,000 events or so and cost more than a batch's database work; the
    young generation is also collected every few batches instead of several times a batch.
    Garbage is still freed by reference counting as before; only cycles wait a little longer.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(_YOUNG_COLLECTION_THRESHOLD, older, oldest)


async def _raw_body(message: Any) -> Any:
    # Keep the bytes: the delivery layer parses each record itself so one bad record
    # goes to the dead letters instead of failing the whole batch.
    return message.body


def build_broker(
    runtime: ConsumerRuntime,
    consumers: Sequence[Consumer],
    *,
    batch_max_records: int = 500,
) -> KafkaBroker:
    settings = runtime.settings
    broker = KafkaBroker(
        settings.kafka_bootstrap_servers,
        apply_types=False,
        enable_idempotence=settings.kafka_idempotent_producer,
        client_id="skillflow-consumers",
        # "Received"/"Processed" per batch is debugging detail, not an operator's log.
        log_level=logging.DEBUG,
    )
    dead_letter_publishers = {
        topic.value: broker.publisher(
            topic.dead_letter,
            title=f"{topic.dead_letter}:publish",
            description=f"Messages from {topic.value} that a consumer gave up on",
            schema=DeadLetterMessage,
        )
        for topic in Topic
    }

    for consumer in consumers:
        _subscribe(broker, runtime, consumer, dead_letter_publishers, batch_max_records)
    return broker


def _subscribe(
    broker: KafkaBroker,
    runtime: ConsumerRuntime,
    consumer: Consumer,
    dead_letter_publishers: dict[str, Any],
    batch_max_records: int,
) -> None:
    settings = runtime.settings

    async def handle(events: list[EventEnvelope]) -> None:
        message = broker.context.get_local("message")
        raw = (
            message.raw_message
            if isinstance(message.raw_message, tuple)
            else (message.raw_message,)
        )
        records = [InboundRecord(r.topic, r.partition, r.offset, r.key, r.value) for r in raw]
        assert runtime.pool is not None, "the consumers role opens the pool before the broker"
        try:
            outcome = await apply_batch(
                runtime.pool, consumer, records, max_attempts=settings.consumer_max_attempts
            )
        except TRANSIENT_ERRORS as exc:
            CONSUMER_FAILED_BATCHES.labels(consumer.name).inc()
            # The database is down: wait, then let the batch be redelivered (nothing committed).
            log.warning("%s: database unavailable (%s); batch will be retried", consumer.name, exc)
            await asyncio.sleep(2.0)
            raise
        for letter in outcome.dead_letters:
            await dead_letter_publishers[letter.record.topic].publish(
                letter.record.value,
                key=letter.record.key,
                headers={k: v.decode(errors="replace") for k, v in letter.headers(consumer.name)},
            )
            log.error(
                "%s: dead-lettered %s[%d]@%d: %s",
                consumer.name,
                letter.record.topic,
                letter.record.partition,
                letter.record.offset,
                letter.error,
                extra=log_context(consumer.name, letter.event),
            )
        runtime.applied += outcome.applied
        runtime.dead_lettered += len(outcome.dead_letters)
        count_outcome(consumer.name, outcome)

    handle.__name__ = f"{consumer.name}_handler"
    broker.subscriber(
        *(str(topic) for topic in consumer.topics),
        group_id=consumer.name,
        batch=True,
        max_records=batch_max_records,
        batch_timeout_ms=100,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=max(settings.kafka_session_timeout_ms // 3, 300),
        decoder=_raw_body,
        title=f"{consumer.name}:consume",
        description=f"The {consumer.name} service applies these events exactly once in effect",
    )(handle)


async def run_consumers(
    settings: Settings, stop: asyncio.Event, ready: asyncio.Event | None = None
) -> None:
    """The consumers role: every consumer group, plus an outbox relay for the events the
    incentive service decides (only one relay in the deployment leads at a time)."""
    async with role_resources(settings, kafka_topics=True) as resources:
        pool = resources.pool
        runtime = ConsumerRuntime(settings=settings, pool=pool)
        deps = ConsumerDependencies(settings, resources.temporal)
        consumers = build_consumers(deps)
        broker = build_broker(runtime, consumers)
        subscriptions = {c.name: [str(t) for t in c.topics] for c in consumers}

        async def broker_ready() -> bool:
            return bool(await broker.ping(timeout=2.0))

        async with (
            health_endpoint(
                "consumers", resources, settings.consumers_health_port, {"kafka": broker_ready}
            ),
            outbox_sampler(pool, "consumers"),
            lag_sampler(settings, subscriptions),
        ):
            relay_task = asyncio.create_task(
                kafka.run_outbox_relay(settings, pool, stop, "consumers")
            )
            settle_heap()
            await broker.start()
            try:
                if ready is not None:
                    ready.set()
                await stop.wait()
            finally:
                await broker.stop()
                await relay_task
