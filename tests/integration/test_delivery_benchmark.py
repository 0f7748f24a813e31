"""The consumer benchmark runs end to end on the real stack and cleans up after itself.

No timed assertion (the figures are reported, not tested); set SKILLFLOW_BENCH_EVENTS for
a bigger run and read the printed figures with ``pytest -s``.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from skillflow.benchmarks.consumers import run

pytestmark = pytest.mark.integration


async def test_consumer_benchmark_reports_both_rates(stack: Any) -> None:
    events = int(os.environ.get("SKILLFLOW_BENCH_EVENTS", "2000"))
    result = await run(stack.settings, events, rounds=2)
    print("consumer benchmark:", result)
    assert result["events"] == events
    assert [r["round"] for r in result["rounds"]] == [1, 2]
    for figures in [result, *result["rounds"]]:
        assert figures["consumer_events_per_second"] > 0 and figures["plain_events_per_second"] > 0
        assert figures["ratio"] > 0
    leftovers = await stack.pool.fetchval(
        "SELECT count(*) FROM incentives.registrations WHERE body_id = 'BENCH'"
    )
    assert leftovers == 0
