"""What the read routes answer, as models: the OpenAPI document then says what a caller
gets, and a response that drifts from it fails the schema checks (tests/integration/
test_api_schema.py) instead of surprising a client."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from schemas.application import Stage
from schemas.evaluation_body import BodyStatus, BodyType, SubLevel
from schemas.exam_session import SessionStatus

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


class SessionApplication(BaseModel):
    """One line of a session's list: a masked name, never an ID number."""

    application_id: str
    holder_name_masked: str
    stage: Stage
    stage_rule: str | None
    scores: dict[str, float]
    attempts: dict[str, int]
    notice_ends_on: date | None
    resit_deadline: date | None
    certificate_number: str | None


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


class ApplicationView(BaseModel):
    application_id: str
    session_id: str
    body_id: str
    occupation_code: str
    level: int
    holder_name_masked: str
    relationship: str
    sub_level: str | None
    eligibility_path: str
    stage: Stage
    stage_rule: str | None
    stage_reason: str | None
    scores: dict[str, float]
    attempts: dict[str, int]
    notice_ends_on: date | None
    resit_deadline: date | None
    certificate_number: str | None
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
