"""Issuing, revoking and verifying certificates; the promotion path's answer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


CERTIFICATE_NUMBER_PATTERN = r"^[YS]\d{21}$"


class IssueRequest(_Model):
    """Issue a certificate for ``source_id`` (an application id or ``promotion-{id}``).

    Idempotent on ``source_id``: a retry returns the number allocated the first time.
    """

    source_id: str
    route: Literal["assessment", "promotion"]
    body_id: str
    person_key: str = Field(pattern=r"^[0-9a-f]{64}$")
    occupation_code: str
    level: int = Field(ge=1, le=5)
    holder_name_masked: str | None = Field(
        None, description="Promotion route only; an application's name is in PostgreSQL"
    )
    correlation_id: str
    issued_at: datetime


IssueStatus = Literal["issued", "body_inactive", "body_revoked", "out_of_scope"]


class IssueResult(_Model):
    status: IssueStatus
    certificate_number: str | None = None
    issued_on: date | None = None
    reason: str = ""


class RevocationRequest(_Model):
    """Workflow input of ``CertificateRevocationWorkflow`` (id ``revocation-{number}``)."""

    certificate_number: str = Field(pattern=CERTIFICATE_NUMBER_PATTERN)
    reason: str = Field(min_length=1, max_length=1000)
    revoked_by: str = ""


class RevocationRecord(_Model):
    request: RevocationRequest
    occurred_at: datetime
    correlation_id: str


class RevocationResult(_Model):
    status: Literal["revoked", "already_revoked", "unknown"]
    revoked_on: date | None = None


class PromotionResult(_Model):
    status: IssueStatus
    certificate_number: str | None = None


class WithholdingRecord(_Model):
    source_id: str
    person_key: str
    rule: str
    reason: str
    correlation_id: str
    occurred_at: datetime


class Verification(_Model):
    """What anyone may learn about a certificate number: never more than a masked name."""

    certificate_number: str
    status: Literal["valid", "revoked", "unknown"]
    occupation_code: str | None = None
    occupation_name: str | None = None
    level: int | None = None
    body_id: str | None = None
    body_name: str | None = None
    issued_on: date | None = None
    holder_name_masked: str | None = None
    revoked_on: date | None = None
    imported: bool = Field(
        False, description="imported from before SkillFlow (checked by the records officer)"
    )
    issuing_body: str | None = Field(None, description="for an imported certificate")
    checked_against: str | None = None
    checked_on: date | None = None
