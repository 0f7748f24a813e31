"""SIGKILL every worker while a CSV import job decides its rows.

The job's batches in flight die with their workers; their heartbeats stop, Temporal
retries them on the restarted workers, and each retried batch reads only the rows still
undecided. A registration's admission commits with its row's answer, so every row ends
decided exactly once: one application and one ``registration.submitted`` per accepted
row, each application's workflow started, and nothing admitted twice.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from temporalio.client import Client

from schemas.workflow_ids import import_workflow_id
from skillflow.demo import DemoClient
from skillflow.drills import DrillReport
from skillflow.drills.exam import open_exam_session
from skillflow.drills.stack import StackHandle
from skillflow.settings import Role

ROWS = 1000
FINISH_TIMEOUT_S = 600


def _registrations(id_numbers: list[str]) -> str:
    rows = ["id_number,name,years_in_occupation,employer"]
    rows += [f"{number},考生{i},7,沈阳电力工程公司" for i, number in enumerate(id_numbers)]
    return "\n".join(rows) + "\n"


async def run(stack: StackHandle) -> DrillReport:
    report = DrillReport("import-kill")
    workers = stack.processes("worker")
    document = stack.document()
    async with httpx.AsyncClient(base_url=document["api"], timeout=60) as http:
        api = DemoClient(http, document["tokens"])
        session = await open_exam_session(stack, api, ROWS)
        sent = time.monotonic()
        job = await api.call(
            Role.CENTRE,
            "POST",
            f"/sessions/{session.session_id}/applications.csv",
            content=_registrations(session.id_numbers),
            headers={"Content-Type": "text/csv"},
        )
        path = f"/sessions/{session.session_id}/imports/{job['job_id']}"
        # Kill once the first rows are decided, while batches are in flight.
        while True:
            progress = (await api.call(Role.CENTRE, "GET", path))["progress"]
            if progress["done"] > 0:
                break
            await asyncio.sleep(0.05)
        pids = {name: stack.kill(name) for name in workers}
        killed_at = time.monotonic()
        before = progress["done"]
        deadline = killed_at + FINISH_TIMEOUT_S
        while not (current := await _poll(api, path))["finished"]:
            if time.monotonic() > deadline:
                report.problems.append(f"the job did not finish within {FINISH_TIMEOUT_S}s")
                return report
            await asyncio.sleep(0.2)
        finished = time.monotonic()
    restarted = max([await stack.wait_restarted(name, pid) for name, pid in pids.items()])

    progress = current["progress"]
    decided = await stack.fetchval(
        "SELECT count(*) FROM imports.rows WHERE job_id = $1 AND status IS NOT NULL",
        job["job_id"],
    )
    applications = await stack.fetchval(
        "SELECT count(*) FROM certification.applications WHERE session_id = $1",
        session.session_id,
    )
    started = await stack.fetchval(
        """SELECT count(*) FROM certification.applications
           WHERE session_id = $1 AND workflow_started_at IS NOT NULL""",
        session.session_id,
    )
    submitted = await stack.fetchval(
        """SELECT count(*) FROM outbox.events
           WHERE envelope->>'event_type' = 'registration.submitted'
             AND envelope->>'correlation_id' LIKE $1""",
        f"application-{session.session_id}-%",
    )
    retried = await _retried_batches(stack, job["job_id"])

    report.figure("rows", "rows in the file", ROWS)
    report.figure("before_kill", f"rows decided before {', '.join(workers)} were killed", before)
    report.figure("retried", "batches retried after the kill", retried)
    report.figure("finish_s", "seconds from the kill to the job's end", finished - killed_at, "s")
    report.figure("total_s", "seconds from sending the file to the job's end", finished - sent, "s")
    report.figure("decided", "rows decided", decided)
    report.figure("accepted", "rows accepted", progress["accepted"])
    report.figure("applications", "applications in the session", applications)
    report.figure("submitted", "registration.submitted events", submitted)
    report.figure("started", "application workflows started", started)
    report.figure("restart_s", "seconds until the last worker was ready again", restarted, "s")
    report.expect(decided == ROWS, f"{decided} of {ROWS} rows decided")
    report.expect(progress["accepted"] == ROWS, f"{progress['accepted']} of {ROWS} accepted")
    report.expect(applications == ROWS, f"{applications} applications for {ROWS} rows")
    report.expect(submitted == ROWS, f"{submitted} registration.submitted for {ROWS} rows")
    report.expect(started == ROWS, f"{started} workflows started for {ROWS} applications")
    report.expect(before < ROWS, "every row was decided before the kill: nothing was tested")
    report.expect(retried > 0, "no batch was retried: the kill hit no batch in flight")
    return report


async def _poll(api: DemoClient, path: str) -> dict[str, Any]:
    """The job, read through a worker restart (the API stays up; a moment's 5xx is retried)."""
    for _ in range(50):
        try:
            job: dict[str, Any] = await api.call(Role.CENTRE, "GET", path)
            return job
        except httpx.HTTPError:
            await asyncio.sleep(0.2)
    raise TimeoutError(path)


async def _retried_batches(stack: StackHandle, job_id: str) -> int:
    """Activities of the job's workflow that ran more than once."""
    client = await Client.connect(stack.document()["temporal"])
    history = await client.get_workflow_handle(import_workflow_id(job_id)).fetch_history()
    return sum(
        1
        for event in history.events
        if event.HasField("activity_task_started_event_attributes")
        and event.activity_task_started_event_attributes.attempt > 1
    )
