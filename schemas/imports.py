"""Contracts of bulk imports as durable jobs: what the import workflow is given (a job id
and row ranges, never a cell), what a batch answers, and the job as the API shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from policy.errors import Violation

ImportKind = Literal["registrations", "scores"]
RowStatus = Literal["accepted", "unchanged", "rejected"]


class ImportJobStart(BaseModel):
    """Input of ``ImportWorkflow``: the rows themselves stay in PostgreSQL (``imports.rows``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job_id: str
    total: int = Field(ge=0)
    batch_rows: int = Field(ge=1)


class ImportBatch(BaseModel):
    """Rows ``first`` to ``last`` (1-based, inclusive) of one job."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job_id: str
    first: int = Field(ge=1)
    last: int = Field(ge=1)


class BatchOutcome(BaseModel):
    """Rows this call decided (a retried batch counts only the rows it decided itself)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decided: int = Field(ge=0)


class ImportOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    job_id: str
    total: int = Field(ge=0)


class ImportRow(BaseModel):
    """One row's answer: the same statuses and rules as a single registration or score
    entry would get."""

    row: int = Field(description="1-based data row, the header not counted")
    status: RowStatus
    application_id: str | None = None
    stage: str | None = Field(None, description="scores: the application's stage after them")
    errors: list[Violation] = Field(default_factory=list)


class ImportProgress(BaseModel):
    total: int = Field(description="data rows in the file")
    done: int = Field(description="rows decided so far")
    accepted: int = Field(description="rows applied now (or, registrations, found unchanged)")
    refused: int = Field(description="rows rejected with their rules; they applied nothing")


class ImportJob(BaseModel):
    """An import job: answered at once when the file arrives, and to every poll."""

    job_id: str
    session_id: str
    kind: ImportKind
    file_sha256: str
    submitted_at: datetime
    finished_at: datetime | None = None
    finished: bool
    progress: ImportProgress
    rows: list[ImportRow] = Field(
        default_factory=list,
        description="when finished: the row answers, one page (limit, offset) in row order",
    )
