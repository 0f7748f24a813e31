"""Connection pool and migrations.

Migrations are plain SQL files in ``store/migrations`` named ``NNNN_description.sql``,
applied in order, each once, each in its own transaction, recorded in
``public.schema_migrations``. An advisory lock makes concurrent starters (worker,
consumers and API coming up together) apply them exactly once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
else:
    Connection = asyncpg.Connection

log = logging.getLogger(__name__)

_MIGRATION_LOCK_ID = 0x5F1_0001


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def bundled_migrations() -> list[Migration]:
    migrations = []
    for entry in resources.files("store.migrations").iterdir():
        if not entry.name.endswith(".sql"):
            continue
        number, _, rest = entry.name.partition("_")
        if not number.isdigit():
            raise ValueError(f"migration file {entry.name} must start with a number")
        migrations.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text()))
    migrations.sort(key=lambda m: m.version)
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise ValueError(f"two migration files share a number: {versions}")
    return migrations


async def apply_migrations(
    conn: Connection, migrations: list[Migration] | None = None
) -> list[int]:
    """Apply the migrations not yet recorded; returns the versions applied now."""
    migrations = bundled_migrations() if migrations is None else migrations
    await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK_ID)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS public.schema_migrations (
                   version integer PRIMARY KEY,
                   name text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        applied = []
        for migration in migrations:
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            log.info("applied migration %04d %s", migration.version, migration.name)
            applied.append(migration.version)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK_ID)


async def _init_connection(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    # jsonb columns come back as Python objects, not strings.
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def postgres_answers(pool: asyncpg.Pool) -> bool:
    """Does PostgreSQL answer a query through ``pool`` (a readiness check)?"""
    return bool(await pool.fetchval("SELECT true"))


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, **kwargs: Any
) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, **kwargs
    )
    assert pool is not None
    return pool


async def ensure_database(dsn: str) -> None:
    """Create the database named in ``dsn`` if it does not exist (local stack and tests)."""
    base, _, rest = dsn.rpartition("/")
    name, _, query = rest.partition("?")
    admin_dsn = f"{base}/postgres" + (f"?{query}" if query else "")
    conn = await _connect_when_up(admin_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _connect_when_up(dsn: str, timeout: float = 30.0) -> asyncpg.Connection[asyncpg.Record]:
    """Connect, waiting while a just-started server is still recovering or starting."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await asyncpg.connect(dsn)
        except (asyncpg.CannotConnectNowError, ConnectionRefusedError, OSError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)
