"""Title equivalence on the real stack: certificates in the archive, the workflow run by the
real worker against PostgreSQL, title.eligible on the broker once per worker and title,
and the daily schedule in place."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from consumers.records.consumer import records_consumer
from schemas.archive import TitleEquivalenceRequest
from schemas.events import EventEnvelope
from schemas.payloads import (
    CertificateRevoked,
    TitleEligible,
)
from schemas.topics import Topic
from tests.integration.sample_events import certificate, envelope, issued
from workflows.title_equivalence import (
    DAILY_AT,
    TITLE_EQUIVALENCE_SCHEDULE_ID,
    TitleEquivalenceWorkflow,
)

pytestmark = pytest.mark.integration

AS_OF = date(2031, 6, 1)  # in the future, so earlier tests' certificates are not yet due


async def archive_certificate(
    stack: Any, person: str, level: int, issued_on: date, revoked: bool = False
) -> str:
    held = certificate(level=level, issued_on=issued_on, holder_name_masked="周*")
    number = held.certificate_number
    events = [issued(held, person, "titles")]
    if revoked:
        revocation = CertificateRevoked(
            certificate_number=number, reason="fraud", revoked_on=issued_on
        )
        events.append(envelope(revocation, person, business_key=number, correlation_id="titles"))
    handlers = records_consumer(stack.settings).handlers
    async with stack.pool.acquire() as conn, conn.transaction():
        for event in events:
            await handlers[event.event_type](conn, event)
    return number


async def run_titles(stack: Any) -> int:
    outcome = await stack.temporal.execute_workflow(
        TitleEquivalenceWorkflow.run,
        TitleEquivalenceRequest(as_of=AS_OF, batch_size=2),
        id=f"title-equivalence-test-{uuid.uuid4().hex[:8]}",
        task_queue=stack.settings.task_queue,
    )
    return int(outcome.published)


async def test_due_workers_get_title_eligible_once(
    stack: Any, worker: Any, consumers: Any, events: Any
) -> None:
    senior, technician, early, revoked = (secrets.token_hex(32) for _ in range(4))
    due_l3 = await archive_certificate(stack, senior, 3, AS_OF - timedelta(days=365 * 2 + 1))
    await archive_certificate(stack, senior, 1, AS_OF - timedelta(days=365 * 4 + 1))
    await archive_certificate(stack, technician, 2, AS_OF - timedelta(days=365 * 3 + 1))
    await archive_certificate(stack, early, 3, AS_OF - timedelta(days=365))
    await archive_certificate(stack, revoked, 3, AS_OF - timedelta(days=365 * 5), revoked=True)

    assert await run_titles(stack) >= 5
    rows = await stack.pool.fetch(
        "SELECT person_key, title, certificate_number FROM records.title_eligibilities WHERE person_key = ANY($1)",
        [senior, technician, early, revoked],
    )
    titles = sorted((r["person_key"], r["title"]) for r in rows)
    assert titles == sorted(
        [
            (senior, "assistant_engineer"),
            (senior, "engineer"),
            (senior, "senior_engineer"),
            (technician, "assistant_engineer"),
            (technician, "engineer"),
        ]
    )
    # The earliest qualifying certificate names the title: senior's L1 is older than the L3.
    assert {r["certificate_number"] for r in rows if r["person_key"] == senior} != {due_l3}

    # A second run the same day publishes nothing for them.
    await run_titles(stack)

    def mine(e: EventEnvelope) -> bool:
        return e.event_type == TitleEligible.event_type and e.person_key in (senior, technician)

    await events.wait_for(Topic.INCENTIVE.value, mine)
    published = await events.all(Topic.INCENTIVE.value, mine, settle=2.0)
    assert sorted((e.person_key, e.payload["title"]) for e in published) == titles

    # The records consumer files them in the archive.
    async def archived() -> int:
        return int(
            await stack.pool.fetchval(
                """SELECT count(*) FROM records.timeline
                   WHERE person_key = ANY($1) AND entry_kind = 'title_eligible'""",
                [senior, technician],
            )
        )

    for _ in range(300):
        if await archived() == 5:
            break
        await asyncio.sleep(0.1)
    assert await archived() == 5


async def test_daily_schedule_is_in_place(stack: Any, worker: Any) -> None:
    described = await stack.temporal.get_schedule_handle(TITLE_EQUIVALENCE_SCHEDULE_ID).describe()
    # The server stores the cron expression as a calendar: 18:00 UTC (02:00 in China).
    spec = described.schedule.spec
    assert DAILY_AT == "0 18 * * *"
    assert [(c.hour[0].start, c.minute[0].start) for c in spec.calendars] == [
        (18, 0)
    ] or spec.cron_expressions == [DAILY_AT]
    action = described.schedule.action
    assert getattr(action, "workflow", None) == "TitleEquivalenceWorkflow"
    assert getattr(action, "task_queue", None) == stack.settings.task_queue
