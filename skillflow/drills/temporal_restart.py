"""SIGKILL the Temporal server while certificates are being issued; the stack starts it
again on the same SQLite file. Workers, API and consumers reconnect by themselves, and the
workflows continue from their histories: every candidate ends with one certificate."""

from __future__ import annotations

from skillflow.drills import DrillReport, exam
from skillflow.drills.stack import StackHandle

CANDIDATES = 24


async def run(stack: StackHandle) -> DrillReport:
    report = DrillReport("temporal-restart")
    session = await exam.run_session_to_close(stack, CANDIDATES)
    mark = await stack.outbox_mark()
    before = await exam.issuing_under_way(stack, session)
    kill = await exam.kill_server(stack, "temporal")
    await exam.wait_all_certificates(stack, session)
    kill.report(report, "the server", "the server listened again", before)
    tally = await stack.wait_delivered(mark)
    issued = await exam.issuance(stack, session)

    n = len(session.application_ids)
    report.figure("certificates", f"certificates (for {n} candidates)", issued.certificates)
    report.figure("numbers", "distinct certificate numbers", issued.distinct_numbers)
    report.figure(
        "deliveries", "deliveries applied (each event once per consumer group)", tally.applied
    )
    exam.expect_one_certificate_each(report, issued, n, before)
    return report
