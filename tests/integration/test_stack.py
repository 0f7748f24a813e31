"""`skillflow up` as a user runs it: start, status, refusals, clean stop, restart."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psutil
import pytest
from rich.console import Console
from temporalio.client import Client
from temporalio.converter import DataConverter

from policy.idnumber import make_id_number
from skillflow.demo import DemoPersonalData, run_demo
from skillflow.settings import Settings
from skillflow.stack.local import StackSecrets
from skillflow.stack.process import free_port, port_is_free
from skillflow.temporal import data_converter
from tests.integration.exposure import (
    Haystack,
    files,
    kafka_messages,
    pg_dump,
    temporal_histories,
)

pytestmark = pytest.mark.integration

SKILLFLOW = [sys.executable, "-m", "skillflow"]


def free_ports() -> dict[str, int]:
    """A free port for each server and role of ``skillflow up`` (its defaults may be taken)."""
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


def up_command(data_dir: Path, ports: dict[str, int]) -> list[str]:
    """``skillflow up`` headless in ``data_dir`` on ``ports``."""
    args = [*SKILLFLOW, "up", "--data-dir", str(data_dir), "--headless"]
    for name, port in ports.items():
        args += [f"--{name.replace('_', '-')}-port", str(port)]
    return args


def skillflow(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """``skillflow ARGS --data-dir DATA_DIR`` in its own process, its output captured."""
    return subprocess.run(
        [*SKILLFLOW, *args, "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=60
    )


class UpProcess:
    def __init__(self, data_dir: Path, ports: dict[str, int]) -> None:
        self.data_dir = data_dir
        self.ports = ports
        self.process = subprocess.Popen(
            up_command(data_dir, ports), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def skillflow(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A ``skillflow`` command against this stack, as a person runs it."""
        return skillflow(*args, data_dir=self.data_dir)

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


def _stack_data_converter(data_dir: Path) -> DataConverter:
    """The stack's own payload key, from its secrets: the roles encrypt every payload."""
    secrets_ = StackSecrets.load_or_create(data_dir)
    return data_converter(
        Settings(payload_keys=secrets_.payload_keys, payload_key_id=secrets_.payload_key_id)  # type: ignore[arg-type]
    )


def _demo_leaves_no_personal_data_in_clear(data_dir: Path, addresses: dict[str, object]) -> None:
    """The demo through the real roles, then everything on disk and on the wire, raw: the
    Temporal server's SQLite file and its histories (no codec), every Kafka message, every
    role's log file, a pg_dump. None may hold an ID number, a name or a free-text reason."""
    sent, histories, kafka = asyncio.run(_demo_and_what_travelled(addresses))
    needles = [*sent.id_numbers, *sent.names, *sent.free_text]
    places = [
        histories,
        files("temporal database", sorted(data_dir.glob("temporal.db*"))),
        kafka,
        files("logs", sorted((data_dir / "logs").glob("*.log"))),
        pg_dump(str(addresses["postgres"])),
    ]
    for place in places:
        figures = ", ".join(f"{n} {what}" for what, n in place.counts.items())
        print(f"skillflow up, scanned {place.place}: {figures}")
        found = place.find(needles)
        if place.place == "pg_dump":
            # The audit trail keeps the revocation's reason (certificates.revoked_reason).
            assert set(found) <= set(sent.free_text), found
        else:
            assert found == {}, place.place
    assert histories.counts["encrypted"] >= 100 and kafka.counts["messages"] >= 50
    assert places[-1].find(sent.free_text), "the scan must see the audit trail's reason"


async def _demo_and_what_travelled(
    addresses: dict[str, object],
) -> tuple[DemoPersonalData, Haystack, Haystack]:
    console = Console(file=io.StringIO(), width=120)
    sent = DemoPersonalData()
    assert await run_demo(addresses, 12, console=console, personal_data=sent), console.file
    # Without the codec: what anyone with access to the Temporal server reads.
    raw = await Client.connect(str(addresses["temporal"]))
    return sent, await temporal_histories(raw), await kafka_messages(str(addresses["kafka"]))


def _assert_private(data_dir: Path) -> None:
    """Tokens, keys, logs and the databases are closed to other users of the machine."""
    mode = data_dir.stat().st_mode & 0o777
    # As root PostgreSQL runs as a system user that passes through by group (0710).
    assert mode in (0o700, 0o710), oct(mode)
    private = [data_dir / name for name in ("stack.json", "secrets.json", "stack.lock", "logs")]
    private += sorted((data_dir / "logs").iterdir()) + sorted(data_dir.glob("temporal.db*"))
    assert len(private) >= 4 + 6 + 1, private  # six logs (three servers, three roles), the db
    for path in private:
        assert path.stat().st_mode & 0o077 == 0, f"{path.name}: {oct(path.stat().st_mode)}"
    assert (data_dir / "stack.json").stat().st_mode & 0o777 == 0o600


@pytest.fixture
def up(tmp_path: Path) -> Iterator[UpProcess]:
    process = UpProcess(tmp_path / "data", free_ports())
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
    status = up.skillflow("status")
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
        down = up.skillflow("status")
    finally:
        consumers.resume()
    assert down.returncode == 1, down.stdout + down.stderr
    assert "unhealthy" in down.stdout and "consumers" in down.stdout

    unknown = up.skillflow("verify", "S000021000001265999999")
    assert unknown.returncode == 1 and "unknown" in unknown.stdout, unknown.stdout + unknown.stderr
    with_name = up.skillflow("verify", "S000021000001265999999", "--holder-name", "张三丰")
    assert with_name.returncode == 1, with_name.stdout + with_name.stderr
    assert "holder_name_matches  False" in with_name.stdout, with_name.stdout
    malformed = up.skillflow("verify", "S12")
    assert malformed.returncode == 1 and "certificate_number" in malformed.stderr
    # The records officer imports prior certificates from a CSV file: row by row.
    person = make_id_number("210102", date(1980, 3, 4), 17, "F")
    prior = up.data_dir / "prior.csv"
    prior.write_text(
        "certificate_number,id_number,occupation_code,level,issuing_body,issued_on,"
        "checked_against,checked_on\n"
        f"0612010000300123,{person},6-20-01-01,5,江苏省职业技能鉴定中心,2019-06-01,"
        f"全国联网查询,{date.today()}\n"
        f"12-34,{person},6-20-01-01,5,江苏省职业技能鉴定中心,2019-06-01,全国联网查询,2020-01-01\n",
        encoding="utf-8",
    )
    imported = up.skillflow("import", "certificates", str(prior))
    assert imported.returncode == 1, imported.stdout + imported.stderr
    assert (
        "row 2: rejected" in imported.stdout
        and "certificate_number.prior_format" in imported.stdout
    )
    assert "1 row(s) accepted, 1 rejected" in imported.stdout
    assert person not in imported.stdout + imported.stderr
    # The key set, saved for checking credentials offline; a rotation adds a key to it.
    keys = up.data_dir / "keys.json"
    for command in (["credentials", "keys", "--output", str(keys)], ["credentials", "rotate-key"]):
        done = up.skillflow(*command)
        assert done.returncode == 0, done.stdout + done.stderr
    assert "signing with key-2" in done.stdout
    saved = json.loads(keys.read_text(encoding="utf-8"))
    assert saved["id"] == f"did:web:127.0.0.1%3A{up.ports['api']}"
    assert [m["id"].rsplit("#")[1] for m in saved["verificationMethod"]] == ["key-1"]

    letters = up.skillflow("dead-letters", "list")
    assert letters.returncode == 0 and "0 open dead letter(s)" in letters.stdout, letters.stderr
    audit = up.skillflow("repair", "log")
    assert audit.returncode == 0 and "0 repair(s)" in audit.stdout, audit.stderr
    unknown_workflow = up.skillflow("repair", "terminate", "no-such-workflow", "--reason", "test")
    assert (
        unknown_workflow.returncode == 1
        and "no workflow no-such-workflow" in unknown_workflow.stderr
    )

    _demo_leaves_no_personal_data_in_clear(up.data_dir, addresses)
    _assert_private(up.data_dir)

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
    second = up.skillflow("up", "--headless")
    assert second.returncode != 0
    assert "already running" in second.stderr and str(os.getpid()) not in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1

    busy = skillflow(
        "up", "--headless", "--api-port", str(up.ports["api"]), data_dir=tmp_path / "other"
    )
    assert busy.returncode != 0
    assert f"port {up.ports['api']} (api) is already in use" in busy.stderr
    assert "--api-port" in busy.stderr

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    unwritable = skillflow("up", data_dir=blocker / "data")
    assert unwritable.returncode != 0
    assert "cannot write to data folder" in unwritable.stderr and "--data-dir" in unwritable.stderr
    code, out, _ = up.stop(signal.SIGTERM)
    assert code == 0, out


async def test_a_workflow_started_before_a_restart_completes_after_it(tmp_path: Path) -> None:
    from schemas.evaluation_body import BodyDecision, BodyFiling, BodyRun, BodyState, ScopeEntry

    data_dir, ports = tmp_path / "data", free_ports()
    first = UpProcess(data_dir, ports)
    try:
        addresses = first.wait_up()
        client = await Client.connect(
            str(addresses["temporal"]), data_converter=_stack_data_converter(data_dir)
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
            str(addresses["temporal"]), data_converter=_stack_data_converter(data_dir)
        )
        handle = client.get_workflow_handle("body-S-RESTART-1")
        state = await handle.execute_update(
            "decide", BodyDecision(approve=True, decided_by="regulator"), result_type=BodyState
        )
        assert state.status == "active"
        assert state.filing_receipt
    finally:
        second.stop(signal.SIGINT)
