"""SIGKILL PostgreSQL while certificates are being issued and events flow; the stack starts
it again (crash recovery from its WAL). Activities fail and are retried by Temporal, the
relay and the consumers back off and reconnect, the API answers 503 meanwhile. Afterwards
every candidate has one certificate, every event is published and applied once by each
consumer group, and no subsidy is paid twice: nothing committed was lost."""

from __future__ import annotations

import time

import httpx

from skillflow.drills import DrillReport
from skillflow.drills.exam import (
    issuance,
    run_session_to_close,
    subsidies,
    wait_all_certificates,
    wait_first_certificate,
)
from skillflow.drills.stack import StackHandle

CANDIDATES = 24


async def run(stack: StackHandle) -> DrillReport:
    report = DrillReport("postgres-restart")
    mark = await stack.outbox_mark()
    async with httpx.AsyncClient(base_url=stack.document()["api"], timeout=60) as http:
        session = await run_session_to_close(stack, http, CANDIDATES)
    await wait_first_certificate(stack, session)
    before = (await issuance(stack, session)).certificates
    pid = stack.kill("postgres")
    killed_at = time.monotonic()
    down = await stack.wait_restarted("postgres", pid)
    ready = await stack.wait_ready()
    await wait_all_certificates(stack, session)
    finished = time.monotonic() - killed_at
    tally = await stack.wait_delivered(mark)
    drained = time.monotonic() - killed_at
    issued = await issuance(stack, session)
    paid = await subsidies(stack, session)

    n = len(session.application_ids)
    report.figure(
        "before_kill", f"certificates issued before PostgreSQL (pid {pid}) was killed", before
    )
    report.figure("down_s", "seconds until PostgreSQL accepted connections again", down, "s")
    report.figure("ready_s", "then seconds until every role was ready", ready, "s")
    report.figure("finish_s", "seconds from the kill to the last certificate", finished, "s")
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
    report.expect(
        issued.certificates == n, f"{issued.certificates} certificates for {n} candidates"
    )
    report.expect(issued.distinct_numbers == n, f"{issued.distinct_numbers} numbers for {n}")
    report.expect(issued.issued_events == n, f"{issued.issued_events} issued events for {n}")
    report.expect(
        paid.certificates_with_decision == n,
        f"{paid.certificates_with_decision} subsidy decisions for {n}",
    )
    report.expect(
        paid.most_decisions_on_one_certificate <= 1, "a certificate has two subsidy decisions"
    )
    report.expect(paid.most_payments_on_one_claim <= 1, "a claim was paid twice")
    report.expect(before < n, "every certificate was issued before the kill: nothing was tested")
    return report
