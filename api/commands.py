"""Sending commands to workflows and turning their refusals into the API's 422 shape."""

from __future__ import annotations

from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from policy.errors import NotFound, RuleViolation
from policy.rule_ids import Rule
from workflows.rules import rule_violations_from

_Arg = TypeVar("_Arg")
_Result = TypeVar("_Result")


async def execute_update(
    client: Client,
    workflow_id: str,
    update: UpdateMethodMultiParam[[Any, _Arg], _Result],
    arg: _Arg,
    *,
    what: str,
    update_id: str | None = None,
) -> _Result:
    """Run ``update`` (a workflow's update method) on ``workflow_id``; a refused command
    raises the rules it broke. Typed by the method: the argument must be the update's, and
    the answer is the update's result, so a changed update fails mypy, not a request.

    With ``update_id``, an update the workflow already completed under that id is not run
    again: Temporal answers with its first result (an import batch retried after a crash)."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await handle.execute_update(update, arg, id=update_id)
    except WorkflowUpdateFailedError as exc:
        violations = rule_violations_from(exc)
        if violations is not None:
            raise violations from None
        raise
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            if "completed" in exc.message:
                raise RuleViolation(
                    what, Rule(f"{what}.closed"), f"the {what} is closed and takes no more commands"
                ) from None
            raise NotFound(f"no {what} with this id") from None
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
