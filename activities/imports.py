"""The import job's steps: decide a batch of stored rows, then close the job.

A row is decided by the same function a single request uses (``activities.admission.admit``
for a registration; the examiner check and the ``enter_scores`` update for a score row), so
a row's answer in a file is the answer the row would get alone. Each step is idempotent:

* a registration's admission and its row's answer commit in one transaction, and a
  retried batch reads only the rows still undecided, so a row is admitted at most once
  however often its batch runs;
* a score row's update carries the id ``{job}-{row}``: Temporal answers a repeated id with
  the first result instead of entering the scores again, so a crash between the update and
  the row's answer costs nothing.

Cells are opened from their seal here and never logged; a rule's message names no cell.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Final, TypeVar

from pydantic import ValidationError
from temporalio import activity

from activities.admission import admit, registration_from_row
from activities.registration import start_unstarted
from activities.resources import ActivityResources
from api.access import NOT_IN_SESSION
from api.commands import execute_update
from policy.assessment import check_examiners
from policy.errors import (
    NotFound,
    RuleViolation,
    RuleViolations,
    Violation,
    as_violations,
    violations_of,
)
from policy.rule_ids import Rule
from schemas.application import ScoreEntry, ScoreSheet
from schemas.imports import BatchOutcome, ImportBatch, ImportOutcome, ImportRow
from schemas.inputs import number_cell
from schemas.workflow_ids import application_workflow_id
from store import certification, imports
from store.certification import ScoringFacts
from store.sealed import import_row_place
from workflows.application import ApplicationWorkflow

# Score rows go to their application workflows this many at a time.
UPDATE_CONCURRENCY: Final = 64
SCORE_COMPONENTS: Final = ("theory", "practical", "review")
# Well inside the workflow's heartbeat timeout (30 s); the worker sends one each 5 s at most.
HEARTBEAT_SECONDS: Final = 5.0
_T = TypeVar("_T")


class _DecidedElsewhere(Exception):
    """Another attempt of the same batch (a worker presumed dead) decided the row first:
    this attempt's admission is rolled back."""


class ImportActivities:
    def __init__(self, resources: ActivityResources) -> None:
        self._pool = resources.pool
        self._client = resources.temporal
        self._settings = resources.settings

    @activity.defn(name="imports.decide_rows")
    async def decide_rows(self, batch: ImportBatch) -> BatchOutcome:
        return await _heartbeating(self._decide(batch))

    async def _decide(self, batch: ImportBatch) -> BatchOutcome:
        async with self._pool.acquire() as conn:
            job = await imports.job_facts(conn, batch.job_id)
            pending = await imports.undecided_rows(conn, batch.job_id, batch.first, batch.last)
        cells = [
            (
                number,
                json.loads(
                    self._settings.key_ring.open_text(sealed, import_row_place(job.job_id, number))
                ),
            )
            for number, sealed in pending
        ]
        if job.kind == "registrations":
            decided = await self._registrations(job, cells, batch.first, batch.last)
        else:
            decided = await self._scores(job, cells)
        return BatchOutcome(decided=decided)

    @activity.defn(name="imports.finish_job")
    async def finish_job(self, job_id: str) -> ImportOutcome:
        """Close the job. For registrations, first start any application workflow of the
        session still unstarted (a repair, as when an exam starts)."""
        async with self._pool.acquire() as conn:
            job = await imports.job_facts(conn, job_id)
        if job.kind == "registrations":
            await start_unstarted(
                self._client, self._settings.task_queue, self._pool, job.session_id
            )
        async with self._pool.acquire() as conn:
            total = await imports.finish_job(conn, job_id)
        return ImportOutcome(job_id=job_id, total=total)

    async def _registrations(
        self,
        job: imports.JobFacts,
        rows: list[tuple[int, dict[str, str]]],
        first_row: int,
        last_row: int,
    ) -> int:
        secret = self._settings.person_key_secret_bytes
        key_ring = self._settings.key_ring
        decided = 0
        async with self._pool.acquire() as conn:
            for number, cells in rows:
                try:
                    registration = registration_from_row(cells)
                    async with conn.transaction():
                        admitted, _ = await admit(
                            conn, job.session_id, registration, secret, job.judged_on, key_ring
                        )
                        answer = ImportRow(
                            row=number,
                            status="accepted" if admitted.new else "unchanged",
                            application_id=admitted.application_id,
                        )
                        if not await imports.record_row(conn, job.job_id, answer):
                            raise _DecidedElsewhere
                except _DecidedElsewhere:
                    continue
                except (RuleViolation, RuleViolations) as exc:
                    answer = ImportRow(row=number, status="rejected", errors=as_violations(exc))
                    if not await imports.record_row(conn, job.job_id, answer):
                        continue
                except NotFound as exc:
                    answer = ImportRow(
                        row=number, status="rejected", errors=[_not_found("session_id", exc)]
                    )
                    if not await imports.record_row(conn, job.job_id, answer):
                        continue
                decided += 1
        # Committed first, started after. The batch's admitted rows whose workflow is not
        # started, this attempt's or an earlier one's that died between the two.
        async with self._pool.acquire() as conn:
            admitted_ids = await imports.admitted_applications(
                conn, job.job_id, first_row, last_row
            )
        await start_unstarted(
            self._client, self._settings.task_queue, self._pool, job.session_id, admitted_ids
        )
        return decided

    async def _scores(self, job: imports.JobFacts, rows: list[tuple[int, dict[str, str]]]) -> int:
        listed = {cells.get("application_id", "") for _, cells in rows}
        async with self._pool.acquire() as conn:
            facts = await certification.scoring_facts_for_session(conn, job.session_id, listed)
            ours = await certification.in_session(conn, job.session_id, listed)
        if facts is None:
            raise NotFound("no session with this id")
        limit = asyncio.Semaphore(UPDATE_CONCURRENCY)

        async def one(number: int, cells: dict[str, str]) -> bool:
            async with limit:
                answer = await self._score_row(job.job_id, number, cells, facts, ours)
            async with self._pool.acquire() as conn:
                return await imports.record_row(conn, job.job_id, answer)

        return sum(await asyncio.gather(*(one(number, cells) for number, cells in rows)))

    async def _score_row(
        self,
        job_id: str,
        number: int,
        cells: dict[str, str],
        facts: ScoringFacts,
        ours: set[str],
    ) -> ImportRow:
        application_id = cells.get("application_id", "")
        try:
            sheet = score_sheet_from_row(cells)
            if application_id not in ours:
                raise RuleViolations([NOT_IN_SESSION])
            check_examiners(
                sheet.entries,
                facts.session_status,
                facts.panels,
                facts.recused.get(application_id, ()),
            )
            status = await execute_update(
                self._client,
                application_workflow_id(application_id),
                ApplicationWorkflow.enter_scores,
                sheet,
                what="application",
                update_id=f"{job_id}-{number}",
            )
        except (RuleViolation, RuleViolations) as exc:
            return ImportRow(
                row=number,
                status="rejected",
                application_id=application_id or None,
                errors=as_violations(exc),
            )
        except NotFound as exc:
            return ImportRow(
                row=number,
                status="rejected",
                application_id=application_id or None,
                errors=[_not_found("application_id", exc)],
            )
        return ImportRow(
            row=number, status="accepted", application_id=application_id, stage=status.stage
        )


def score_sheet_from_row(cells: dict[str, str]) -> ScoreSheet:
    """A score row (application_id, examiner_id and any of theory, practical, review; a
    blank cell is not scored) as the sheet a single score entry sends."""
    scored: list[tuple[str, int | float]] = []
    for component in SCORE_COMPONENTS:
        cell = cells.get(component, "")
        if cell == "":
            continue
        score = number_cell(cell)
        if isinstance(score, str):
            raise RuleViolation(
                f"scores.{component}", Rule.SCORE_NOT_A_NUMBER, "a score must be a number"
            )
        # A finite number of marks: 1e400 reads as infinity, refused by ScoreEntry.
        scored.append((component, score))
    if not scored:
        raise RuleViolation("scores", Rule.SCORE_NONE, "the row has no score")
    try:
        return ScoreSheet(
            entries=[
                ScoreEntry(component=component, score=score, examiner_id=cells["examiner_id"])
                for component, score in scored
            ]
        )
    except ValidationError as exc:
        raise RuleViolations(violations_of(exc)) from None


async def _heartbeating(work: Awaitable[_T]) -> _T:
    """Await ``work`` while telling Temporal the batch is alive, whatever it waits on (a
    pool connection, the session's lock, its workflows' starts, all slow on a busy server):
    a batch whose heartbeat stops is presumed dead and run again."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            activity.heartbeat()
            done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_SECONDS)
            if done:
                return task.result()
    finally:
        # Cancelled (Temporal presumed the batch dead, or the worker stops): stop the work
        # too, so no attempt runs on unseen beside its retry.
        task.cancel()


def _not_found(field: str, exc: NotFound) -> Violation:
    return Violation(field=field, rule=Rule.NOT_FOUND, message=str(exc))
