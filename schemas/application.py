"""Inputs, commands and answers of the per-candidate application workflow.

``ApplicationWorkflow`` (id ``application-{application_id}``) carries one candidate from
registration review through scores, re-sits and public notice to the certificate. Its
input holds the person key, never the ID number or the name (those stay in PostgreSQL).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from policy.assessment import ApplicationFigures, AssessmentPolicy
from policy.catalogue import Component

Stage = Literal[
    "awaiting_review",
    "rejected",
    "expired",
    "assessment",
    "resit",
    "failed",
    "public_notice",
    "objection",
    "held",
    "issued",
    "withheld",
]
FINAL_STAGES: frozenset[str] = frozenset({"rejected", "expired", "failed", "issued", "withheld"})
# Open in the sense of DOMAIN's duplicate rule: the person is still on their way.
OPEN_STAGES: frozenset[str] = frozenset(
    {"awaiting_review", "assessment", "resit", "public_notice", "objection", "held"}
)
_ID_SHAPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApplicationStart(_Model):
    application_id: str
    session_id: str
    body_id: str
    body_type: Literal["S", "Y"]
    occupation_code: str
    level: int = Field(ge=1, le=5)
    person_key: str = Field(pattern=r"^[0-9a-f]{64}$")
    required_components: tuple[Component, ...]
    theory_before_practical: bool
    pass_mark: int = Field(
        description="Effective pass mark: national, or an enterprise's higher one"
    )
    figures: ApplicationFigures | None = Field(
        None, description="Figures in force, recorded in history"
    )
    policy: AssessmentPolicy | None = Field(
        None,
        description="Superseded by figures: the whole policy, as histories recorded before "
        "figures existed carry it. New starts leave it out.",
    )

    @model_validator(mode="after")
    def _figures_or_policy(self) -> ApplicationStart:
        if self.figures is None and self.policy is None:
            raise ValueError("an application starts with its figures")
        return self

    def figures_in_force(self) -> ApplicationFigures:
        if self.figures is not None:
            return self.figures
        assert self.policy is not None
        return ApplicationFigures.of(self.policy)


class ReviewDecision(_Model):
    approve: bool
    reason: str = Field("", max_length=500)
    reviewed_by: str = ""


class ScoreEntry(_Model):
    component: Component
    score: float
    examiner_id: str = Field(min_length=1, max_length=64)


class ScoreSheet(_Model):
    """Scores one examiner signs off for one candidate: entering a score signs it off."""

    entries: list[ScoreEntry] = Field(min_length=1, max_length=3)

    @field_validator("entries")
    @classmethod
    def _one_per_component(cls, entries: list[ScoreEntry]) -> list[ScoreEntry]:
        components = [entry.component for entry in entries]
        if len(set(components)) != len(components):
            raise ValueError("a sheet scores each component at most once")
        return entries


class ScoreCorrection(_Model):
    correction_id: str = Field(min_length=1, max_length=64)
    component: Component
    score: float
    reason: str = Field(min_length=1, max_length=1000)
    corrected_by: str = Field(min_length=1, max_length=64)


class HoldRecheck(_Model):
    """An operator asks a held issuance to check its body now (after a reinstatement)."""

    requested_by: str = Field(min_length=1, max_length=64)


class Objection(_Model):
    objection_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=1000)
    raised_by: str = ""


class ObjectionResolution(_Model):
    objection_id: str = Field(min_length=1, max_length=64)
    upheld: bool
    resolution: str = Field(min_length=1, max_length=1000)
    resolved_by: str = ""


class ApplicationStatus(_Model):
    application_id: str
    stage: Stage
    scores: dict[str, float] = Field(default_factory=dict)
    attempts: dict[str, int] = Field(default_factory=dict)
    awaiting: list[str] = Field(default_factory=list)
    failed_components: list[str] = Field(default_factory=list)
    resit_deadline: date | None = None
    notice_ends_at: datetime | None = None
    open_objections: list[str] = Field(default_factory=list)
    certificate_number: str | None = None
    rule: str | None = None


# --- activity inputs --------------------------------------------------------------------


class ReviewRecord(_Model):
    application_id: str
    session_id: str
    person_key: str
    approve: bool
    reason: str
    reviewed_by: str
    occurred_at: datetime


class ReviewOutcome(_Model):
    recusals: int
    eligibility_path: str


class ScoreRecorded(_Model):
    component: Component
    score: float
    attempt: int
    examiner_id: str


class AssessmentRecord(_Model):
    """Scores just signed off, and the round's outcome when it is complete: one transaction."""

    application_id: str
    session_id: str
    person_key: str
    body_id: str
    occupation_code: str
    level: int
    stage: Stage
    entered: list[ScoreRecorded]
    scores: dict[str, float]
    attempts: dict[str, int]
    outcome: Literal["passed", "failed"] | None = None
    round: int = 1
    failed_components: list[str] = Field(default_factory=list)
    resit_deadline: date | None = None
    notice_ends_on: date | None = None
    occurred_at: datetime


class CorrectionRecord(_Model):
    application_id: str
    session_id: str
    person_key: str
    correction: ScoreCorrection
    previous_score: float
    occurred_at: datetime


class ObjectionRecord(_Model):
    application_id: str
    person_key: str
    objection: Objection
    occurred_at: datetime


class ResolutionRecord(_Model):
    application_id: str
    person_key: str
    resolution: ObjectionResolution
    stage: Stage = Field(description="Where the application goes: withheld if upheld")
    occurred_at: datetime


class StageRecord(_Model):
    """A stage change with at most one event: expiry, lapse of the re-sit window, hold,
    withholding."""

    application_id: str
    session_id: str
    person_key: str
    stage: Stage
    rule: str | None = None
    reason: str | None = None
    occurred_at: datetime


def is_business_id(value: str) -> bool:
    return bool(_ID_SHAPE.fullmatch(value))
