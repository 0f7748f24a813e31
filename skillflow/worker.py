"""The worker role: runs every workflow and activity, and relays the outbox to Kafka."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from temporalio.worker import Worker

from activities.registration import repair_at_start_up
from activities.resources import ActivityResources, build_activities
from skillflow import kafka, metrics, temporal
from skillflow.metrics import outbox_sampler
from skillflow.operations.activity_retries import ActivityRetries
from skillflow.role import health_endpoint, role_resources
from skillflow.settings import Settings
from workflows import all_workflows
from workflows.title_equivalence import ensure_title_equivalence_schedule

log = logging.getLogger(__name__)


async def run_worker(
    settings: Settings, stop: asyncio.Event, ready: asyncio.Event | None = None
) -> None:
    """Run until ``stop`` is set; ``ready`` is set once the worker polls its task queue."""
    # Before the client is made: the Temporal SDK serves its metrics from this runtime.
    sdk_metrics_port = metrics.install_sdk_metrics(settings)

    async def served_metrics() -> bytes:
        return await metrics.worker_metrics(sdk_metrics_port)

    async with role_resources(settings, kafka_topics=True) as resources:
        client, pool = resources.temporal, resources.pool
        await temporal.ensure_search_attributes(client, settings.temporal_namespace)
        await ensure_title_equivalence_schedule(client, settings)
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=all_workflows(),
            activities=build_activities(ActivityResources(pool, settings, client)),
            workflow_runner=temporal.workflow_runner(),
            max_concurrent_activities=100,
            max_cached_workflows=settings.worker_max_cached_workflows,
            interceptors=[ActivityRetries(pool)],
            # The SDK holds heartbeats back to 80% of an activity's heartbeat timeout by
            # default; on a busy worker the one it then sends arrives after the timeout, and a
            # live import batch is cancelled and run again. At most 5 s between sends.
            max_heartbeat_throttle_interval=timedelta(seconds=5),
        )

        async def worker_running() -> bool:
            return worker.is_running

        async with (
            health_endpoint(
                "worker",
                resources,
                settings.worker_health_port,
                {"temporal_worker": worker_running},
                served_metrics,
            ),
            outbox_sampler(pool, "worker"),
        ):
            log.info("worker: task queue %s", settings.task_queue)
            relay_task = asyncio.create_task(kafka.run_outbox_relay(settings, pool, stop, "worker"))
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
