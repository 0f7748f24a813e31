"""SIGKILL the Temporal server while certificates are being issued; the stack starts it
again on the same SQLite file. Workers, API and consumers reconnect by themselves, and the
workflows continue from their histories: every candidate ends with one certificate."""

from __future__ import annotations

import time

import httpx

from skillflow.drills import DrillReport
from skillflow.drills.exam import (
    issuance,
    run_session_to_close,
    wait_all_certificates,
    wait_first_certificate,
)
from skillflow.drills.stack import StackHandle

CANDIDATES = 24


async def run(stack: StackHandle) -> DrillReport:
    report = DrillReport("temporal-restart")
    async with httpx.AsyncClient(base_url=stack.document()["api"], timeout=60) as http:
        session = await run_session_to_close(stack, http, CANDIDATES)
    mark = await stack.outbox_mark()
    await wait_first_certificate(stack, session)
    before = (await issuance(stack, session)).certificates
    pid = stack.kill("temporal")
    killed_at = time.monotonic()
    down = await stack.wait_restarted("temporal", pid)
    ready = await stack.wait_ready()
    issued = await wait_all_certificates(stack, session)
    finished = time.monotonic() - killed_at
    tally = await stack.wait_delivered(mark)
    issued = await issuance(stack, session)

    n = len(session.application_ids)
    report.figure(
        "before_kill", f"certificates issued before the server (pid {pid}) was killed", before
    )
    report.figure("down_s", "seconds until the server listened again", down, "s")
    report.figure("ready_s", "then seconds until every role was ready", ready, "s")
    report.figure("finish_s", "seconds from the kill to the last certificate", finished, "s")
    report.figure("certificates", f"certificates (for {n} candidates)", issued.certificates)
    report.figure("numbers", "distinct certificate numbers", issued.distinct_numbers)
    report.figure(
        "deliveries", "deliveries applied (each event once per consumer group)", tally.applied
    )
    report.expect(
        issued.certificates == n, f"{issued.certificates} certificates for {n} candidates"
    )
    report.expect(issued.distinct_numbers == n, f"{issued.distinct_numbers} numbers for {n}")
    report.expect(issued.issued_events == n, f"{issued.issued_events} issued events for {n}")
    report.expect(before < n, "every certificate was issued before the kill: nothing was tested")
    return report
