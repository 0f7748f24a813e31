"""The filing workflow: decision, suspension, reinstatement, revocation, quality review."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError

from policy.rule_ids import Rule
from schemas import payloads
from schemas.evaluation_body import (
    AwaitFiled,
    BodyDecision,
    BodyFiling,
    BodyRun,
    BodyStatusChange,
    QualityReview,
    QualitySampleRequest,
    ScopeEntry,
)
from schemas.workflow_ids import body_workflow_id
from tests.workflow.conftest import Harness
from workflows.evaluation_body import EvaluationBodyWorkflow
from workflows.rules import rule_violations_from


def filing(harness: Harness, body_type: str = "S", pass_mark: int | None = None) -> BodyFiling:
    return BodyFiling(
        body_id=harness.unique(body_type),
        body_type=body_type,  # type: ignore[arg-type]
        name="辽宁省职业技能鉴定中心",
        province_code="21",
        site_serial="000001",
        scope=[ScopeEntry(occupation_code="6-20-01-01", level=5)],
        pass_mark=pass_mark,
    )


async def filed(harness: Harness, body_type: str = "S") -> Any:
    body = filing(harness, body_type)
    return await harness.start(
        EvaluationBodyWorkflow.run, BodyRun(filing=body), body_workflow_id(body.body_id)
    )


async def rule_of(coroutine: Any) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await coroutine
    violations = rule_violations_from(caught.value)
    assert violations is not None
    return violations.violations[0].rule


async def test_await_filed_answers_once_the_filing_is_recorded(harness: Harness) -> None:
    handle = await filed(harness)
    state = await handle.execute_update(EvaluationBodyWorkflow.await_filed, AwaitFiled())
    assert state.status == "submitted"
    assert harness.store.event_types() == [payloads.BodyFiled.event_type]


async def test_approved_filing_becomes_active_with_a_receipt(harness: Harness) -> None:
    handle = await filed(harness)
    state = await handle.execute_update(EvaluationBodyWorkflow.decide, BodyDecision(approve=True))
    assert state.status == "active"
    assert state.filing_receipt
    assert harness.store.event_types() == [
        payloads.BodyFiled.event_type,
        payloads.BodyApproved.event_type,
    ]


async def test_rejection_needs_a_reason_and_ends_the_filing(harness: Harness) -> None:
    handle = await filed(harness)
    assert (
        await rule_of(
            handle.execute_update(EvaluationBodyWorkflow.decide, BodyDecision(approve=False))
        )
        == Rule.BODY_REJECTION_REASON
    )
    await handle.execute_update(
        EvaluationBodyWorkflow.decide, BodyDecision(approve=False, reason="no examiners on file")
    )
    result = await handle.result()
    assert result.status == "rejected"
    assert result.reason == "no examiners on file"


async def test_only_an_active_filing_is_suspended(harness: Harness) -> None:
    handle = await filed(harness)
    rule = await rule_of(
        handle.execute_update(
            EvaluationBodyWorkflow.change_status, BodyStatusChange(action="suspend", reason="x")
        )
    )
    assert rule == Rule.BODY_CANNOT_SUSPEND


async def test_suspend_reinstate_revoke(harness: Harness) -> None:
    handle = await filed(harness)
    await handle.execute_update(EvaluationBodyWorkflow.decide, BodyDecision(approve=True))
    for action, status in (
        ("suspend", "suspended"),
        ("reinstate", "active"),
        ("suspend", "suspended"),
    ):
        state = await handle.execute_update(
            EvaluationBodyWorkflow.change_status,
            BodyStatusChange(action=action, reason="audit"),  # type: ignore[arg-type]
        )
        assert state.status == status
    await handle.execute_update(
        EvaluationBodyWorkflow.change_status, BodyStatusChange(action="revoke", reason="fraud")
    )
    assert (await handle.result()).status == "revoked"
    # Each transition has its own event id, so a second suspension is a second event.
    assert harness.store.event_types().count(payloads.BodySuspended.event_type) == 2


async def test_failed_quality_review_suspends_an_enterprise(harness: Harness) -> None:
    handle = await filed(harness, "Y")
    await handle.execute_update(EvaluationBodyWorkflow.decide, BodyDecision(approve=True))
    harness.store.certificates.update({f"a{i}": f"Y0000210000012652{i:05d}" for i in range(20)})
    sample = await handle.execute_update(
        EvaluationBodyWorkflow.quality_sample, QualitySampleRequest()
    )
    # 10 % of 20 under the default policy.
    assert len(sample.certificate_numbers) == 2
    state = await handle.execute_update(
        EvaluationBodyWorkflow.quality_review,
        QualityReview(
            certificate_number=sample.certificate_numbers[0],
            passed=False,
            finding="practical score sheet missing",
            suspend=True,
        ),
    )
    assert state.status == "suspended"
    assert "quality review" in (state.reason or "")


async def test_review_of_an_unsampled_certificate_is_refused(harness: Harness) -> None:
    handle = await filed(harness, "Y")
    await handle.execute_update(EvaluationBodyWorkflow.decide, BodyDecision(approve=True))
    rule = await rule_of(
        handle.execute_update(
            EvaluationBodyWorkflow.quality_review,
            QualityReview(certificate_number="Y" + "0" * 21, passed=True, finding="ok"),
        )
    )
    assert rule == Rule.QUALITY_NOT_SAMPLED


async def test_quality_sampling_is_for_enterprises(harness: Harness) -> None:
    handle = await filed(harness, "S")
    await handle.execute_update(EvaluationBodyWorkflow.decide, BodyDecision(approve=True))
    rule = await rule_of(
        handle.execute_update(EvaluationBodyWorkflow.quality_sample, QualitySampleRequest())
    )
    assert rule == Rule.QUALITY_ENTERPRISE_ONLY
