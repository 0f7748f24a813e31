"""Each role instance reports itself (version, start, readiness) to PostgreSQL every few
seconds, so the console knows the state of every role wherever it runs; the console also
checks the broker, Temporal and PostgreSQL itself."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Final

import asyncpg
from aiokafka import AIOKafkaConsumer
from temporalio.client import Client

from skillflow.background import running
from skillflow.settings import Settings
from store.database import Connection

log = logging.getLogger(__name__)

ROLES: Final = ("worker", "consumers", "api")
HEARTBEAT_SECONDS: Final = 5.0
# Three missed heartbeats and an instance counts as gone.
STALE_SECONDS: Final = 3 * HEARTBEAT_SECONDS + 1
STARTED_AT: Final = datetime.now(UTC)
_STARTED_MONOTONIC: Final = time.monotonic()

Readiness = Callable[[], Awaitable[dict[str, bool]]]


def skillflow_version() -> str:
    try:
        return version("skillflow")
    except PackageNotFoundError:
        return "unknown"


def uptime_seconds() -> float:
    return time.monotonic() - _STARTED_MONOTONIC


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def _beat(pool: asyncpg.Pool, role: str, readiness: Readiness, port: int | None) -> bool:
    try:
        checks = await readiness()
    except Exception:
        checks = {"readiness": False}
    await pool.execute(
        """INSERT INTO operations.role_instances
               (role, instance, version, started_at, seen_at, ready, checks, port)
           VALUES ($1, $2, $3, $4, now(), $5, $6::jsonb, $7)
           ON CONFLICT (role, instance) DO UPDATE
           SET seen_at = now(), ready = EXCLUDED.ready, checks = EXCLUDED.checks,
               version = EXCLUDED.version, port = EXCLUDED.port""",
        role,
        instance_name(),
        skillflow_version(),
        STARTED_AT,
        all(checks.values()),
        json.dumps(checks),
        port,
    )
    return all(checks.values())


@contextlib.asynccontextmanager
async def role_heartbeat(
    pool: asyncpg.Pool, role: str, readiness: Readiness, port: int | None = None
) -> AsyncIterator[None]:
    """Report this instance (and the ``port`` of its /health and /metrics) while the block
    runs; a clean stop removes its row."""

    async def beat_forever() -> None:
        while True:
            ready = False
            try:
                ready = await _beat(pool, role, readiness, port)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("%s: heartbeat not recorded (%s)", role, type(exc).__name__)
            # Starting (or failing) roles report every second, so the console sees them
            # become ready at once.
            await asyncio.sleep(HEARTBEAT_SECONDS if ready else 1.0)

    try:
        async with running(beat_forever()):
            yield
    finally:
        with contextlib.suppress(Exception):
            await pool.execute(
                "DELETE FROM operations.role_instances WHERE role = $1 AND instance = $2",
                role,
                instance_name(),
            )


async def role_states(conn: Connection) -> list[dict[str, Any]]:
    """Per role: ready, not ready or down (no fresh heartbeat), with each instance's version,
    uptime and checks. Instances gone within the last hour are listed as down."""
    rows = await conn.fetch(
        """SELECT role, instance, version, started_at, seen_at, ready, checks, port,
                  extract(epoch FROM now() - seen_at) AS silent,
                  extract(epoch FROM now() - started_at) AS uptime
           FROM operations.role_instances
           WHERE seen_at > now() - interval '1 hour' ORDER BY role, instance"""
    )
    states = []
    for role in sorted({*ROLES, *(r["role"] for r in rows)}):
        instances = []
        for r in rows:
            if r["role"] != role:
                continue
            fresh = float(r["silent"]) < STALE_SECONDS
            instances.append(
                {
                    "instance": r["instance"],
                    "port": r["port"],
                    "version": r["version"],
                    "state": ("ready" if r["ready"] else "not ready") if fresh else "down",
                    "uptime_seconds": round(float(r["uptime"])) if fresh else None,
                    "last_seen_seconds_ago": round(float(r["silent"]), 1),
                    "checks": json.loads(r["checks"]),
                }
            )
        states_seen = {i["state"] for i in instances}
        state = (
            "ready"
            if "ready" in states_seen
            else "not ready"
            if "not ready" in states_seen
            else "down"
        )
        states.append({"role": role, "state": state, "instances": instances})
    return states


async def reachability(settings: Settings, pool: asyncpg.Pool, temporal: Client) -> dict[str, bool]:
    """Can this API reach PostgreSQL, Temporal and the broker right now?"""

    async def postgres() -> bool:
        return bool(await pool.fetchval("SELECT true"))

    async def temporal_frontend() -> bool:
        return bool(await temporal.service_client.check_health())

    async def broker() -> bool:
        client = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            request_timeout_ms=3000,
            connections_max_idle_ms=5000,
        )
        try:
            await client.start()
            return bool(await client.topics())
        finally:
            await client.stop()

    checks = {"postgres": postgres, "temporal": temporal_frontend, "kafka": broker}
    results = await asyncio.gather(
        *(asyncio.wait_for(check(), 4.0) for check in checks.values()), return_exceptions=True
    )
    return {name: result is True for name, result in zip(checks, results, strict=True)}
