"""SIGKILL PostgreSQL while certificates are being issued and events flow; the stack starts
it again (crash recovery from its WAL). Activities fail and are retried by Temporal, the
relay and the consumers back off and reconnect, the API answers 503 meanwhile. Afterwards
every candidate has one certificate, every event is published and applied once by each
consumer group, and no subsidy is paid twice: nothing committed was lost."""

from __future__ import annotations

from skillflow.drills import DrillReport, exam
from skillflow.drills.stack import StackHandle

CANDIDATES = 24


async def run(stack: StackHandle) -> DrillReport:
    report = DrillReport("postgres-restart")
    mark = await stack.outbox_mark()
    session = await exam.run_session_to_close(stack, CANDIDATES)
    before = await exam.issuing_under_way(stack, session)
    kill = await exam.kill_server(stack, "postgres")
    await exam.wait_all_certificates(stack, session)
    kill.report(report, "PostgreSQL", "PostgreSQL accepted connections again", before)
    tally = await stack.wait_delivered(mark)
    drained = kill.since()
    issued = await exam.issuance(stack, session)
    paid = await exam.subsidies(stack, session)

    n = len(session.application_ids)
    report.figure("drain_s", "seconds from the kill until every event was applied", drained, "s")
    report.figure("certificates", f"certificates (for {n} candidates)", issued.certificates)
    report.figure(
        "deliveries", "deliveries applied (each event once per consumer group)", tally.applied
    )
    report.figure(
        "subsidised",
        "certificates with a skill-upgrading decision",
        paid.certificates_with_decision,
    )
    exam.expect_one_certificate_each(report, issued, n, before)
    report.expect(
        paid.certificates_with_decision == n,
        f"{paid.certificates_with_decision} subsidy decisions for {n}",
    )
    report.expect(
        paid.most_decisions_on_one_certificate <= 1, "a certificate has two subsidy decisions"
    )
    report.expect(paid.most_payments_on_one_claim <= 1, "a claim was paid twice")
    return report
