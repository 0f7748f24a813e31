"""Workflow tests on the time-skipping test server, with activities replaced by in-memory
fakes: each is declared with ``fake_of(RealClass.method)``, which registers it under the
real activity's name and refuses it unless its argument and result types are the real ones."""

from __future__ import annotations

import contextlib
import typing
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.application import ApplicationActivities
from activities.certificate import CertificateActivities
from activities.evaluation_body import EvaluationBodyActivities
from activities.exam_session import ExamSessionActivities
from activities.registration import RegistrationActivities
from policy.assessment import AssessmentPolicy, effective_pass_mark, load_assessment_policy
from policy.catalogue import Component, get_occupation, required_components
from policy.certificate_number import CertificateNumberParts, format_certificate_number
from policy.rule_ids import Rule
from schemas import payloads
from schemas.application import (
    AssessmentRecord,
    CorrectionRecord,
    ObjectionRecord,
    ResolutionRecord,
    ReviewOutcome,
    ReviewRecord,
    StageRecord,
)
from schemas.certificate import (
    IssueRequest,
    IssueResult,
    RevocationRecord,
    RevocationResult,
    WithholdingRecord,
)
from schemas.evaluation_body import (
    BodyFiledRecord,
    BodyStatusRecord,
    QualityReviewRecord,
    QualitySample,
    QualitySampleRecord,
)
from schemas.exam_session import OpenedSession, SessionOpenRecord, SessionStatusRecord
from skillflow.settings import Settings
from skillflow.stack.servers import temporal_test_server_binary
from skillflow.temporal import data_converter, workflow_runner
from workflows import all_workflows, search_attributes
from workflows.rules import rule_error

_P = ParamSpec("_P")
_R = TypeVar("_R")


def fake_of(
    real: Callable[Concatenate[Any, _P], Awaitable[_R]],
) -> Callable[[Callable[_P, Awaitable[_R]]], Callable[_P, Awaitable[_R]]]:
    """Declare a fake of the activity method ``real``: same name, same signature."""
    name = activity._Definition.must_from_callable(real).name
    real_types = typing.get_type_hints(real)
    real_types.pop("self", None)

    def register(fake: Callable[_P, Awaitable[_R]]) -> Callable[_P, Awaitable[_R]]:
        fake_types = typing.get_type_hints(fake)
        if fake_types != real_types:
            raise TypeError(f"fake of {name} takes/returns {fake_types}, the real {real_types}")
        return activity.defn(name=name)(fake)

    return register


@contextlib.asynccontextmanager
async def time_skipping_environment() -> AsyncIterator[WorkflowEnvironment]:
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=temporal_test_server_binary(),
        data_converter=data_converter(Settings()),
    )
    # The test server implements adding search attributes but not listing them, so the
    # set-up that skillflow.temporal does for real servers is done by hand here.
    await environment.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace="default",
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
                for key in search_attributes.ALL
            },
        )
    )
    try:
        yield environment
    finally:
        await environment.shutdown()


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    # One test server per test (it starts in about 0.1 s): the test server never releases
    # its time-skipping lock after an update its validator rejected as the workflow's last
    # command, which would leave every later test on a shared server waiting on real time.
    async with time_skipping_environment() as environment:
        yield environment


@dataclass
class FakeBody:
    body_type: str
    status: str
    scope: list[str]
    pass_mark: int | None = None


@dataclass
class FakeCertification:
    """The certification store in memory: what the activities would have written."""

    bodies: dict[str, FakeBody] = field(default_factory=dict)
    events: list[tuple[str, str]] = field(default_factory=list)
    stages: dict[str, str] = field(default_factory=dict)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    audit: list[CorrectionRecord] = field(default_factory=list)
    certificates: dict[str, str] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    serials: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    roster: int = 0
    # Approved candidates still without a first-round score (closing waits for them).
    outstanding: int = 0
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sampled: list[str] = field(default_factory=list)
    recorded_at: dict[tuple[str, str], datetime] = field(default_factory=dict)
    # What open_session records as the session's components (else the catalogue's).
    components_at_opening: tuple[Component, ...] | None = None

    def _event(self, event_type: str, key: str) -> None:
        # Deterministic ids dedupe retries: the fake keeps the first.
        if (event_type, key) not in self.events:
            self.events.append((event_type, key))

    def event_types(self) -> list[str]:
        return [event_type for event_type, _ in self.events]

    def activities(self) -> list[Callable[..., Any]]:
        @fake_of(EvaluationBodyActivities.assessment_policy)
        async def assessment_policy(version: str) -> AssessmentPolicy:
            return load_assessment_policy(version)

        @fake_of(EvaluationBodyActivities.record_body_filed)
        async def record_body_filed(record: BodyFiledRecord) -> None:
            filing = record.filing
            self.bodies.setdefault(
                filing.body_id,
                FakeBody(
                    filing.body_type,
                    "submitted",
                    [entry.key for entry in filing.scope],
                    filing.pass_mark,
                ),
            )
            self._event(payloads.BodyFiled.event_type, filing.body_id)

        @fake_of(EvaluationBodyActivities.record_body_status)
        async def record_body_status(record: BodyStatusRecord) -> None:
            self.bodies[record.body_id].status = record.status
            self._event(f"body.{record.event}", f"{record.body_id}:{record.transition}")

        @fake_of(EvaluationBodyActivities.sample_certificates)
        async def sample_certificates(record: QualitySampleRecord) -> QualitySample:
            numbers = sorted(self.certificates.values())
            count = -(-len(numbers) * record.share_pct // 100)
            self.sampled = numbers[:count]
            return QualitySample(sample_id=record.sample_id, certificate_numbers=self.sampled)

        @fake_of(EvaluationBodyActivities.record_quality_review)
        async def record_quality_review(record: QualityReviewRecord) -> None:
            if record.review.certificate_number not in self.sampled:
                raise rule_error("certificate_number", Rule.QUALITY_NOT_SAMPLED, "not sampled")

        @fake_of(ExamSessionActivities.open_session)
        async def open_session(record: SessionOpenRecord) -> OpenedSession:
            opening = record.opening
            body = self.bodies[opening.body_id]
            if body.status != "active":
                raise rule_error("body_id", Rule.BODY_NOT_ACTIVE, "not active")
            policy = load_assessment_policy(opening.policy_version)
            self._event(payloads.SessionOpened.event_type, opening.session_id)
            return OpenedSession(
                pass_mark=effective_pass_mark(policy.pass_mark, body.pass_mark),
                policy=policy,
                body_type="Y" if body.body_type == "Y" else "S",
                required_components=self.components_at_opening
                or required_components(get_occupation(opening.occupation_code), opening.level),
            )

        @fake_of(ExamSessionActivities.session_roster)
        async def session_roster(session_id: str) -> int:
            return self.roster

        @fake_of(ExamSessionActivities.first_round_outstanding)
        async def first_round_outstanding(session_id: str) -> int:
            return self.outstanding

        @fake_of(RegistrationActivities.start_unstarted_applications)
        async def start_unstarted_applications(session_id: str) -> int:
            self.calls["start_unstarted_applications"] += 1
            return 0

        @fake_of(ExamSessionActivities.record_session_status)
        async def record_session_status(record: SessionStatusRecord) -> None:
            self.stages[record.session_id] = record.status

        @fake_of(ApplicationActivities.record_review)
        async def record_review(record: ReviewRecord) -> ReviewOutcome:
            app = record.application_id
            if record.approve:
                self.stages[app] = "assessment"
                self._event(payloads.RegistrationApproved.event_type, app)
            else:
                self.stages[app] = "rejected"
                self._event(payloads.RegistrationRejected.event_type, app)
            return ReviewOutcome(recusals=0, eligibility_path="L5.years_in_occupation")

        @fake_of(ApplicationActivities.record_assessment)
        async def record_assessment(record: AssessmentRecord) -> None:
            app = record.application_id
            self.stages[app] = record.stage
            self.scores[app] = dict(record.scores)
            self.recorded_at[(app, f"scored-{record.stage}")] = record.occurred_at
            for entry in record.entered:
                self._event(
                    payloads.ComponentScored.event_type, f"{app}:{entry.component}:{entry.attempt}"
                )
            if record.outcome == "passed":
                self._event(payloads.AssessmentPassed.event_type, f"{app}:passed:{record.round}")
                self._event(payloads.PublicNoticeStarted.event_type, f"{app}:{record.round}")
            elif record.outcome == "failed":
                self._event(payloads.AssessmentFailed.event_type, f"{app}:failed:{record.round}")

        @fake_of(ApplicationActivities.record_correction)
        async def record_correction(record: CorrectionRecord) -> None:
            self.audit.append(record)
            self._event(
                payloads.ScoreCorrected.event_type,
                f"{record.application_id}:{record.correction.correction_id}",
            )

        @fake_of(ApplicationActivities.record_objection)
        async def record_objection(record: ObjectionRecord) -> None:
            self.stages[record.application_id] = "objection"
            self._event(
                payloads.ObjectionRaised.event_type,
                f"{record.application_id}:{record.objection.objection_id}",
            )

        @fake_of(ApplicationActivities.record_resolution)
        async def record_resolution(record: ResolutionRecord) -> None:
            app = record.application_id
            self.stages[app] = record.stage
            self._event(
                payloads.ObjectionResolved.event_type, f"{app}:{record.resolution.objection_id}"
            )
            if record.stage == "withheld":
                self._event(payloads.CertificateWithheld.event_type, app)

        @fake_of(ApplicationActivities.record_stage)
        async def record_stage(record: StageRecord) -> None:
            app = record.application_id
            self.stages[app] = record.stage
            self.recorded_at[(app, record.stage)] = record.occurred_at
            if record.stage == "expired":
                self._event(payloads.RegistrationExpired.event_type, app)
            elif record.stage == "withheld":
                self._event(payloads.CertificateWithheld.event_type, app)

        @fake_of(CertificateActivities.issue_certificate)
        async def issue_certificate(request: IssueRequest) -> IssueResult:
            self.calls["issue_certificate"] += 1
            if request.source_id in self.certificates:
                return IssueResult(
                    status="issued", certificate_number=self.certificates[request.source_id]
                )
            body = self.bodies.get(request.body_id)
            if body is None or body.status in ("revoked", "rejected"):
                return IssueResult(status="body_revoked", reason="revoked")
            if body.status != "active":
                return IssueResult(status="body_inactive", reason=f"body is {body.status}")
            if f"{request.occupation_code}:{request.level}" not in body.scope:
                return IssueResult(status="out_of_scope", reason="out of scope")
            year = request.issued_at.year
            self.serials[(request.body_id, year)] += 1
            number = format_certificate_number(
                CertificateNumberParts(
                    body_type=body.body_type,
                    body_code="0000",
                    province_code="21",
                    site_serial="000001",
                    issue_year_yy=year % 100,
                    level=request.level,
                    serial=self.serials[(request.body_id, year)],
                )
            )
            self.certificates[request.source_id] = number
            self.recorded_at[(request.source_id, "issued")] = request.issued_at
            if request.route == "assessment":
                self.stages[request.source_id] = "issued"
            self._event(payloads.CertificateIssued.event_type, request.source_id)
            return IssueResult(
                status="issued", certificate_number=number, issued_on=request.issued_at.date()
            )

        @fake_of(CertificateActivities.record_withholding)
        async def record_withholding(record: WithholdingRecord) -> None:
            self._event(payloads.CertificateWithheld.event_type, record.source_id)

        @fake_of(CertificateActivities.revoke_certificate)
        async def revoke_certificate(record: RevocationRecord) -> RevocationResult:
            number = record.request.certificate_number
            if number not in self.certificates.values():
                return RevocationResult(status="unknown")
            if number in self.revoked:
                return RevocationResult(status="already_revoked")
            self.revoked.add(number)
            self._event(payloads.CertificateRevoked.event_type, number)
            return RevocationResult(status="revoked", revoked_on=record.occurred_at.date())

        return [
            assessment_policy,
            record_body_filed,
            record_body_status,
            sample_certificates,
            record_quality_review,
            open_session,
            session_roster,
            first_round_outstanding,
            start_unstarted_applications,
            record_session_status,
            record_review,
            record_assessment,
            record_correction,
            record_objection,
            record_resolution,
            record_stage,
            issue_certificate,
            record_withholding,
            revoke_certificate,
        ]


@dataclass
class Harness:
    client: Client
    task_queue: str
    store: FakeCertification
    env: WorkflowEnvironment
    started: list[str] = field(default_factory=list)

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    async def start(self, workflow: Any, arg: Any, workflow_id: str) -> Any:
        handle = await self.client.start_workflow(
            workflow, arg, id=workflow_id, task_queue=self.task_queue
        )
        self.started.append(workflow_id)
        return handle

    async def terminate_running(self) -> None:
        # A workflow left waiting would get timer tasks nobody polls once this test's
        # worker stops, and the shared time-skipping server would wait for them forever.
        for workflow_id in self.started:
            with contextlib.suppress(Exception):
                await self.client.get_workflow_handle(workflow_id).terminate("test over")


@pytest.fixture
async def harness(env: WorkflowEnvironment) -> AsyncIterator[Harness]:
    store = FakeCertification()
    task_queue = f"certification-{uuid.uuid4().hex[:8]}"
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=all_workflows(),
        activities=store.activities(),
        workflow_runner=workflow_runner(),
    ):
        harness = Harness(env.client, task_queue, store, env)
        try:
            yield harness
        finally:
            await harness.terminate_running()


def today() -> date:
    return date.today()
