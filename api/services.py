"""What a request handler can reach: the pool, the Temporal client, the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from temporalio.client import Client

from skillflow.settings import Settings, TokenHolder
from store.tokens import token_digest


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


def get_services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


Services = Annotated[ApiServices, Depends(get_services)]
