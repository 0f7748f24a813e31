"""The foundation on the real stack: migrations, outbox relay, consumer delivery, API health."""

from __future__ import annotations

import pytest

from schemas.topics import Topic
from store.database import apply_migrations
from store.outbox import enqueue
from tests.integration.sample_events import expired

pytestmark = pytest.mark.integration


async def test_migrations_apply_once(stack) -> None:
    async with stack.pool.acquire() as conn:
        assert await apply_migrations(conn) == []
        versions = [
            r["version"]
            for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY 1")
        ]
    assert versions == sorted(versions) and 1 in versions and 2 in versions


async def test_outbox_event_reaches_broker_once(stack, consumers, events) -> None:
    event = expired("s-1")
    async with stack.pool.acquire() as conn, conn.transaction():
        assert await enqueue(conn, event, event) == 1
    async with stack.pool.acquire() as conn, conn.transaction():
        assert await enqueue(conn, event) == 0  # a retried activity adds nothing

    seen = await events.wait_for(Topic.REGISTRATION.value, lambda e: e.event_id == event.event_id)
    assert seen == event
    copies = await events.all(Topic.REGISTRATION.value, lambda e: e.event_id == event.event_id)
    assert len(copies) == 1
    sent_at = await stack.pool.fetchval(
        "SELECT sent_at FROM outbox.events WHERE event_id = $1", event.event_id
    )
    assert sent_at is not None


async def test_api_health_and_auth(api, auth) -> None:
    from skillflow.settings import Role

    ready = await api.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"postgres": True, "temporal": True}
    assert (await api.get("/operations/overview")).status_code == 401
    assert (await api.get("/operations/overview", headers=auth(Role.CENTRE))).status_code == 403
    overview = await api.get("/operations/overview", headers=auth(Role.OPERATOR))
    assert overview.status_code == 200
    assert set(overview.json()) == {
        "outbox",
        "consumers",
        "open_dead_letters",
        "public_calls_refused",
    }
