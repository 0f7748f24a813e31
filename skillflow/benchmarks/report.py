"""Runs the chosen benchmarks on fresh servers and prints their figures."""

from __future__ import annotations

import importlib
import json
import time
from typing import Any

from rich.console import Console

from skillflow.benchmarks.servers import benchmark_servers

BENCHMARKS = {
    "consumers": "skillflow.benchmarks.consumers",
    "certification": "skillflow.benchmarks.certification",
    "competition": "skillflow.benchmarks.competition",
    "scale": "skillflow.benchmarks.scale",
    "memory": "skillflow.benchmarks.memory",
    "import": "skillflow.benchmarks.imports",
}
# Server settings a benchmark needs beyond the defaults.
POSTGRES_OPTIONS = {"scale": ["shared_preload_libraries=pg_stat_statements"]}


async def run_benchmarks(
    which: list[str],
    events: int,
    candidates: int,
    entrants: int = 1000,
    workflows: int = 10_000,
    rows: int = 10_000,
) -> bool:
    console = Console()
    unknown = [name for name in which if name not in BENCHMARKS]
    if unknown:
        console.print(
            f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}"
        )
        return False
    size = {
        "consumers": events,
        "certification": candidates,
        "competition": entrants,
        "memory": workflows,
        "import": rows,
    }
    results: dict[str, Any] = {}
    for name in which:
        module = importlib.import_module(BENCHMARKS[name])
        console.print(
            f"[bold]{name}[/bold]: starting fresh servers (PostgreSQL, broker, Temporal dev server with SQLite)"
        )
        started = time.monotonic()
        async with benchmark_servers(POSTGRES_OPTIONS.get(name, ())) as settings:
            if name == "scale":
                results[name] = await module.run(settings, candidates, events)
            else:
                results[name] = await module.run(settings, size[name])
        console.print(json.dumps(results[name], indent=2, default=str))
        console.print(f"[dim]{name} took {time.monotonic() - started:.1f}s[/dim]")
    return True
