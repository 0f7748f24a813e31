"""Wiring of the incentive consumer; its handlers live beside this module."""

from __future__ import annotations

from temporalio.client import Client

from consumers.delivery import Consumer, Handler
from consumers.incentives.candidates import candidate_handlers
from consumers.incentives.promotions import on_certificate_withheld, promotion_handler
from consumers.incentives.rewards import on_competition_result
from consumers.incentives.subsidies import (
    on_certificate_imported,
    on_certificate_issued,
    on_certificate_revoked,
)
from schemas.topics import Topic
from skillflow.settings import Settings


def incentives_consumer(settings: Settings, temporal: Client) -> Consumer:
    handlers: dict[str, Handler] = {
        **candidate_handlers(),
        "certificate.issued": on_certificate_issued,
        "certificate.revoked": on_certificate_revoked,
        "certificate.imported": on_certificate_imported,
        "certificate.withheld": on_certificate_withheld,
        "competition.result_recorded": on_competition_result,
        "promotion.granted": promotion_handler(temporal, settings.task_queue),
    }
    return Consumer(
        name="incentives",
        topics=(
            Topic.REGISTRATION,
            Topic.ASSESSMENT,
            Topic.CERTIFICATE,
            Topic.COMPETITION,
            Topic.INCENTIVE,
        ),
        handlers=handlers,
    )
