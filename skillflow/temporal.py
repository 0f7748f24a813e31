"""Connecting to Temporal, and the namespace set-up every environment needs."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from skillflow import codec
from skillflow.settings import Settings
from workflows import search_attributes


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
