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
        request_timeout_ms=15_000,
    )


async def run_outbox_relay(settings: Settings, pool: asyncpg.Pool, stop: asyncio.Event) -> None:
    """Relay the outbox until ``stop``; the producer reconnects by itself if the broker goes."""
    producer = make_producer(settings)
    while not stop.is_set():
        try:
            await producer.start()
            break
        except Exception as exc:  # broker not up yet: keep trying, events wait in the outbox
            log.warning("outbox relay: broker unavailable (%s); retrying", exc)
            await producer.stop()
            producer = make_producer(settings)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 2.0)
    if stop.is_set():
        await producer.stop()
        return

    async def send(topic: str, key: bytes, value: bytes) -> object:
        return await (await producer.send(topic, value, key=key))

    relay = OutboxRelay(pool, send, batch_size=settings.relay_batch_size)
    try:
        await relay.run(stop)
    finally:
        await producer.stop()
