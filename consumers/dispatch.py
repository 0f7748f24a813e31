"""A consumer's handlers, keyed by payload class.

A handler is declared for the payload class it applies (``handlers.on(CertificateIssued,
on_certificate_issued)``) and receives the payload validated into that class, so no handler
parses or checks its own event. The table it builds is what the exactly-once delivery
(``consumers/delivery.py``) dispatches on, and what the AsyncAPI document lists as the
messages each consumer receives.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from pydantic import TypeAdapter

from consumers.delivery import BatchHandler, Consumer, Handler
from schemas.events import EVENT_CATALOG, EventEnvelope, EventPayload
from schemas.topics import Topic
from store.database import Connection

P = TypeVar("P", bound=EventPayload)
PayloadHandler = Callable[[Connection, EventEnvelope, P], Awaitable[None]]
"""Applies one event, given with its payload, inside the caller's transaction."""
BatchPayloadHandler = Callable[[Connection, list[tuple[EventEnvelope, P]]], Awaitable[None]]
"""Applies a run of events of one type, each with its payload, with set-based statements."""


class PayloadHandlers:
    def __init__(self) -> None:
        self._by_event_type: dict[str, Handler] = {}
        self._batches: dict[str, BatchHandler] = {}

    def on(self, payload_type: type[P], handler: PayloadHandler[P]) -> PayloadHandlers:
        """Apply events of ``payload_type`` with ``handler``; one handler per event type."""
        event_type = payload_type.event_type
        if event_type in self._by_event_type:
            raise ValueError(f"{event_type} has a handler already")
        # The envelope was parsed for the delivery; the payload is validated here, once, by
        # its own class (lax: JSON has no dates), so a malformed one is refused by name.
        validate = payload_type.model_validate

        async def handle(conn: Connection, event: EventEnvelope) -> None:
            await handler(conn, event, validate(event.payload, strict=False))

        handle.__name__ = getattr(handler, "__name__", event_type)
        self._by_event_type[event_type] = handle
        return self

    def in_batches(self, payload_type: type[P], handler: BatchPayloadHandler[P]) -> PayloadHandlers:
        """Also apply runs of ``payload_type`` events with ``handler``: the hot path of a
        busy topic. The one-event handler given to ``on`` stays, for a refused batch."""
        event_type = payload_type.event_type
        if event_type not in self._by_event_type:
            raise ValueError(f"{event_type} needs its one-event handler first")
        # One validator call for the run; one bad payload refuses the run, and the delivery
        # then applies it one event at a time, where ``on``'s handler refuses that one alone.
        validate = TypeAdapter(list[payload_type]).validate_python  # type: ignore[valid-type]

        async def handle(conn: Connection, events: Sequence[EventEnvelope]) -> None:
            payloads = validate([e.payload for e in events], strict=False)
            await handler(conn, list(zip(events, payloads, strict=True)))

        self._batches[event_type] = handle
        return self

    def consumer(self, name: str, *topics: Topic | str) -> Consumer:
        """Consumer group ``name`` reading ``topics`` with these handlers."""
        return Consumer(
            name=name,
            topics=topics,
            handlers=self.by_event_type(),
            batch_handlers=self.batches_by_event_type(),
        )

    def by_event_type(self) -> Mapping[str, Handler]:
        return dict(self._by_event_type)

    def batches_by_event_type(self) -> Mapping[str, BatchHandler]:
        return dict(self._batches)


def payload_types(handlers: Mapping[str, Handler]) -> list[type[EventPayload]]:
    """The payload classes a consumer's handlers apply, in catalogue order."""
    return [payload for event_type, payload in EVENT_CATALOG.items() if event_type in handlers]
