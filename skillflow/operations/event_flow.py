"""Whether events keep up: consumer-group lag read from the broker (committed offset against
the end offset, per topic and partition), the outbox backlog, events per minute in and out,
and the latest events (types, ids and workflow ids; never a payload)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from skillflow.settings import Settings
from store.database import Connection


@dataclass
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int


async def read_lag(
    settings: Settings, subscriptions: Mapping[str, Sequence[str]], timeout: float = 10.0
) -> list[PartitionLag]:
    """Each consumer group's lag on each partition of the topics it reads, from the broker.

    A group that never committed on a partition lags by the whole partition. The readers
    join no group (they only fetch offsets), so reading lag never triggers a rebalance.
    """
    return await asyncio.wait_for(_read_lag(settings, subscriptions), timeout)


async def _read_lag(
    settings: Settings, subscriptions: Mapping[str, Sequence[str]]
) -> list[PartitionLag]:
    servers = settings.kafka_bootstrap_servers
    ends_reader = AIOKafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
    await ends_reader.start()
    try:
        topics = sorted({t for ts in subscriptions.values() for t in ts})
        partitions: list[TopicPartition] = []
        for topic in topics:
            found = ends_reader.partitions_for_topic(topic)
            if found is None:
                await ends_reader.topics()  # refresh metadata once
                found = ends_reader.partitions_for_topic(topic) or set()
            partitions += [TopicPartition(topic, p) for p in sorted(found)]
        ends: dict[TopicPartition, int] = (
            await ends_reader.end_offsets(partitions) if partitions else {}
        )
    finally:
        await ends_reader.stop()
    lags: list[PartitionLag] = []
    for group, group_topics in sorted(subscriptions.items()):
        reader = AIOKafkaConsumer(
            bootstrap_servers=servers, group_id=group, enable_auto_commit=False
        )
        await reader.start()
        try:
            for tp in partitions:
                if tp.topic not in group_topics:
                    continue
                committed = await reader.committed(tp)
                end = ends.get(tp, 0)
                lags.append(
                    PartitionLag(
                        group,
                        tp.topic,
                        tp.partition,
                        committed,
                        end,
                        max(end - (committed or 0), 0),
                    )
                )
        finally:
            with contextlib.suppress(Exception):
                await reader.stop()
    return lags


@dataclass
class OutboxBacklog:
    unsent: int
    oldest_unsent_seconds: float
    total: int


async def outbox_backlog(conn: Connection) -> OutboxBacklog:
    row = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE sent_at IS NULL) AS unsent, count(*) AS total,
                  extract(epoch FROM now() - min(created_at) FILTER (WHERE sent_at IS NULL))
                      AS oldest
           FROM outbox.events"""
    )
    assert row is not None
    return OutboxBacklog(row["unsent"], float(row["oldest"] or 0.0), row["total"])


async def events_per_minute(conn: Connection, minutes: int = 60) -> list[dict[str, Any]]:
    """Per minute of the last ``minutes``: events written to the outbox (in) and events
    consumers applied (out, every consumer counted)."""
    rows = await conn.fetch(
        """WITH minutes AS (
               SELECT generate_series(date_trunc('minute', now()) - make_interval(mins => $1 - 1),
                                      date_trunc('minute', now()), interval '1 minute') AS minute)
           SELECT m.minute,
                  (SELECT count(*) FROM outbox.events o
                   WHERE o.created_at >= m.minute AND o.created_at < m.minute + interval '1 minute')
                      AS events_in,
                  (SELECT count(*) FROM delivery.processed_events p
                   WHERE p.applied_at >= m.minute AND p.applied_at < m.minute + interval '1 minute')
                      AS events_out
           FROM minutes m ORDER BY m.minute""",
        minutes,
    )
    return [
        {"minute": r["minute"].isoformat(), "in": r["events_in"], "out": r["events_out"]}
        for r in rows
    ]


async def latest_events(conn: Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The newest outbox events: type, id, topic and workflow id. Never the payload nor the
    person key (the payload may name a body's staff; the key is a person's pseudonym)."""
    rows = await conn.fetch(
        """SELECT event_id, topic, envelope->>'event_type' AS event_type,
                  envelope->>'correlation_id' AS correlation_id, created_at, sent_at
           FROM outbox.events ORDER BY seq DESC LIMIT $1""",
        limit,
    )
    return [
        {
            "event_id": str(r["event_id"]),
            "event_type": r["event_type"],
            "topic": r["topic"],
            "correlation_id": r["correlation_id"],
            "created_at": _iso(r["created_at"]),
            "sent_at": _iso(r["sent_at"]),
        }
        for r in rows
    ]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
