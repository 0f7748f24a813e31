"""The base of the API's plain ASGI middlewares (NUL guard, error answers, request metrics).

Plain ASGI rather than Starlette's ``BaseHTTPMiddleware``, which runs the app in a task of
its own and turns an app that ends without answering into "No response returned".
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from starlette.types import ASGIApp, Receive, Scope, Send


class HttpMiddleware(ABC):
    """Sees HTTP requests only; lifespan and other scopes pass straight through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    @abstractmethod
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request, calling ``self.app`` to pass it on."""
