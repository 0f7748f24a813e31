"""The AsyncAPI document of the event contract, generated from the code.

It is committed as ``asyncapi.json``; a test regenerates it and fails when the code and the
committed contract drift apart (regenerate with ``skillflow asyncapi --output asyncapi.json``),
and another parses it with the official AsyncAPI parser.

FastStream describes the broker: the consumers' subscriptions and the dead-letter publishers.
It sees each subscription as a batch of raw envelopes (the delivery layer parses records
itself, so one bad record cannot fail a batch), so the document is completed here from the
event catalogue, for a team that has only the document:

* every event type is a named message (``CertificateIssued``, titled ``certificate.issued``)
  whose payload is the envelope with that event's payload schema;
* one send operation per topic (``skills.certificate:publish``) lists every event SkillFlow
  publishes there;
* each consumer's receive operations list the messages it applies (its handlers' payload
  classes), instead of one anonymous ``SubscribeMessage``.
"""

from __future__ import annotations

import json
from typing import Any

from faststream.specification import AsyncAPI
from temporalio.client import Client

from consumers.app import ConsumerDependencies, ConsumerRuntime, build_broker, build_consumers
from consumers.delivery import Consumer
from consumers.dispatch import payload_types
from schemas.events import EVENT_CATALOG, EventPayload
from schemas.topics import Topic
from skillflow.settings import Settings

_SCHEMAS = "#/components/schemas/"
_MESSAGES = "#/components/messages/"
# Kafka message binding: the record key is the person key, so one worker's events keep
# their order on one partition.
_KEY_BINDING = {
    "kafka": {
        "bindingVersion": "0.4.0",
        "key": {
            "type": "string",
            "description": "the envelope's person_key; its correlation_id for an event about "
            "no worker",
        },
    }
}


def asyncapi_document() -> str:
    settings = Settings()
    # Only the subscriptions' shapes matter here: no connection is made.
    deps = ConsumerDependencies(settings, temporal=_UnconnectedClient())  # type: ignore[arg-type]
    consumers = build_consumers(deps)
    broker = build_broker(ConsumerRuntime(settings=settings), consumers)
    spec = AsyncAPI(
        broker,
        title="SkillFlow events",
        version="1",
        description=(
            "Every event is an EventEnvelope (event_id, event_type, schema_version, occurred_at, "
            "producer, correlation_id, person_key, payload), keyed by person_key, on one topic "
            "per domain. Each event type is a message of its own: the envelope with that "
            "event's payload. The `:publish` operations list what SkillFlow publishes on each "
            "topic; the `:consume` ones what its records and incentive services apply."
        ),
    ).to_specification()
    document: dict[str, Any] = spec.to_jsonable()
    _add_event_messages(document)
    _add_publish_operations(document)
    for consumer in consumers:
        _name_consumed_messages(document, consumer)
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)


def _message_name(payload: type[EventPayload]) -> str:
    return payload.__name__


def _add_event_messages(document: dict[str, Any]) -> None:
    schemas: dict[str, Any] = document["components"]["schemas"]
    messages: dict[str, Any] = document["components"].setdefault("messages", {})
    for event_type, payload in sorted(EVENT_CATALOG.items()):
        name = _message_name(payload)
        payload_schema = payload.model_json_schema(ref_template=_SCHEMAS + "{model}")
        for nested, schema in payload_schema.pop("$defs", {}).items():
            if schemas.setdefault(nested, schema) != schema:
                raise ValueError(f"two different schemas are named {nested}")
        schemas[name] = payload_schema
        schemas[f"{name}Event"] = {
            "title": f"{event_type} event",
            "allOf": [
                {"$ref": _SCHEMAS + "EventEnvelope"},
                {
                    "type": "object",
                    "required": ["event_type", "schema_version", "payload"],
                    "properties": {
                        "event_type": {"const": event_type},
                        "schema_version": {"const": payload.schema_version},
                        "payload": {"$ref": _SCHEMAS + name},
                    },
                },
            ],
        }
        summary = (payload.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        messages[name] = {
            "name": name,
            "title": event_type,
            "contentType": "application/json",
            "payload": {"$ref": f"{_SCHEMAS}{name}Event"},
            "correlationId": {"location": "$message.payload#/correlation_id"},
            "bindings": _KEY_BINDING,
            **({"summary": summary} if summary else {}),
        }


def _on_topic(topic: str) -> list[type[EventPayload]]:
    return [payload for _, payload in sorted(EVENT_CATALOG.items()) if payload.topic == topic]


def _add_publish_operations(document: dict[str, Any]) -> None:
    servers = [{"$ref": f"#/servers/{name}"} for name in document.get("servers", {})]
    for topic in Topic:
        channel_id = f"{topic.value}:publish"
        names = [_message_name(payload) for payload in _on_topic(topic)]
        document["channels"][channel_id] = {
            "address": topic.value,
            "title": f"{topic.value}:publish",
            "description": f"Events SkillFlow publishes on {topic.value}",
            "messages": {name: {"$ref": _MESSAGES + name} for name in names},
            "bindings": {"kafka": {"bindingVersion": "0.4.0", "topic": topic.value}},
            "servers": servers,
        }
        document["operations"][channel_id] = {
            "action": "send",
            "title": f"{topic.value}:publish",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{name}"} for name in names],
        }


def _name_consumed_messages(document: dict[str, Any], consumer: Consumer) -> None:
    """Each of the consumer's channels lists the messages it applies from that topic."""
    handled = payload_types(consumer.handlers)
    components = document["components"]
    components["schemas"].pop(f"{consumer.name}:consume:Message:Payload", None)
    for topic in consumer.topics:
        channel_id = f"{consumer.name}:consume:{topic}"
        channel = document["channels"][channel_id]
        for anonymous in channel["messages"].values():
            components["messages"].pop(anonymous["$ref"].removeprefix(_MESSAGES), None)
        names = [_message_name(p) for p in handled if p.topic == topic]
        channel["messages"] = {name: {"$ref": _MESSAGES + name} for name in names}
        document["operations"][f"{channel_id}Subscribe"]["messages"] = [
            {"$ref": f"#/channels/{channel_id}/messages/{name}"} for name in names
        ]


class _UnconnectedClient:
    """Stands in for the Temporal client when only the document is wanted."""


__all__ = ["Client", "asyncapi_document"]
