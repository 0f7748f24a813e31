"""The API's Prometheus metrics: requests by route template and status, latency histograms,
served at ``GET /metrics`` (for Prometheus; no token, no personal data: routes are
templates such as ``/applications/{application_id}``, never the ids themselves)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from skillflow.metrics import API_LATENCY, API_REQUESTS, CONTENT_TYPE, ROLE_INFO, skillflow_metrics
from skillflow.operations.roles import skillflow_version


def install_metrics(app: FastAPI) -> None:
    ROLE_INFO.labels("api", skillflow_version()).set(1)

    @app.middleware("http")
    async def count_requests(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            # Unknown paths share one label: a scanner must not mint a series per path.
            template = getattr(route, "path", None) or "(unmatched)"
            API_REQUESTS.labels(template, request.method, str(status)).inc()
            API_LATENCY.labels(template, request.method).observe(time.perf_counter() - started)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(skillflow_metrics(), media_type=CONTENT_TYPE)
