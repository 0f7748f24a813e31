"""What a request handler can reach: the pool, the Temporal client, the settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, TypeVar

import asyncpg
from fastapi import Depends, Request
from temporalio.client import Client

from policy.errors import NotFound
from skillflow.settings import Settings, TokenHolder
from store.database import Connection
from store.tokens import token_digest

_Found = TypeVar("_Found")


@dataclass(frozen=True)
class ApiServices:
    settings: Settings
    pool: asyncpg.Pool
    temporal: Client
    # The settings' bearer tokens by SHA-256 digest (see api.access).
    environment_tokens: dict[bytes, TokenHolder] = field(default_factory=dict)

    @classmethod
    def create(cls, settings: Settings, pool: asyncpg.Pool, temporal: Client) -> ApiServices:
        tokens = {token_digest(t): holder for t, holder in settings.api_tokens.items()}
        return cls(settings=settings, pool=pool, temporal=temporal, environment_tokens=tokens)

    async def found(
        self,
        query: Callable[[Connection, str], Awaitable[_Found | None]],
        key: str,
        missing: str,
    ) -> _Found:
        """One object by a store query (``certification.session_view``) on its own
        connection; none is a 404 that says ``missing``."""
        async with self.pool.acquire() as conn:
            found = await query(conn, key)
        if found is None:
            raise NotFound(missing)
        return found


def get_services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


Services = Annotated[ApiServices, Depends(get_services)]
