"""Starting the workflows of saved registrations, and of those a crash left unstarted.

A registration is committed (row + ``registration.submitted`` in the outbox) before its
``ApplicationWorkflow`` is started, because the admission checks need the database and
the ID number must never reach Temporal. A process that stops between the commit and the
start leaves a saved registration nobody drives, and its open row blocks the person from
registering elsewhere. ``workflow_started_at`` marks the rows whose start is confirmed;
``start_unstarted`` starts the rest. It runs when the API and the worker start, and when a
session's exam starts, so no stranded registration outlives a restart or reaches an exam.

Starting is idempotent: the workflow id is the application id and a duplicate is refused
even after the first run closed, so a repair never revives a finished application.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import asyncpg
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.resources import ActivityResources
from policy.assessment import ApplicationFigures, load_assessment_policy
from policy.catalogue import get_occupation, required_components
from schemas.application import ApplicationStart
from schemas.workflow_ids import application_workflow_id
from workflows.application import ApplicationWorkflow, initial_search_attributes

log = logging.getLogger(__name__)

START_CONCURRENCY = 64
REPAIR_BATCH = 1000


def application_start(row: Mapping[str, Any]) -> ApplicationStart:
    """The workflow input of an application, from its row joined to session and body."""
    occupation = get_occupation(row["occupation_code"])
    level = int(row["level"])
    return ApplicationStart(
        application_id=row["application_id"],
        session_id=row["session_id"],
        body_id=row["body_id"],
        body_type=row["body_type"],
        occupation_code=occupation.code,
        level=level,
        person_key=row["person_key"],
        required_components=required_components(occupation, level),
        theory_before_practical=occupation.theory_before_practical,
        pass_mark=row["pass_mark"],
        figures=ApplicationFigures.of(load_assessment_policy(row["policy_version"])),
    )


async def start_applications(
    client: Client, task_queue: str, pool: asyncpg.Pool, starts: Iterable[ApplicationStart]
) -> int:
    """Start the applications' workflows a bounded number at a time, then mark them
    started. Returns how many were started now (not before)."""
    limit = asyncio.Semaphore(START_CONCURRENCY)
    started_now = 0

    async def start_one(start: ApplicationStart) -> str:
        nonlocal started_now
        async with limit:
            try:
                await client.start_workflow(
                    ApplicationWorkflow.run,
                    start,
                    id=application_workflow_id(start.application_id),
                    task_queue=task_queue,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    search_attributes=initial_search_attributes(start),
                )
                started_now += 1
            except WorkflowAlreadyStartedError:
                pass  # started before: a re-sent registration, or a repair raced us
        return start.application_id

    ids = await asyncio.gather(*(start_one(start) for start in starts))
    if ids:
        await pool.execute(
            """UPDATE certification.applications SET workflow_started_at = now()
               WHERE application_id = ANY($1::text[]) AND workflow_started_at IS NULL""",
            list(ids),
        )
    return started_now


async def start_unstarted(
    client: Client,
    task_queue: str,
    pool: asyncpg.Pool,
    session_id: str | None = None,
    application_ids: list[str] | None = None,
) -> int:
    """Start every saved registration whose workflow start was never confirmed (of one
    session, or all; of the given applications only, or any). Returns how many workflows
    it started."""
    started = 0
    while True:
        rows = await pool.fetch(
            """SELECT a.application_id, a.session_id, a.body_id, b.body_type,
                      a.occupation_code, a.level, a.person_key, s.pass_mark, s.policy_version
               FROM certification.applications a
               JOIN certification.sessions s USING (session_id)
               JOIN certification.bodies b ON b.body_id = s.body_id
               WHERE a.workflow_started_at IS NULL
                 AND ($1::text IS NULL OR a.session_id = $1)
                 AND ($3::text[] IS NULL OR a.application_id = ANY($3::text[]))
               ORDER BY a.application_id LIMIT $2""",
            session_id,
            REPAIR_BATCH,
            application_ids,
        )
        if not rows:
            return started
        started += await start_applications(
            client, task_queue, pool, [application_start(dict(row)) for row in rows]
        )
        if len(rows) < REPAIR_BATCH:
            return started


async def repair_at_start_up(client: Client, task_queue: str, pool: asyncpg.Pool) -> None:
    """Run by the API and the worker as they start; a failure is logged, not fatal: the
    session workflow and the next start-up try again."""
    try:
        started = await start_unstarted(client, task_queue, pool)
    except Exception:
        log.exception("starting unstarted registrations failed; will retry at next start-up")
        return
    if started:
        log.warning("started %d registration workflows a stopped process left behind", started)


class RegistrationActivities:
    def __init__(self, resources: ActivityResources) -> None:
        self._pool = resources.pool
        self._client = resources.temporal
        self._task_queue = resources.settings.task_queue

    @activity.defn(name="certification.start_unstarted_applications")
    async def start_unstarted_applications(self, session_id: str) -> int:
        return await start_unstarted(self._client, self._task_queue, self._pool, session_id)
