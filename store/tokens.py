"""The API's bearer tokens, kept as digests in ``access.tokens``.

A token is shown once, when it is created; the table keeps its SHA-256 digest, the role,
the holder's name (what audit trails record) and the bodies it acts for.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from policy.errors import RuleViolation
from policy.rule_ids import Rule
from skillflow.settings import BOUND_ROLES, Role, binding_problem
from store.database import Connection

TOKEN_BYTES = 32


@dataclass(frozen=True)
class StoredToken:
    """A token as ``skillflow tokens list`` shows it: never the token itself."""

    name: str
    role: Role
    bodies: tuple[str, ...]
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def check_binding(role: Role, bodies: Sequence[str]) -> None:
    """A stored token of a centre, enterprise, organiser or judge always names its bodies."""
    problem = binding_problem(role, list(bodies), must_bind=True)
    if problem:
        rule = Rule.TOKEN_UNBOUND if role in BOUND_ROLES else Rule.TOKEN_BODIES_NOT_APPLICABLE
        raise RuleViolation("bodies", rule, problem)


async def create_token(
    conn: Connection,
    *,
    role: Role,
    name: str,
    bodies: Sequence[str],
    created_by: str,
    token: str | None = None,
) -> str:
    """Store a new token and return it (the only time it is seen). ``token`` is for a
    stack that keeps its own tokens across restarts; it is otherwise made here."""
    check_binding(role, bodies)
    token = token or secrets.token_urlsafe(TOKEN_BYTES)
    live = await conn.fetchval(
        "SELECT true FROM access.tokens WHERE name = $1 AND revoked_at IS NULL", name
    )
    if live:
        raise RuleViolation(
            "name", Rule.TOKEN_NAME_IN_USE, f"{name} already holds a live token: revoke it first"
        )
    await conn.execute(
        """INSERT INTO access.tokens (token_id, digest, role, name, bodies, created_by)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        uuid.uuid4(),
        token_digest(token),
        role.value,
        name,
        sorted(set(bodies)),
        created_by,
    )
    return token


@dataclass(frozen=True)
class TokenHolding:
    role: Role
    name: str
    bodies: tuple[str, ...]


async def find_holder(conn: Connection, token: str) -> TokenHolding | None:
    """The live token's holder, or None. The row is found by its digest; the digests are
    then compared in constant time, so the answer's timing says nothing about the token."""
    digest = token_digest(token)
    row = await conn.fetchrow(
        "SELECT digest, role, name, bodies FROM access.tokens "
        "WHERE digest = $1 AND revoked_at IS NULL",
        digest,
    )
    if row is None or not hmac.compare_digest(bytes(row["digest"]), digest):
        return None
    return TokenHolding(role=Role(row["role"]), name=row["name"], bodies=tuple(row["bodies"]))


async def list_tokens(conn: Connection, *, include_revoked: bool = False) -> list[StoredToken]:
    rows = await conn.fetch(
        """SELECT name, role, bodies, created_by, created_at, revoked_at FROM access.tokens
           WHERE $1 OR revoked_at IS NULL ORDER BY created_at, name""",
        include_revoked,
    )
    return [
        StoredToken(
            name=r["name"],
            role=Role(r["role"]),
            bodies=tuple(r["bodies"]),
            created_by=r["created_by"],
            created_at=r["created_at"],
            revoked_at=r["revoked_at"],
        )
        for r in rows
    ]


async def revoke_token(conn: Connection, name: str, *, revoked_by: str) -> bool:
    """Revoke the live token of ``name``; False when there is none."""
    result = await conn.execute(
        """UPDATE access.tokens SET revoked_at = now(), revoked_by = $2
           WHERE name = $1 AND revoked_at IS NULL""",
        name,
        revoked_by,
    )
    return result != "UPDATE 0"
