"""The worker role: runs every workflow and activity, and relays the outbox to Kafka."""

from __future__ import annotations

import asyncio
import logging

from temporalio.worker import Worker

from activities.registration import repair_at_start_up
from activities.resources import ActivityResources, build_activities
from skillflow import kafka, metrics, temporal
from skillflow.health import HealthServer
from skillflow.metrics import outbox_sampler
from skillflow.operations.activity_retries import ActivityRetries
from skillflow.operations.roles import role_heartbeat
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
        sdk_metrics_port = metrics.install_sdk_metrics(settings)
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
            interceptors=[ActivityRetries(pool)],
        )

        async def pool_ready() -> bool:
            return bool(await pool.fetchval("SELECT true"))

        async def worker_running() -> bool:
            return worker.is_running

        async def served_metrics() -> bytes:
            return await metrics.worker_metrics(sdk_metrics_port)

        health = HealthServer(
            "worker", {"postgres": pool_ready, "temporal_worker": worker_running}, served_metrics
        )
        port = await health.start(settings.api_host, settings.worker_health_port)
        log.info("worker: task queue %s, health on port %d", settings.task_queue, port)
        relay_task = asyncio.create_task(kafka.run_outbox_relay(settings, pool, stop, "worker"))
        repair_task: asyncio.Task[None] | None = None
        try:
            async with (
                worker,
                role_heartbeat(pool, "worker", health.readiness, port),
                outbox_sampler(pool, "worker"),
            ):
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
