"""`skillflow up` as a user runs it: start, status, refusals, clean stop, restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from skillflow.stack.process import free_port, port_is_free

pytestmark = pytest.mark.integration

SKILLFLOW = [sys.executable, "-m", "skillflow"]


class UpProcess:
    def __init__(self, data_dir: Path, ports: dict[str, int]) -> None:
        self.data_dir = data_dir
        self.ports = ports
        args = [*SKILLFLOW, "up", "--data-dir", str(data_dir), "--headless"]
        for name, port in ports.items():
            args += [f"--{name.replace('_', '-')}-port", str(port)]
        self.process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def wait_up(self, timeout: float = 120) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        stack_file = self.data_dir / "stack.json"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"skillflow up exited early:\n{self.process.stdout.read()}")  # type: ignore[union-attr]
            if stack_file.exists():
                return json.loads(stack_file.read_text())
            time.sleep(0.2)
        raise AssertionError("stack.json did not appear")

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def stop(
        self, sig: signal.Signals = signal.SIGINT, timeout: float = 30
    ) -> tuple[int, str, float]:
        started = time.monotonic()
        self.process.send_signal(sig)
        out, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, time.monotonic() - started


def _ports() -> dict[str, int]:
    names = [
        "api",
        "temporal",
        "temporal_http",
        "kafka",
        "postgres",
        "worker_health",
        "consumers_health",
        "worker_sdk_metrics",
    ]
    return {name: free_port() for name in names}


@pytest.fixture
def up(tmp_path: Path) -> Iterator[UpProcess]:
    process = UpProcess(tmp_path / "data", _ports())
    try:
        yield process
    finally:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait()


def test_up_serves_every_role_and_stops_cleanly(up: UpProcess) -> None:
    addresses = up.wait_up()
    assert set(addresses) >= {"api", "temporal", "temporal_ui", "kafka", "postgres"}
    assert addresses["api"] == f"http://127.0.0.1:{up.ports['api']}"
    status = subprocess.run(
        [*SKILLFLOW, "status", "--data-dir", str(up.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.count("ready") >= 3
    assert "Console summary" in status.stdout and "healthy" in status.stdout
    # Every role serves its metrics for Prometheus.
    metrics = addresses["metrics"]
    assert isinstance(metrics, dict) and set(metrics) == {"worker", "consumers", "api"}
    for role, url in metrics.items():
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        assert f'skillflow_role_info{{role="{role}"' in text, role
    assert "temporal_" in urllib.request.urlopen(metrics["worker"], timeout=10).read().decode()

    # A role that stops answering makes status fail (usable from cron or a probe).
    [consumers] = [p for p in up.descendants() if p.cmdline()[-1:] == ["consumers"]]
    consumers.suspend()
    try:
        down = subprocess.run(
            [*SKILLFLOW, "status", "--data-dir", str(up.data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        consumers.resume()
    assert down.returncode == 1, down.stdout + down.stderr
    assert "unhealthy" in down.stdout and "consumers" in down.stdout

    unknown = subprocess.run(
        [*SKILLFLOW, "verify", "S000021000001265999999", "--data-dir", str(up.data_dir)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert unknown.returncode == 1 and "unknown" in unknown.stdout, unknown.stdout + unknown.stderr
    malformed = subprocess.run(
        [*SKILLFLOW, "verify", "S12", "--data-dir", str(up.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert malformed.returncode == 1 and "certificate_number" in malformed.stderr
    letters = subprocess.run(
        [*SKILLFLOW, "dead-letters", "list", "--data-dir", str(up.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert letters.returncode == 0 and "0 open dead letter(s)" in letters.stdout, letters.stderr

    children = up.descendants()
    assert len(children) >= 6  # three servers, three roles
    code, out, seconds = up.stop(signal.SIGINT)
    assert code == 0, out
    assert "SkillFlow stopped." in out
    assert seconds < 20
    assert not [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert all(port_is_free(port) for port in up.ports.values())
    assert not (up.data_dir / "stack.json").exists()


def test_second_start_port_conflict_and_unwritable_folder_are_refused(
    up: UpProcess, tmp_path: Path
) -> None:
    up.wait_up()
    second = subprocess.run(
        [*SKILLFLOW, "up", "--data-dir", str(up.data_dir), "--headless"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode != 0
    assert "already running" in second.stderr and str(os.getpid()) not in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1

    busy = subprocess.run(
        [
            *SKILLFLOW,
            "up",
            "--data-dir",
            str(tmp_path / "other"),
            "--headless",
            "--api-port",
            str(up.ports["api"]),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert busy.returncode != 0
    assert f"port {up.ports['api']} (api) is already in use" in busy.stderr
    assert "--api-port" in busy.stderr

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    unwritable = subprocess.run(
        [*SKILLFLOW, "up", "--data-dir", str(blocker / "data")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unwritable.returncode != 0
    assert "cannot write to data folder" in unwritable.stderr and "--data-dir" in unwritable.stderr
    code, out, _ = up.stop(signal.SIGTERM)
    assert code == 0, out


async def test_a_workflow_started_before_a_restart_completes_after_it(tmp_path: Path) -> None:
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    from schemas.evaluation_body import BodyDecision, BodyFiling, BodyRun, BodyState, ScopeEntry

    data_dir, ports = tmp_path / "data", _ports()
    first = UpProcess(data_dir, ports)
    try:
        addresses = first.wait_up()
        client = await Client.connect(
            str(addresses["temporal"]), data_converter=pydantic_data_converter
        )
        filing = BodyFiling(
            body_id="S-RESTART-1",
            body_type="S",
            name="沈阳市职业技能鉴定中心",
            province_code="21",
            site_serial="000001",
            scope=[ScopeEntry(occupation_code="6-31-01-03", level=4)],
        )
        handle = await client.start_workflow(
            "EvaluationBodyWorkflow",
            BodyRun(filing=filing),
            id="body-S-RESTART-1",
            task_queue="skillflow",
        )
        assert (await handle.query("status", result_type=BodyState)).status == "submitted"
        code, out, _ = first.stop(signal.SIGTERM)
        assert code == 0, out
    finally:
        if first.process.poll() is None:
            first.process.kill()

    second = UpProcess(data_dir, ports)
    try:
        addresses = second.wait_up()
        client = await Client.connect(
            str(addresses["temporal"]), data_converter=pydantic_data_converter
        )
        handle = client.get_workflow_handle("body-S-RESTART-1")
        state = await handle.execute_update(
            "decide", BodyDecision(approve=True, decided_by="regulator"), result_type=BodyState
        )
        assert state.status == "active"
        assert state.filing_receipt
    finally:
        second.stop(signal.SIGINT)
