"""What a request handler can reach: the pool, the Temporal client, the settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
    """The authenticated caller. ``name`` goes into audit trails (never a token); a caller
    with ``bodies`` acts for those evaluation bodies only."""

    role: Role
    name: str
    bodies: tuple[str, ...] = ()

    def check_body(self, body_id: str | None) -> None:
        """Refuse a caller scoped to other bodies (an unknown body is left to a 404)."""
        if self.bodies and body_id is not None and body_id not in self.bodies:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"this token acts for {', '.join(self.bodies)} only, not {body_id}",
            )


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
        return Caller(role=role, name=holder.name, bodies=holder.bodies)

    return dependency


async def _acting_for(caller: Caller, services: ApiServices, body_sql: str, key: str) -> Caller:
    # Only a caller scoped to bodies costs a look-up.
    if caller.bodies:
        caller.check_body(await services.pool.fetchval(body_sql, key))
    return caller


def session_actor(*roles: Role) -> Callable[..., Awaitable[Caller]]:
    """``require_roles`` for a route on ``/{session_id}``, also checking the session's body."""
    admitted = require_roles(*roles)

    async def dependency(
        session_id: str,
        services: Services,
        # A default, not Annotated: the closure's dependency cannot be named in a string
        # annotation (this module postpones annotations).
        caller: Caller = Depends(admitted),  # noqa: B008
    ) -> Caller:
        return await _acting_for(
            caller,
            services,
            "SELECT body_id FROM certification.sessions WHERE session_id = $1",
            session_id,
        )

    return dependency


def application_actor(*roles: Role) -> Callable[..., Awaitable[Caller]]:
    """``require_roles`` for a route on ``/{application_id}``, also checking its body."""
    admitted = require_roles(*roles)

    async def dependency(
        application_id: str,
        services: Services,
        caller: Caller = Depends(admitted),  # noqa: B008
    ) -> Caller:
        return await _acting_for(
            caller,
            services,
            "SELECT body_id FROM certification.applications WHERE application_id = $1",
            application_id,
        )

    return dependency
