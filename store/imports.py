"""Queries on the ``imports`` schema: import jobs and their rows.

The API writes a job and its rows when a file arrives and reads its progress; the import
activities read undecided rows and record each row's answer. A row's cells are sealed
(an ID number may be among them) and dropped once the row is decided.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from policy.errors import Violation
from schemas.imports import ImportKind, ImportProgress, ImportRow
from store.database import Connection


@dataclass(frozen=True)
class NewJob:
    job_id: str
    session_id: str
    kind: ImportKind
    file_sha256: str
    total: int
    judged_on: date
    submitted_by: str


@dataclass(frozen=True)
class StoredRow:
    """A row as the door stores it: sealed cells to decide, or already refused."""

    number: int
    cells_sealed: bytes | None = None
    refused: Violation | None = None


@dataclass(frozen=True)
class JobFacts:
    job_id: str
    session_id: str
    kind: ImportKind
    judged_on: date


async def create_job(conn: Connection, job: NewJob, rows: Sequence[StoredRow]) -> bool:
    """Store a job and its rows; False (and nothing written) when the job exists already."""
    created = await conn.fetchval(
        """INSERT INTO imports.jobs
               (job_id, session_id, kind, file_sha256, total, judged_on, submitted_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (job_id) DO NOTHING RETURNING true""",
        job.job_id,
        job.session_id,
        job.kind,
        job.file_sha256,
        job.total,
        job.judged_on,
        job.submitted_by,
    )
    if not created:
        return False
    await conn.executemany(
        """INSERT INTO imports.rows (job_id, row_number, cells_sealed, status, errors, decided_at)
           VALUES ($1, $2, $3, $4, $5, CASE WHEN $4::text IS NULL THEN NULL ELSE now() END)""",
        [
            (
                job.job_id,
                row.number,
                row.cells_sealed,
                None if row.refused is None else "rejected",
                [] if row.refused is None else [row.refused.model_dump()],
            )
            for row in rows
        ],
    )
    return True


async def job_facts(conn: Connection, job_id: str) -> JobFacts:
    row = await conn.fetchrow(
        "SELECT job_id, session_id, kind, judged_on FROM imports.jobs WHERE job_id = $1", job_id
    )
    if row is None:
        raise LookupError(f"import job {job_id} is not stored")
    return JobFacts(**dict(row))


async def job(conn: Connection, session_id: str, job_id: str) -> dict[str, Any] | None:
    """The job of this session (None for another session's, or none)."""
    row = await conn.fetchrow(
        """SELECT job_id, session_id, kind, file_sha256, submitted_at, finished_at, total
           FROM imports.jobs WHERE job_id = $1 AND session_id = $2""",
        job_id,
        session_id,
    )
    return None if row is None else dict(row)


async def progress(conn: Connection, job_id: str, total: int) -> ImportProgress:
    counts = await conn.fetchrow(
        """SELECT count(status) AS done,
                  count(*) FILTER (WHERE status IN ('accepted', 'unchanged')) AS accepted,
                  count(*) FILTER (WHERE status = 'rejected') AS refused
           FROM imports.rows WHERE job_id = $1""",
        job_id,
    )
    assert counts is not None
    return ImportProgress(total=total, **dict(counts))


async def decided_rows(conn: Connection, job_id: str, limit: int, offset: int) -> list[ImportRow]:
    rows = await conn.fetch(
        """SELECT row_number AS row, status, application_id, stage, errors
           FROM imports.rows WHERE job_id = $1 AND status IS NOT NULL
           ORDER BY row_number LIMIT $2 OFFSET $3""",
        job_id,
        limit,
        offset,
    )
    return [ImportRow.model_validate(dict(row)) for row in rows]


async def undecided_rows(
    conn: Connection, job_id: str, first: int, last: int
) -> list[tuple[int, bytes]]:
    rows = await conn.fetch(
        """SELECT row_number, cells_sealed FROM imports.rows
           WHERE job_id = $1 AND row_number BETWEEN $2 AND $3 AND status IS NULL
           ORDER BY row_number""",
        job_id,
        first,
        last,
    )
    return [(row["row_number"], row["cells_sealed"]) for row in rows]


async def admitted_applications(conn: Connection, job_id: str, first: int, last: int) -> list[str]:
    """The applications that rows ``first``..``last`` admitted (or found admitted)."""
    rows = await conn.fetch(
        """SELECT application_id FROM imports.rows
           WHERE job_id = $1 AND row_number BETWEEN $2 AND $3
             AND status IN ('accepted', 'unchanged')""",
        job_id,
        first,
        last,
    )
    return [row["application_id"] for row in rows]


async def record_row(conn: Connection, job_id: str, answer: ImportRow) -> bool:
    """Record a row's answer and drop its cells; False when it was decided already."""
    decided = await conn.fetchval(
        """UPDATE imports.rows
              SET status = $3, application_id = $4, stage = $5, errors = $6,
                  cells_sealed = NULL, decided_at = now()
            WHERE job_id = $1 AND row_number = $2 AND status IS NULL
        RETURNING true""",
        job_id,
        answer.row,
        answer.status,
        answer.application_id,
        answer.stage,
        [error.model_dump() for error in answer.errors],
    )
    return bool(decided)


async def finish_job(conn: Connection, job_id: str) -> int:
    """Mark the job finished (once); its number of rows."""
    total: int = await conn.fetchval(
        """UPDATE imports.jobs SET finished_at = coalesce(finished_at, now())
           WHERE job_id = $1 RETURNING total""",
        job_id,
    )
    return total
