"""SIGKILL the consumers after their database commit and before their offset commit.

The window is made wide, not hoped for: a backlog of a whole session's events waits in the
topics while the consumers are held down, and the drill holds a lock on the
processed-events table; back, each consumer stops inside its first batch's transaction at
its first write. The broker is then frozen (SIGSTOP) and the lock released, so each
consumer commits its batch to PostgreSQL and then waits on its offset commit. The commit requests
the frozen broker has received but not read are then lost, as on a network fault (the
drill reads them out of the broker's socket queues), every consumer process is SIGKILLed
and the broker thawed. Without the loss the broker would apply the commits of the dead
processes when it resumes, and the window would close behind them. The events applied but not
committed are counted from the broker's committed offsets and the topics' contents.
Restarted, the consumers receive those events again and apply nothing twice: one
skill-upgrading decision per certificate, no claim paid twice, no dead letter.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import socket
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import asyncpg
import psutil
from aiokafka import AIOKafkaConsumer, TopicPartition

from skillflow.drills import DrillReport
from skillflow.drills.exam import (
    run_session_to_close,
    subsidies,
    wait_all_certificates,
)
from skillflow.drills.stack import OutboxMark, StackHandle, consumer_subscriptions_for
from skillflow.stack.process import StackError

CANDIDATES = 60
_SYS_PIDFD_GETFD = 438  # Linux 5.6+, the same number on x86-64 and arm64
STALL_SECONDS = 1.5


async def run(stack: StackHandle) -> DrillReport:
    report = DrillReport("consumer-kill")
    consumers = stack.processes("consumers")
    await stack.wait_delivered(await stack.outbox_mark())
    mark = await stack.outbox_mark()
    started = await stack.fetchval("SELECT now()")
    with stack.hold(*consumers):
        for name in consumers:
            await stack.wait_gone(stack.kill(name))
        session = await run_session_to_close(stack, CANDIDATES)
        await wait_all_certificates(stack, session)
        backlog = await _wait_published(stack, mark)
        # The consumers will come back to the backlog and stop inside their first batch's
        # transaction, at its first write, until this lock goes.
        gate = await _connect(stack)
        gate_open = gate.transaction()
        await gate_open.start()
        await gate.execute("LOCK TABLE delivery.processed_events IN EXCLUSIVE MODE")
    try:
        await _wait_in_transaction(stack, consumers)
        # Freeze the broker, then let the batches commit to PostgreSQL: their offset
        # commits reach the frozen broker and wait there.
        kafka_pid = stack.signal("kafka", signal.SIGSTOP)
    finally:
        await gate_open.rollback()
        await gate.close()

    try:
        applied_at_kill = await _wait_stalled(stack, mark)
        with stack.hold(*consumers):
            port = int(stack.document()["kafka"].rsplit(":", 1)[1])
            ports = [p for name in consumers for p in _broker_client_ports(stack.pid(name), port)]
            dropped = _drop_unread_requests(kafka_pid, port, ports)
            pids = [stack.kill(name) for name in consumers]
            for pid in pids:
                await stack.wait_gone(pid)
            stack.signal("kafka", signal.SIGCONT)
            window = await _applied_but_uncommitted(stack)
    finally:
        _continue(kafka_pid)
    killed_at = time.monotonic()
    tally = await stack.wait_delivered(mark)
    recovered = time.monotonic() - killed_at
    await asyncio.sleep(1.0)
    paid = await subsidies(stack, session)
    dead = await stack.fetchval(
        "SELECT count(*) FROM delivery.dead_letters WHERE created_at >= $1", started
    )

    n = len(session.application_ids)
    report.figure("backlog", "events waiting for the consumers (held down)", backlog)
    report.figure(
        "applied_at_kill", "deliveries applied when the consumers were killed", applied_at_kill
    )
    report.figure(
        "dropped", "bytes of offset commits lost on the way to the frozen broker", dropped
    )
    report.figure(
        "window", "of them committed to PostgreSQL but not to Kafka (redelivered)", window
    )
    report.figure(
        "recover_s", "seconds from the kill until every event was applied", recovered, "s"
    )
    report.figure(
        "deliveries", "deliveries applied in all (each event once per group)", tally.applied
    )
    report.figure(
        "subsidised",
        f"certificates with a skill-upgrading decision (of {n})",
        paid.certificates_with_decision,
    )
    report.expect(
        window > 0, "no event was between its database and offset commits: nothing tested"
    )
    report.expect(
        paid.certificates_with_decision == n,
        f"{paid.certificates_with_decision} decisions for {n} certificates",
    )
    report.expect(
        paid.most_decisions_on_one_certificate == 1, "a certificate has two subsidy decisions"
    )
    report.expect(paid.most_payments_on_one_claim <= 1, "a subsidy was paid twice")
    report.expect(dead == 0, f"{dead} events dead-lettered")
    return report


def _broker_client_ports(pid: int, broker_port: int) -> list[int]:
    """The local ports of process ``pid``'s connections to the broker."""
    return [
        c.laddr.port
        for c in psutil.Process(pid).net_connections(kind="tcp")
        if c.raddr and c.raddr.port == broker_port
    ]


def _drop_unread_requests(broker_pid: int, broker_port: int, client_ports: list[int]) -> int:
    """Lose, as a network fault would, what the frozen broker has received from
    ``client_ports`` but not read yet (the consumers' offset commits): the drill takes a
    copy of each of the broker's sockets (``pidfd_getfd``) and reads their queues empty.
    Returns the bytes dropped."""
    inodes: set[int] = set()
    for line in Path(f"/proc/{broker_pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        remote_port = int(fields[2].rsplit(":", 1)[1], 16)
        if local_port == broker_port and remote_port in client_ports:
            inodes.add(int(fields[9]))
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(broker_pid)
    dropped = 0
    try:
        for entry in Path(f"/proc/{broker_pid}/fd").iterdir():
            try:
                target = os.readlink(entry)
            except OSError:
                continue
            if not target.startswith("socket:[") or int(target[8:-1]) not in inodes:
                continue
            fd = libc.syscall(_SYS_PIDFD_GETFD, pidfd, int(entry.name), 0)
            if fd < 0:
                raise OSError(ctypes.get_errno(), "pidfd_getfd on the broker (needs root)")
            with socket.socket(fileno=fd) as copy:
                while True:
                    try:
                        chunk = copy.recv(65536, socket.MSG_DONTWAIT)
                    except (BlockingIOError, ConnectionError):
                        break
                    if not chunk:
                        break
                    dropped += len(chunk)
    finally:
        os.close(pidfd)
    return dropped


def _continue(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        pass


async def _wait_published(stack: StackHandle, mark: OutboxMark, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while True:
        tally = await stack.delivery(mark)
        if tally.unsent == 0:
            return tally.expected - tally.applied
        if time.monotonic() > deadline:
            raise TimeoutError(f"{tally.unsent} events still unsent after {timeout:.0f}s")
        await asyncio.sleep(0.2)


async def _wait_in_transaction(
    stack: StackHandle, consumers: list[str], timeout: float = 120
) -> None:
    """Until a consumer process waits, inside its batch's transaction, for the drill's lock."""
    postgres_port = int(stack.dsn.rsplit(":", 1)[1].split("/", 1)[0])
    deadline = time.monotonic() + timeout
    async with stack.database() as conn:
        while time.monotonic() < deadline:
            ports: list[int] = []
            for name in consumers:
                with contextlib.suppress(psutil.Error, StackError):
                    ports += [
                        c.laddr.port
                        for c in psutil.Process(stack.pid(name)).net_connections(kind="tcp")
                        if c.raddr and c.raddr.port == postgres_port
                    ]
            if ports and await conn.fetchval(
                """SELECT count(*) FROM pg_stat_activity
                   WHERE client_port = ANY($1::int[]) AND wait_event_type = 'Lock'""",
                ports,
            ):
                await asyncio.sleep(0.5)  # let the other consumer processes reach it too
                return
            await asyncio.sleep(0.05)
    raise TimeoutError("the consumers did not start applying the backlog")


async def _connect(stack: StackHandle) -> asyncpg.Connection:
    return await asyncpg.connect(stack.dsn)


async def _wait_stalled(stack: StackHandle, mark: OutboxMark) -> int:
    """With the broker frozen, each consumer finishes its batch and then blocks on the offset
    commit: wait until the applied count stops moving."""
    last = (await stack.delivery(mark)).applied
    stable_since = time.monotonic()
    while time.monotonic() - stable_since < STALL_SECONDS:
        await asyncio.sleep(0.1)
        now = (await stack.delivery(mark)).applied
        if now != last:
            last, stable_since = now, time.monotonic()
    return last


async def _applied_but_uncommitted(stack: StackHandle) -> int:
    """Deliveries in PostgreSQL's processed-events table whose records lie at or after the
    consumer group's committed offset: Kafka will deliver them again."""
    document = stack.document()
    subscriptions = await consumer_subscriptions_for(document)
    topics = sorted({t for ts in subscriptions.values() for t in ts})
    located = await _event_offsets(document["kafka"], topics)
    committed: dict[str, dict[TopicPartition, int]] = {}
    partitions = {tp for tp, _ in located}
    for group in subscriptions:
        # A consumer of the group that never subscribes, so it never joins or rebalances:
        # it only reads the group's committed offsets (None: nothing committed yet).
        reader = AIOKafkaConsumer(
            bootstrap_servers=document["kafka"], group_id=group, enable_auto_commit=False
        )
        await reader.start()
        try:
            committed[group] = {tp: await reader.committed(tp) or 0 for tp in partitions}
        finally:
            await reader.stop()
    pending: list[tuple[str, uuid.UUID]] = []
    for group, group_topics in subscriptions.items():
        for (tp, offset), event_id in located.items():
            if tp.topic in group_topics and offset >= committed[group].get(tp, -1):
                pending.append((group, event_id))
    async with stack.database() as conn:
        return int(
            await conn.fetchval(
                """SELECT count(*) FROM delivery.processed_events p
                   JOIN unnest($1::text[], $2::uuid[]) AS w(consumer, event_id)
                     ON p.consumer = w.consumer AND p.event_id = w.event_id""",
                [g for g, _ in pending],
                [e for _, e in pending],
            )
        )


async def _event_offsets(
    bootstrap: str, topics: Iterable[str]
) -> dict[tuple[TopicPartition, int], uuid.UUID]:
    """Every record now on ``topics``: (partition, offset) -> event id."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await reader.start()
    located: dict[tuple[TopicPartition, int], uuid.UUID] = {}
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(reader.partitions_for_topic(topic) or await _partitions(reader, topic))
        ]
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        ends = await reader.end_offsets(partitions)
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            batches = await reader.getmany(timeout_ms=500)
            for tp, records in batches.items():
                for record in records:
                    try:
                        event_id = uuid.UUID(json.loads(record.value)["event_id"])
                    except (ValueError, KeyError, TypeError):
                        continue
                    located[(tp, record.offset)] = event_id
                    if record.offset + 1 >= ends[tp]:
                        remaining.discard(tp)
    finally:
        await reader.stop()
    return located


async def _partitions(reader: AIOKafkaConsumer, topic: str) -> set[int]:
    await reader.topics()
    return set(reader.partitions_for_topic(topic) or set())
