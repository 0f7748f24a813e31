"""A dependency outage is not the message's fault: nothing is dead-lettered or half-applied."""

from __future__ import annotations

import uuid

import pytest

from consumers.delivery import Consumer, InboundRecord, RetryLater, apply_batch
from schemas.events import EventEnvelope
from schemas.payloads import RegistrationExpired
from store.database import Connection
from tests.integration.sample_events import expired

pytestmark = pytest.mark.integration


def _record(offset: int) -> tuple[InboundRecord, EventEnvelope]:
    event = expired("s", prefix="transient")
    return InboundRecord(
        "skills.registration", 0, offset, None, event.model_dump_json().encode()
    ), event


async def test_retry_later_fails_the_whole_batch_and_records_nothing(stack) -> None:
    name = f"transient-{uuid.uuid4().hex[:8]}"
    calls: list[str] = []
    down = True

    async def handler(conn: Connection, event: EventEnvelope) -> None:
        calls.append(str(event.event_id))
        if down:
            raise RetryLater("Temporal unavailable")

    consumer = Consumer(
        name=name,
        topics=("skills.registration",),
        handlers={RegistrationExpired.event_type: handler},
    )
    records = [_record(n) for n in range(3)]
    with pytest.raises(RetryLater):
        await apply_batch(stack.pool, consumer, [r for r, _ in records], max_attempts=3)
    assert (
        await stack.pool.fetchval(
            "SELECT count(*) FROM delivery.processed_events WHERE consumer = $1", name
        )
        == 0
    )
    assert (
        await stack.pool.fetchval(
            "SELECT count(*) FROM delivery.dead_letters WHERE consumer = $1", name
        )
        == 0
    )

    down = False  # the dependency is back: the redelivered batch applies, once
    outcome = await apply_batch(stack.pool, consumer, [r for r, _ in records], max_attempts=3)
    assert outcome.applied == 3 and not outcome.dead_letters
    again = await apply_batch(stack.pool, consumer, [r for r, _ in records], max_attempts=3)
    assert again.applied == 0 and again.duplicates == 3


async def test_one_refused_event_is_dead_lettered_and_the_rest_of_the_batch_applies(stack) -> None:
    name = f"refusal-{uuid.uuid4().hex[:8]}"
    records = [_record(n) for n in range(4)]
    bad = records[1][1].event_id
    applied: list[str] = []

    async def handler(conn: Connection, event: EventEnvelope) -> None:
        if event.event_id == bad:
            raise ValueError("cannot apply this one")
        applied.append(str(event.event_id))

    consumer = Consumer(
        name=name,
        topics=("skills.registration",),
        handlers={RegistrationExpired.event_type: handler},
    )
    outcome = await apply_batch(stack.pool, consumer, [r for r, _ in records], max_attempts=2)
    assert outcome.applied == 3
    assert [letter.event.event_id for letter in outcome.dead_letters if letter.event] == [bad]
    processed = {
        r["event_id"]
        for r in await stack.pool.fetch(
            "SELECT event_id FROM delivery.processed_events WHERE consumer = $1", name
        )
    }
    assert processed == {e.event_id for _, e in records} - {bad}
    row = await stack.pool.fetchrow(
        "SELECT error, attempts FROM delivery.dead_letters WHERE consumer = $1", name
    )
    assert row["attempts"] == 2 and "cannot apply this one" in row["error"]
