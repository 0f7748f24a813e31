"""The API's Prometheus metrics: requests by route template and status, latency histograms,
served at ``GET /metrics`` (for Prometheus; no token, no personal data: routes are
templates such as ``/applications/{application_id}``, never the ids themselves)."""

from __future__ import annotations

import time

from fastapi import FastAPI, Response
from starlette.types import Message, Receive, Scope, Send

from api.asgi import HttpMiddleware
from skillflow.metrics import API_LATENCY, API_REQUESTS, CONTENT_TYPE, ROLE_INFO, skillflow_metrics
from skillflow.operations.roles import skillflow_version


class CountRequests(HttpMiddleware):
    """Counts each answer by route template, method and status.

    Plain ASGI rather than ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware``
    runs the app in a task of its own and raises "No response returned" when that task ends
    without an answer (a client gone mid-request under load), which then surfaced as a bare
    500 outside the API's own error handling. Here the status is read off the answer as it
    passes, and nothing is raised that the app did not raise.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            # The router writes the matched route into the shared scope.
            route = scope.get("route")
            # Unknown paths share one label: a scanner must not mint a series per path.
            template = getattr(route, "path", None) or "(unmatched)"
            method = scope.get("method", "")
            API_REQUESTS.labels(template, method, str(status)).inc()
            API_LATENCY.labels(template, method).observe(time.perf_counter() - started)


def install_metrics(app: FastAPI) -> None:
    ROLE_INFO.labels("api", skillflow_version()).set(1)
    app.add_middleware(CountRequests)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(skillflow_metrics(), media_type=CONTENT_TYPE)
