"""Wiring of the incentive consumer; its handlers live beside this module."""

from __future__ import annotations

from temporalio.client import Client

from consumers.delivery import Consumer
from schemas.topics import Topic
from skillflow.settings import Settings


def incentives_consumer(settings: Settings, temporal: Client) -> Consumer:
    return Consumer(
        name="incentives",
        topics=(
            Topic.REGISTRATION,
            Topic.ASSESSMENT,
            Topic.CERTIFICATE,
            Topic.COMPETITION,
            Topic.INCENTIVE,
        ),
        handlers={},
    )
