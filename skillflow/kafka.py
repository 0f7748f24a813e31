"""Kafka plumbing shared by the roles: topic creation and the relay's producer."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from schemas.topics import all_topic_names
from skillflow.metrics import relay_observer
from skillflow.settings import Settings
from store.relay import OutboxRelay

log = logging.getLogger(__name__)


async def ensure_topics(settings: Settings, replication_factor: int = 1) -> list[str]:
    """Create every topic (and its .dlq twin) that does not exist yet; returns those created.

    Created explicitly because a broker that auto-creates topics picks its own partition
    count, and the partition count decides how far the consumers can scale out.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in all_topic_names() if name not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [
                        NewTopic(name, settings.kafka_topic_partitions, replication_factor)
                        for name in missing
                    ]
                )
            except TopicAlreadyExistsError:
                pass  # another role created them at the same moment
        return missing
    finally:
        await admin.close()


def make_producer(settings: Settings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_idempotence=settings.kafka_idempotent_producer,
        acks="all",
        linger_ms=5,
        request_timeout_ms=settings.kafka_request_timeout_ms,
    )


class RelayProducer:
    """The relay's producer, replaced by a fresh one after the broker failed a batch.

    A fresh producer starts from fresh metadata: a broker that came back without a topic
    (the embedded broker keeps topics in memory) would otherwise acknowledge writes to a
    partition it does not have, and drop them.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None
        # A batch's sends run concurrently: one of them starts the producer, the rest wait,
        # so the whole batch goes through one producer in order.
        self._starting = asyncio.Lock()

    async def send(self, topic: str, key: bytes, value: bytes) -> object:
        async with self._starting:
            if self._producer is None:
                producer = make_producer(self._settings)
                try:
                    await producer.start()
                except Exception:
                    await producer.stop()
                    raise
                self._producer = producer
            producer = self._producer
        return await (await producer.send(topic, value, key=key))

    async def reset(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()


async def run_outbox_relay(
    settings: Settings, pool: asyncpg.Pool, stop: asyncio.Event, role: str = "relay"
) -> None:
    """Relay the outbox until ``stop``. While the broker is away events wait in the outbox."""
    producer = RelayProducer(settings)
    relay = OutboxRelay(
        pool,
        producer.send,
        batch_size=settings.relay_batch_size,
        on_broker_failure=producer.reset,
        on_published=relay_observer(role),
    )
    try:
        await relay.run(stop)
    finally:
        await producer.reset()
