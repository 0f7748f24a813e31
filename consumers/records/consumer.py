"""Wiring of the records consumer; its handlers live beside this module."""

from __future__ import annotations

from consumers.delivery import Consumer
from consumers.records.archive import archive_handlers
from schemas.topics import Topic
from skillflow.settings import Settings


def records_consumer(settings: Settings) -> Consumer:
    return archive_handlers().consumer(
        "records",
        Topic.REGISTRATION,
        Topic.ASSESSMENT,
        Topic.CERTIFICATE,
        Topic.EVALUATION_BODY,
        Topic.COMPETITION,
        Topic.INCENTIVE,
    )
