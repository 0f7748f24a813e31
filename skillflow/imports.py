"""Following an import job from the client's side: the CLI, the demo, the benchmark and
the tests send a CSV file (answered at once with the job), then poll the job until it is
finished and read its row answers, page by page."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final

# What a poll reads: the job at a path, with query parameters (the page's offset).
JobReader = Callable[[str, dict[str, int]], Awaitable[dict[str, Any]]]
POLL_SECONDS: Final = 0.2


def job_path(job: dict[str, Any]) -> str:
    return f"/sessions/{job['session_id']}/imports/{job['job_id']}"


async def finished_rows(
    read: JobReader,
    job: dict[str, Any],
    *,
    on_progress: Callable[[dict[str, int]], None] | None = None,
    poll_seconds: float = POLL_SECONDS,
) -> list[dict[str, Any]]:
    """Every row answer of ``job`` (as its POST answered), once it is finished."""
    path = job_path(job)
    current = job
    while True:
        if on_progress is not None:
            on_progress(current["progress"])
        if current["finished"]:
            break
        await asyncio.sleep(poll_seconds)
        current = await read(path, {})
    rows: list[dict[str, Any]] = list(current["rows"])
    while len(rows) < current["progress"]["total"]:
        page = await read(path, {"offset": len(rows)})
        if not page["rows"]:
            break
        rows += page["rows"]
    return rows
