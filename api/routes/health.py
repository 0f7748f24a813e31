"""Liveness and readiness of the API role."""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from temporalio.client import Client

from api.services import Services
from skillflow.operations.roles import skillflow_version, uptime_seconds

router = APIRouter(tags=["health"])


def _about() -> dict[str, Any]:
    return {
        "role": "api",
        "version": skillflow_version(),
        "uptime_seconds": round(uptime_seconds(), 1),
    }


async def api_readiness(pool: asyncpg.Pool, temporal: Client) -> dict[str, bool]:
    checks: dict[str, bool] = {}
    try:
        checks["postgres"] = bool(await pool.fetchval("SELECT true"))
    except Exception:
        checks["postgres"] = False
    try:
        await temporal.service_client.check_health()
        checks["temporal"] = True
    except Exception:
        checks["temporal"] = False
    return checks


@router.get("/health/live")
async def live() -> dict[str, Any]:
    return {**_about(), "live": True}


@router.get("/health/ready")
async def ready(services: Services) -> JSONResponse:
    checks = await api_readiness(services.pool, services.temporal)
    ok = all(checks.values())
    return JSONResponse(
        status_code=200 if ok else 503, content={**_about(), "ready": ok, "checks": checks}
    )
