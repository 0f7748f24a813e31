"""Per-candidate cost of certification, next to the raw engines, on fresh servers.

``run`` starts the worker role (every workflow and activity, and the outbox relay) and the
API in this process, then drives one body and one session of ``candidates`` under the
``demo-fast`` policy (3-second public notice) through the HTTP API: CSV registration, bulk
approval, session start, CSV scores, and waits until every certificate is issued.

Measured in the same run, on the same dev server (SQLite) and PostgreSQL:

* per phase, candidates per second; overall, candidates certified per second from the
  first registration to the last certificate (the 3-second notice included);
* the Temporal cost of one candidate: history events, activities, workflow tasks and
  history bytes of one application workflow, and of the session workflow;
* the raw engines: a one-activity no-op workflow started N times (completions per
  second) and single-row PostgreSQL inserts per second, and the ratios against them.

Everything runs in one Python process on the machine's cores, so the ratios, not the
absolute rates, are what carries over to another machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from api.app import create_app
from policy.calendar import china_date
from policy.idnumber import make_id_number
from schemas.workflow_ids import application_workflow_id, session_workflow_id
from skillflow.benchmarks.servers import engine_baseline, worker_running
from skillflow.imports import finished_rows
from skillflow.settings import Role, Settings, TokenHolder

OCCUPATION = "6-20-01-01"
BASELINE_WORKFLOWS = 1000
BASELINE_INSERTS = 5000
ISSUE_TIMEOUT_S = 3600


def id_number(index: int) -> str:
    birth = datetime(1970, 1, 1).date() + timedelta(days=index // 100)
    return make_id_number("210102", birth, index % 100, "M")


def _progress(message: str) -> None:
    print(f"  {datetime.now(UTC):%H:%M:%S} {message}", file=sys.stderr, flush=True)


async def run(settings: Settings, candidates: int) -> dict[str, Any]:
    async with worker_running(settings):
        _progress(f"baseline: {min(candidates, BASELINE_WORKFLOWS)} no-op workflows")
        baseline = await engine_baseline(
            settings, min(candidates, BASELINE_WORKFLOWS), BASELINE_INSERTS
        )
        figures = await _scenario(settings, candidates)
    figures["baseline"] = baseline
    per_candidate = figures["per_candidate"]
    figures["ratios"] = {
        "certified_per_s_vs_trivial_workflows_per_s": round(
            figures["certified_per_s"] / baseline["trivial_workflows_per_s"], 3
        ),
        "history_events_vs_trivial": round(
            per_candidate["history_events"] / baseline["trivial_workflow_history_events"], 2
        ),
        "history_bytes_vs_trivial": round(
            per_candidate["history_bytes"] / baseline["trivial_workflow_history_bytes"], 2
        ),
    }
    return figures


async def _scenario(settings: Settings, candidates: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"candidates": candidates}
    async with benchmark_api(settings) as (app, api, centre, regulator):
        session_id, practical = await open_benchmark_session(api, centre, regulator, candidates)
        figures["examiners"] = practical

        rows = ["id_number,name,years_in_occupation,employer"]
        rows += [f"{id_number(i)},候选人,2,EMP-{i % 97}" for i in range(candidates)]
        _progress(f"registering {candidates} candidates")
        first = started = time.perf_counter()
        report = await imported(
            api, centre, f"/sessions/{session_id}/applications.csv", "\n".join(rows)
        )
        ids = [r["application_id"] for r in report if r["status"] == "accepted"]
        figures["registered"] = len(ids)
        figures["register_per_s"] = _rate(len(ids), started)

        _progress("approving")
        started = time.perf_counter()
        response = await api.post(
            f"/sessions/{session_id}/reviews", headers=centre, json={"approve": True}
        )
        response.raise_for_status()
        figures["approved"] = sum(1 for r in response.json() if r["status"] == "approved")
        figures["approve_per_s"] = _rate(len(ids), started)
        (await api.post(f"/sessions/{session_id}/start", headers=centre)).raise_for_status()

        scores = ["application_id,examiner_id,theory,practical"]
        scores += [
            f"{application_id},E{n % practical},75,80" for n, application_id in enumerate(ids)
        ]
        _progress("entering scores")
        started = time.perf_counter()
        report = await imported(
            api, centre, f"/sessions/{session_id}/scores.csv", "\n".join(scores)
        )
        figures["scored"] = sum(1 for r in report if r["status"] == "accepted")
        figures["score_per_s"] = _rate(len(ids), started)

        _progress("waiting for certificates")
        started = time.perf_counter()
        services = app.state.services
        while True:
            issued = await services.pool.fetchval(
                """SELECT count(*) FROM certification.applications
                   WHERE session_id = $1 AND stage = 'issued'""",
                session_id,
            )
            if issued >= len(ids) or time.perf_counter() - started > ISSUE_TIMEOUT_S:
                break
            await asyncio.sleep(0.5)
        figures["issued"] = issued
        # The notice itself lasts 3 s under demo-fast; the rest is issuance throughput.
        figures["issue_phase_s"] = round(time.perf_counter() - started, 1)
        figures["total_s"] = round(time.perf_counter() - first, 1)
        figures["certified_per_s"] = _rate(issued, first)

        history = await services.temporal.get_workflow_handle(
            application_workflow_id(ids[0])
        ).fetch_history()
        figures["per_candidate"] = {
            "history_events": len(history.events),
            "activities": sum(
                1 for e in history.events if e.HasField("activity_task_scheduled_event_attributes")
            ),
            # A local activity leaves one marker in the history instead of three events.
            "local_activities": sum(
                1
                for e in history.events
                if e.HasField("marker_recorded_event_attributes")
                and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
            ),
            "workflow_tasks": sum(
                1 for e in history.events if e.HasField("workflow_task_completed_event_attributes")
            ),
            "history_bytes": len(history.to_json()),
        }
        session_history = await services.temporal.get_workflow_handle(
            session_workflow_id(session_id)
        ).fetch_history()
        figures["session_history_events"] = len(session_history.events)
        figures["session_history_bytes"] = len(session_history.to_json())
    return figures


@contextlib.asynccontextmanager
async def benchmark_api(
    settings: Settings,
) -> AsyncIterator[tuple[Any, httpx.AsyncClient, dict[str, str], dict[str, str]]]:
    """The API in this process (no HTTP server), with a centre's and a regulator's token."""
    tokens = {role: secrets.token_urlsafe(12) for role in (Role.CENTRE, Role.REGULATOR)}
    settings = settings.model_copy(
        update={
            "api_tokens": {
                **settings.api_tokens,
                **{t: TokenHolder(role=r, name=r.value) for r, t in tokens.items()},
            }
        }
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api", timeout=None
        ) as api,
    ):
        yield (
            app,
            api,
            {"Authorization": f"Bearer {tokens[Role.CENTRE]}"},
            {"Authorization": f"Bearer {tokens[Role.REGULATOR]}"},
        )


async def open_benchmark_session(
    api: httpx.AsyncClient, centre: dict[str, str], regulator: dict[str, str], candidates: int
) -> tuple[str, int]:
    """A fresh approved body and an open session with room for ``candidates``: its id and
    its number of practical examiners."""
    run_id = uuid.uuid4().hex[:6]
    body_id = f"SBENCH{run_id}"
    response = await api.post(
        "/bodies",
        headers=centre,
        json={
            "body_id": body_id,
            "name": "benchmark centre",
            "province_code": "21",
            "body_code": f"{int(run_id, 16) % 10_000:04d}",
            "site_serial": "000001",
            "scope": [{"occupation_code": OCCUPATION, "level": 5}],
        },
    )
    response.raise_for_status()
    for _ in range(100):
        response = await api.post(
            f"/bodies/{body_id}/decision", headers=regulator, json={"approve": True}
        )
        if response.status_code == 200:
            break
        await asyncio.sleep(0.1)
    response.raise_for_status()

    # The staffing rules need one practical examiner per 5 candidates (an odd panel).
    practical = max(3, math.ceil(candidates / 5))
    practical += 1 - practical % 2
    session_id = f"bench-{run_id}"
    today = china_date(datetime.now(UTC))
    response = await api.post(
        "/sessions",
        headers=centre,
        json={
            "session_id": session_id,
            "body_id": body_id,
            "occupation_code": OCCUPATION,
            "level": 5,
            "exam_date": str(today + timedelta(days=30)),
            "registration_closes_on": str(today + timedelta(days=20)),
            "capacity": candidates,
            "theory_rooms": 1,
            "proctors": max(2, math.ceil(candidates / 15)),
            "examiners": [
                {
                    "examiner_id": f"E{i}",
                    "name": f"E{i}",
                    "grade": "senior",
                    "employer": f"EXAM-{i % 50}",
                }
                for i in range(practical)
            ],
            "policy_version": "demo-fast",
        },
    )
    response.raise_for_status()
    return session_id, practical


async def imported(
    api: httpx.AsyncClient, caller: dict[str, str], path: str, content: str
) -> list[dict[str, Any]]:
    """A CSV import sent as a job, followed to its end: every row's answer."""
    response = await api.post(path, headers={**caller, "Content-Type": "text/csv"}, content=content)
    response.raise_for_status()

    async def read(job_path: str, params: dict[str, int]) -> dict[str, Any]:
        polled = await api.get(job_path, headers=caller, params=params)
        polled.raise_for_status()
        job: dict[str, Any] = polled.json()
        return job

    return await finished_rows(read, response.json(), poll_seconds=0.1)


def _rate(count: int, since: float) -> float:
    return round(count / (time.perf_counter() - since), 1)
