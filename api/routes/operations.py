"""What operators watch and repair: outbox lag, dead letters, consumer progress."""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from api.access import Operator
from api.services import Services
from consumers.app import ConsumerDependencies, build_consumers
from consumers.delivery import discard_dead_letter, replay_dead_letter
from policy.errors import RuleViolation
from skillflow.operations import repairs
from skillflow.operations.repairs import Repair, RepairReason

router = APIRouter(prefix="/operations", tags=["operations"])
page_router = APIRouter(tags=["operations"])


@router.get("/overview")
async def overview(services: Services, _: Operator) -> dict[str, Any]:
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
    return {
        "outbox": {
            "unsent": outbox["unsent"],
            "total": outbox["total"],
            "oldest_unsent_seconds": float(outbox["oldest_unsent_seconds"] or 0),
        },
        "consumers": [
            {
                "consumer": r["consumer"],
                "processed": r["processed"],
                "last_applied_at": r["last_applied_at"].isoformat()
                if r["last_applied_at"]
                else None,
            }
            for r in consumers
        ],
        "open_dead_letters": {r["consumer"]: r["open"] for r in dead},
    }


@router.get("/dead-letters")
async def list_dead_letters(
    services: Services,
    _: Operator,
    status: Literal["open", "replayed", "discarded"] = "open",
    consumer: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
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
        {
            **dict(r),
            "event_id": str(r["event_id"]) if r["event_id"] else None,
            "created_at": r["created_at"].isoformat(),
            "resolved_at": r["resolved_at"].isoformat() if r["resolved_at"] else None,
        }
        for r in rows
    ]


@router.post("/dead-letters/{dead_letter_id}/replay")
async def replay(
    dead_letter_id: int,
    body: RepairReason,
    services: Services,
    caller: Operator,
) -> dict[str, Any]:
    """Apply the dead letter again through its consumer; it stays open if it fails again.
    Either way the attempt is in the audit log."""
    deps = ConsumerDependencies(services.settings, services.temporal)
    consumers = {c.name: c for c in build_consumers(deps)}
    try:
        result = await replay_dead_letter(services.pool, consumers, dead_letter_id, caller.name)
    except ValueError as exc:
        raise RuleViolation("dead_letter_id", "dead_letter.not_open", str(exc)) from None
    repair = Repair("replay", f"dead-letter {dead_letter_id}", body.reason, caller.name)
    async with services.pool.acquire() as conn:
        result["repair_id"] = await repairs.record(conn, repair, result["status"], result)
    return result


@router.post("/dead-letters/{dead_letter_id}/discard")
async def discard(
    dead_letter_id: int,
    body: RepairReason,
    services: Services,
    caller: Operator,
) -> dict[str, Any]:
    """Close a dead letter without applying it; the letter is kept, marked discarded."""
    await discard_dead_letter(services.pool, dead_letter_id, caller.name)
    result: dict[str, Any] = {"id": dead_letter_id, "status": "discarded"}
    repair = Repair("discard", f"dead-letter {dead_letter_id}", body.reason, caller.name)
    async with services.pool.acquire() as conn:
        result["repair_id"] = await repairs.record(conn, repair, "discarded", result)
    return result


@page_router.get("/operator", response_class=HTMLResponse, include_in_schema=False)
async def operator_page() -> HTMLResponse:
    return HTMLResponse(resources.files("api.static").joinpath("operator.html").read_text())
