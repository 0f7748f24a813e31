"""Scale-out on one set of servers: 1, 2 and 4 processes per role, next to the raw engines
measured the same way (the same number of processes, the same servers, the same run).

* **certification**: N ``skillflow worker`` processes share one task queue; one session of
  ``candidates`` goes through the HTTP API (in this process) to its certificates, as in the
  certification benchmark. Baseline: N processes of a no-op worker, and as many one-activity
  no-op workflows as candidates, completions per second.
* **consumers**: ``events`` registration events wait on a topic of their own; N processes of
  the real consumer share its consumer group (the topic's partitions). Baseline: N processes
  of the plain aiokafka + asyncpg loop on a copy of the events. Both are timed from the first
  row in PostgreSQL to the last, polling the database; three rounds each, alternately, and
  the medians.

The per-candidate cost comes from the 1-worker run: workflow tasks and history bytes of an
application workflow (Temporal), and SQL statements per certified candidate
(``pg_stat_statements`` over the API, the activities and the relay).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from skillflow import temporal
from skillflow.benchmarks.baseline import noop_workflows_per_second
from skillflow.benchmarks.certification import _progress, _scenario
from skillflow.benchmarks.consumers import _publish
from skillflow.settings import Settings
from skillflow.stack.local import _settings_env as settings_env

PROCESSES = (1, 2, 4)
CONSUMER_ROUNDS = 3
START_CONCURRENCY = 64


async def run(settings: Settings, candidates: int, events: int) -> dict[str, Any]:
    client = await temporal.connect(settings)
    await _enable_statement_counts(settings.postgres_dsn)
    certification = []
    for n in PROCESSES:
        _progress(f"certification with {n} worker process(es)")
        certification.append(await _certification(settings, client, n, candidates))
    consumers = []
    for n in PROCESSES:
        _progress(f"consumers with {n} process(es)")
        consumers.append(await _consumers(settings, n, events))
    one = certification[0]
    return {
        "machine": f"{os.cpu_count()} cores; servers and processes on the same machine",
        "certification": [
            {k: v for k, v in step.items() if k != "per_candidate"} for step in certification
        ],
        "consumers": consumers,
        "per_candidate": one["per_candidate"],
        "temporal": "dev server, SQLite file",
    }


# --- certification ---------------------------------------------------------------------


async def _certification(
    settings: Settings, client: Client, n: int, candidates: int
) -> dict[str, Any]:
    noop_queue = f"scale-noop-{n}-{uuid.uuid4().hex[:6]}"
    async with _processes(
        n, ["noop-worker", noop_queue], settings, module="skillflow.benchmarks.scale_process"
    ):
        await _wait_pollers(client, settings.temporal_namespace, noop_queue, n)
        noop_per_s = await noop_workflows_per_second(client, noop_queue, candidates)
    queue = f"scale-{n}-{uuid.uuid4().hex[:6]}"
    queued = settings.model_copy(update={"task_queue": queue})
    async with _processes(n, ["worker"], queued, module="skillflow"):
        await _wait_pollers(client, settings.temporal_namespace, queue, n)
        before = await _statements(settings.postgres_dsn)
        figures = await _scenario(queued, candidates)
        statements = await _statements(settings.postgres_dsn) - before
    certified = figures["certified_per_s"]
    per_candidate = dict(figures["per_candidate"])
    per_candidate["sql_statements"] = round(statements / max(figures["issued"], 1), 1)
    return {
        "worker_processes": n,
        "candidates": candidates,
        "certified_per_s": certified,
        "noop_workflows_per_s": round(noop_per_s, 1),
        "ratio": round(certified / noop_per_s, 3),
        "per_candidate": per_candidate,
    }


async def _wait_pollers(
    client: Client, namespace: str, queue: str, processes: int, timeout: float = 120
) -> None:
    """Until ``processes`` distinct workers poll ``queue`` for workflow tasks."""
    deadline = time.monotonic() + timeout
    while True:
        described = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=namespace,
                task_queue=TaskQueue(name=queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        if len({p.identity for p in described.pollers}) >= processes:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{processes} workers did not poll {queue} within {timeout:.0f}s")
        await asyncio.sleep(0.3)


# --- consumers -----------------------------------------------------------------------


async def _consumers(settings: Settings, n: int, events: int) -> dict[str, Any]:
    """``CONSUMER_ROUNDS`` rounds of real consumers then plain loops (the machine is shared:
    one pair says little); the medians, the ratio being the median of the rounds' ratios."""
    rounds = []
    for _ in range(CONSUMER_ROUNDS):
        consumer_rate, plain_rate = await _consumer_round(settings, n, events)
        rounds.append(
            {
                "consumer_events_per_s": round(consumer_rate, 1),
                "plain_events_per_s": round(plain_rate, 1),
                "ratio": round(consumer_rate / plain_rate, 3),
                "load_average": round(os.getloadavg()[0], 1),
            }
        )
    return {
        "consumer_processes": n,
        "events": events,
        "partitions": settings.kafka_topic_partitions,
        "rounds": rounds,
        **{
            key: round(float(statistics.median(r[key] for r in rounds)), 3)
            for key in ("consumer_events_per_s", "plain_events_per_s", "ratio")
        },
    }


async def _consumer_round(settings: Settings, n: int, events: int) -> tuple[float, float]:
    run_id = uuid.uuid4().hex[:8]
    topics = {mode: f"scale.{run_id}.{mode}" for mode in ("consumer", "plain")}
    sessions = {mode: f"scale-{mode}-{run_id}" for mode in topics}
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(t, settings.kafka_topic_partitions, 1) for t in topics.values()]
        )
    finally:
        await admin.close()
    for mode, topic in topics.items():
        await _publish(settings, topic, run_id, sessions[mode], events)
    name = f"scale-consumer-{run_id}"
    conn = await asyncpg.connect(settings.postgres_dsn)
    try:
        async with _processes(n, ["consumer", topics["consumer"], name], settings, module=_MODULE):
            consumer_rate = await _rate_from_rows(
                conn,
                "SELECT count(*) FROM delivery.processed_events WHERE consumer = $1",
                name,
                events,
            )
        async with _processes(
            n,
            ["plain", topics["plain"], f"scale-plain-{run_id}", sessions["plain"]],
            settings,
            module=_MODULE,
        ):
            plain_rate = await _rate_from_rows(
                conn,
                "SELECT count(*) FROM incentives.registrations WHERE session_id = $1",
                sessions["plain"],
                events,
            )
        await conn.execute(
            "DELETE FROM incentives.registrations WHERE session_id = ANY($1)",
            list(sessions.values()),
        )
        await conn.execute("DELETE FROM delivery.processed_events WHERE consumer = $1", name)
    finally:
        await conn.close()
    return consumer_rate, plain_rate


_MODULE = "skillflow.benchmarks.scale_process"


async def _rate_from_rows(
    conn: asyncpg.Connection, query: str, arg: str, expected: int, timeout: float = 600
) -> float:
    """Rows per second from the first row seen to the last (group joins excluded)."""
    deadline = time.perf_counter() + timeout
    first_at: float | None = None
    first = 0
    while True:
        count = int(await conn.fetchval(query, arg))
        now = time.perf_counter()
        if first_at is None and count > 0:
            first_at, first = now, count
        if count >= expected:
            break
        if now > deadline:
            raise TimeoutError(f"{count} of {expected} rows after {timeout:.0f}s")
        await asyncio.sleep(0.05)
    if first_at is None or now <= first_at:
        return float(expected)
    return (expected - first) / (now - first_at)


# --- processes and statements ----------------------------------------------------------


@contextlib.asynccontextmanager
async def _processes(
    n: int, argv: Sequence[str], settings: Settings, *, module: str
) -> AsyncIterator[list[int]]:
    """``n`` processes of ``python -m module argv`` with ``settings`` in their environment;
    yields their pids."""
    env = {
        **os.environ,
        **settings_env(settings),
        "SKILLFLOW_WORKER_HEALTH_PORT": "0",
        "SKILLFLOW_CONSUMERS_HEALTH_PORT": "0",
        "SKILLFLOW_WORKER_SDK_METRICS_PORT": "0",
    }
    started = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            *argv,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            stdin=asyncio.subprocess.DEVNULL,
        )
        for _ in range(n)
    ]
    try:
        yield [process.pid for process in started]
    finally:
        for process in started:
            process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _enable_statement_counts(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    finally:
        await conn.close()


async def _statements(dsn: str) -> int:
    """Statements executed so far in this database, by every client."""
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval(
                """SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s
                   JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database()"""
            )
        )
    finally:
        await conn.close()
