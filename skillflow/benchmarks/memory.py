"""Worker memory with many open application workflows, cached and evicted.

A ``skillflow worker`` process (the real role, its sticky cache sized by
``SKILLFLOW_WORKER_MAX_CACHED_WORKFLOWS``) serves ``workflows`` application workflows
started here, each then waiting for its registration review, as on the eve of an exam day.
Its resident memory (RSS) is read before and once every workflow has run its first task:
once with a cache that holds them all, once with the default cache (1,000), where the rest
are evicted and rebuilt from history when they next have work.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from typing import Any

import psutil
from temporalio.client import Client

from policy.assessment import ApplicationFigures, load_assessment_policy
from policy.catalogue import get_occupation, required_components
from schemas.application import ApplicationStart
from schemas.workflow_ids import application_workflow_id
from skillflow import temporal
from skillflow.benchmarks.certification import _progress
from skillflow.benchmarks.scale import _processes, _wait_pollers
from skillflow.settings import Settings
from workflows.application import ApplicationWorkflow, initial_search_attributes

OCCUPATION = "6-31-01-03"
LEVEL = 4
START_CONCURRENCY = 64
DEFAULT_CACHE = 1_000


async def run(settings: Settings, workflows: int) -> dict[str, Any]:
    client = await temporal.connect(settings)
    results = []
    for cache in (workflows, DEFAULT_CACHE):
        _progress(f"{workflows} application workflows, sticky cache {cache}")
        results.append(await _one(settings, client, workflows, cache))
    return {
        "workflows": workflows,
        "runs": results,
        "setting": "SKILLFLOW_WORKER_MAX_CACHED_WORKFLOWS",
    }


async def _one(settings: Settings, client: Client, workflows: int, cache: int) -> dict[str, Any]:
    queue = f"memory-{cache}-{uuid.uuid4().hex[:6]}"
    role = settings.model_copy(update={"task_queue": queue, "worker_max_cached_workflows": cache})
    async with _processes(1, ["worker"], role, module="skillflow") as pids:
        await _wait_pollers(client, settings.temporal_namespace, queue, 1)
        worker = psutil.Process(pids[0])
        await asyncio.sleep(2.0)
        idle = worker.memory_info().rss
        started = time.perf_counter()
        ids = await _start_all(client, queue, workflows)
        await _first_tasks_done(client, ids[-20:])
        opened_s = time.perf_counter() - started
        await asyncio.sleep(3.0)
        loaded = worker.memory_info().rss
    return {
        "max_cached_workflows": cache,
        "cached": min(cache, workflows),
        "evicted": max(workflows - cache, 0),
        "rss_idle_mib": round(idle / 2**20, 1),
        "rss_open_mib": round(loaded / 2**20, 1),
        "kib_per_cached_workflow": round((loaded - idle) / 1024 / max(min(cache, workflows), 1), 1),
        "opened_per_s": round(workflows / opened_s, 1),
    }


async def _start_all(client: Client, queue: str, count: int) -> list[str]:
    occupation = get_occupation(OCCUPATION)
    figures = ApplicationFigures.of(load_assessment_policy())
    session = f"mem-{uuid.uuid4().hex[:6]}"
    limit = asyncio.Semaphore(START_CONCURRENCY)

    async def one(index: int) -> str:
        start = ApplicationStart(
            application_id=f"{session}-{index}",
            session_id=session,
            body_id="S-MEMORY",
            body_type="S",
            occupation_code=occupation.code,
            level=LEVEL,
            person_key=hashlib.sha256(f"{session}|{index}".encode()).hexdigest(),
            required_components=required_components(occupation, LEVEL),
            theory_before_practical=occupation.theory_before_practical,
            pass_mark=60,
            figures=figures,
        )
        workflow_id = application_workflow_id(start.application_id)
        async with limit:
            await client.start_workflow(
                ApplicationWorkflow.run,
                start,
                id=workflow_id,
                task_queue=queue,
                search_attributes=initial_search_attributes(start),
            )
        return workflow_id

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def _first_tasks_done(client: Client, ids: list[str], timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    for workflow_id in ids:
        while True:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
            if any(e.HasField("workflow_task_completed_event_attributes") for e in history.events):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{workflow_id} ran no task within {timeout:.0f}s")
            await asyncio.sleep(0.5)
