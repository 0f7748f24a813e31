"""The operator console's figures and repairs: processes by stage, late work, event flow,
roles, the last hour, and the repairs with their audit log. The page at ``/operator``
reads these; ``skillflow status`` and ``skillflow repair`` call them too."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query
from temporalio.client import Client

from api.access import Operator
from api.services import ApiServices, Services
from api.views import (
    EventFlow,
    LagSample,
    LastHour,
    MinuteOfHistory,
    OperationsSummary,
    RepairEntry,
    RepublishOutcome,
    RoleStates,
    WaitingWork,
    WorkflowRepairOutcome,
)
from consumers.app import ConsumerDependencies, build_consumers
from policy.service_levels import service_levels
from skillflow.operations import event_flow, repairs, roles
from skillflow.operations.event_flow import PartitionLag
from skillflow.operations.processes import ProcessCounter, ProcessRow, workflow_link
from skillflow.operations.repairs import Repair, RepairReason
from skillflow.operations.waiting import late_work
from store import delivery, operations

router = APIRouter(prefix="/operations", tags=["operations"])

# Lag samples for the last hour's chart, one every 15 s at most, taken when someone looks.
_SAMPLE_SECONDS: Final = 15.0
_lag_samples: deque[tuple[float, int]] = deque(maxlen=int(3600 / _SAMPLE_SECONDS))


def subscriptions(services: ApiServices) -> dict[str, list[str]]:
    deps = ConsumerDependencies(services.settings, services.temporal)
    return {c.name: [str(t) for t in c.topics] for c in build_consumers(deps)}


def _counter(services: ApiServices) -> ProcessCounter:
    s = services.settings
    return ProcessCounter(services.temporal, s.temporal_namespace, s.temporal_ui_url)


@router.get("/processes")
async def processes(services: Services, _: Operator) -> list[ProcessRow]:
    """Workflows by process and stage: running, completed, failed, timed out, terminated,
    each with its visibility query and the Temporal UI link for it."""
    return await _counter(services).all_processes()


@router.get("/waiting")
async def waiting(services: Services, _: Operator) -> WaitingWork:
    """Work past its service level, the longest wait first."""
    s = services.settings
    levels = service_levels(s.service_levels, demo_allowed=s.demo_policies)
    async with services.pool.acquire() as conn:
        items = await late_work(conn, levels)
    for item in items:
        item.link = workflow_link(s.temporal_ui_url, s.temporal_namespace, item.workflow_id)
    return WaitingWork(service_levels=levels, items=items)


async def _lag(services: ApiServices) -> tuple[list[PartitionLag], str | None]:
    try:
        lags = await event_flow.read_lag(services.settings, subscriptions(services))
    except Exception as exc:
        return [], f"broker unreachable ({type(exc).__name__})"
    now = time.time()
    if not _lag_samples or now - _lag_samples[-1][0] >= _SAMPLE_SECONDS:
        _lag_samples.append((now, sum(p.lag for p in lags)))
    return lags, None


@router.get("/event-flow")
async def event_flow_now(services: Services, _: Operator) -> EventFlow:
    """Lag per group, topic and partition (from the broker), the outbox backlog, events per
    minute in and out, open dead letters and the latest events."""
    lag, lag_error = await _lag(services)
    async with services.pool.acquire() as conn:
        backlog = await event_flow.outbox_backlog(conn)
        per_minute = await event_flow.events_per_minute(conn, 10)
        latest = await event_flow.latest_events(conn)
        dead = await delivery.open_dead_letters(conn)
    return EventFlow.model_validate(
        {
            "lag": lag,
            "lag_error": lag_error,
            "total_lag": sum(p.lag for p in lag),
            "outbox": backlog,
            "per_minute": per_minute,
            "open_dead_letters": dead,
            "latest_events": latest,
        }
    )


@router.get("/roles")
async def role_states(services: Services, _: Operator) -> RoleStates:
    """Each role's state (from its heartbeats) and this API's reach to the three servers."""
    async with services.pool.acquire() as conn:
        states = await roles.role_states(conn)
    reach = await roles.reachability(services.settings, services.pool, services.temporal)
    return RoleStates.model_validate({"roles": states, "reachability": reach})


@router.get("/history")
async def history(services: Services, _: Operator) -> LastHour:
    """The last hour per minute: events in and out, workflows started and closed, and the
    lag samples taken while the console was watched."""
    async with services.pool.acquire() as conn:
        per_minute = await event_flow.events_per_minute(conn, 60)
    since = (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)
    started, closed = await asyncio.gather(
        _per_minute(services.temporal, f"StartTime >= '{since.isoformat()}'", "start"),
        _per_minute(services.temporal, f"CloseTime >= '{since.isoformat()}'", "close"),
    )
    return LastHour(
        per_minute=[
            MinuteOfHistory.model_validate(
                {
                    **point,
                    "started": started.get(point["minute"][:16], 0),
                    "closed": closed.get(point["minute"][:16], 0),
                }
            )
            for point in per_minute
        ],
        lag=[
            LagSample(at=datetime.fromtimestamp(at, UTC).isoformat(), lag=value)
            for at, value in _lag_samples
            if at >= since.timestamp()
        ],
    )


async def _per_minute(temporal: Client, query: str, which: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    async for execution in temporal.list_workflows(query, limit=5000, page_size=1000):
        at = execution.start_time if which == "start" else execution.close_time
        if at is not None:
            minute = at.astimezone(UTC).isoformat()[:16]
            counts[minute] = counts.get(minute, 0) + 1
    return counts


@router.get("/summary")
async def summary(services: Services, _: Operator) -> OperationsSummary:
    """What ``skillflow status`` prints: roles, reach, lag, late work, dead letters."""
    s = services.settings
    levels = service_levels(s.service_levels, demo_allowed=s.demo_policies)
    lag, lag_error = await _lag(services)
    async with services.pool.acquire() as conn:
        states = await roles.role_states(conn)
        late = await late_work(conn, levels)
        backlog = await event_flow.outbox_backlog(conn)
        open_dead = await delivery.open_dead_letters(conn)
    reach = await roles.reachability(s, services.pool, services.temporal)
    counted = await services.temporal.count_workflows("GROUP BY ExecutionStatus")
    return OperationsSummary(
        roles={r["role"]: r["state"] for r in states},
        reachability=reach,
        workflows={str(g.group_values[0]): g.count for g in counted.groups},
        total_lag=sum(p.lag for p in lag),
        max_partition_lag=max((p.lag for p in lag), default=0),
        lag_error=lag_error,
        late_work=len(late),
        outbox_unsent=backlog.unsent,
        outbox_oldest_unsent_seconds=backlog.oldest_unsent_seconds,
        open_dead_letters=sum(open_dead.values()),
    )


@router.get("/repairs")
async def repair_log(
    services: Services, _: Operator, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> list[RepairEntry]:
    """The audit log of repairs, newest first: who, why, what, when, how it ended."""
    async with services.pool.acquire() as conn:
        return [RepairEntry.model_validate(r) for r in await repairs.audit_log(conn, limit)]


# A repair of one workflow: Temporal does it, then the audit log records it.
WorkflowRepair = Callable[[Client, str, Repair], Awaitable[dict[str, Any]]]


async def _repair_workflow(
    services: ApiServices, repair: Repair, action: WorkflowRepair
) -> WorkflowRepairOutcome:
    result = await action(services.temporal, repair.target, repair)
    result.setdefault("status", "done")
    async with services.pool.acquire() as conn, conn.transaction():
        if repair.action in ("reset", "terminate"):
            await operations.forget_activity_retries(conn, repair.target)
        result["repair_id"] = await repairs.record(conn, repair, result["status"], result)
    return WorkflowRepairOutcome.model_validate(result)


async def _reset(client: Client, workflow_id: str, repair: Repair) -> dict[str, Any]:
    # The namespace is the client's own (the console's settings name the same one).
    result = await repairs.reset_workflow(client, client.namespace, workflow_id, repair)
    return {**result, "status": "reset"}


@router.post("/workflows/{workflow_id}/reset")
async def reset(
    workflow_id: str, body: RepairReason, services: Services, caller: Operator
) -> WorkflowRepairOutcome:
    """Retry a failed (or stuck) activity's workflow: reset its latest run to the workflow
    task before the activity was scheduled."""
    return await _repair_workflow(
        services, Repair("reset", workflow_id, body.reason, caller.name), _reset
    )


@router.post("/workflows/{workflow_id}/terminate")
async def terminate(
    workflow_id: str, body: RepairReason, services: Services, caller: Operator
) -> WorkflowRepairOutcome:
    return await _repair_workflow(
        services,
        Repair("terminate", workflow_id, body.reason, caller.name),
        repairs.terminate_workflow,
    )


@router.post("/workflows/{workflow_id}/recheck")
async def recheck(
    workflow_id: str, body: RepairReason, services: Services, caller: Operator
) -> WorkflowRepairOutcome:
    """Signal a held issuance to check its body now."""
    return await _repair_workflow(
        services, Repair("recheck", workflow_id, body.reason, caller.name), repairs.recheck_hold
    )


@router.post("/outbox/{event_id}/republish")
async def republish(
    event_id: str, body: RepairReason, services: Services, caller: Operator
) -> RepublishOutcome:
    """Publish an outbox event again (consumers that applied it drop the duplicate)."""
    repair = Repair("republish", event_id, body.reason, caller.name)
    async with services.pool.acquire() as conn, conn.transaction():
        result = await repairs.republish(conn, event_id)
        result["repair_id"] = await repairs.record(conn, repair, result["status"], result)
    return RepublishOutcome.model_validate(result)
