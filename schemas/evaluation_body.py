"""Inputs, commands and answers of the evaluation-body filing workflow (备案)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.inputs import OptionalReason, Reason

BodyStatus = Literal["submitted", "rejected", "active", "suspended", "revoked"]
BodyType = Literal["S", "Y"]
BODY_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,39}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScopeEntry(_Model):
    occupation_code: str = Field(pattern=r"^\d-\d{2}-\d{2}-\d{2}$")
    level: int = Field(strict=True, ge=1, le=5)

    @property
    def key(self) -> str:
        return f"{self.occupation_code}:{self.level}"


class SubLevel(_Model):
    """An enterprise's own grade inside a national level (e.g. 中级工一档 under level 4)."""

    code: str = Field(pattern=r"^[A-Za-z0-9-]{1,16}$")
    name: str = Field(min_length=1, max_length=40)
    national_level: int = Field(strict=True, ge=1, le=5)


class BodyFiling(_Model):
    """Workflow input of ``EvaluationBodyWorkflow`` (id ``body-{body_id}``)."""

    body_id: str = Field(pattern=BODY_ID_PATTERN)
    body_type: BodyType
    name: str = Field(min_length=1, max_length=200)
    province_code: str = Field(pattern=r"^\d{2}$")
    body_code: str = Field("0000", pattern=r"^\d{4}$", description="0000 for province-filed")
    site_serial: str = Field(pattern=r"^\d{6}$")
    scope: list[ScopeEntry] = Field(min_length=1)
    pass_mark: int | None = Field(
        None, description="Enterprise pass mark: may raise the national one, never lower it"
    )
    sub_levels: list[SubLevel] = Field(default_factory=list)
    policy_version: str = "2024-default"
    filed_by: str = ""


class AwaitFiled(_Model):
    """Argument of ``EvaluationBodyWorkflow.await_filed``: it carries nothing."""


class BodyState(_Model):
    """What the workflow carries across continue-as-new, and what its query answers."""

    body_id: str
    status: BodyStatus
    filing_receipt: str | None = None
    reason: str | None = None
    transitions: int = Field(0, description="Numbers each status change for its event id")
    quality_samples: int = 0


class BodyRun(_Model):
    filing: BodyFiling
    carried: BodyState | None = None


class BodyDecision(_Model):
    approve: bool
    reason: Annotated[OptionalReason, Field(max_length=500)] = ""
    decided_by: str = ""


class BodyStatusChange(_Model):
    action: Literal["suspend", "reinstate", "revoke"]
    reason: Annotated[Reason, Field(max_length=500)]
    changed_by: str = ""


class QualitySampleRequest(_Model):
    requested_by: str = ""


class QualitySample(_Model):
    sample_id: str
    certificate_numbers: list[str]


class QualityReview(_Model):
    certificate_number: str = Field(pattern=r"^[YS]\d{21}$")
    passed: bool
    finding: Reason
    suspend: bool = Field(False, description="A failed review may suspend the filing")
    reviewed_by: str = ""


# --- activity inputs --------------------------------------------------------------------


class BodyStatusRecord(_Model):
    body_id: str
    status: BodyStatus
    event: Literal["approved", "rejected", "suspended", "reinstated", "revoked"]
    reason: str
    filing_receipt: str | None
    transition: int
    occurred_at: datetime


class BodyFiledRecord(_Model):
    filing: BodyFiling
    occurred_at: datetime


class QualitySampleRecord(_Model):
    body_id: str
    sample_id: str
    share_pct: int = Field(ge=0, le=100)
    occurred_at: datetime


class QualityReviewRecord(_Model):
    body_id: str
    review: QualityReview
    occurred_at: datetime
