"""What every role (worker, consumers, API) starts with, in one place.

A role's process: settings (read by the CLI), the stop signal (SIGINT/SIGTERM set the event
``skillflow.cli`` hands in), then :func:`role_resources` (the database created and migrated,
a pool, the Kafka topics where the role uses Kafka, a Temporal client) and, for the roles
without a web server of their own, :func:`health_endpoint`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from temporalio.client import Client

from skillflow import kafka, temporal
from skillflow.health import HealthServer, MetricsSource, ReadinessCheck
from skillflow.operations.roles import role_heartbeat
from skillflow.settings import Settings
from store.database import apply_migrations, create_pool, ensure_database

log = logging.getLogger(__name__)

POOL_SIZE = 20


@dataclass(frozen=True)
class RoleResources:
    settings: Settings
    pool: asyncpg.Pool
    temporal: Client

    async def pool_ready(self) -> bool:
        return bool(await self.pool.fetchval("SELECT true"))


@asynccontextmanager
async def role_resources(settings: Settings, *, kafka_topics: bool) -> AsyncIterator[RoleResources]:
    """The database (created if missing, migrated), a pool closed on exit, the topics (when
    the role reads or writes Kafka) and a Temporal client."""
    await ensure_database(settings.postgres_dsn)
    pool = await create_pool(settings.postgres_dsn, max_size=POOL_SIZE)
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn)
        if kafka_topics:
            await kafka.ensure_topics(settings)
        client = await temporal.connect(settings)
        yield RoleResources(settings=settings, pool=pool, temporal=client)
    finally:
        await pool.close()


@asynccontextmanager
async def health_endpoint(
    role: str,
    resources: RoleResources,
    port: int,
    checks: Mapping[str, ReadinessCheck],
    metrics: MetricsSource | None = None,
) -> AsyncIterator[int]:
    """``/health/live``, ``/health/ready`` (PostgreSQL plus ``checks``) and ``/metrics``
    while inside, and the role's heartbeat for the operator console; yields the port it
    listens on."""
    health = HealthServer(role, {"postgres": resources.pool_ready, **checks}, metrics)
    bound = await health.start(resources.settings.api_host, port)
    log.info("%s: health on port %d", role, bound)
    try:
        async with role_heartbeat(resources.pool, role, health.readiness, bound):
            yield bound
    finally:
        await health.stop()
