"""Prometheus metrics of every role, served at ``/metrics``.

Names are ``skillflow_*``; labels carry routes, consumers, topics and partitions, never a
person key, an ID number or a name. The worker's ``/metrics`` also carries the Temporal
SDK's own metrics (``temporal_*``), which the SDK's runtime serves on a port of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Final

import asyncpg
import httpx
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from consumers.delivery import BatchOutcome
from skillflow.background import running
from skillflow.operations.event_flow import outbox_backlog, read_lag
from skillflow.operations.roles import skillflow_version
from skillflow.settings import Settings
from skillflow.stack.process import free_port

log = logging.getLogger(__name__)

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST

API_REQUESTS = Counter(
    "skillflow_api_requests",
    "API requests answered, by route template, method and status",
    ["route", "method", "status"],
)
API_LATENCY = Histogram(
    "skillflow_api_request_seconds",
    "API request latency, by route template and method",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CONSUMER_EVENTS = Counter(
    "skillflow_consumer_events",
    "Events a consumer handled: applied, duplicate, ignored, dead_lettered",
    ["consumer", "outcome"],
)
CONSUMER_FAILED_BATCHES = Counter(
    "skillflow_consumer_failed_batches",
    "Batches a consumer could not apply for a transient cause (retried, nothing committed)",
    ["consumer"],
)
CONSUMER_LAG = Gauge(
    "skillflow_consumer_lag",
    "Messages not yet committed by the group: end offset minus committed offset",
    ["group", "topic", "partition"],
)
OUTBOX_UNSENT = Gauge("skillflow_outbox_unsent", "Outbox events not yet published", ["role"])
OUTBOX_OLDEST = Gauge(
    "skillflow_outbox_oldest_unsent_seconds", "Age of the oldest unpublished outbox event", ["role"]
)
OUTBOX_PUBLISHED = Counter(
    "skillflow_outbox_published", "Outbox events the relay published", ["role"]
)
OUTBOX_PUBLISH_LATENCY = Histogram(
    "skillflow_outbox_publish_seconds",
    "From an event's commit to the outbox to the broker's acknowledgement",
    ["role"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
ACTIVITY_FAILURES = Counter(
    "skillflow_activity_failures",
    "Activity attempts that failed and will be retried, by activity type",
    ["activity_type"],
)
ROLE_INFO = Gauge(
    "skillflow_role_info", "1 for each running role, with its version", ["role", "version"]
)


def skillflow_metrics() -> bytes:
    return generate_latest()


def install_sdk_metrics(settings: Settings) -> int:
    """Make the Temporal SDK's runtime (used by clients created from now on) serve its metrics
    on 127.0.0.1; returns the port. The worker's ``/metrics`` adds what it serves."""
    port = settings.worker_sdk_metrics_port or free_port()
    runtime = Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(bind_address=f"127.0.0.1:{port}", durations_as_seconds=True)
        )
    )
    Runtime.set_default(runtime, error_if_already_set=False)
    return port


async def worker_metrics(sdk_port: int) -> bytes:
    """SkillFlow's metrics followed by the Temporal SDK's."""
    ours = skillflow_metrics()
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            response = await client.get(f"http://127.0.0.1:{sdk_port}/metrics")
            return ours + b"\n" + response.content
    except httpx.HTTPError as exc:
        log.warning("Temporal SDK metrics unavailable (%s)", type(exc).__name__)
        return ours


def count_outcome(consumer: str, outcome: BatchOutcome) -> None:
    for name, n in (
        ("applied", outcome.applied),
        ("duplicate", outcome.duplicates),
        ("ignored", outcome.ignored),
        ("dead_lettered", len(outcome.dead_letters)),
    ):
        if n:
            CONSUMER_EVENTS.labels(consumer, name).inc(n)


def relay_observer(role: str) -> Callable[[Sequence[float]], None]:
    """What the outbox relay calls with the ages of the events a batch published."""

    def observe(ages: Sequence[float]) -> None:
        OUTBOX_PUBLISHED.labels(role).inc(len(ages))
        for age in ages:
            OUTBOX_PUBLISH_LATENCY.labels(role).observe(max(age, 0.0))

    return observe


@contextlib.asynccontextmanager
async def _every(seconds: float, sample: Callable[[], Awaitable[None]]) -> AsyncIterator[None]:
    async def loop() -> None:
        while True:
            try:
                await sample()
            except Exception as exc:  # a metric sample must never stop a role
                log.debug("metrics sample failed (%s)", type(exc).__name__)
            await asyncio.sleep(seconds)

    async with running(loop()):
        yield


def outbox_sampler(
    pool: asyncpg.Pool, role: str, seconds: float = 5.0
) -> contextlib.AbstractAsyncContextManager[None]:
    """Keep the outbox gauges (backlog, oldest age) current while the block runs."""
    ROLE_INFO.labels(role, skillflow_version()).set(1)

    async def sample() -> None:
        async with pool.acquire() as conn:
            backlog = await outbox_backlog(conn)
        OUTBOX_UNSENT.labels(role).set(backlog.unsent)
        OUTBOX_OLDEST.labels(role).set(backlog.oldest_unsent_seconds)

    return _every(seconds, sample)


def lag_sampler(
    settings: Settings, subscriptions: Mapping[str, Sequence[str]], seconds: float = 5.0
) -> contextlib.AbstractAsyncContextManager[None]:
    """Keep the lag gauge (per group, topic and partition, from the broker) current."""

    async def sample() -> None:
        for lag in await read_lag(settings, subscriptions):
            CONSUMER_LAG.labels(lag.group, lag.topic, str(lag.partition)).set(lag.lag)

    return _every(seconds, sample)
