"""The AsyncAPI document of the event contract, generated from the consumers' broker.

It is committed as ``asyncapi.json``; a test regenerates it and fails when the code and the
committed contract drift apart (regenerate with ``skillflow asyncapi --output asyncapi.json``).
"""

from __future__ import annotations

import json

from faststream.specification import AsyncAPI
from temporalio.client import Client

from consumers.app import ConsumerDependencies, ConsumerRuntime, build_broker, build_consumers
from skillflow.settings import Settings


def asyncapi_document() -> str:
    settings = Settings()
    # Only the subscriptions' shapes matter here: no connection is made.
    deps = ConsumerDependencies(settings, temporal=_UnconnectedClient())  # type: ignore[arg-type]
    broker = build_broker(ConsumerRuntime(settings=settings), build_consumers(deps))
    spec = AsyncAPI(
        broker,
        title="SkillFlow events",
        version="1",
        description=(
            "Every event is an EventEnvelope (event_id, event_type, schema_version, occurred_at, "
            "producer, correlation_id, person_key, payload), keyed by person_key. Payload types per "
            "event_type are listed under x-event-catalog."
        ),
    ).to_specification()
    document = spec.to_jsonable()
    document["x-event-catalog"] = _event_catalog()
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)


def _event_catalog() -> dict[str, object]:
    from schemas import payloads  # noqa: F401  (registers every payload type)
    from schemas.events import EVENT_CATALOG

    return {
        event_type: {
            "topic": payload.topic.value,
            "schema_version": payload.schema_version,
            "payload": payload.model_json_schema(),
        }
        for event_type, payload in sorted(EVENT_CATALOG.items())
    }


class _UnconnectedClient:
    """Stands in for the Temporal client when only the document is wanted."""


__all__ = ["Client", "asyncapi_document"]
