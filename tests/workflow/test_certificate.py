"""Revocation and the no-exam promotion path."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from schemas import payloads
from schemas.certificate import RevocationRequest
from schemas.commands import PromotionCertificationRequest
from schemas.workflow_ids import promotion_workflow_id, revocation_workflow_id
from tests.workflow.conftest import FakeBody, Harness
from workflows.certificate import CertificateRevocationWorkflow
from workflows.promotion import PromotionCertificationWorkflow


def promotion(harness: Harness, body: str = "S-P", level: int = 3) -> PromotionCertificationRequest:
    return PromotionCertificationRequest(
        promotion_id=harness.unique("promo"),
        person_key="b" * 64,
        holder_name_masked="王*",
        competition_id="c-2026-liaoning-1",
        occupation_code="6-18-02-04",
        to_level=level,
        issuing_body_id=body,
        granted_on=date(2026, 11, 1),
        correlation_id="evt-1",
    )


async def promotion_started(harness: Harness, body_status: str, scope: str = "6-18-02-04:3") -> Any:
    """A level-3 promotion certified by body S-P, whose filing is ``body_status`` for ``scope``."""
    harness.store.bodies["S-P"] = FakeBody("S", body_status, [scope])
    request = promotion(harness)
    return await harness.start(
        PromotionCertificationWorkflow.run, request, promotion_workflow_id(request.promotion_id)
    )


async def test_promotion_is_certified_without_an_exam(harness: Harness) -> None:
    handle = await promotion_started(harness, "active")
    result = await handle.result()
    assert result.status == "issued"
    assert result.certificate_number[0] == "S"
    assert harness.store.event_types() == [payloads.CertificateIssued.event_type]


async def test_promotion_outside_the_body_scope_is_withheld(harness: Harness) -> None:
    handle = await promotion_started(harness, "active", scope="6-18-02-04:4")
    result = await handle.result()
    assert result.status == "out_of_scope"
    assert harness.store.event_types() == [payloads.CertificateWithheld.event_type]


async def test_promotion_by_a_suspended_body_waits_for_reinstatement(harness: Harness) -> None:
    handle = await promotion_started(harness, "suspended")
    await harness.env.sleep(timedelta(days=10))
    assert harness.store.event_types() == []  # neither issued nor withheld while suspended
    harness.store.bodies["S-P"].status = "active"

    result = await handle.result()

    assert result.status == "issued"
    assert harness.store.event_types() == [payloads.CertificateIssued.event_type]


async def test_promotion_by_a_body_revoked_while_suspended_is_withheld(harness: Harness) -> None:
    handle = await promotion_started(harness, "suspended")
    await harness.env.sleep(timedelta(days=3))
    harness.store.bodies["S-P"].status = "revoked"

    assert (await handle.result()).status == "body_revoked"
    assert harness.store.event_types() == [payloads.CertificateWithheld.event_type]


async def revocation_started(harness: Harness, number: str) -> Any:
    return await harness.start(
        CertificateRevocationWorkflow.run,
        RevocationRequest(certificate_number=number, reason="altered scores"),
        revocation_workflow_id(number),
    )


async def test_revocation(harness: Harness) -> None:
    harness.store.certificates["app-1"] = "S000021000001265000001"
    handle = await revocation_started(harness, "S000021000001265000001")
    result = await handle.result()
    assert result.status == "revoked"
    assert harness.store.event_types() == [payloads.CertificateRevoked.event_type]


async def test_revoking_an_unknown_number(harness: Harness) -> None:
    handle = await revocation_started(harness, "S000021000001265999999")
    assert (await handle.result()).status == "unknown"
