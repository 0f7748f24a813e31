"""The outbox relay: publishes outbox rows to Kafka in order, marks them sent, never drops one.

Any number of relays may run (the worker and the consumers each start one); a session
advisory lock elects one leader at a time, so rows go out in ``seq`` order. When the broker
is down the relay backs off and retries the same rows; a row is marked sent only after the
broker acknowledged it *and* every earlier row with the same key, so per-person order holds
across retries (a re-sent row may arrive twice; consumers drop the duplicate by event id).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import asyncpg

log = logging.getLogger(__name__)

_RELAY_LOCK_ID = 0x5F1_0002

Send = Callable[[str, bytes, bytes], Awaitable[object]]
"""Publish (topic, key, value); the awaitable resolves once the broker has acknowledged."""


@dataclass
class RelayStats:
    published: int = 0
    failures: int = 0
    is_leader: bool = False


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        send: Send,
        *,
        batch_size: int = 500,
        idle_poll_seconds: float = 1.0,
        max_backoff_seconds: float = 10.0,
        on_broker_failure: Callable[[], Awaitable[None]] | None = None,
        on_published: Callable[[Sequence[float]], None] | None = None,
    ) -> None:
        self._pool = pool
        self._send = send
        self._batch_size = batch_size
        self._idle_poll = idle_poll_seconds
        self._max_backoff = max_backoff_seconds
        self._on_broker_failure = on_broker_failure
        # Told the age (seconds since commit) of each event a batch published: metrics.
        self._on_published = on_published
        self._wakeup = asyncio.Event()
        self.stats = RelayStats()

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set; safe to cancel. A database failure (PostgreSQL
        restarting, a connection cut) ends this relay's leadership, whose lock went with its
        session, and it competes for the lock again once the database answers."""
        while not stop.is_set():
            try:
                await self._lead_while_holding_lock(stop)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self.stats.is_leader = False
                log.warning("outbox relay: database unavailable (%s); retrying", exc)
                await _wait(stop, 1.0)

    async def _lead_while_holding_lock(self, stop: asyncio.Event) -> None:
        async with self._pool.acquire() as leader_conn:
            if not await leader_conn.fetchval("SELECT pg_try_advisory_lock($1)", _RELAY_LOCK_ID):
                await _wait(stop, 2.0)
                return
            self.stats.is_leader = True
            await leader_conn.add_listener("outbox_events", self._on_notify)
            try:
                await self._lead(stop)
            finally:
                self.stats.is_leader = False
                with contextlib.suppress(Exception):
                    await leader_conn.remove_listener("outbox_events", self._on_notify)
                    await leader_conn.execute("SELECT pg_advisory_unlock($1)", _RELAY_LOCK_ID)

    def _on_notify(self, *_: object) -> None:
        self._wakeup.set()

    async def _lead(self, stop: asyncio.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            self._wakeup.clear()
            # A database error propagates: the leader's lock may have gone with its session
            # (another relay may lead already), so ``run`` competes for it again.
            sent = await self.publish_pending()
            if sent < 0:  # the broker refused: back off, then retry the same rows
                if self._on_broker_failure is not None:
                    await self._on_broker_failure()
                await _wait(stop, backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            backoff = 0.5
            if sent < self._batch_size:
                await _wait_any(stop, self._wakeup, self._idle_poll)

    async def publish_pending(self) -> int:
        """Publish one batch of unsent rows; returns rows marked sent, or -1 on broker failure."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                """SELECT seq, topic, message_key, envelope::text AS value,
                          extract(epoch FROM clock_timestamp() - created_at) AS age
                   FROM outbox.events WHERE sent_at IS NULL ORDER BY seq LIMIT $1""",
                self._batch_size,
            )
            if not rows:
                return 0
            sending_since = time.monotonic()
            results = await asyncio.gather(
                *(
                    self._send(r["topic"], bytes(r["message_key"]), r["value"].encode())
                    for r in rows
                ),
                return_exceptions=True,
            )
            sent: list[int] = []
            ages: list[float] = []
            blocked_keys: set[bytes] = set()
            first_error: BaseException | None = None
            for row, result in zip(rows, results, strict=True):
                key = bytes(row["message_key"])
                if isinstance(result, BaseException):
                    first_error = first_error or result
                    blocked_keys.add(key)
                elif key not in blocked_keys:
                    sent.append(row["seq"])
                    ages.append(float(row["age"]) + time.monotonic() - sending_since)
            if sent:
                await conn.execute(
                    "UPDATE outbox.events SET sent_at = now(), attempts = attempts + 1 WHERE seq = ANY($1)",
                    sent,
                )
                self.stats.published += len(sent)
                if self._on_published is not None:
                    self._on_published(ages)
            if first_error is not None:
                self.stats.failures += 1
                failed = [r["seq"] for r in rows if r["seq"] not in set(sent)]
                await conn.execute(
                    "UPDATE outbox.events SET attempts = attempts + 1, last_error = $2 WHERE seq = ANY($1)",
                    failed,
                    repr(first_error)[:500],
                )
                log.warning(
                    "outbox relay: %d rows not acknowledged (%r); will retry",
                    len(failed),
                    first_error,
                )
                return -1
            return len(sent)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _wait_any(stop: asyncio.Event, wakeup: asyncio.Event, seconds: float) -> None:
    tasks = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wakeup.wait())]
    try:
        await asyncio.wait(tasks, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
