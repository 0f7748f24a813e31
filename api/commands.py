"""Sending commands to workflows and turning their refusals into the API's 422 shape."""

from __future__ import annotations

from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from policy.errors import RuleViolation
from workflows.rules import rule_violations_from

T = TypeVar("T")


async def execute_update(
    client: Client, workflow_id: str, update: Any, arg: Any, *, what: str
) -> Any:
    """Run ``update`` on ``workflow_id``; a refused command raises the rules it broke."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await handle.execute_update(update, arg)
    except WorkflowUpdateFailedError as exc:
        violations = rule_violations_from(exc)
        if violations is not None:
            raise violations from None
        raise
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            if "completed" in exc.message:
                raise RuleViolation(
                    what, f"{what}.closed", f"the {what} is closed and takes no more commands"
                ) from None
            raise LookupError(f"no {what} with this id") from None
        raise


async def failure_of(client: Client, workflow_id: str) -> None:
    """Raise the rules a workflow failed on (e.g. the open-session activity refused)."""
    try:
        await client.get_workflow_handle(workflow_id).result()
    except WorkflowFailureError as exc:
        violations = rule_violations_from(exc)
        if violations is not None:
            raise violations from None
        raise
