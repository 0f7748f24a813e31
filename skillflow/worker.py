"""The worker role: runs every workflow and activity, and relays the outbox to Kafka."""

from __future__ import annotations

import asyncio
import logging

from temporalio.worker import Worker

from activities.registration import repair_at_start_up
from activities.resources import ActivityResources, build_activities
from skillflow import kafka, temporal
from skillflow.health import HealthServer
from skillflow.settings import Settings
from store.database import apply_migrations, create_pool, ensure_database
from workflows import ALL_WORKFLOWS
from workflows.title_equivalence import ensure_title_equivalence_schedule

log = logging.getLogger(__name__)


async def run_worker(
    settings: Settings, stop: asyncio.Event, ready: asyncio.Event | None = None
) -> None:
    """Run until ``stop`` is set; ``ready`` is set once the worker polls its task queue."""
    await ensure_database(settings.postgres_dsn)
    pool = await create_pool(settings.postgres_dsn, max_size=20)
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn)
        await kafka.ensure_topics(settings)
        client = await temporal.connect(settings)
        await temporal.ensure_search_attributes(client, settings.temporal_namespace)
        await ensure_title_equivalence_schedule(client, settings)
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=ALL_WORKFLOWS,
            activities=build_activities(ActivityResources(pool, settings, client)),
            workflow_runner=temporal.workflow_runner(),
            max_concurrent_activities=100,
            max_cached_workflows=settings.worker_max_cached_workflows,
        )

        async def pool_ready() -> bool:
            return bool(await pool.fetchval("SELECT true"))

        async def worker_running() -> bool:
            return worker.is_running

        health = HealthServer("worker", {"postgres": pool_ready, "temporal_worker": worker_running})
        port = await health.start(settings.api_host, settings.worker_health_port)
        log.info("worker: task queue %s, health on port %d", settings.task_queue, port)
        relay_task = asyncio.create_task(kafka.run_outbox_relay(settings, pool, stop))
        repair_task: asyncio.Task[None] | None = None
        try:
            async with worker:
                repair_task = asyncio.create_task(
                    repair_at_start_up(client, settings.task_queue, pool)
                )
                if ready is not None:
                    ready.set()
                await stop.wait()
        finally:
            if repair_task is not None:
                repair_task.cancel()
                await asyncio.gather(repair_task, return_exceptions=True)
            await relay_task
            await health.stop()
    finally:
        await pool.close()
