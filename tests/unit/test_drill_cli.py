"""``skillflow drill``: an unknown drill and a missing stack are refused with a line that
says what to do, before anything is touched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from skillflow.drills import DRILLS, DrillReport, drill_module_name


def _drill(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skillflow", "drill", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_unknown_drill_names_the_drills() -> None:
    result = _drill("disk-full")
    assert result.returncode == 2
    assert "no drill 'disk-full'" in result.stderr
    for name in DRILLS:
        assert name in result.stderr


def test_drill_without_a_running_stack_says_how_to_start_one(tmp_path: Path) -> None:
    result = _drill("worker-kill", "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert "skillflow up" in result.stderr


def test_every_drill_has_a_module_with_run() -> None:
    import importlib

    assert set(DRILLS) == {
        "worker-kill",
        "consumer-kill",
        "broker-stop",
        "postgres-restart",
        "temporal-restart",
        "import-kill",
    }
    for name in DRILLS:
        module = importlib.import_module(drill_module_name(name))
        assert callable(module.run), name


def test_a_report_fails_on_any_problem_and_keeps_its_figures() -> None:
    report = DrillReport("x")
    report.figure("held", "events held", 21)
    report.expect(True, "never")
    assert report.passed
    report.expect(False, "lost an event")
    assert not report.passed
    assert report.problems == ["lost an event"]
    assert report.values["held"] == 21
    assert report.figures == [("events held", "21")]
