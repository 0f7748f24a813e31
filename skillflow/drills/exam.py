"""The load a drill puts on the stack: one exam session through the HTTP API, from
opening to closing, every candidate passing, so each one should end with one certificate
(after the demo policy's 3-second public notice) and one skill-upgrading subsidy."""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from policy.calendar import china_date
from policy.idnumber import make_id_number
from skillflow.demo import (
    DemoClient,
    DemoFailed,
    ensure_centre,
    examiner_panel,
    load_insurance,
    open_session,
)
from skillflow.drills import DrillReport
from skillflow.drills.stack import StackHandle
from skillflow.settings import Role


@dataclass
class ExamSession:
    session_id: str
    body_id: str
    id_numbers: list[str]
    application_ids: list[str] = field(default_factory=list)


async def _transient(
    call: Callable[[], Awaitable[Any]], attempts: int = 100, *, refusals: bool = False
) -> Any:
    """Retry a call that a restarting server may fail for a moment (5xx, connection errors),
    and with ``refusals`` also a 4xx (a command that reached its workflow before it began)."""
    for attempt in range(attempts):
        try:
            return await call()
        except DemoFailed as exc:
            if (" answered 5" not in str(exc) and not refusals) or attempt == attempts - 1:
                raise
        except httpx.HTTPError:
            if attempt == attempts - 1:
                raise
        await asyncio.sleep(0.3)
    raise AssertionError("unreachable")


def _id_numbers(count: int, run: str) -> list[str]:
    # Distinct people per run: the birth date comes from the run, the sequence from the index.
    base = date(1970, 1, 1) + timedelta(days=int(run, 16) % 9000)
    return [
        make_id_number("210102", base + timedelta(days=i // 90), i % 90, "M") for i in range(count)
    ]


async def _ensure_body(api: DemoClient, body_id: str) -> None:
    # The demo's own filing, retried whole while a restarting server refuses it for a moment
    # (filing and approving are each done once, however often it is tried).
    serial = f"{int(uuid.uuid4().hex[:5], 16) % 999_999:06d}"
    await _transient(lambda: ensure_centre(api, body_id, serial), attempts=50, refusals=True)


async def open_exam_session(
    stack: StackHandle, api: DemoClient, candidates: int, kind: str = "rg4", panel: int = 1
) -> ExamSession:
    """An open session of the demo's centre (filed if need be) with room for ``candidates``
    (their ID numbers drawn, none registered) and examiners enough for ``panel`` of them."""
    document = stack.document()
    body_id = (document.get("bodies", {}).get(Role.CENTRE.value) or ["S-LN-DEMO"])[0]
    await _ensure_body(api, body_id)
    run = uuid.uuid4().hex[:6]
    session = ExamSession(f"dr-{run}-{kind}", body_id, _id_numbers(candidates, run))
    today = china_date(datetime.now(UTC))
    examiners = examiner_panel(panel)
    await open_session(api, session.session_id, body_id, today, examiners, capacity=candidates)
    return session


async def _open(
    stack: StackHandle, http: httpx.AsyncClient, candidates: int, kind: str, panel: int
) -> tuple[DemoClient, ExamSession]:
    """A fresh session (``open_exam_session``) with its ``candidates`` registered."""
    api = DemoClient(http, stack.document()["tokens"])
    session = await open_exam_session(stack, api, candidates, kind, panel)
    await register(api, session)
    return api, session


def _http(stack: StackHandle) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stack.document()["api"], timeout=60)


async def run_session_to_close(stack: StackHandle, candidates: int) -> ExamSession:
    """Open a session, register, load insurance, approve, start, score and close it; the
    certificates then follow by themselves."""
    async with _http(stack) as http:
        api, session = await _open(stack, http, candidates, "dg4", panel=candidates)
        await _approve_score_close(api, session)
    return session


async def _approve_score_close(api: DemoClient, session: ExamSession) -> None:
    """Load the candidates' insurance, then approve, start, score everyone and close (these
    retried while a restarting server refuses them for a moment)."""
    await load_insurance(api, session.id_numbers, china_date(datetime.now(UTC)))
    await _transient(
        lambda: api.call(
            Role.CENTRE, "POST", f"/sessions/{session.session_id}/reviews", json={"approve": True}
        ),
        refusals=True,
    )
    await _transient(
        lambda: api.call(Role.CENTRE, "POST", f"/sessions/{session.session_id}/start"),
        refusals=True,
    )
    for application_id in session.application_ids:
        await _transient(
            functools.partial(
                api.call,
                Role.CENTRE,
                "POST",
                f"/applications/{application_id}/scores",
                json={"examiner_id": "E1", "scores": {"theory": 80, "practical": 82}},
            )
        )
    await _transient(lambda: api.call(Role.CENTRE, "POST", f"/sessions/{session.session_id}/close"))


async def register(api: DemoClient, session: ExamSession) -> None:
    for index, id_number in enumerate(session.id_numbers):
        answer = await _transient(
            functools.partial(
                api.call,
                Role.CENTRE,
                "POST",
                f"/sessions/{session.session_id}/applications",
                json={
                    "id_number": id_number,
                    "name": f"考生{index}",
                    "years_in_occupation": 7,
                    "category": "employed",
                    "appraisal_fee_fen": 40_000,
                    "employer": "沈阳电力工程公司",
                },
            )
        )
        session.application_ids.append(answer["application_id"])


async def open_and_register(stack: StackHandle, candidates: int) -> ExamSession:
    """A session with ``candidates`` registrations and nothing more (registration events)."""
    async with _http(stack) as http:
        # The smallest panel: these candidates are never scored.
        _, session = await _open(stack, http, candidates, "rg4", panel=1)
    return session


@dataclass(frozen=True)
class Issuance:
    """The certificates of a session's applications, as PostgreSQL holds them."""

    certificates: int
    distinct_numbers: int
    issued_events: int


async def _about(stack: StackHandle, session: ExamSession, query: str) -> Any:
    """The one row ``query`` answers about the session's applications (``$1``, their ids)."""
    async with stack.database() as conn:
        row = await conn.fetchrow(query, session.application_ids)
    assert row is not None
    return row


async def issuance(stack: StackHandle, session: ExamSession) -> Issuance:
    row = await _about(
        stack,
        session,
        """SELECT count(*) AS certificates, count(DISTINCT certificate_number) AS numbers,
                      (SELECT count(*) FROM outbox.events
                       WHERE envelope->>'event_type' = 'certificate.issued'
                         AND envelope->'payload'->>'application_id' = ANY($1::text[])) AS events
               FROM certification.certificates WHERE source_id = ANY($1::text[])""",
    )
    return Issuance(int(row["certificates"]), int(row["numbers"]), int(row["events"]))


async def issuing_under_way(stack: StackHandle, session: ExamSession, timeout: float = 120) -> int:
    """The certificates issued once the first is (the moment a drill strikes)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (issued := (await issuance(stack, session)).certificates) == 0:
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"no certificate for {session.session_id} within {timeout:.0f}s")
        await asyncio.sleep(0.05)
    return issued


def expect_one_certificate_each(
    report: DrillReport, issued: Issuance, candidates: int, before: int
) -> None:
    """Every candidate ends with one certificate, one number and one issued event, and the
    fault struck while some were still to come."""
    n = candidates
    report.expect(
        issued.certificates == n, f"{issued.certificates} certificates for {n} candidates"
    )
    report.expect(issued.distinct_numbers == n, f"{issued.distinct_numbers} numbers for {n}")
    report.expect(issued.issued_events == n, f"{issued.issued_events} issued events for {n}")
    report.expect(before < n, "every certificate was issued before the kill: nothing was tested")


@dataclass(frozen=True)
class ServerKill:
    """A server SIGKILLed and started again by the stack."""

    pid: int
    killed_at: float  # time.monotonic()
    down_s: float  # until it accepted connections again
    ready_s: float  # then until every role was ready

    def since(self) -> float:
        return time.monotonic() - self.killed_at

    def report(self, report: DrillReport, server: str, back: str, before: int) -> None:
        """The kill's figures: certificates ``before`` it, the seconds until ``server`` was
        ``back``, the roles ready, and the last certificate issued (now)."""
        report.figure(
            "before_kill",
            f"certificates issued before {server} (pid {self.pid}) was killed",
            before,
        )
        report.figure("down_s", f"seconds until {back}", self.down_s, "s")
        report.figure("ready_s", "then seconds until every role was ready", self.ready_s, "s")
        report.figure(
            "finish_s", "seconds from the kill to the last certificate", self.since(), "s"
        )


async def kill_server(stack: StackHandle, name: str) -> ServerKill:
    pid = stack.kill(name)
    killed_at = time.monotonic()
    down = await stack.wait_restarted(name, pid)
    return ServerKill(pid, killed_at, down, await stack.wait_ready())


async def wait_all_certificates(
    stack: StackHandle, session: ExamSession, timeout: float = 240
) -> Issuance:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            found = await issuance(stack, session)
        except OSError:
            found = Issuance(0, 0, 0)
        if found.certificates >= len(session.application_ids):
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(
                f"{found.certificates} of {len(session.application_ids)} certificates "
                f"after {timeout:.0f}s"
            )
        await asyncio.sleep(0.2)


@dataclass(frozen=True)
class Subsidies:
    """Skill-upgrading decisions and payments on a session's certificates."""

    certificates_with_decision: int
    most_decisions_on_one_certificate: int
    most_payments_on_one_claim: int
    granted_fen: int


async def subsidies(stack: StackHandle, session: ExamSession) -> Subsidies:
    row = await _about(
        stack,
        session,
        """WITH certs AS (
                   SELECT certificate_number FROM certification.certificates
                   WHERE source_id = ANY($1::text[])),
               decisions AS (
                   SELECT c.certificate_number, count(*) AS n FROM incentives.claims c
                   JOIN certs USING (certificate_number)
                   WHERE c.kind = 'skill_upgrade' GROUP BY c.certificate_number),
               payments AS (
                   SELECT p.claim_id, count(*) AS n, sum(p.amount_fen) AS fen
                   FROM incentives.payments p JOIN incentives.claims c USING (claim_id)
                   JOIN certs USING (certificate_number)
                   WHERE p.entry_kind = 'paid' GROUP BY p.claim_id)
               SELECT (SELECT count(*) FROM decisions) AS with_decision,
                      (SELECT coalesce(max(n), 0) FROM decisions) AS most_decisions,
                      (SELECT coalesce(max(n), 0) FROM payments) AS most_payments,
                      (SELECT coalesce(sum(c.amount_fen), 0) FROM incentives.claims c
                       JOIN certs USING (certificate_number)
                       WHERE c.kind = 'skill_upgrade' AND c.status = 'granted') AS granted""",
    )
    return Subsidies(
        int(row["with_decision"]),
        int(row["most_decisions"]),
        int(row["most_payments"]),
        int(row["granted"]),
    )


def since(started: float) -> float:
    return asyncio.get_running_loop().time() - started
