"""Receiving a CSV import: refuse a bad file at the door, store its rows, start its job.

The file is refused whole (a named 4xx, nothing stored) when it is too large, has too many
rows, or its header is unreadable or lacks a column; past that, every row is stored in
``imports.rows`` (its cells sealed, or already refused when the CSV rules could not read it)
and ``ImportWorkflow`` is started with the job id alone. The job id derives from the
session, the kind and the file's SHA-256, so the same file sent twice answers with the same
job and its progress, and applies nothing twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from datetime import date

from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.admission import REGISTRATION_COLUMNS
from api.csv_import import read_csv
from api.services import ApiServices
from policy.errors import NotFound, RuleViolation
from policy.rule_ids import Rule
from schemas.imports import ImportJob, ImportJobStart, ImportKind
from schemas.workflow_ids import import_job_id, import_workflow_id
from store import imports
from store.sealed import import_row_place
from workflows.imports import ImportWorkflow

COLUMNS: dict[ImportKind, Collection[str]] = {
    "registrations": REGISTRATION_COLUMNS,
    "scores": ("application_id", "examiner_id"),
}


async def submit_import(
    services: ApiServices,
    session_id: str,
    kind: ImportKind,
    body: bytes,
    *,
    submitted_by: str,
    judged_on: date,
) -> ImportJob:
    """The job for this file: created and started now, or found as sent before."""
    settings = services.settings
    if len(body) > settings.import_max_bytes:
        raise RuleViolation(
            "csv",
            Rule.CSV_TOO_LARGE,
            f"the file is larger than {settings.import_max_bytes} bytes: split it",
        )
    digest = hashlib.sha256(body).hexdigest()
    job_id = import_job_id(session_id, kind, digest)
    async with services.pool.acquire() as conn:
        found = await imports.job(conn, session_id, job_id)
    if found is not None:
        total: int = found["total"]
    else:
        rows = read_csv(body, COLUMNS[kind])
        if len(rows) > settings.import_max_rows:
            raise RuleViolation(
                "csv",
                Rule.CSV_TOO_MANY_ROWS,
                f"the file has more than {settings.import_max_rows} rows: split it",
            )
        key_ring = settings.key_ring
        stored = [
            imports.StoredRow(number=row.number, refused=row.error)
            if row.error is not None
            else imports.StoredRow(
                number=row.number,
                cells_sealed=key_ring.seal_text(
                    json.dumps(row.cells, ensure_ascii=False),
                    import_row_place(job_id, row.number),
                ),
            )
            for row in rows
        ]
        job = imports.NewJob(
            job_id=job_id,
            session_id=session_id,
            kind=kind,
            file_sha256=digest,
            total=len(rows),
            judged_on=judged_on,
            submitted_by=submitted_by,
        )
        async with services.pool.acquire() as conn, conn.transaction():
            await imports.create_job(conn, job, stored)
        total = len(rows)
    await _start(services, job_id, total)
    return await import_job(services, session_id, job_id)


async def _start(services: ApiServices, job_id: str, total: int) -> None:
    """Start the job's workflow unless it was: a file sent again after a crash between
    storing and starting is started now; a finished job is never run again."""
    try:
        await services.temporal.start_workflow(
            ImportWorkflow.run,
            ImportJobStart(
                job_id=job_id, total=total, batch_rows=services.settings.import_batch_rows
            ),
            id=import_workflow_id(job_id),
            task_queue=services.settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        pass


async def import_job(
    services: ApiServices, session_id: str, job_id: str, limit: int = 1000, offset: int = 0
) -> ImportJob:
    """The job's progress and, once finished, one page of its row answers."""
    async with services.pool.acquire() as conn:
        found = await imports.job(conn, session_id, job_id)
        if found is None:
            raise NotFound("no import job with this id in this session")
        progress = await imports.progress(conn, job_id, found.pop("total"))
        finished = found["finished_at"] is not None
        rows = await imports.decided_rows(conn, job_id, limit, offset) if finished else []
    return ImportJob(**found, finished=finished, progress=progress, rows=rows)
