"""What operators watch and repair: outbox lag, dead letters, consumer progress."""

from __future__ import annotations

from importlib import resources
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.access import Operator
from api.paging import Limit, SerialId
from api.rate_limit import public_rate_limit
from api.services import Services
from api.views import (
    ConsumerProgress,
    DeadLetterOutcome,
    DeadLetterView,
    OperationsOverview,
    OutboxLag,
)
from consumers.app import ConsumerDependencies, build_consumers
from consumers.delivery import discard_dead_letter, replay_dead_letter
from policy.errors import RuleViolation
from policy.rule_ids import Rule
from skillflow.operations import repairs
from skillflow.operations.repairs import Repair, RepairReason

router = APIRouter(prefix="/operations", tags=["operations"])
page_router = APIRouter(tags=["operations"])


@router.get("/overview")
async def overview(request: Request, services: Services, _: Operator) -> OperationsOverview:
    """Outbox lag, consumer progress and open dead letters in one call (the operator page)."""
    async with services.pool.acquire() as conn:
        outbox = await conn.fetchrow(
            """SELECT count(*) FILTER (WHERE sent_at IS NULL) AS unsent,
                      count(*) AS total,
                      extract(epoch FROM now() - min(created_at) FILTER (WHERE sent_at IS NULL)) AS oldest_unsent_seconds
               FROM outbox.events"""
        )
        assert outbox is not None
        consumers = await conn.fetch(
            """SELECT consumer, count(*) AS processed, max(applied_at) AS last_applied_at
               FROM delivery.processed_events GROUP BY consumer ORDER BY consumer"""
        )
        dead = await conn.fetch(
            """SELECT consumer, count(*) AS open FROM delivery.dead_letters
               WHERE status = 'open' GROUP BY consumer ORDER BY consumer"""
        )
    return OperationsOverview(
        outbox=OutboxLag(
            unsent=outbox["unsent"],
            total=outbox["total"],
            oldest_unsent_seconds=float(outbox["oldest_unsent_seconds"] or 0),
        ),
        consumers=[ConsumerProgress(**dict(r)) for r in consumers],
        open_dead_letters={r["consumer"]: r["open"] for r in dead},
        public_calls_refused=public_rate_limit(request).refused,
    )


@router.get("/dead-letters")
async def list_dead_letters(
    services: Services,
    _: Operator,
    status: Literal["open", "replayed", "discarded"] = "open",
    consumer: str | None = None,
    limit: Limit = 100,
) -> list[DeadLetterView]:
    rows = await services.pool.fetch(
        """SELECT id, consumer, topic, kafka_partition, kafka_offset, event_id, event_type, error,
                  attempts, status, created_at, resolved_at, resolved_by
           FROM delivery.dead_letters
           WHERE status = $1 AND ($2::text IS NULL OR consumer = $2)
           ORDER BY id LIMIT $3""",
        status,
        consumer,
        limit,
    )
    return [
        DeadLetterView(**{**dict(r), "event_id": str(r["event_id"]) if r["event_id"] else None})
        for r in rows
    ]


@router.post("/dead-letters/{dead_letter_id}/replay")
async def replay(
    dead_letter_id: SerialId,
    body: RepairReason,
    services: Services,
    caller: Operator,
) -> DeadLetterOutcome:
    """Apply the dead letter again through its consumer; it stays open if it fails again.
    Either way the attempt is in the audit log."""
    deps = ConsumerDependencies(services.settings, services.temporal)
    consumers = {c.name: c for c in build_consumers(deps)}
    try:
        result = await replay_dead_letter(services.pool, consumers, dead_letter_id, caller.name)
    except ValueError as exc:
        raise RuleViolation("dead_letter_id", Rule.DEAD_LETTER_NOT_OPEN, str(exc)) from None
    repair = Repair("replay", f"dead-letter {dead_letter_id}", body.reason, caller.name)
    async with services.pool.acquire() as conn:
        result["repair_id"] = await repairs.record(conn, repair, result["status"], result)
    return DeadLetterOutcome(**result)


@router.post("/dead-letters/{dead_letter_id}/discard")
async def discard(
    dead_letter_id: SerialId,
    body: RepairReason,
    services: Services,
    caller: Operator,
) -> DeadLetterOutcome:
    """Close a dead letter without applying it; the letter is kept, marked discarded."""
    await discard_dead_letter(services.pool, dead_letter_id, caller.name)
    result: dict[str, Any] = {"id": dead_letter_id, "status": "discarded"}
    repair = Repair("discard", f"dead-letter {dead_letter_id}", body.reason, caller.name)
    async with services.pool.acquire() as conn:
        result["repair_id"] = await repairs.record(conn, repair, "discarded", result)
    return DeadLetterOutcome(**result)


@page_router.get("/operator", response_class=HTMLResponse, include_in_schema=False)
async def operator_page() -> HTMLResponse:
    return HTMLResponse(resources.files("api.static").joinpath("operator.html").read_text())
