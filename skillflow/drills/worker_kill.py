"""SIGKILL a worker while certificates are being issued.

The killed worker is held down until the end, so only the others can finish: workflows
cached on it time out on its sticky queue and continue elsewhere from their histories, and
an activity it was running runs again elsewhere after its start-to-close timeout. Issuance
is idempotent on the application (the number is found again, not drawn again), so each
candidate ends with exactly one certificate, one number and one ``certificate.issued``.
"""

from __future__ import annotations

import asyncio
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
from skillflow.drills.takeover import workflows_taken_over

CANDIDATES = 24


async def run(stack: StackHandle) -> DrillReport:
    report = DrillReport("worker-kill")
    workers = stack.processes("worker")
    if len(workers) < 2:
        report.problems.append("needs two or more workers: start with `skillflow up --workers 2`")
        return report
    victim = workers[0]
    async with httpx.AsyncClient(base_url=stack.document()["api"], timeout=60) as http:
        session = await run_session_to_close(stack, http, CANDIDATES)
    await wait_first_certificate(stack, session)
    with stack.hold(victim):
        before = (await issuance(stack, session)).certificates
        pid = stack.kill(victim)
        killed_at = time.monotonic()
        issued = await wait_all_certificates(stack, session)
        finished = time.monotonic() - killed_at
        await asyncio.sleep(1.0)  # a duplicate issuance, if any, would land now
        issued = await issuance(stack, session)
    restarted = await stack.wait_restarted(victim, pid)
    total, taken_over = await workflows_taken_over(stack.document()["temporal"], session.session_id)

    report.figure("candidates", "candidates (all passing)", len(session.application_ids))
    report.figure(
        "before_kill", f"certificates issued before {victim} (pid {pid}) was killed", before
    )
    report.figure("after_kill", "certificates issued after the kill", issued.certificates - before)
    report.figure("finish_s", "seconds from the kill to the last certificate", finished, "s")
    report.figure(
        "taken_over", f"workflows (of {total}) that continued on another worker", taken_over
    )
    report.figure("certificates", "certificates", issued.certificates)
    report.figure("numbers", "distinct certificate numbers", issued.distinct_numbers)
    report.figure("issued_events", "certificate.issued events", issued.issued_events)
    report.figure(
        "restart_s", f"seconds until {victim} was ready again (after the hold)", restarted, "s"
    )
    n = len(session.application_ids)
    report.expect(
        issued.certificates == n, f"{issued.certificates} certificates for {n} candidates"
    )
    report.expect(issued.distinct_numbers == n, f"{issued.distinct_numbers} numbers for {n}")
    report.expect(issued.issued_events == n, f"{issued.issued_events} issued events for {n}")
    report.expect(before < n, "every certificate was issued before the kill: nothing was tested")
    report.expect(taken_over > 0, "no workflow shows a takeover in its history")
    return report
