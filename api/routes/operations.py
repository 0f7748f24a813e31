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
from skillflow.operations import event_flow, repairs
from skillflow.operations.repairs import Repair, RepairReason
from store import delivery

router = APIRouter(prefix="/operations", tags=["operations"])
page_router = APIRouter(tags=["operations"])


@router.get("/overview")
async def overview(request: Request, services: Services, _: Operator) -> OperationsOverview:
    """Outbox lag, consumer progress and open dead letters in one call (the operator page)."""
    async with services.pool.acquire() as conn:
        backlog = await event_flow.outbox_backlog(conn)
        consumers = await delivery.consumer_progress(conn)
        dead = await delivery.open_dead_letters(conn)
    return OperationsOverview(
        outbox=OutboxLag(
            unsent=backlog.unsent,
            total=backlog.total,
            oldest_unsent_seconds=backlog.oldest_unsent_seconds,
        ),
        consumers=[ConsumerProgress(**r) for r in consumers],
        open_dead_letters=dead,
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
    async with services.pool.acquire() as conn:
        rows = await delivery.dead_letters(conn, status, consumer, limit)
    return [DeadLetterView(**r) for r in rows]


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
