"""Fresh servers for a benchmark run, on free ports in a temporary folder."""

from __future__ import annotations

import asyncio
import secrets
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from skillflow import kafka, temporal
from skillflow.settings import Role, Settings
from skillflow.stack.process import free_port
from skillflow.stack.servers import KafkaBroker, PostgresServer, TemporalServer
from store.database import apply_migrations, create_pool, ensure_database


@asynccontextmanager
async def benchmark_servers(postgres_options: Sequence[str] = ()) -> AsyncIterator[Settings]:
    """``postgres_options``: extra ``-c name=value`` server settings (the scale benchmark
    loads ``pg_stat_statements`` to count statements)."""
    with tempfile.TemporaryDirectory(prefix="skillflow-bench-") as folder:
        data_dir = Path(folder)
        postgres = PostgresServer(data_dir, free_port())
        broker = KafkaBroker(data_dir, free_port())
        temporal_server = TemporalServer(data_dir, free_port(), None, free_port())
        for option in postgres_options:
            postgres.process.argv += ["-c", option]
        processes = [postgres.process, broker.process, temporal_server.process]
        try:
            postgres.start()
            broker.start()
            temporal_server.start()
            settings = Settings(
                temporal_address=f"127.0.0.1:{temporal_server.port}",
                kafka_bootstrap_servers=broker.bootstrap_servers,
                kafka_idempotent_producer=False,
                kafka_session_timeout_ms=6_000,
                postgres_dsn=postgres.dsn(),
                person_key_secret=secrets.token_urlsafe(24),
                api_tokens={secrets.token_urlsafe(16): role for role in Role},
                task_queue="skillflow-bench",
                demo_policies=True,  # the certification benchmark runs under demo-fast
                worker_health_port=0,
                consumers_health_port=0,
            )
            await ensure_database(settings.postgres_dsn)
            pool = await create_pool(settings.postgres_dsn, max_size=2)
            async with pool.acquire() as conn:
                await apply_migrations(conn)
            await pool.close()
            await kafka.ensure_topics(settings)
            client = await temporal.connect(settings)
            await temporal.ensure_search_attributes(client, settings.temporal_namespace)
            yield settings
        finally:
            for process in reversed(processes):
                process.stop()


@asynccontextmanager
async def worker_running(settings: Settings) -> AsyncIterator[None]:
    """The worker role (every workflow and activity, and the outbox relay) in this process,
    ready, for the length of the block."""
    from skillflow.worker import run_worker

    stop, ready = asyncio.Event(), asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, stop, ready))
    waiter = asyncio.create_task(ready.wait())
    done, _ = await asyncio.wait({worker, waiter}, timeout=120, return_when="FIRST_COMPLETED")
    if worker in done:
        worker.result()
    if waiter not in done:
        raise TimeoutError("the worker was not ready within 120 s")
    try:
        yield
    finally:
        stop.set()
        await worker


async def engine_baseline(settings: Settings, workflows: int, inserts: int) -> dict[str, Any]:
    """The raw engines on the same servers: ``workflows`` no-op workflows through this
    process's sandbox and ``inserts`` single-row PostgreSQL inserts."""
    from skillflow.benchmarks.baseline import inserts_per_second, trivial_workflows_per_second

    client = await temporal.connect(settings)
    trivial = await trivial_workflows_per_second(client, workflows, temporal.workflow_runner())
    return {
        "trivial_workflows_per_s": trivial["per_second"],
        "trivial_workflow_history_events": trivial["history_events"],
        "trivial_workflow_history_bytes": trivial["history_bytes"],
        "postgres_inserts_per_s": round(
            await inserts_per_second(settings.postgres_dsn, inserts), 1
        ),
        "temporal": "dev server, SQLite file",
    }
