"""Liveness and readiness of the API role."""

from __future__ import annotations

from typing import Any, Literal

import asyncpg
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from temporalio.client import Client

from api.services import Services
from api.views import Liveness
from skillflow.operations.roles import skillflow_version, uptime_seconds
from store.database import postgres_answers

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
        checks["postgres"] = await postgres_answers(pool)
    except Exception:
        checks["postgres"] = False
    try:
        await temporal.service_client.check_health()
        checks["temporal"] = True
    except Exception:
        checks["temporal"] = False
    return checks


@router.get("/health/live")
async def live() -> Liveness:
    return Liveness(**_about(), live=True)


class Readiness(BaseModel):
    role: Literal["api"]
    version: str
    uptime_seconds: float
    ready: bool
    checks: dict[str, bool]


@router.get(
    "/health/ready",
    responses={
        200: {"model": Readiness, "description": "PostgreSQL and Temporal answer"},
        503: {"model": Readiness, "description": "one of them does not"},
    },
)
async def ready(services: Services) -> JSONResponse:
    checks = await api_readiness(services.pool, services.temporal)
    ok = all(checks.values())
    return JSONResponse(
        status_code=200 if ok else 503, content={**_about(), "ready": ok, "checks": checks}
    )
