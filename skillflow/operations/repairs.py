"""Repairs an operator makes without a database console or a Temporal shell, each recorded in
``operations.repairs`` with who and why. A refused repair (unknown target, wrong state, no
reason) changes nothing and records nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from policy.errors import NotFound, RuleViolation
from policy.rule_ids import Rule
from schemas.application import HoldRecheck
from store.database import Connection
from workflows import search_attributes

RECHECK_SIGNAL = "recheck_hold"


class RepairReason(BaseModel):
    """Why the operator repairs: required, and kept in the audit log."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str = Field(min_length=1, max_length=500, description="why (kept in the audit log)")

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("say why: the reason is kept in the audit log")
        return value.strip()


@dataclass(frozen=True)
class Repair:
    action: str
    target: str
    reason: str
    requested_by: str


async def record(
    conn: Connection, repair: Repair, outcome: str, detail: dict[str, Any] | None = None
) -> int:
    repair_id: int = await conn.fetchval(
        """INSERT INTO operations.repairs (action, target, reason, requested_by, outcome, detail)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING id""",
        repair.action,
        repair.target,
        repair.reason,
        repair.requested_by,
        outcome,
        json.dumps(detail or {}),
    )
    return repair_id


async def audit_log(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT id, action, target, reason, requested_by, requested_at, outcome, detail
           FROM operations.repairs ORDER BY id DESC LIMIT $1""",
        limit,
    )
    return [
        {
            **dict(r),
            "requested_at": r["requested_at"].isoformat(),
            "detail": json.loads(r["detail"]),
        }
        for r in rows
    ]


def _temporal_reason(repair: Repair) -> str:
    """What Temporal keeps in clear: the operator's reason and the audit row to read, never
    who (an operator's name stays in PostgreSQL, in the audit log)."""
    return f"{repair.action} by an operator: {repair.reason}"


async def _describe(client: Client, workflow_id: str) -> Any:
    try:
        return await client.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"no workflow {workflow_id}") from None
        raise


def last_good_point(history: Sequence[HistoryEvent], pending_activity_id: str | None = None) -> int:
    """The event to reset to: the workflow task completed just before the failing (or still
    retrying) activity was scheduled, so the new run schedules it afresh; without one, the
    last completed workflow task."""
    events = list(history)
    failing_scheduled: int | None = None
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            failing_scheduled = event.activity_task_failed_event_attributes.scheduled_event_id
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
            failing_scheduled = event.activity_task_timed_out_event_attributes.scheduled_event_id
        elif (
            pending_activity_id is not None
            and event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
            and event.activity_task_scheduled_event_attributes.activity_id == pending_activity_id
        ):
            failing_scheduled = event.event_id
    completed = [
        e.event_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        and (failing_scheduled is None or e.event_id < failing_scheduled)
    ]
    if not completed:
        raise RuleViolation(
            "workflow_id",
            Rule.REPAIR_NO_GOOD_POINT,
            "the workflow never completed a workflow task: nothing to reset to",
        )
    return completed[-1]


async def reset_workflow(
    client: Client, namespace: str, workflow_id: str, repair: Repair
) -> dict[str, Any]:
    """Reset the workflow's latest run to its last good point: the run goes on from there,
    the failed activity scheduled again (after the cause was fixed)."""
    description = await _describe(client, workflow_id)
    handle = client.get_workflow_handle(workflow_id, run_id=description.run_id)
    pending = list(description.raw_description.pending_activities)
    history = await handle.fetch_history()
    event_id = last_good_point(history.events, pending[0].activity_id if pending else None)
    response = await client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=namespace,
            workflow_execution=WorkflowExecution(
                workflow_id=workflow_id, run_id=description.run_id
            ),
            reason=_temporal_reason(repair),
            workflow_task_finish_event_id=event_id,
            request_id=str(uuid.uuid4()),
        )
    )
    return {"workflow_id": workflow_id, "reset_to_event": event_id, "run_id": response.run_id}


async def terminate_workflow(client: Client, workflow_id: str, repair: Repair) -> dict[str, Any]:
    description = await _describe(client, workflow_id)
    if description.status != WorkflowExecutionStatus.RUNNING:
        raise RuleViolation(
            "workflow_id",
            Rule.REPAIR_NOT_RUNNING,
            f"the workflow is {description.status.name.lower() if description.status else 'closed'}",
        )
    await client.get_workflow_handle(workflow_id, run_id=description.run_id).terminate(
        reason=_temporal_reason(repair)
    )
    return {"workflow_id": workflow_id, "run_id": description.run_id, "status": "terminated"}


async def recheck_hold(client: Client, workflow_id: str, repair: Repair) -> dict[str, Any]:
    """Ask a held issuance to check its body now instead of at its next scheduled recheck."""
    description = await _describe(client, workflow_id)
    stage = description.typed_search_attributes.get(search_attributes.STAGE)
    if (
        description.workflow_type != "ApplicationWorkflow"
        or description.status != WorkflowExecutionStatus.RUNNING
        or stage != "held"
    ):
        raise RuleViolation(
            "workflow_id",
            Rule.REPAIR_NOT_HELD,
            f"only a running application held on its body can be rechecked (this one: "
            f"{description.workflow_type}, stage {stage or 'none'})",
        )
    await client.get_workflow_handle(workflow_id, run_id=description.run_id).signal(
        RECHECK_SIGNAL, HoldRecheck(requested_by=repair.requested_by[:64])
    )
    return {"workflow_id": workflow_id, "status": "recheck requested"}


async def republish(conn: Connection, event_id: str) -> dict[str, Any]:
    """Put an outbox event back in line: the relay publishes it again, and consumers drop it
    if they had applied it already (the event id is the same)."""
    try:
        key = uuid.UUID(event_id)
    except ValueError:
        raise RuleViolation("event_id", "request.uuid", "an event id is a UUID") from None
    row = await conn.fetchrow(
        """UPDATE outbox.events SET sent_at = NULL WHERE event_id = $1
           RETURNING topic, envelope->>'event_type' AS event_type""",
        key,
    )
    if row is None:
        raise NotFound(f"no event {event_id} in the outbox")
    return {
        "event_id": event_id,
        "topic": row["topic"],
        "event_type": row["event_type"],
        "status": "queued",
    }
