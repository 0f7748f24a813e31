"""The event envelope and the catalog of event types.

Every event the service publishes is an :class:`EventEnvelope`. The payload is typed per
``event_type`` (see :data:`EVENT_CATALOG`); consumers read the envelope first and parse only
the payloads they handle, each by its class (``consumers/dispatch.py``), so a payload they do
not know yet does not stop them. :func:`parse_payload` parses any catalogued one.

Events never carry an ID number: the worker is named by ``person_key``, a keyed HMAC of it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from schemas.topics import Topic

# uuid5 namespace for event ids: the same business fact always gets the same id, so a
# retried activity or a replayed workflow can never publish a second, different event.
EVENT_ID_NAMESPACE = uuid.UUID("5c1f3e0a-8a53-4f5e-9d0e-6b2f1f8e6a10")

PERSON_KEY_PATTERN = r"^[0-9a-f]{64}$"


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must be timezone-aware (UTC)")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_utc)]
PersonKey = Annotated[str, Field(pattern=PERSON_KEY_PATTERN, description="HMAC-SHA256 hex")]


def event_id_for(event_type: str, business_key: str) -> uuid.UUID:
    """The deterministic id of the event ``event_type`` about ``business_key``."""
    return uuid.uuid5(EVENT_ID_NAMESPACE, f"{event_type}|{business_key}")


class EventPayload(BaseModel):
    """Base of every payload: strict, frozen, and tied to one event type and topic."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    event_type: ClassVar[str]
    topic: ClassVar[Topic]
    schema_version: ClassVar[int] = 1


class EventEnvelope(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "event_id": "0b8c1d4e-51a4-5c5b-9f64-1f6a2b3c4d5e",
                    "event_type": "certificate.issued",
                    "schema_version": 1,
                    "occurred_at": "2026-11-22T08:00:00Z",
                    "producer": "skillflow.certification",
                    "correlation_id": "cert-S0001-2026-0042-3f2a",
                    "person_key": "3f2a" + "0" * 60,
                    "payload": {"certificate_number": "S000121000001265000042"},
                }
            ]
        },
    )

    event_id: uuid.UUID
    event_type: str = Field(pattern=r"^[a-z_]+(\.[a-z_]+)+$", examples=["certificate.issued"])
    schema_version: int = Field(ge=1)
    occurred_at: AwareDatetime
    producer: str = Field(min_length=1)
    correlation_id: str = Field(min_length=1, description="the workflow id (or request id)")
    person_key: PersonKey | None = Field(
        description="the worker this event is about; None for events about a body or session"
    )
    payload: dict[str, Any]

    @property
    def message_key(self) -> bytes:
        """Kafka message key: the person, so one worker's events stay in order."""
        return (self.person_key or self.correlation_id).encode()

    @property
    def topic(self) -> Topic:
        return EVENT_CATALOG[self.event_type].topic


PayloadT = TypeVar("PayloadT", bound=EventPayload)

EVENT_CATALOG: dict[str, type[EventPayload]] = {}


def register_event(payload_type: type[PayloadT]) -> type[PayloadT]:
    """Class decorator that adds a payload type to the catalog (one type, one place)."""
    existing = EVENT_CATALOG.get(payload_type.event_type)
    if existing is not None and existing is not payload_type:
        raise ValueError(f"event type {payload_type.event_type} registered twice")
    EVENT_CATALOG[payload_type.event_type] = payload_type
    return payload_type


def build_event(
    payload: EventPayload,
    *,
    business_key: str,
    occurred_at: datetime,
    producer: str,
    correlation_id: str,
    person_key: str | None,
) -> EventEnvelope:
    """Wrap ``payload`` in an envelope whose id is derived from ``business_key``."""
    if payload.event_type not in EVENT_CATALOG:
        raise ValueError(f"event type {payload.event_type} is not in the catalog")
    return EventEnvelope(
        event_id=event_id_for(payload.event_type, business_key),
        event_type=payload.event_type,
        schema_version=payload.schema_version,
        occurred_at=occurred_at,
        producer=producer,
        correlation_id=correlation_id,
        person_key=person_key,
        payload=payload.model_dump(mode="json"),
    )


def workflow_event(
    payload: EventPayload,
    producer: str,
    workflow_id: str,
    business_key: str,
    occurred_at: datetime,
    person_key: str | None = None,
) -> EventEnvelope:
    """An event a workflow's step publishes: correlated with the workflow (its id)."""
    return build_event(
        payload,
        business_key=business_key,
        occurred_at=occurred_at,
        producer=producer,
        correlation_id=workflow_id,
        person_key=person_key,
    )


def parse_payload(envelope: EventEnvelope) -> EventPayload:
    """The typed payload of ``envelope``; KeyError for an event type this code does not know."""
    payload_type = EVENT_CATALOG[envelope.event_type]
    return payload_type.model_validate(envelope.payload, strict=False)


# The catalog is filled by the payload module; importing it here means any code holding an
# envelope can route and parse it. (Placed last: payloads imports the names above.)
from schemas import payloads as _payloads  # noqa: E402, F401
