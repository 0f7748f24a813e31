"""What a request handler can reach: the pool, the Temporal client, the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from temporalio.client import Client

from skillflow.settings import Role, Settings


@dataclass(frozen=True)
class ApiServices:
    settings: Settings
    pool: asyncpg.Pool
    temporal: Client


@dataclass(frozen=True)
class Caller:
    """The authenticated caller. ``name`` goes into audit trails (never a token)."""

    role: Role
    name: str


def get_services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


Services = Annotated[ApiServices, Depends(get_services)]

_bearer = HTTPBearer(auto_error=False)


def require_roles(*roles: Role) -> Callable[..., Caller]:
    """A dependency that admits only callers whose bearer token maps to one of ``roles``.

    Use as ``caller: Annotated[Caller, Depends(require_roles(Role.CENTRE))]``.
    """

    def dependency(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        services: Services,
    ) -> Caller:
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="missing bearer token (Authorization: Bearer <token>)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        holder = services.settings.api_tokens.get(credentials.credentials)
        if holder is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="unknown bearer token")
        role = holder.role
        if role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"role {role.value} may not do this (allowed: {allowed})",
            )
        return Caller(role=role, name=holder.name)

    return dependency
