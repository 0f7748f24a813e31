"""Who may do what to which object.

Every request names a principal by its bearer token: a role, a name for the audit trail
and, for centres, enterprises, organisers and judges, the bodies it acts for. One rule
decides for every kind of object: the object's body must be among the caller's bodies,
of the type the caller's role acts for, and the object must belong to the path's parent.
Routes declare what they act on (``acting_on(SESSION, ...)``); bulk calls and CSV rows
check each object against the same parent (``store.certification.in_session``). A refusal happens before
anything is written.

The role aliases the routers use are defined here, once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.services import ApiServices, Services
from policy.errors import NotFound
from skillflow.settings import BOUND_ROLES, Role
from store import certification
from store.certification import Owner
from store.database import Connection
from store.tokens import find_holder, token_digest

# An evaluation body's type says who acts for it: a centre for a social evaluation
# organisation (S), an enterprise for its own self-evaluation (Y).
BODY_TYPE_OF_ROLE: Final = {Role.CENTRE: "S", Role.ENTERPRISE: "Y"}


@dataclass(frozen=True)
class Caller:
    """The authenticated caller. ``name`` goes into audit trails (never a token); a caller
    with ``bodies`` acts for those bodies only."""

    role: Role
    name: str
    bodies: tuple[str, ...] = ()

    def check_body(self, body_id: str | None) -> None:
        """Refuse a caller bound to other bodies (an unknown body is left to a 404)."""
        if self.bodies and body_id is not None and body_id not in self.bodies:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"this token acts for {', '.join(self.bodies)} only, not {body_id}",
            )

    def check_body_type(self, body_id: str, body_type: str | None) -> None:
        """A centre never acts for an enterprise's body, nor an enterprise for a centre's."""
        wanted = BODY_TYPE_OF_ROLE.get(self.role)
        if wanted is not None and body_type is not None and body_type != wanted:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"a {self.role.value} acts for {wanted} bodies; {body_id} is a "
                f"{body_type} body",
            )


# --- authentication ----------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False)


async def _authenticate(services: ApiServices, token: str) -> Caller | None:
    # Environment tokens (automation) first: no round trip. They are kept by digest, so a
    # look-up compares fixed-length digests, never the secret itself.
    holder = services.environment_tokens.get(token_digest(token))
    if holder is not None:
        return Caller(role=holder.role, name=holder.name, bodies=holder.bodies)
    async with services.pool.acquire() as conn:
        stored = await find_holder(conn, token)
    if stored is None:
        return None
    return Caller(role=stored.role, name=stored.name, bodies=stored.bodies)


def require_roles(*roles: Role) -> Callable[..., Awaitable[Caller]]:
    """A dependency that admits only callers whose bearer token maps to one of ``roles``.

    Use as ``caller: Annotated[Caller, Depends(require_roles(Role.CENTRE))]``.
    """

    async def dependency(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        services: Services,
    ) -> Caller:
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="missing bearer token (Authorization: Bearer <token>)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        caller = await _authenticate(services, credentials.credentials)
        if caller is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="unknown or revoked bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if caller.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"role {caller.role.value} may not do this (allowed: {allowed})",
            )
        return caller

    return dependency


# --- objects and their owners ------------------------------------------------------------


@dataclass(frozen=True)
class OwnedObject:
    """A kind of object a route acts on: the path parameter naming it, and the query that
    finds the body owning it."""

    kind: str
    path_parameter: str
    owner: Callable[[Connection, str], Awaitable[Owner | None]]


BODY: Final = OwnedObject("body", "body_id", certification.body_owner)
SESSION: Final = OwnedObject("session", "session_id", certification.session_owner)
APPLICATION: Final = OwnedObject("application", "application_id", certification.application_owner)


def authorize_owner(caller: Caller, owner: Owner) -> None:
    """The one rule: a bound caller acts only for its own bodies, of its role's type."""
    if caller.role in BOUND_ROLES:
        caller.check_body_type(owner.body_id, owner.body_type)
        caller.check_body(owner.body_id)


async def authorize_body(conn: Connection, caller: Caller, body_id: str) -> None:
    """For a body named in a request's content rather than its path (a new session)."""
    caller.check_body(body_id)
    owner = await certification.body_owner(conn, body_id)
    if owner is not None:
        authorize_owner(caller, owner)


def acting_on(owned: OwnedObject, *roles: Role) -> Callable[..., Awaitable[Caller]]:
    """``require_roles`` for a route on one object: the object must exist (404) and a bound
    caller must act for its body (403)."""
    admitted = require_roles(*roles)

    async def dependency(
        request: Request,
        services: Services,
        # A default, not Annotated: the closure's dependency cannot be named in a string
        # annotation (this module postpones annotations).
        caller: Caller = Depends(admitted),  # noqa: B008
    ) -> Caller:
        key = request.path_params[owned.path_parameter]
        async with services.pool.acquire() as conn:
            owner = await owned.owner(conn, key)
        if owner is None:
            raise NotFound(f"no {owned.kind} with this id")
        authorize_owner(caller, owner)
        return caller

    return dependency


# --- who may call what: the role aliases the routers use ---------------------------------

_BODY_ROLES: Final = (Role.CENTRE, Role.ENTERPRISE)
# Those who read every body's records: the regulator supervises, the records officer keeps
# the archive.
_SUPERVISORS: Final = (Role.REGULATOR, Role.RECORDS_OFFICER)

Regulator = Annotated[Caller, Depends(require_roles(Role.REGULATOR))]
RecordsOfficer = Annotated[Caller, Depends(require_roles(Role.RECORDS_OFFICER))]
Operator = Annotated[Caller, Depends(require_roles(Role.OPERATOR))]
Supervisor = Annotated[Caller, Depends(require_roles(*_SUPERVISORS))]
StatisticsReader = Annotated[Caller, Depends(require_roles(*_SUPERVISORS, Role.OPERATOR))]
# A centre or enterprise, for a body named in the request's content (checked there).
BodyActor = Annotated[Caller, Depends(require_roles(*_BODY_ROLES))]
Enterprise = Annotated[Caller, Depends(require_roles(Role.ENTERPRISE))]

# Acting on one body, session or application of the caller's own.
EnterpriseBodyOwner = Annotated[Caller, Depends(acting_on(BODY, Role.ENTERPRISE))]
BodyReader = Annotated[Caller, Depends(acting_on(BODY, *_BODY_ROLES, *_SUPERVISORS))]
SessionOwner = Annotated[Caller, Depends(acting_on(SESSION, *_BODY_ROLES))]
SessionReader = Annotated[Caller, Depends(acting_on(SESSION, *_BODY_ROLES, *_SUPERVISORS))]
ApplicationOwner = Annotated[Caller, Depends(acting_on(APPLICATION, *_BODY_ROLES))]
ApplicationReader = Annotated[Caller, Depends(acting_on(APPLICATION, *_BODY_ROLES, *_SUPERVISORS))]
# An objection during public notice comes from the candidate's body or the regulator,
# who records objections from the public.
ObjectionRaiser = Annotated[Caller, Depends(acting_on(APPLICATION, *_BODY_ROLES, Role.REGULATOR))]
