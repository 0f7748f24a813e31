"""Liveness and readiness of the API role."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.services import Services

router = APIRouter(tags=["health"])


@router.get("/health/live")
async def live() -> dict[str, Any]:
    return {"role": "api", "live": True}


class Readiness(BaseModel):
    role: Literal["api"]
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
    checks: dict[str, bool] = {}
    try:
        checks["postgres"] = bool(await services.pool.fetchval("SELECT true"))
    except Exception:
        checks["postgres"] = False
    try:
        await services.temporal.service_client.check_health()
        checks["temporal"] = True
    except Exception:
        checks["temporal"] = False
    ok = all(checks.values())
    return JSONResponse(
        status_code=200 if ok else 503, content={"role": "api", "ready": ok, "checks": checks}
    )
