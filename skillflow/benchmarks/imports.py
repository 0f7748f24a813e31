"""A CSV import of ``rows`` registrations as a job, next to the raw engine, on fresh servers.

``run`` starts the worker role and the API in this process, opens a session with room for
every row, sends one file and follows its job to the end. It prints the time from sending
the file to the job's end (the POST's own answer time apart: storing and sealing the rows)
and rows per second, next to the same rows written by the plainest loop PostgreSQL allows
(each ID number hashed to its person key and the rows inserted with one ``executemany``),
and next to no-op workflows started on the same dev server: every admitted row starts an
application workflow, so that rate bounds the job's.

The job does per row what a single registration does (eligibility, duplicates, capacity,
the sealed name, the ``registration.submitted`` event in the same transaction) and then
starts each application's workflow; the ratio says what that costs over a bare insert.
"""

from __future__ import annotations

import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from policy.idnumber import person_key
from skillflow import temporal
from skillflow.benchmarks.baseline import trivial_workflows_per_second
from skillflow.benchmarks.certification import (
    benchmark_api,
    id_number,
    open_benchmark_session,
)
from skillflow.benchmarks.servers import worker_running
from skillflow.imports import finished_rows
from skillflow.settings import Settings

BASELINE_WORKFLOWS = 1000


def _progress(message: str) -> None:
    print(f"  {datetime.now(UTC):%H:%M:%S} {message}", file=sys.stderr, flush=True)


async def run(settings: Settings, rows: int) -> dict[str, Any]:
    # A free port for the SDK's metrics: a stack may be running beside the benchmark.
    settings = settings.model_copy(update={"worker_sdk_metrics_port": 0})
    async with worker_running(settings):
        # First, on the idle server: after the job it holds thousands of open workflows.
        client = await temporal.connect(settings)
        _progress(f"baseline: {min(rows, BASELINE_WORKFLOWS)} no-op workflows")
        trivial = await trivial_workflows_per_second(
            client, min(rows, BASELINE_WORKFLOWS), temporal.workflow_runner()
        )
        figures = await _job(settings, rows)
    baseline = await _executemany_per_second(settings, rows)
    figures["baseline"] = {
        "executemany_rows_per_s": round(baseline, 1),
        "executemany": "the same ID numbers hashed to person keys, inserted by one asyncpg "
        "executemany",
        # Each admitted row starts an application workflow: the job cannot beat this rate.
        "trivial_workflows_per_s": trivial["per_second"],
    }
    figures["ratios"] = {
        "job_vs_executemany": round(figures["rows_per_s"] / baseline, 4),
        "decided_vs_executemany": round(figures["decided_per_s"] / baseline, 4),
        "job_vs_trivial_workflows": round(figures["rows_per_s"] / trivial["per_second"], 3),
    }
    return figures


async def _job(settings: Settings, rows: int) -> dict[str, Any]:
    csv = ["id_number,name,years_in_occupation,employer"]
    csv += [f"{id_number(i)},候选人,2,EMP-{i % 97}" for i in range(rows)]
    content = "\n".join(csv)
    async with benchmark_api(settings) as (_, api, centre, regulator):
        session_id, _ = await open_benchmark_session(api, centre, regulator, rows)
        _progress(f"importing {rows} registrations as a job")
        started = time.perf_counter()
        answer = await api.post(
            f"/sessions/{session_id}/applications.csv",
            headers={**centre, "Content-Type": "text/csv"},
            content=content,
        )
        answer.raise_for_status()
        accepted_s = time.perf_counter() - started
        last_report = started

        async def read(path: str, params: dict[str, int]) -> dict[str, Any]:
            polled = await api.get(path, headers=centre, params=params)
            polled.raise_for_status()
            job: dict[str, Any] = polled.json()
            return job

        decided_at: float | None = None

        def show(progress: dict[str, int]) -> None:
            nonlocal last_report, decided_at
            if decided_at is None and progress["done"] == progress["total"]:
                decided_at = time.perf_counter()
            if time.perf_counter() - last_report > 10:
                last_report = time.perf_counter()
                _progress(f"{progress['done']} of {progress['total']} rows decided")

        report = await finished_rows(read, answer.json(), on_progress=show, poll_seconds=0.1)
        elapsed = time.perf_counter() - started
    accepted = sum(1 for row in report if row["status"] == "accepted")
    return {
        "rows": rows,
        "accepted": accepted,
        "refused": rows - accepted,
        "answered_s": round(accepted_s, 2),
        # Every row decided (admitted or refused, its answer recorded) ...
        "decided_s": round((decided_at or time.perf_counter()) - started, 1),
        # ... and every admitted application's workflow started: the job's end.
        "job_s": round(elapsed, 1),
        "rows_per_s": round(rows / elapsed, 1),
        "decided_per_s": round(rows / ((decided_at or time.perf_counter()) - started), 1),
        "batch_rows": settings.import_batch_rows,
    }


async def _executemany_per_second(settings: Settings, rows: int) -> float:
    secret = settings.person_key_secret_bytes
    table = f"bench_import_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(settings.postgres_dsn)
    try:
        await conn.execute(
            f"CREATE TABLE {table} (row_number integer PRIMARY KEY, person_key text, name text)"
        )
        started = time.perf_counter()
        await conn.executemany(
            f"INSERT INTO {table} VALUES ($1, $2, $3)",
            [(i, person_key(id_number(i), secret), "候选人") for i in range(rows)],
        )
        elapsed = time.perf_counter() - started
        await conn.execute(f"DROP TABLE {table}")
    finally:
        await conn.close()
    return rows / elapsed
