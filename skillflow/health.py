"""A minimal HTTP health endpoint for the roles that have no web server of their own.

``GET /health/live`` answers 200 while the process runs; ``GET /health/ready`` answers 200
only while every readiness check passes (503 with the failing checks otherwise); both carry
the version and uptime. ``GET /metrics`` serves the role's Prometheus metrics.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping

from skillflow.metrics import CONTENT_TYPE, skillflow_metrics
from skillflow.operations.roles import skillflow_version, uptime_seconds

ReadinessCheck = Callable[[], Awaitable[bool]]
MetricsSource = Callable[[], Awaitable[bytes]]


async def _skillflow_metrics() -> bytes:
    return skillflow_metrics()


class HealthServer:
    def __init__(
        self,
        role: str,
        checks: Mapping[str, ReadinessCheck],
        metrics: MetricsSource | None = None,
    ) -> None:
        self._role = role
        self._checks = checks
        self._metrics = metrics or _skillflow_metrics
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._serve, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def readiness(self) -> dict[str, bool]:
        results = {}
        for name, check in self._checks.items():
            try:
                results[name] = await asyncio.wait_for(check(), 2.0)
            except Exception:
                results[name] = False
        return results

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await asyncio.wait_for(reader.readline(), 5.0)).decode(errors="replace")
            path = request_line.split(" ")[1] if request_line.count(" ") >= 2 else ""
            about = {
                "role": self._role,
                "version": skillflow_version(),
                "uptime_seconds": round(uptime_seconds(), 1),
            }
            content_type = "application/json"
            if path == "/health/live":
                status, body = 200, {**about, "live": True}
            elif path == "/health/ready":
                checks = await self.readiness()
                status = 200 if all(checks.values()) else 503
                body = {**about, "ready": status == 200, "checks": checks}
            elif path == "/metrics":
                status, body, content_type = 200, None, CONTENT_TYPE
            else:
                status, body = 404, {"error": "use /health/live, /health/ready or /metrics"}
            payload = json.dumps(body).encode() if body is not None else await self._metrics()
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
