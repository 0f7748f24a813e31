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

from skillflow.drills import DrillReport, exam
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
    session = await exam.run_session_to_close(stack, CANDIDATES)
    before = await exam.issuing_under_way(stack, session)
    with stack.hold(victim):
        pid = stack.kill(victim)
        killed_at = time.monotonic()
        issued = await exam.wait_all_certificates(stack, session)
        finished = time.monotonic() - killed_at
        await asyncio.sleep(1.0)  # a duplicate issuance, if any, would land now
        issued = await exam.issuance(stack, session)
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
    exam.expect_one_certificate_each(report, issued, len(session.application_ids), before)
    report.expect(taken_over > 0, "no workflow shows a takeover in its history")
    return report
