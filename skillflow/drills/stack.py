"""The running local stack as a drill sees it: its processes (from ``stack.json``), the
faults it may inject into them, and read-only checks on what the service recorded."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from skillflow.stack.local import HOLDS_DIR, consumer_subscriptions, read_stack_file
from skillflow.stack.local import _http_ok as http_ok  # the stack's own health check
from skillflow.stack.process import StackError


@dataclass(frozen=True)
class OutboxMark:
    """Where the outbox stood when a drill began: later rows are the drill's events."""

    seq: int


@dataclass(frozen=True)
class DeliveryTally:
    """For the events after a mark: how many each consumer group should apply, and how
    many it has applied (or dead-lettered)."""

    expected: int
    applied: int
    unsent: int

    @property
    def complete(self) -> bool:
        return self.unsent == 0 and self.applied == self.expected


class StackHandle:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.document()  # fails early, naming the command to start one, when none runs
        self._subscriptions: dict[str, list[str]] | None = None

    def document(self) -> dict[str, Any]:
        return read_stack_file(self.data_dir)

    # --- processes ---------------------------------------------------------------------

    def processes(self, prefix: str) -> list[str]:
        """Names of the processes of one role or server (``worker`` -> worker-1, worker-2)."""
        return sorted(
            name
            for name in self.document().get("processes", {})
            if name == prefix or name.startswith(prefix + "-")
        )

    def pid(self, name: str) -> int:
        processes = self.document().get("processes", {})
        if name not in processes or not processes[name]["pid"]:
            raise StackError(
                f"stack.json names no process {name}: restart the stack with this version"
            )
        return int(processes[name]["pid"])

    def signal(self, name: str, sig: signal.Signals) -> int:
        pid = self.pid(name)
        os.kill(pid, sig)
        return pid

    def kill(self, name: str) -> int:
        """SIGKILL: the process gets no chance to finish anything."""
        return self.signal(name, signal.SIGKILL)

    @contextlib.contextmanager
    def hold(self, *names: str) -> Iterator[None]:
        """Keep the stack from restarting ``names`` inside the block."""
        holds = self.data_dir / HOLDS_DIR
        holds.mkdir(exist_ok=True)
        for name in names:
            (holds / name).touch()
        try:
            yield
        finally:
            for name in names:
                (holds / name).unlink(missing_ok=True)

    async def wait_gone(self, pid: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while _alive(pid):
            if time.monotonic() > deadline:
                raise TimeoutError(f"pid {pid} still runs after {timeout:.0f}s")
            await asyncio.sleep(0.05)

    async def wait_restarted(self, name: str, old_pid: int, timeout: float = 120.0) -> float:
        """Seconds until ``name`` runs again under a new pid (and, for a role, is ready)."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            entry = self.document().get("processes", {}).get(name, {})
            if entry.get("pid") and entry["pid"] != old_pid and _alive(int(entry["pid"])):
                health = entry.get("health")
                if health is None or http_ok(health):
                    return time.monotonic() - started
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not come back within {timeout:.0f}s")
            await asyncio.sleep(0.1)

    async def wait_ready(self, timeout: float = 120.0) -> float:
        """Seconds until every role answers ready."""
        started = time.monotonic()
        while True:
            health = self.document().get("health", {})
            if all(http_ok(url) for url in health.values()):
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"the roles were not all ready within {timeout:.0f}s")
            await asyncio.sleep(0.2)

    # --- the service's records -----------------------------------------------------------

    @property
    def dsn(self) -> str:
        return str(self.document()["postgres"])

    @contextlib.asynccontextmanager
    async def database(self) -> AsyncIterator[asyncpg.Connection]:
        conn = await _connect_retrying(self.dsn)
        try:
            yield conn
        finally:
            await conn.close()

    async def fetchval(self, query: str, *args: object) -> Any:
        """One value, reconnecting while PostgreSQL is down or restarting."""
        deadline = time.monotonic() + 120
        while True:
            try:
                async with self.database() as conn:
                    return await conn.fetchval(query, *args)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)

    async def outbox_mark(self) -> OutboxMark:
        return OutboxMark(
            int(await self.fetchval("SELECT coalesce(max(seq), 0) FROM outbox.events"))
        )

    async def delivery(self, mark: OutboxMark) -> DeliveryTally:
        """Every event after ``mark``, counted once for each consumer group reading its topic."""
        if self._subscriptions is None:
            self._subscriptions = await consumer_subscriptions_for(self.document())
        subscriptions = self._subscriptions
        async with self.database() as conn:
            row = await conn.fetchrow(
                """WITH subscribed AS (
                       SELECT s.consumer, s.topic
                       FROM unnest($2::text[], $3::text[]) AS s(consumer, topic)),
                   wanted AS (
                       SELECT o.event_id, s.consumer, o.sent_at
                       FROM outbox.events o JOIN subscribed s ON s.topic = o.topic
                       WHERE o.seq > $1)
                   SELECT count(*) AS expected,
                          count(*) FILTER (WHERE EXISTS (
                              SELECT 1 FROM delivery.processed_events p
                              WHERE p.consumer = w.consumer AND p.event_id = w.event_id)
                           OR EXISTS (
                              SELECT 1 FROM delivery.dead_letters d
                              WHERE d.consumer = w.consumer AND d.event_id = w.event_id))
                          AS applied,
                          (SELECT count(*) FROM outbox.events WHERE seq > $1 AND sent_at IS NULL)
                          AS unsent
                   FROM wanted w""",
                mark.seq,
                [consumer for consumer, topics in subscriptions.items() for _ in topics],
                [topic for topics in subscriptions.values() for topic in topics],
            )
        assert row is not None
        return DeliveryTally(int(row["expected"]), int(row["applied"]), int(row["unsent"]))

    async def wait_delivered(self, mark: OutboxMark, timeout: float = 180.0) -> DeliveryTally:
        """Until every event after ``mark`` is published and applied by each of its groups."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                tally = await self.delivery(mark)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                tally = DeliveryTally(1, 0, 1)
            if tally.complete:
                return tally
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"after {timeout:.0f}s: {tally.applied} of {tally.expected} deliveries "
                    f"applied, {tally.unsent} events unsent"
                )
            await asyncio.sleep(0.3)


async def consumer_subscriptions_for(document: dict[str, Any]) -> dict[str, list[str]]:
    from skillflow.settings import Settings

    settings = Settings(
        temporal_address=document["temporal"],
        kafka_bootstrap_servers=document["kafka"],
        postgres_dsn=document["postgres"],
    )
    return await consumer_subscriptions(settings)


async def _connect_retrying(dsn: str, timeout: float = 120.0) -> asyncpg.Connection:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await asyncpg.connect(dsn, timeout=5)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A killed child of the stack stays a zombie until the stack reaps it: not alive.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False
