"""Contracts of the records service: the title-equivalence run and the archive answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class TitleEquivalenceRequest(BaseModel):
    """Input of the daily title-equivalence workflow; both fields are for operators and tests."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    as_of: date | None = Field(None, description="the day to judge; default: today in China")
    batch_size: int = Field(500, ge=1, le=5_000)


class TitleEquivalenceBatch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    as_of: date
    limit: int = Field(ge=1)


class TitleEquivalenceOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    as_of: date
    published: int = Field(ge=0, description="title.eligible events written in this call or run")


class IdNumberQuery(BaseModel):
    """An archive lookup by ID number: sent in a POST body, never in a URL."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id_number: str = Field(min_length=1, max_length=32)


class ArchiveEntry(BaseModel):
    entry_id: int
    entry_kind: str
    occurred_at: datetime
    recorded_at: datetime
    source_event_id: str
    source_event_type: str
    occupation_code: str | None
    level: int | None
    certificate_number: str | None
    body_id: str | None
    application_id: str | None
    details: dict[str, Any]


class ArchivedCertificate(BaseModel):
    certificate_number: str
    occupation_code: str
    level: int
    issued_on: date
    route: str
    body_id: str
    body_type: str
    status: Literal["valid", "revoked"]
    revoked_on: date | None = None
    revocation_reason: str | None = None
    source: Literal["issued", "imported"] = Field(
        "issued", description="issued by SkillFlow, or imported from before it"
    )
    provenance: dict[str, Any] | None = Field(
        None, description="for an imported certificate: issuing body, where and when checked"
    )


class ArchivedTitle(BaseModel):
    title: str
    occupation_code: str
    level: int
    certificate_number: str
    held_since: date
    found_on: date


class WorkerArchive(BaseModel):
    person_key: str
    certificates: list[ArchivedCertificate]
    titles: list[ArchivedTitle]
    timeline: list[ArchiveEntry] = Field(description="append-only, by occurred_at then entry order")


class CertificateVerification(BaseModel):
    """What anyone may learn from a certificate number (全国联网查询)."""

    certificate_number: str
    status: Literal["valid", "revoked"]
    occupation_code: str
    level: int
    issued_on: date
    body_id: str
    body_type: str
    holder_name_masked: str
    revoked_on: date | None = None
    imported: bool = Field(False, description="imported from before SkillFlow, not issued by it")
    provenance: dict[str, Any] | None = None


class BodyStatistics(BaseModel):
    body_id: str
    assessed: int
    passed: int
    pass_rate: float
    abnormal_pass_rate: bool = Field(description="above the fraud threshold at enough volume")
    certificates_issued: int
    status: str | None = Field(
        description="last filing event seen: filed, approved, suspended, ..."
    )
