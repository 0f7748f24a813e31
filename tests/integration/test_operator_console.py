"""The operator console in a real headless browser (Debian's chromium, driven by Playwright)
against the real stack, and every role's ``/metrics`` after a scenario.

The page loads with no console errors, shows live figures that change as work runs, lists
a held issuance past its service level and repairs it from the page, and replays a dead
letter from the page. A screenshot is kept in ``$SKILLFLOW_TEST_ARTIFACTS`` (default
``test-artifacts/``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright, expect
from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from api.app import create_app
from policy.rule_ids import Rule
from skillflow.operations.activity_retries import ActivityRetries
from skillflow.settings import Role
from skillflow.stack.process import free_port
from tests.integration.sample_events import certificate, issued
from tests.integration.steps import (
    Auth,
    approved_body,
    body_status,
    eventually,
    examined,
    id_number,
    open_session,
    registered,
)

pytestmark = pytest.mark.integration

ARTIFACTS = Path(os.environ.get("SKILLFLOW_TEST_ARTIFACTS", "test-artifacts"))


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The test process keeps its own signal handlers.
        yield


@pytest.fixture(scope="module")
async def console(stack: Any, worker: None, consumers: None) -> AsyncIterator[str]:
    """The API over HTTP (a browser needs a socket), with the demo service levels so late
    work shows within seconds."""
    port = free_port()
    settings = stack.settings.model_copy(update={"service_levels": "demo-fast", "api_port": port})
    server = _QuietServer(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    await eventually(lambda: asyncio.sleep(0, server.started), timeout=30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Debian's chromium is needed (.ci/run installs it)"
    async with async_playwright() as playwright:
        # Debian's browser, never a download; root needs --no-sandbox.
        launched = await playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()


async def _held_after_reinstatement(api: httpx.AsyncClient, auth: Auth) -> tuple[str, str]:
    """A candidate whose certificate is held: the body was suspended during public notice
    and reinstated since, but under ``demo-held`` nobody rechecks for an hour. An operator
    must ask for the recheck."""
    body_id = await approved_body(api, auth)
    session_id = await open_session(api, auth, body_id, policy_version="demo-held")
    application_id = await registered(api, auth, session_id, "孙悟", id_number=id_number(1101))
    scored = await examined(api, auth, session_id, application_id, theory=80, practical=80)
    assert scored.json()["stage"] == "public_notice", scored.text
    await body_status(api, auth, body_id, "suspend")
    await eventually(lambda: _stage_is(api, auth, application_id, "held"), timeout=30)
    await body_status(api, auth, body_id, "reinstate")
    return body_id, application_id


async def _stage_is(api: httpx.AsyncClient, auth: Auth, application_id: str, stage: str) -> bool:
    response = await api.get(f"/applications/{application_id}", headers=auth(Role.CENTRE))
    return bool(response.json()["stage"] == stage)


async def _repair_audit(stack: Any, workflow_id: str, *columns: str) -> dict[str, Any]:
    """``columns`` of the one repair of ``workflow_id`` in the audit log."""
    [row] = await stack.pool.fetch(
        "SELECT * FROM operations.repairs WHERE target = $1", workflow_id
    )
    return {column: row[column] for column in columns}


async def _dead_letter_fixed_since(stack: Any) -> tuple[int, str]:
    """A dead letter the records consumer gave up on, whose cause is gone: its replay now
    applies. Recorded as the consumer records one (same table, same bytes)."""
    replayed = certificate(application_id="app-console-replay")
    number = replayed.certificate_number
    key = secrets.token_hex(32)
    event = issued(replayed, key, "console-replay")
    letter_id = await stack.pool.fetchval(
        """INSERT INTO delivery.dead_letters
               (consumer, topic, kafka_partition, kafka_offset, message_key, value, event_id,
                event_type, error, attempts)
           VALUES ('records', $1, 0, $2, $3, $4, $5, $6, 'RuntimeError: archive unavailable', 3)
           RETURNING id""",
        event.topic.value,
        -secrets.randbelow(10**9),  # no real offset: a letter of this test alone
        key.encode(),
        event.model_dump_json().encode(),
        event.event_id,
        event.event_type,
    )
    return letter_id, number


async def _count(page: Page, selector: str) -> int:
    found = re.search(r"\((\d+)\)", await page.locator(selector).first.inner_text())
    assert found, selector
    return int(found[1])


async def test_the_console_shows_live_figures_and_repairs_from_the_page(
    stack: Any, api: httpx.AsyncClient, auth: Auth, console: str, browser: Browser, artifacts: Path
) -> None:
    page = await browser.new_page(viewport={"width": 1440, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)  # fmt: skip
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    await page.goto(f"{console}/operator#token={stack.tokens[Role.OPERATOR]}")

    # Roles and the three servers, from heartbeats and this API's own reach.
    for role in ("worker", "consumers", "api"):
        await expect(page.locator(f'[data-role="{role}"] b')).to_have_text("ready", timeout=30_000)
    for server in ("postgres", "temporal", "kafka"):
        await expect(page.locator(f'[data-server="{server}"] b')).to_have_text("reachable")
    # Lag per partition, read from the broker, for each consumer group.
    await expect(page.locator('[data-lag^="records:skills.certificate:"]')).to_have_count(
        stack.settings.kafka_topic_partitions
    )

    applications = 'tr.process[data-process="ApplicationWorkflow"] td'
    await expect(page.locator(applications).first).to_be_visible(timeout=30_000)
    before = await _count(page, applications)

    # Work runs: the figures follow, and the held issuance shows as late.
    _, application_id = await _held_after_reinstatement(api, auth)
    workflow_id = f"application-{application_id}"
    await expect(page.locator(applications).first).not_to_have_text(
        re.compile(rf"\({before}\)"), timeout=30_000
    )
    assert await _count(page, applications) > before
    await expect(page.locator('tr.stage[data-stage="ApplicationWorkflow:held"]')).to_be_visible(
        timeout=30_000
    )
    late = page.locator(f'tr[data-kind="held_issuance"][data-workflow="{workflow_id}"]')
    await expect(late).to_be_visible(timeout=30_000)
    await page.screenshot(path=artifacts / "operator-console.png", full_page=True)

    # A repair needs a reason: refused (nothing sent) without one.
    await late.locator('button[data-repair="recheck"]').click()
    await expect(page.locator("#message")).to_contain_text("write the reason")
    assert (
        await stack.pool.fetchval(
            "SELECT count(*) FROM operations.repairs WHERE target = $1", workflow_id
        )
        == 0
    )

    await page.fill("#reason", "body reinstated by the regulator")
    await late.locator('button[data-repair="recheck"]').click()
    await expect(page.locator("#message")).to_contain_text("recheck requested")
    # The recheck issues the certificate at once (the next scheduled one is an hour away).
    await eventually(lambda: _stage_is(api, auth, application_id, "issued"), timeout=30)
    await expect(late).to_have_count(0, timeout=30_000)
    assert await _repair_audit(stack, workflow_id, "action", "reason", "requested_by") == {
        "action": "recheck",
        "reason": "body reinstated by the regulator",
        "requested_by": "operator",
    }
    await expect(page.locator("#repairs")).to_contain_text("body reinstated by the regulator")

    # A dead letter whose cause was fixed: replayed from the page, applied, closed.
    letter_id, number = await _dead_letter_fixed_since(stack)
    row = page.locator(f'tr[data-dead-letter="{letter_id}"]')
    await expect(row).to_be_visible(timeout=30_000)
    await page.fill("#reason", "archive back; replaying")
    await row.locator('button[data-action="replay"]').click()
    await expect(page.locator("#message")).to_contain_text("replayed")
    await expect(row).to_have_count(0, timeout=30_000)
    assert (
        await stack.pool.fetchval(
            "SELECT status FROM delivery.dead_letters WHERE id = $1", letter_id
        )
        == "replayed"
    )
    assert await stack.pool.fetchval(
        "SELECT true FROM records.certificates WHERE certificate_number = $1", number
    )

    assert problems == [], problems
    await page.close()


async def _scrape(url: str) -> dict[str, float]:
    """Series name with labels -> value, from a Prometheus text page."""
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(url)
    assert response.status_code == 200, url
    assert response.headers["content-type"].startswith("text/plain")
    series = {}
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            series[name] = float(value)
    return series


def _sum(series: dict[str, float], name: str, **labels: str) -> float:
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(
        value
        for key, value in series.items()
        if key.split("{")[0] == name and all(w in key for w in wanted)
    )


async def test_every_role_serves_metrics_after_a_scenario(
    stack: Any, api: httpx.AsyncClient, auth: Auth, console: str
) -> None:
    # A scenario: a body filed and approved, a session opened, through the HTTP API.
    body_id = await approved_body(api, auth)
    await open_session(api, auth, body_id)
    async with httpx.AsyncClient(base_url=console) as client:
        assert (
            await client.get(f"/bodies/{body_id}", headers=auth(Role.REGULATOR))
        ).status_code == 200
        assert (
            await client.get("/bodies/S-NO-SUCH", headers=auth(Role.REGULATOR))
        ).status_code == 404

    ports = {
        r["role"]: r["port"]
        for r in await stack.pool.fetch(
            "SELECT role, port FROM operations.role_instances WHERE role IN ('worker', 'consumers')"
        )
    }
    worker = await _scrape(f"http://127.0.0.1:{ports['worker']}/metrics")
    # The Temporal SDK's own metrics, through the worker's one scrape target.
    assert _sum(worker, "temporal_workflow_completed") + _sum(worker, "temporal_request") > 0
    assert _sum(worker, "temporal_activity_execution_latency_count") > 0
    assert _sum(worker, "skillflow_role_info", role="worker") == 1

    async def applied() -> float:
        series = await _scrape(f"http://127.0.0.1:{ports['consumers']}/metrics")
        return _sum(series, "skillflow_consumer_events_total", outcome="applied")

    assert await eventually(applied, timeout=30) > 0
    consumers = await _scrape(f"http://127.0.0.1:{ports['consumers']}/metrics")
    lag = {k: v for k, v in consumers.items() if k.startswith("skillflow_consumer_lag{")}
    # Every partition of every topic each group reads, none negative.
    assert len([k for k in lag if 'group="records"' in k]) >= stack.settings.kafka_topic_partitions
    assert all(v >= 0 for v in lag.values())
    assert _sum(consumers, "skillflow_outbox_published_total") > 0
    assert _sum(consumers, "skillflow_outbox_publish_seconds_count") > 0
    assert _sum(consumers, "skillflow_outbox_unsent") >= 0

    api_series = await _scrape(f"{console}/metrics")
    ok = _sum(api_series, "skillflow_api_requests_total", route="/bodies/{body_id}", status="200")
    missing = _sum(
        api_series, "skillflow_api_requests_total", route="/bodies/{body_id}", status="404"
    )
    assert ok >= 1 and missing >= 1
    assert _sum(api_series, "skillflow_api_request_seconds_count", route="/bodies/{body_id}") >= 2
    # Templates, never the ids themselves, so no label names a body or a person.
    assert not [k for k in api_series if body_id in k]


# --- an activity that keeps failing: listed as late, then retried by a reset ---------------

_ARCHIVE_DOWN: set[str] = set()


@activity.defn(name="console_test_archive")
async def _archive(key: str) -> str:
    if key in _ARCHIVE_DOWN:
        raise RuntimeError("archive unavailable")
    return f"archived {key}"


@workflow.defn(name="ConsoleTestArchiveWorkflow")
class _ArchiveWorkflow:
    @workflow.run
    async def run(self, key: str) -> str:
        return await workflow.execute_activity(
            _archive,
            key,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=200), backoff_coefficient=1
            ),
        )


async def test_a_retrying_activity_is_late_work_and_a_reset_retries_it(
    stack: Any, api: httpx.AsyncClient, auth: Auth
) -> None:
    key = secrets.token_hex(4)
    workflow_id = f"console-archive-{key}"
    _ARCHIVE_DOWN.add(key)
    task_queue = f"console-test-{key}"
    async with Worker(
        stack.temporal,
        task_queue=task_queue,
        workflows=[_ArchiveWorkflow],
        activities=[_archive],
        interceptors=[ActivityRetries(stack.pool)],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await stack.temporal.start_workflow(
            _ArchiveWorkflow.run, key, id=workflow_id, task_queue=task_queue
        )

        async def listed_late() -> dict[str, Any] | None:
            response = await api.get("/operations/waiting", headers=auth(Role.OPERATOR))
            items = [i for i in response.json()["items"] if i["workflow_id"] == workflow_id]
            return items[0] if items else None

        # Listed once it failed as often as the service level says (5 under the standard).
        late = await eventually(listed_late, timeout=30)
        assert late["kind"] == "activity_retrying" and late["repairs"] == ["reset", "terminate"]
        assert "console_test_archive" in late["what"] and "archive unavailable" in late["what"]

        refused = await api.post(
            f"/operations/workflows/{workflow_id}/reset",
            headers=auth(Role.OPERATOR),
            json={"reason": ""},
        )
        assert refused.status_code == 422
        assert [e["field"] for e in refused.json()["errors"]] == ["reason"]
        unknown = await api.post(
            "/operations/workflows/no-such-workflow/reset",
            headers=auth(Role.OPERATOR),
            json={"reason": "typo"},
        )
        assert unknown.status_code == 404

        _ARCHIVE_DOWN.discard(key)  # the cause is fixed: retry from the last good point
        reset = await api.post(
            f"/operations/workflows/{workflow_id}/reset",
            headers=auth(Role.OPERATOR),
            json={"reason": "archive restored"},
        )
        assert reset.status_code == 200, reset.text
        new_run = reset.json()["run_id"]
        assert new_run != handle.first_execution_run_id
        result = await stack.temporal.get_workflow_handle(workflow_id, run_id=new_run).result()
        assert result == f"archived {key}"
        assert await listed_late() is None
        assert await _repair_audit(
            stack, workflow_id, "action", "reason", "requested_by", "outcome"
        ) == {
            "action": "reset",
            "reason": "archive restored",
            "requested_by": "operator",
            "outcome": "reset",
        }

        # Terminating a closed workflow is refused and recorded nowhere.
        closed = await api.post(
            f"/operations/workflows/{workflow_id}/terminate",
            headers=auth(Role.OPERATOR),
            json={"reason": "done anyway"},
        )
        assert (
            closed.status_code == 422
            and closed.json()["errors"][0]["rule"] == Rule.REPAIR_NOT_RUNNING
        )
        assert (
            await stack.pool.fetchval(
                "SELECT count(*) FROM operations.repairs WHERE target = $1", workflow_id
            )
            == 1
        )
