"""The six fault drills, on a real stack with real kills.

One ``skillflow up --workers 2 --consumers 2`` (a process of its own, with the Temporal dev
server, the broker and PostgreSQL as its children) serves every drill in this module; each
drill SIGKILLs or stops real processes of it and checks the outcome in PostgreSQL and
Temporal (``skillflow/drills``). Each leaves the stack healthy for the next, and the stack's
supervision must bring every killed process back.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from skillflow.drills import DrillReport, run_drill
from skillflow.drills.stack import StackHandle
from tests.integration.test_stack import free_ports, up_command

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackHandle]:
    data_dir = tmp_path_factory.mktemp("drills") / "data"
    args = [*up_command(data_dir, free_ports()), "--workers", "2", "--consumers", "2"]
    log = (data_dir.parent / "up.log").open("w")
    up = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while not (data_dir / "stack.json").exists():
            assert up.poll() is None, (data_dir.parent / "up.log").read_text()
            assert time.monotonic() < deadline, "the stack did not come up"
            time.sleep(0.2)
        yield StackHandle(data_dir)
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait()
        log.close()


async def _drill(name: str, stack: StackHandle) -> DrillReport:
    report = await run_drill(name, stack)
    print(f"\n{name}: " + json.dumps(dict(report.figures), ensure_ascii=False))
    assert report.passed, report.problems
    await stack.wait_ready()
    return report


async def test_worker_killed_during_issuance_another_worker_finishes_exactly_once(
    stack: StackHandle,
) -> None:
    report = await _drill("worker-kill", stack)
    candidates = report.values["candidates"]
    assert report.values["certificates"] == report.values["numbers"] == candidates
    assert report.values["issued_events"] == candidates
    assert report.values["after_kill"] > 0
    assert report.values["taken_over"] > 0  # histories show work moving off the dead worker


async def test_consumers_killed_between_database_and_offset_commit_apply_nothing_twice(
    stack: StackHandle,
) -> None:
    report = await _drill("consumer-kill", stack)
    assert report.values["window"] > 0  # redelivered after the restart, already applied
    assert report.values["subsidised"] == 60


async def test_broker_stopped_outbox_holds_and_drains_each_event_applied_once(
    stack: StackHandle,
) -> None:
    report = await _drill("broker-stop", stack)
    assert report.values["held"] >= report.values["registered"]


async def test_postgres_killed_under_load_everything_recovers(stack: StackHandle) -> None:
    report = await _drill("postgres-restart", stack)
    assert report.values["certificates"] == report.values["subsidised"]


async def test_temporal_killed_under_load_workflows_continue_from_history(
    stack: StackHandle,
) -> None:
    report = await _drill("temporal-restart", stack)
    assert report.values["certificates"] == report.values["numbers"]


async def test_workers_killed_mid_import_every_row_decided_exactly_once(
    stack: StackHandle,
) -> None:
    values = (await _drill("import-kill", stack)).values
    for counted in ("decided", "accepted", "applications", "submitted", "started"):
        assert values[counted] == values["rows"], counted
    # Killed mid-file: a batch in flight died with its worker and ran again.
    assert values["before_kill"] < values["rows"] and values["retried"] > 0


def test_the_stack_restarted_every_killed_process(stack: StackHandle) -> None:
    """Runs last: the supervision brought back each process the drills killed or stopped."""
    processes = stack.document()["processes"]
    for name in ("worker-1", "consumers-1", "consumers-2", "kafka", "postgres", "temporal"):
        assert processes[name]["restarts"] >= 1, name
