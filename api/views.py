"""What the read routes answer, as models: the OpenAPI document then says what a caller
gets, and a response that drifts from it fails the schema checks (tests/integration/
test_api_schema.py) instead of surprising a client."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from policy.competition import Award, Category, MarkingScheme, Tier
from policy.service_levels import ServiceLevels
from schemas.application import Stage
from schemas.archive import WorkerArchive
from schemas.evaluation_body import BodyStatus, BodyType, SubLevel
from schemas.exam_session import SessionStatus
from skillflow.operations.event_flow import OutboxBacklog, PartitionLag
from skillflow.operations.waiting import LateItem

# --- exam sessions ---------------------------------------------------------------------


class SessionView(BaseModel):
    session_id: str
    body_id: str
    occupation_code: str
    level: int
    exam_date: date
    registration_closes_on: date
    capacity: int
    theory_rooms: int
    proctors: int
    policy_version: str
    pass_mark: int
    status: SessionStatus
    applications: dict[str, int] = Field(description="applications by stage")


class ApplicationProgress(BaseModel):
    """Where an application stands; a masked name, never an ID number."""

    application_id: str
    holder_name_masked: str
    stage: Stage
    stage_rule: str | None
    scores: dict[str, float]
    attempts: dict[str, int]
    notice_ends_on: date | None
    resit_deadline: date | None
    certificate_number: str | None


class SessionApplication(ApplicationProgress):
    """One line of a session's list."""


# --- applications ----------------------------------------------------------------------


class ScoreAuditEntry(BaseModel):
    correction_id: str
    component: str
    previous_score: float
    new_score: float
    reason: str
    corrected_by: str
    corrected_at: datetime


class Recusal(BaseModel):
    examiner_id: str
    reason: Literal["relative", "same_employer", "trainer"]


class ApplicationView(ApplicationProgress):
    session_id: str
    body_id: str
    occupation_code: str
    level: int
    relationship: str
    sub_level: str | None
    eligibility_path: str
    stage_reason: str | None
    submitted_at: datetime
    score_audit: list[ScoreAuditEntry]
    recusals: list[Recusal]


# --- evaluation bodies -----------------------------------------------------------------


class FilingAccepted(BaseModel):
    body_id: str
    body_type: BodyType
    status: Literal["submitted"]
    workflow_id: str


class BodyView(BaseModel):
    body_id: str
    body_type: BodyType
    name: str
    province_code: str
    body_code: str
    site_serial: str
    scope: list[str] = Field(description="occupation_code:level pairs the filing covers")
    pass_mark: int | None
    sub_levels: list[SubLevel]
    status: BodyStatus
    filing_receipt: str | None
    status_reason: str | None
    policy_version: str


class CommissionView(BaseModel):
    body_id: str
    commission_id: str
    client: str
    valid_until: date


# --- operations ------------------------------------------------------------------------


class OutboxLag(BaseModel):
    unsent: int
    total: int
    oldest_unsent_seconds: float


class ConsumerProgress(BaseModel):
    consumer: str
    processed: int
    last_applied_at: datetime | None


class OperationsOverview(BaseModel):
    outbox: OutboxLag
    consumers: list[ConsumerProgress]
    open_dead_letters: dict[str, int]
    public_calls_refused: int = Field(
        description="anonymous calls refused by the rate limit since this API process started"
    )


DeadLetterStatus = Literal["open", "replayed", "discarded"]


class DeadLetterView(BaseModel):
    id: int
    consumer: str
    topic: str
    kafka_partition: int
    kafka_offset: int
    event_id: str | None
    event_type: str | None
    error: str
    attempts: int
    status: DeadLetterStatus
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None


class DeadLetterOutcome(BaseModel):
    id: int
    status: DeadLetterStatus
    error: str | None = None
    repair_id: int | None = Field(None, description="the repair's entry in the audit log")


# --- the operator console (api/routes/console.py) ----------------------------------------
# The figures come from skillflow.operations; its dataclasses (ProcessRow, LateItem,
# PartitionLag, OutboxBacklog) are answered as they are, inside these models.


class Liveness(BaseModel):
    role: Literal["api"]
    version: str
    uptime_seconds: float
    live: Literal[True]


class WaitingWork(BaseModel):
    service_levels: ServiceLevels
    items: list[LateItem] = Field(description="past its service level, the longest wait first")


class EventsInMinute(BaseModel):
    minute: str = Field(description="the minute's start, ISO 8601")
    events_in: int = Field(alias="in", description="events written to the outbox")
    events_out: int = Field(alias="out", description="events applied by consumers")


class OutboxEventLine(BaseModel):
    """An outbox event without its payload or person key."""

    event_id: str
    event_type: str | None
    topic: str
    correlation_id: str | None
    created_at: str | None
    sent_at: str | None


class EventFlow(BaseModel):
    lag: list[PartitionLag]
    lag_error: str | None = Field(description="why the broker's lag could not be read")
    total_lag: int
    outbox: OutboxBacklog
    per_minute: list[EventsInMinute]
    open_dead_letters: dict[str, int] = Field(description="by consumer")
    latest_events: list[OutboxEventLine]


class RoleInstance(BaseModel):
    instance: str
    port: int | None
    version: str
    state: Literal["ready", "not ready", "down"]
    uptime_seconds: int | None
    last_seen_seconds_ago: float
    checks: dict[str, Any]


class RoleState(BaseModel):
    role: str
    state: Literal["ready", "not ready", "down"]
    instances: list[RoleInstance]


class RoleStates(BaseModel):
    roles: list[RoleState]
    reachability: dict[str, bool] = Field(description="what this API reaches right now")


class MinuteOfHistory(EventsInMinute):
    started: int = Field(description="workflows started")
    closed: int = Field(description="workflows closed")


class LagSample(BaseModel):
    at: str
    lag: int


class LastHour(BaseModel):
    per_minute: list[MinuteOfHistory]
    lag: list[LagSample] = Field(description="samples taken while the console was watched")


class OperationsSummary(BaseModel):
    """What ``skillflow status`` prints."""

    roles: dict[str, str] = Field(description="state by role")
    reachability: dict[str, bool]
    workflows: dict[str, int] = Field(description="by execution status")
    total_lag: int
    max_partition_lag: int
    lag_error: str | None
    late_work: int
    outbox_unsent: int
    outbox_oldest_unsent_seconds: float
    open_dead_letters: int


class RepairEntry(BaseModel):
    id: int
    action: str
    target: str
    reason: str
    requested_by: str
    requested_at: datetime
    outcome: str
    detail: dict[str, Any]


class WorkflowRepairOutcome(BaseModel):
    model_config = ConfigDict(extra="allow")

    workflow_id: str
    status: str
    repair_id: int = Field(description="the repair's entry in the audit log")


class RepublishOutcome(BaseModel):
    event_id: str
    topic: str
    event_type: str | None
    status: str
    repair_id: int = Field(description="the repair's entry in the audit log")


# --- codec and signed documents ----------------------------------------------------------


class JsonPayload(BaseModel):
    """A Temporal payload in the protobuf JSON form (empty fields left out)."""

    model_config = ConfigDict(extra="allow")

    metadata: dict[str, str] = Field(default_factory=dict, description="values base64")
    data: str = Field("", description="base64")


class CodecPayloads(BaseModel):
    payloads: list[JsonPayload]


class DataIntegrityProof(BaseModel):
    type: Literal["DataIntegrityProof"]
    cryptosuite: str
    created: str
    verificationMethod: str
    proofPurpose: str
    proofValue: str


# The JSON-LD documents keep their terms' camelCase and their key order: fields are
# declared in the order credentials/ builds them, so a document leaves the API as signed.


class VerificationMethod(BaseModel):
    id: str
    type: str
    controller: str
    publicKeyMultibase: str


class DidDocument(BaseModel):
    model_config = ConfigDict(extra="allow")

    context: list[str] = Field(alias="@context")
    id: str
    verificationMethod: list[VerificationMethod]
    assertionMethod: list[str]


class SignedCredential(BaseModel):
    """What every credential SkillFlow signs begins with."""

    model_config = ConfigDict(extra="allow")

    context: list[str] = Field(alias="@context")
    id: str
    type: list[str]


class OpenBadgeCredential(SignedCredential):
    """A certificate as a signed Open Badges 3.0 Verifiable Credential."""

    name: str
    description: str
    issuer: dict[str, Any]
    validFrom: str
    credentialSubject: dict[str, Any]
    credentialStatus: dict[str, Any]
    proof: DataIntegrityProof


class StatusListCredential(SignedCredential):
    """A body's signed revocation list (Bitstring Status List)."""

    issuer: str
    validFrom: str
    credentialSubject: dict[str, Any]
    proof: DataIntegrityProof


# --- records -------------------------------------------------------------------------------


class ArchiveExport(BaseModel):
    exported_at: datetime
    exported_by: str
    archive: WorkerArchive


# --- competitions --------------------------------------------------------------------------


class CompetitionView(BaseModel):
    competition_id: str
    name: str
    tier: Tier
    occupation_code: str
    worldskills_skill: str | None
    edition_year: int
    competed_on: date
    organiser_id: str
    issuing_body_id: str | None
    categories: list[Category]
    rule_version: str
    marking_scheme: MarkingScheme
    feeds_competition_id: str | None
    phase: str
    entries: int
    marks: int
    locked: list[str] | None = Field(description="modules signed off")


class EntryLine(BaseModel):
    """An entry by number, with a masked name (judges mark by number)."""

    entry: int
    holder_name_masked: str
    category: Category
    source: Literal["open", "advanced", "nominated"]
    status: Literal["entered", "withdrawn"]


class NominationsRecorded(BaseModel):
    recorded: int = Field(description="nominees not recorded before")


class JudgeAssigned(BaseModel):
    judge_id: str
    aspects: list[str]
    recusals: int = Field(description="conflicts with the field recorded now")


class JudgeAssignment(BaseModel):
    judge_id: str = Field(description="the name marks are entered under")
    aspects: list[str]
    recused_for_entries: list[int]


class MarkCorrected(BaseModel):
    entry: int
    aspect_id: str
    previous_value: str


class MarkAuditEntry(BaseModel):
    entry: int
    aspect_id: str
    judge_id: str
    kind: Literal["remark", "correction"]
    previous_value: str
    new_value: str
    reason: str
    changed_by: str
    changed_at: datetime


class LeaderboardLine(BaseModel):
    category: Category
    rank: int
    entry: int
    holder_name_masked: str
    total: str = Field(description="a decimal, as text")


class PublishedResult(BaseModel):
    entry: int
    holder_name_masked: str
    category: Category
    rank: int
    field_size: int
    total: str = Field(description="a decimal, as text")
    scale_score: int | None
    award: Award
    titles: list[str]
    promoted_to: int | None
    advanced: bool


# --- incentives ------------------------------------------------------------------------


class RewardView(BaseModel):
    competition_id: str
    tier: str
    medal: str
    amount_fen: int
    rule_version: str
    competed_on: date


class PromotionView(BaseModel):
    promotion_id: str
    competition_id: str
    occupation_code: str
    to_level: int
    granted_on: date
    status: str
    rule: str | None
    rule_version: str
    workflow_id: str | None
