"""Wiring of the incentive consumer; its handlers live beside this module."""

from __future__ import annotations

from temporalio.client import Client

from consumers.delivery import Consumer
from consumers.dispatch import PayloadHandlers
from consumers.incentives.candidates import candidate_handlers
from consumers.incentives.promotions import on_certificate_withheld, promotion_handler
from consumers.incentives.rewards import on_competition_result
from consumers.incentives.subsidies import (
    on_certificate_imported,
    on_certificate_issued,
    on_certificate_revoked,
)
from schemas.payloads import (
    CertificateImported,
    CertificateIssued,
    CertificateRevoked,
    CertificateWithheld,
    CompetitionResultRecorded,
    PromotionGranted,
)
from schemas.topics import Topic
from skillflow.settings import Settings


def incentives_consumer(settings: Settings, temporal: Client) -> Consumer:
    handlers = (
        candidate_handlers(PayloadHandlers())
        .on(CertificateIssued, on_certificate_issued)
        .on(CertificateRevoked, on_certificate_revoked)
        .on(CertificateImported, on_certificate_imported)
        .on(CertificateWithheld, on_certificate_withheld)
        .on(CompetitionResultRecorded, on_competition_result)
        .on(PromotionGranted, promotion_handler(temporal, settings.task_queue))
    )
    return handlers.consumer(
        "incentives",
        Topic.REGISTRATION,
        Topic.ASSESSMENT,
        Topic.CERTIFICATE,
        Topic.COMPETITION,
        Topic.INCENTIVE,
    )
