"""Delivery guarantees on the real broker and PostgreSQL: poison messages, a consumer killed
between its effect and its offset commit, a rebalance between two instances, replay.

Scenarios with their own consumer instances use their own consumer group and a test
handler whose effect table has no unique key, so a second application would show as a
second row instead of being hidden by a constraint.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

import consumers.app as consumers_app
from consumers.app import ConsumerRuntime, build_broker
from consumers.delivery import (
    BatchOutcome,
    Consumer,
    InboundRecord,
    apply_batch,
    replay_dead_letter,
)
from consumers.dispatch import PayloadHandlers
from schemas.events import EventEnvelope, build_event, parse_payload
from schemas.payloads import (
    CertificateIssued,
    ExaminerRecused,
)
from schemas.topics import Topic
from skillflow.settings import Role
from store.database import Connection
from tests.integration.sample_events import certificate, envelope, issued
from tests.integration.steps import eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def effects(stack: Any) -> AsyncIterator[None]:
    await stack.pool.execute(
        """CREATE SCHEMA IF NOT EXISTS delivery_tests;
           CREATE TABLE IF NOT EXISTS delivery_tests.effects (
               id bigserial PRIMARY KEY, consumer text, marker text, event_id uuid,
               person_key text, seq integer)"""
    )
    yield


def recusal(marker: str, worker: str, seq: int) -> EventEnvelope:
    return build_event(
        ExaminerRecused(session_id=marker, examiner_id=str(seq), reason="relative"),
        business_key=f"{marker}|{worker}|{seq}",
        occurred_at=datetime.now(UTC),
        producer="tests",
        correlation_id=marker,
        person_key=worker,
    )


def effect_consumer(name: str, fail: Callable[[], bool] = lambda: False) -> Consumer:
    async def record_effect(conn: Connection, event: EventEnvelope) -> None:
        payload = parse_payload(event)
        assert isinstance(payload, ExaminerRecused)
        if fail():
            raise RuntimeError("the handler is broken")
        await conn.execute(
            """INSERT INTO delivery_tests.effects (consumer, marker, event_id, person_key, seq)
               VALUES ($1, $2, $3, $4, $5)""",
            name,
            payload.session_id,
            event.event_id,
            event.person_key,
            int(payload.examiner_id),
        )

    return Consumer(
        name=name, topics=(Topic.ASSESSMENT,), handlers={ExaminerRecused.event_type: record_effect}
    )


async def effect_rows(stack: Any, marker: str) -> list[Any]:
    return list(
        await stack.pool.fetch(
            "SELECT event_id, person_key, seq FROM delivery_tests.effects WHERE marker = $1 ORDER BY id",
            marker,
        )
    )


async def test_poison_messages_go_to_the_dlq_and_the_consumer_keeps_going(
    stack: Any, consumers: Any, api: Any, auth: Any, publish: Any, publish_raw: Any
) -> None:
    key = secrets.token_hex(32)
    await publish_raw(Topic.CERTIFICATE.value, key.encode(), b"{this is not an event")
    bad_payload = EventEnvelope(
        event_id=uuid.uuid4(),
        event_type=CertificateIssued.event_type,
        schema_version=1,
        occurred_at=datetime.now(UTC),
        producer="tests",
        correlation_id="poison",
        person_key=key,
        payload={"certificate_number": "S1"},
    )
    await publish(bad_payload)
    good = certificate(application_id="app-after-poison")
    number = good.certificate_number
    await publish(issued(good, key, "after-poison"))

    # Same key, same partition, after both poison messages: applied all the same.
    await eventually(
        lambda: stack.pool.fetchval(
            "SELECT true FROM records.certificates WHERE certificate_number = $1", number
        ),
        timeout=60,
    )
    await eventually(
        lambda: stack.pool.fetchval(
            "SELECT true FROM incentives.certificates WHERE certificate_number = $1", number
        ),
        timeout=60,
    )
    letters = await eventually(lambda: _letters(stack, key), timeout=30)
    assert sorted((r["consumer"], r["event_type"] or "") for r in letters) == [
        ("incentives", ""),
        ("incentives", CertificateIssued.event_type),
        ("records", ""),
        ("records", CertificateIssued.event_type),
    ]
    by_type = {(r["consumer"], r["event_type"]): r for r in letters}
    handler_failure = by_type[("records", CertificateIssued.event_type)]
    assert handler_failure["attempts"] == stack.settings.consumer_max_attempts
    assert "certificate_number" in handler_failure["error"]
    assert by_type[("records", None)]["error"].startswith("invalid event")

    dlq = await _read_dlq(stack, Topic.CERTIFICATE.dead_letter, key.encode(), expected=4)
    assert all(dict(r.headers)["x-error"] for r in dlq)
    assert {dict(r.headers)["x-consumer"] for r in dlq} == {b"records", b"incentives"}

    # Operators list, replay (still failing: stays open) and discard.
    listed = await api.get(
        "/operations/dead-letters", params={"consumer": "records"}, headers=auth(Role.OPERATOR)
    )
    assert handler_failure["id"] in [d["id"] for d in listed.json()]
    without_reason = await api.post(
        f"/operations/dead-letters/{handler_failure['id']}/replay",
        headers=auth(Role.OPERATOR),
        json={"reason": "  "},
    )
    assert without_reason.status_code == 422, without_reason.text
    replayed = await api.post(
        f"/operations/dead-letters/{handler_failure['id']}/replay",
        headers=auth(Role.OPERATOR),
        json={"reason": "handler fixed?"},
    )
    assert replayed.json()["status"] == "open" and replayed.json()["error"]
    discarded = await api.post(
        f"/operations/dead-letters/{handler_failure['id']}/discard",
        headers=auth(Role.OPERATOR),
        json={"reason": "test data, never valid"},
    )
    assert discarded.json()["status"] == "discarded"
    # Both attempts are in the audit log, with who and why.
    audit = await stack.pool.fetch(
        "SELECT action, reason, outcome FROM operations.repairs WHERE target = $1 ORDER BY id",
        f"dead-letter {handler_failure['id']}",
    )
    assert [(r["action"], r["reason"], r["outcome"]) for r in audit] == [
        ("replay", "handler fixed?", "open"),
        ("discard", "test data, never valid", "discarded"),
    ]
    gone = await api.get(
        "/operations/dead-letters", params={"consumer": "records"}, headers=auth(Role.OPERATOR)
    )
    assert handler_failure["id"] not in [d["id"] for d in gone.json()]


async def _letters(stack: Any, key: str) -> list[Any] | None:
    rows = await stack.pool.fetch(
        "SELECT * FROM delivery.dead_letters WHERE message_key = $1", key.encode()
    )
    return list(rows) if len(rows) >= 4 else None


async def _read_dlq(stack: Any, topic: str, key: bytes, expected: int) -> list[Any]:
    reader = AIOKafkaConsumer(
        bootstrap_servers=stack.settings.kafka_bootstrap_servers, enable_auto_commit=False
    )
    await reader.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(await _partitions(reader, topic))]
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        found: list[Any] = []
        deadline = asyncio.get_running_loop().time() + 30
        while len(found) < expected and asyncio.get_running_loop().time() < deadline:
            for records in (await reader.getmany(timeout_ms=500)).values():
                found += [r for r in records if r.key == key]
        return found
    finally:
        await reader.stop()


async def _partitions(reader: AIOKafkaConsumer, topic: str) -> set[int]:
    await reader.topics()
    return reader.partitions_for_topic(topic) or set()


async def test_replay_applies_a_dead_letter_once_after_a_fix(stack: Any, effects: None) -> None:
    broken = True
    name = f"replay-{uuid.uuid4().hex[:8]}"
    consumer = effect_consumer(name, fail=lambda: broken)
    marker = uuid.uuid4().hex
    envelope = recusal(marker, secrets.token_hex(32), 1)
    record = InboundRecord(
        Topic.ASSESSMENT.value,
        0,
        secrets.randbelow(10**9),
        b"k",
        envelope.model_dump_json().encode(),
    )
    outcome = await apply_batch(stack.pool, consumer, [record], max_attempts=3)
    assert len(outcome.dead_letters) == 1 and outcome.applied == 0
    letter_id = await stack.pool.fetchval(
        "SELECT id FROM delivery.dead_letters WHERE consumer = $1 AND event_id = $2",
        name,
        envelope.event_id,
    )
    assert await effect_rows(stack, marker) == []
    still = await replay_dead_letter(stack.pool, {name: consumer}, letter_id, "operator")
    assert still["status"] == "open"
    broken = False
    fixed = await replay_dead_letter(stack.pool, {name: consumer}, letter_id, "operator")
    assert fixed["status"] == "replayed"
    assert len(await effect_rows(stack, marker)) == 1
    with pytest.raises(ValueError):
        await replay_dead_letter(stack.pool, {name: consumer}, letter_id, "operator")
    # The original message redelivered after the replay changes nothing either.
    again = await apply_batch(stack.pool, consumer, [record], max_attempts=3)
    assert again.duplicates == 1 and len(await effect_rows(stack, marker)) == 1


class ConsumerKilled(Exception):
    """Stands in for the process dying after its transaction committed."""


async def test_consumer_killed_between_effect_and_commit(
    stack: Any, effects: None, publish: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"killed-{uuid.uuid4().hex[:8]}"
    marker = uuid.uuid4().hex
    real_apply = consumers_app.apply_batch
    killed, release = asyncio.Event(), asyncio.Event()
    applied_before_kill = 0
    redelivered = Counter[str]()

    async def apply_then_die(
        pool: Any, consumer: Consumer, records: Any, *, max_attempts: int
    ) -> BatchOutcome:
        nonlocal applied_before_kill
        outcome = await real_apply(pool, consumer, records, max_attempts=max_attempts)
        if consumer.name != name:
            return outcome
        redelivered["duplicates"] += outcome.duplicates
        ours = any(marker.encode() in r.value for r in records)
        if ours and not killed.is_set():
            applied_before_kill = outcome.applied
            killed.set()
            await release.wait()  # effect committed; offsets never will be
            raise ConsumerKilled
        return outcome

    monkeypatch.setattr(consumers_app, "apply_batch", apply_then_die)
    workers = [secrets.token_hex(32) for _ in range(4)]
    sent = [recusal(marker, w, seq) for seq in range(5) for w in workers]
    first = build_broker(ConsumerRuntime(stack.settings, stack.pool), [effect_consumer(name)])
    await first.start()
    try:
        for envelope in sent:
            await publish(envelope)
        await asyncio.wait_for(killed.wait(), 60)
        assert len(await effect_rows(stack, marker)) == applied_before_kill > 0
    finally:
        release.set()
        await first.stop()

    second = build_broker(ConsumerRuntime(stack.settings, stack.pool), [effect_consumer(name)])
    await second.start()
    try:
        # The new instance is handed the uncommitted batch again: proof the offsets were not
        # committed, and that redelivery changes nothing.
        async def redelivered_all() -> bool:
            return redelivered["duplicates"] >= applied_before_kill

        await eventually(redelivered_all, timeout=60)
        rows = await eventually(lambda: _all_applied(stack, marker, len(sent)), timeout=60)
    finally:
        await second.stop()
    assert Counter(r["event_id"] for r in rows) == Counter(e.event_id for e in sent)


async def _all_applied(stack: Any, marker: str, expected: int) -> list[Any] | None:
    rows = await effect_rows(stack, marker)
    return rows if len(rows) >= expected else None


async def test_rebalance_between_two_instances(stack: Any, effects: None, publish: Any) -> None:
    name = f"rebalance-{uuid.uuid4().hex[:8]}"
    marker = uuid.uuid4().hex
    workers = [secrets.token_hex(32) for _ in range(12)]
    seq = Counter[str]()
    sent: list[EventEnvelope] = []

    async def send(rounds: int) -> None:
        for _ in range(rounds):
            for worker in workers:
                envelope = recusal(marker, worker, seq[worker])
                seq[worker] += 1
                sent.append(envelope)
                await publish(envelope)

    one = build_broker(ConsumerRuntime(stack.settings, stack.pool), [effect_consumer(name)])
    two = build_broker(ConsumerRuntime(stack.settings, stack.pool), [effect_consumer(name)])
    await one.start()
    try:
        await send(5)
        await eventually(lambda: _all_applied(stack, marker, 1), timeout=60)
        await two.start()  # a second instance joins: partitions move while events flow
        await send(5)
        await asyncio.sleep(2)
        await send(5)
    finally:
        await one.stop()  # the first instance leaves: everything moves to the second
    try:
        await send(5)
        rows = await eventually(lambda: _all_applied(stack, marker, len(sent)), timeout=90)
        await asyncio.sleep(1)
        rows = await effect_rows(stack, marker)
    finally:
        await two.stop()
    assert Counter(r["event_id"] for r in rows) == Counter(e.event_id for e in sent)  # each once
    for worker in workers:
        assert [r["seq"] for r in rows if r["person_key"] == worker] == list(range(seq[worker]))


async def test_runs_of_one_type_apply_together_in_order_and_a_poison_one_alone(
    stack: Any, effects: None
) -> None:
    """Batch handlers take consecutive events of their type; any other event splits the
    run, so the order of effects is the order of the records. A run that a batch handler
    refuses is applied again one by one: only the poison event is dead-lettered."""
    name = f"runs-{uuid.uuid4().hex[:8]}"
    marker = uuid.uuid4().hex
    worker = secrets.token_hex(32)
    single = effect_consumer(name)
    runs: list[list[int]] = []

    async def record_run(conn: Connection, events: Any) -> None:
        seqs = [int(parse_payload(e).examiner_id) for e in events]  # type: ignore[union-attr]
        if 4 in seqs:
            raise RuntimeError("the batch refuses the poison event")
        runs.append(seqs)
        for event in events:
            await single.handlers[ExaminerRecused.event_type](conn, event)

    async def poison_check(conn: Connection, event: EventEnvelope) -> None:
        if int(parse_payload(event).examiner_id) == 4:  # type: ignore[union-attr]
            raise RuntimeError("poison")
        await single.handlers[ExaminerRecused.event_type](conn, event)

    async def other(conn: Connection, event: EventEnvelope) -> None:
        await conn.execute(
            """INSERT INTO delivery_tests.effects (consumer, marker, event_id, person_key, seq)
               VALUES ($1, $2, $3, $4, -1)""",
            name,
            marker,
            event.event_id,
            event.person_key,
        )

    consumer = Consumer(
        name=name,
        topics=(Topic.ASSESSMENT,),
        handlers={ExaminerRecused.event_type: poison_check, CertificateIssued.event_type: other},
        batch_handlers={ExaminerRecused.event_type: record_run},
    )
    between = certificate(application_id="app-between-runs", number="S000121000001254000001")
    events = [recusal(marker, worker, 1), recusal(marker, worker, 2)]
    events += [envelope(between, worker, business_key=marker, correlation_id=marker)]
    events += [recusal(marker, worker, 3)]

    def records(batch: list[EventEnvelope], start: int) -> list[InboundRecord]:
        return [
            InboundRecord(Topic.ASSESSMENT.value, 0, start + i, b"k", e.model_dump_json().encode())
            for i, e in enumerate(batch)
        ]

    outcome = await apply_batch(stack.pool, consumer, records(events, 0), max_attempts=2)
    assert outcome.applied == 4 and runs == [[1, 2], [3]]
    assert [r["seq"] for r in await effect_rows(stack, marker)] == [1, 2, -1, 3]

    poisoned = [recusal(marker, worker, 4), recusal(marker, worker, 5)]
    outcome = await apply_batch(stack.pool, consumer, records(poisoned, 100), max_attempts=2)
    assert outcome.applied == 1 and len(outcome.dead_letters) == 1
    assert outcome.dead_letters[0].event is not None
    assert outcome.dead_letters[0].event.event_id == poisoned[0].event_id
    assert [r["seq"] for r in await effect_rows(stack, marker)] == [1, 2, -1, 3, 5]


async def test_a_batch_with_poison_in_the_middle_applies_the_rest_once_in_order(
    stack: Any, effects: None
) -> None:
    """The fast path parses the whole batch in one call and validates a run's payloads in one
    call: a record that is no event, and an event whose payload its class refuses, in the
    middle of a run must still reach the dead letters alone, each with its own record, while
    every other event applies once, in record order, and a redelivery changes nothing."""
    name = f"poison-middle-{uuid.uuid4().hex[:8]}"
    marker = uuid.uuid4().hex
    worker = secrets.token_hex(32)
    single = effect_consumer(name)
    runs: list[list[int]] = []

    async def record(conn: Connection, event: EventEnvelope, _: ExaminerRecused) -> None:
        await single.handlers[ExaminerRecused.event_type](conn, event)

    async def record_run(
        conn: Connection, run: list[tuple[EventEnvelope, ExaminerRecused]]
    ) -> None:
        runs.append([int(recused.examiner_id) for _, recused in run])
        for event, recused in run:
            await record(conn, event, recused)

    handlers = PayloadHandlers().on(ExaminerRecused, record).in_batches(ExaminerRecused, record_run)
    consumer = Consumer(
        name=name,
        topics=(Topic.ASSESSMENT,),
        handlers=handlers.by_event_type(),
        batch_handlers=handlers.batches_by_event_type(),
    )
    first, second = recusal(marker, worker, 1), recusal(marker, worker, 2)
    refused = EventEnvelope.model_validate(
        recusal(marker, worker, 3).model_dump() | {"payload": {"session_id": marker}}
    )
    values = [e.model_dump_json().encode() for e in (first, second)]
    values += [b"{this is not an event", refused.model_dump_json().encode()]
    values += [e.model_dump_json().encode() for e in (recusal(marker, worker, 4), first)]
    values += [recusal(marker, worker, 5).model_dump_json().encode()]
    batch = [
        InboundRecord(Topic.ASSESSMENT.value, 0, 200 + i, b"k", v) for i, v in enumerate(values)
    ]

    outcome = await apply_batch(stack.pool, consumer, batch, max_attempts=2)
    assert (outcome.applied, outcome.duplicates) == (4, 1)
    assert [(d.record.offset, d.event and d.event.event_id) for d in outcome.dead_letters] == [
        (202, None),
        (203, refused.event_id),
    ]
    assert "examiner_id" in outcome.dead_letters[1].error
    assert [r["seq"] for r in await effect_rows(stack, marker)] == [1, 2, 4, 5]
    # The fast path tried the run and was refused; the second pass applied one at a time.
    assert runs == []

    again = await apply_batch(stack.pool, consumer, batch, max_attempts=2)
    assert (again.applied, again.duplicates, len(again.dead_letters)) == (0, 5, 2)
    assert [r["seq"] for r in await effect_rows(stack, marker)] == [1, 2, 4, 5]
    letters = await stack.pool.fetch(
        "SELECT kafka_offset FROM delivery.dead_letters WHERE consumer = $1 ORDER BY id", name
    )
    assert [r["kafka_offset"] for r in letters] == [202, 203]

    # Without the poison the run is applied by the batch handler, in one call and in order.
    clean = [recusal(marker, worker, seq) for seq in (6, 7, 8)]
    records = [
        InboundRecord(Topic.ASSESSMENT.value, 0, 300 + i, b"k", e.model_dump_json().encode())
        for i, e in enumerate(clean)
    ]
    outcome = await apply_batch(stack.pool, consumer, records, max_attempts=2)
    assert (outcome.applied, outcome.dead_letters) == (3, [])
    assert runs == [[6, 7, 8]]
    assert [r["seq"] for r in await effect_rows(stack, marker)] == [1, 2, 4, 5, 6, 7, 8]
