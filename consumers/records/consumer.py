"""Wiring of the records consumer; its handlers live beside this module."""

from __future__ import annotations

from consumers.delivery import Consumer
from consumers.records.archive import archive_handlers
from schemas.topics import Topic
from skillflow.settings import Settings


def records_consumer(settings: Settings) -> Consumer:
    handlers = archive_handlers()
    return Consumer(
        name="records",
        topics=(
            Topic.REGISTRATION,
            Topic.ASSESSMENT,
            Topic.CERTIFICATE,
            Topic.EVALUATION_BODY,
            Topic.COMPETITION,
            Topic.INCENTIVE,
        ),
        handlers=handlers.by_event_type(),
        batch_handlers=handlers.batches_by_event_type(),
    )
