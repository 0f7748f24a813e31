"""The raw engines, measured on the same servers as the benchmark they stand beside.

* Temporal: a workflow that runs one no-op activity, started N times through the same
  client and dev server, with the same sandbox and activity slots as the real worker;
  completions per second from the first start to the last result.
* PostgreSQL: single-row INSERT statements, each its own transaction, over 20 connections.

This module imports nothing but the standard library and temporalio, so the workflow
sandbox re-imports it cheaply.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

NOOP_WORKFLOW = "BenchmarkNoopWorkflow"
START_CONCURRENCY = 64


@activity.defn(name="benchmark.noop")
async def noop(index: int) -> int:
    return index


@workflow.defn(name=NOOP_WORKFLOW)
class NoopWorkflow:
    @workflow.run
    async def run(self, index: int) -> int:
        result: int = await workflow.execute_activity(
            noop, index, start_to_close_timeout=timedelta(seconds=30)
        )
        return result


async def noop_workflows_per_second(client: Client, task_queue: str, count: int) -> float:
    """Start ``count`` no-op workflows on ``task_queue`` (workers polling it elsewhere) and
    wait for each: completions per second from the first start to the last result."""
    limit = asyncio.Semaphore(START_CONCURRENCY)

    async def one(index: int) -> None:
        async with limit:
            handle = await client.start_workflow(
                NoopWorkflow.run, index, id=f"{task_queue}-{index}", task_queue=task_queue
            )
        await handle.result()

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return count / (time.perf_counter() - started)


async def trivial_workflows_per_second(
    client: Client, count: int, workflow_runner: Any
) -> dict[str, Any]:
    task_queue = f"bench-noop-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[NoopWorkflow],
        activities=[noop],
        workflow_runner=workflow_runner,
        max_concurrent_activities=100,
    ):
        per_second = await noop_workflows_per_second(client, task_queue, count)
    history = await client.get_workflow_handle(f"{task_queue}-0").fetch_history()
    return {
        "workflows": count,
        "per_second": round(per_second, 1),
        "history_events": len(history.events),
        "history_bytes": len(history.to_json()),
    }


async def inserts_per_second(dsn: str, count: int) -> float:
    import asyncpg

    table = f"bench_insert_{uuid.uuid4().hex[:8]}"
    pool = await asyncpg.create_pool(dsn, min_size=20, max_size=20)
    try:
        await pool.execute(f"CREATE TABLE {table} (id integer PRIMARY KEY, payload text)")
        queue = iter(range(count))

        async def insert_all() -> None:
            async with pool.acquire() as conn:
                for index in queue:
                    await conn.execute(f"INSERT INTO {table} VALUES ($1, $2)", index, "x" * 200)

        started = time.perf_counter()
        await asyncio.gather(*(insert_all() for _ in range(20)))
        elapsed = time.perf_counter() - started
        await pool.execute(f"DROP TABLE {table}")
    finally:
        await pool.close()
    return count / elapsed
