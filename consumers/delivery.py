"""Exactly-once effect and dead letters, shared by every consumer.

A batch of records is applied in one PostgreSQL transaction: the event ids go into
``delivery.processed_events`` together with the handlers' effects, and the Kafka offsets are
committed only after that transaction commits. Consecutive events of a type with a batch
handler are applied by one set-based call. If a handler refuses an event, the transaction
is rolled back and the batch runs again in a new one, with one savepoint per event. So:

* a redelivered event (crash before the offset commit, rebalance, producer retry) finds its
  id already recorded and changes nothing;
* a message that cannot be parsed, or whose handler keeps failing, is dead-lettered after
  ``max_attempts`` (recorded in ``delivery.dead_letters`` and published to the topic's
  ``.dlq`` twin with the error attached) and the consumer keeps going;
* a database outage is not the message's fault: the whole batch is retried, nothing is
  dead-lettered and nothing is committed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import asyncpg
from pydantic import TypeAdapter, ValidationError

from policy.errors import NotFound
from schemas.events import EventEnvelope
from schemas.topics import Topic
from store.database import Connection

log = logging.getLogger(__name__)

Handler = Callable[[Connection, EventEnvelope], Awaitable[None]]
"""Applies one event inside the caller's transaction. Raise to refuse it."""

BatchHandler = Callable[[Connection, Sequence[EventEnvelope]], Awaitable[None]]
"""Applies a run of events of one type, in order, with set-based statements; the same
effect as its ``Handler`` applied to each in turn. Raise to refuse the run: the batch is
then applied again one event at a time by the ``Handler``."""


class RetryLater(Exception):
    """A handler's dependency (e.g. Temporal) is unreachable: not the message's fault, so the
    batch is redelivered later instead of going to the dead letters."""


# Errors that say a dependency is unreachable, not that the message is bad.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    RetryLater,
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
)


@dataclass(frozen=True)
class Consumer:
    """One consumer group: its name, the topics it reads and a handler per event type.

    Event types without a handler are recorded as ``ignored`` so they never block a
    partition; new event types reach a consumer only when it learns them. An event type
    may also have a batch handler, used for consecutive events of that type in a batch.
    """

    name: str
    topics: tuple[Topic | str, ...]  # a plain name only for benchmarks and tests
    handlers: Mapping[str, Handler]
    batch_handlers: Mapping[str, BatchHandler] = field(default_factory=dict)


class InboundRecord(NamedTuple):
    # A tuple, not a dataclass: one is built per record, hundreds per batch.
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


@dataclass(frozen=True)
class DeadLetter:
    record: InboundRecord
    error: str
    attempts: int
    event: EventEnvelope | None

    def headers(self, consumer: str) -> list[tuple[str, bytes]]:
        return [
            ("x-consumer", consumer.encode()),
            ("x-error", self.error[:2000].encode()),
            ("x-attempts", str(self.attempts).encode()),
            ("x-original-topic", self.record.topic.encode()),
            ("x-original-partition", str(self.record.partition).encode()),
            ("x-original-offset", str(self.record.offset).encode()),
        ]


@dataclass
class BatchOutcome:
    applied: int = 0
    duplicates: int = 0
    ignored: int = 0
    dead_letters: list[DeadLetter] = field(default_factory=list)


class PublishDeadLetter(Protocol):
    async def __call__(
        self, topic: str, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]
    ) -> None: ...


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        parts = [
            f"{'.'.join(str(p) for p in e['loc']) or 'message'}: {e['msg']}" for e in exc.errors()
        ]
        return "invalid event: " + "; ".join(parts)
    return f"{type(exc).__name__}: {exc}"


async def apply_batch(
    pool: asyncpg.Pool,
    consumer: Consumer,
    records: Sequence[InboundRecord],
    *,
    max_attempts: int,
) -> BatchOutcome:
    """Apply ``records`` in order, exactly once in effect; returns what happened."""
    outcome = BatchOutcome()
    parsed = _parse(records, outcome)

    async with pool.acquire() as conn:
        try:
            # Fast path: the whole batch in one transaction, processed ids written in one go
            # (no savepoint: each round trip counts at this rate).
            async with conn.transaction():
                await _apply_all(conn, consumer, [event for _, event in parsed], outcome)
                for letter in outcome.dead_letters:
                    await _record_dead_letter(conn, consumer.name, letter)
            return outcome
        except TRANSIENT_ERRORS:
            raise
        except Exception:
            # Some handler refused an event: the rollback left nothing behind. Apply the batch
            # again one event at a time, so only the bad event goes to the dead letters.
            outcome.applied = outcome.duplicates = outcome.ignored = 0
        async with conn.transaction():
            for record, event in parsed:
                await _apply_one(conn, consumer, record, event, max_attempts, outcome)
            for letter in outcome.dead_letters:
                await _record_dead_letter(conn, consumer.name, letter)
    return outcome


_ENVELOPES = TypeAdapter(list[EventEnvelope])


def _parse(
    records: Sequence[InboundRecord], outcome: BatchOutcome
) -> list[tuple[InboundRecord, EventEnvelope]]:
    """The batch's envelopes, each with its record; a record that is no envelope goes to
    the dead letters (parsing it again will not help)."""
    try:
        # The whole batch as one JSON array, in one validator call. Every record adds at
        # least one element (an empty one makes the array invalid), so as many envelopes as
        # records means each envelope is exactly its record's bytes.
        events = _ENVELOPES.validate_json(b"[" + b",".join(r.value for r in records) + b"]")
        if len(events) == len(records):
            return list(zip(records, events, strict=True))
    except ValidationError:
        pass  # some record is bad: find it, one record at a time
    parsed: list[tuple[InboundRecord, EventEnvelope]] = []
    for record in records:
        try:
            parsed.append((record, EventEnvelope.model_validate_json(record.value)))
        except ValidationError as exc:
            outcome.dead_letters.append(DeadLetter(record, describe_error(exc), 1, None))
    return parsed


async def _apply_all(
    conn: Connection, consumer: Consumer, events: list[EventEnvelope], outcome: BatchOutcome
) -> None:
    if not events:
        return
    # The insert answers with the ids recorded before (normally none), not the 500 new ones.
    seen = {
        row["event_id"]
        for row in await conn.fetch(
            """WITH recorded AS (
                   INSERT INTO delivery.processed_events (consumer, event_id, event_type, outcome)
                   SELECT $1, e.id, e.type,
                          CASE WHEN e.type = ANY($4::text[]) THEN 'applied' ELSE 'ignored' END
                   FROM unnest($2::uuid[], $3::text[]) AS e(id, type)
                   ON CONFLICT DO NOTHING RETURNING event_id)
               SELECT e.id AS event_id FROM unnest($2::uuid[]) AS e(id)
               WHERE e.id NOT IN (SELECT event_id FROM recorded)""",
            consumer.name,
            [event.event_id for event in events],
            [event.event_type for event in events],
            list(consumer.handlers),
        )
    }
    # Consecutive events of a type with a batch handler are applied together; any other
    # event alone. Runs never reorder events, so one worker's events keep their order.
    run: list[EventEnvelope] = []

    async def flush() -> None:
        if run:
            await consumer.batch_handlers[run[0].event_type](conn, list(run))
            outcome.applied += len(run)
            run.clear()

    for event in events:
        if event.event_id in seen:
            outcome.duplicates += 1
            continue
        seen.add(event.event_id)  # the same event twice in one batch applies once
        handler = consumer.handlers.get(event.event_type)
        if handler is None:
            outcome.ignored += 1
            continue
        if event.event_type in consumer.batch_handlers:
            if run and run[0].event_type != event.event_type:
                await flush()
            run.append(event)
            continue
        await flush()
        await handler(conn, event)
        outcome.applied += 1
    await flush()


async def _apply_one(
    conn: Connection,
    consumer: Consumer,
    record: InboundRecord,
    event: EventEnvelope,
    max_attempts: int,
    outcome: BatchOutcome,
) -> None:
    handler = consumer.handlers.get(event.event_type)
    last_error: BaseException | None = None
    for _attempt in range(1, max_attempts + 1):
        try:
            async with conn.transaction():  # a savepoint: a failed try leaves nothing behind
                first_time = await conn.fetchval(
                    """INSERT INTO delivery.processed_events (consumer, event_id, event_type, outcome)
                       VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true""",
                    consumer.name,
                    event.event_id,
                    event.event_type,
                    "applied" if handler else "ignored",
                )
                if not first_time:
                    outcome.duplicates += 1
                    return
                if handler is None:
                    outcome.ignored += 1
                    return
                await handler(conn, event)
                outcome.applied += 1
                return
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:
            last_error = exc
            log.warning(
                "%s: %s %s failed (%s)",
                consumer.name,
                event.event_type,
                event.event_id,
                describe_error(exc),
                extra=log_context(consumer.name, event),
            )
    assert last_error is not None
    outcome.dead_letters.append(DeadLetter(record, describe_error(last_error), max_attempts, event))


def log_context(consumer: str, event: EventEnvelope | None) -> dict[str, str]:
    """The ids a log line about an event carries (JSON logs keep them as fields)."""
    if event is None:
        return {"consumer": consumer}
    return {
        "consumer": consumer,
        "event_id": str(event.event_id),
        "event_type": event.event_type,
        "correlation_id": event.correlation_id,
    }


async def _record_dead_letter(conn: Connection, consumer: str, letter: DeadLetter) -> None:
    event = letter.event
    await conn.execute(
        """INSERT INTO delivery.dead_letters
             (consumer, topic, kafka_partition, kafka_offset, message_key, value,
              event_id, event_type, error, attempts)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (consumer, topic, kafka_partition, kafka_offset) DO NOTHING""",
        consumer,
        letter.record.topic,
        letter.record.partition,
        letter.record.offset,
        letter.record.key,
        letter.record.value,
        event.event_id if event else None,
        event.event_type if event else None,
        letter.error,
        letter.attempts,
    )


async def replay_dead_letter(
    pool: asyncpg.Pool, consumers: Mapping[str, Consumer], dead_letter_id: int, operator: str
) -> dict[str, Any]:
    """Apply an open dead letter again through its consumer (after a fix was deployed).

    Succeeds only if the handler now accepts it; otherwise the letter stays open and the
    new error is returned.
    """
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT * FROM delivery.dead_letters WHERE id = $1 FOR UPDATE", dead_letter_id
        )
        if row is None:
            raise NotFound(f"dead letter {dead_letter_id} does not exist")
        if row["status"] != "open":
            raise ValueError(f"dead letter {dead_letter_id} is already {row['status']}")
        consumer = consumers[row["consumer"]]
        try:
            event = EventEnvelope.model_validate_json(bytes(row["value"]))
            handler = consumer.handlers.get(event.event_type)
            async with conn.transaction():
                first_time = await conn.fetchval(
                    """INSERT INTO delivery.processed_events (consumer, event_id, event_type, outcome)
                       VALUES ($1, $2, $3, 'replayed') ON CONFLICT DO NOTHING RETURNING true""",
                    consumer.name,
                    event.event_id,
                    event.event_type,
                )
                if first_time and handler is not None:
                    await handler(conn, event)
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:
            return {"id": dead_letter_id, "status": "open", "error": describe_error(exc)}
        await conn.execute(
            """UPDATE delivery.dead_letters SET status = 'replayed', resolved_at = now(), resolved_by = $2
               WHERE id = $1""",
            dead_letter_id,
            operator,
        )
        return {"id": dead_letter_id, "status": "replayed", "error": None}


async def discard_dead_letter(pool: asyncpg.Pool, dead_letter_id: int, operator: str) -> None:
    async with pool.acquire() as conn:
        status = await conn.fetchval(
            """UPDATE delivery.dead_letters SET status = 'discarded', resolved_at = now(), resolved_by = $2
               WHERE id = $1 AND status = 'open' RETURNING status""",
            dead_letter_id,
            operator,
        )
        if status is None:
            raise NotFound(f"dead letter {dead_letter_id} does not exist or is not open")
