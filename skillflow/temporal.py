"""Connecting to Temporal, the namespace set-up every environment needs, and commanding a
workflow from outside it (the API's routes, an import batch) with its refusals as rules."""

from __future__ import annotations

from typing import Any, TypeVar

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.workflow import UpdateMethodMultiParam

from policy.errors import NotFound, RuleViolation
from policy.rule_ids import Rule
from skillflow import codec
from skillflow.settings import Settings
from workflows import search_attributes
from workflows.rules import rule_violations_from


def data_converter(settings: Settings) -> DataConverter:
    """Pydantic payloads encrypted with the settings' key ring: every client, worker, test
    environment and replayer uses this one, so nothing reaches Temporal in clear."""
    return codec.data_converter(settings.key_ring)


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
    )


async def ensure_search_attributes(client: Client, namespace: str) -> list[str]:
    """Register the custom search attributes that are missing; returns the names added."""
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    # The SDK's indexed-value enum carries the same numbers as the API's.
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
        for key in search_attributes.ALL
        if key.name not in existing.custom_attributes
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
    return sorted(missing)


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox, with our pure packages passed through (they are deterministic and
    re-importing pydantic models per workflow run would be slow)."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(
            "schemas", "policy", "pydantic"
        )
    )


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
