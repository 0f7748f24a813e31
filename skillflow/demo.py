"""``skillflow demo``: a realistic scenario driven through the running service's HTTP API.

An assessment centre in Shenyang files with the regulator, opens an electrician (电工,
level 4) exam session, registers a few dozen candidates (JSON and a CSV upload, two rows of
which are wrong on purpose), the records officer loads their unemployment-insurance months,
the centre approves the registrations, starts the exam and uploads the scores. Passing
candidates go through public notice and get a certificate; the events reach the records
service (each worker's archive) and the incentive service (skill-upgrading subsidies). One
certificate is verified publicly, and one is revoked, which claws its subsidy back. The
records officer imports a worker's certificate from before SkillFlow, and the worker takes
their certificate away as a signed credential that verifies offline from saved files
(and the revoked one's fails its status check).
Then a city contest feeds a provincial competition feeds the national final
(``demo_competition``).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import math
import random
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from credentials.verification import CredentialCheck, KeySet, check_credential
from policy.calendar import china_date
from policy.idnumber import make_id_number
from skillflow.demo_competition import ORGANISER_ID, competition_act, ladder_table
from skillflow.imports import finished_rows
from skillflow.settings import Role

OCCUPATION = "6-31-01-03"  # 电工 electrician: theory before practical, shortage occupation
LEVEL = 4
APPRAISAL_FEE_FEN = 40_000  # 400 yuan appraisal fee
INSURED_MONTHS = 24  # enough for the skill-upgrading subsidy
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "涛",
    "明",
    "超",
    "秀英",
    "建华",
    "志强",
]


class DemoFailed(Exception):
    pass


@dataclass
class Candidate:
    id_number: str
    name: str
    passes: bool
    category: str = "employed"
    application_id: str | None = None


@dataclass
class DemoPersonalData:
    """What personal data the scenario sent in, so a test can look for it where it must not
    be (Temporal histories, Kafka, logs, the database)."""

    id_numbers: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    free_text: list[str] = field(default_factory=list)


class DemoClient:
    """The API as each role sees it (one bearer token per role, from stack.json)."""

    def __init__(self, http: httpx.AsyncClient, tokens: dict[str, str]) -> None:
        self.http = http
        self.tokens = tokens

    async def call(self, role: Role | None, method: str, path: str, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role.value]}"
        response = await self.http.request(method, path, headers=headers, **kwargs)
        if response.status_code >= 400:
            raise DemoFailed(
                f"{method} {path} answered {response.status_code}: {response.text[:500]}"
            )
        return response.json()

    async def imported(self, path: str, content: str) -> list[dict[str, Any]]:
        """A CSV import by the centre, as a job: its row answers once it is finished."""
        job = await self.call(
            Role.CENTRE, "POST", path, content=content, headers={"Content-Type": "text/csv"}
        )

        async def read(job_path: str, params: dict[str, int]) -> dict[str, Any]:
            found: dict[str, Any] = await self.call(Role.CENTRE, "GET", job_path, params=params)
            return found

        return await finished_rows(read, job)

    async def find(self, role: Role, path: str) -> Any | None:
        """GET, or None where the object does not exist (yet)."""
        headers = {"Authorization": f"Bearer {self.tokens[role.value]}"}
        response = await self.http.get(path, headers=headers)
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise DemoFailed(f"GET {path} answered {response.status_code}: {response.text[:500]}")
        return response.json()


async def run_demo(
    addresses: dict[str, Any],
    candidates: int,
    *,
    http: httpx.AsyncClient | None = None,
    console: Console | None = None,
    personal_data: DemoPersonalData | None = None,
) -> bool:
    """Run the scenario against ``addresses["api"]`` (or ``http``, e.g. an in-process app)."""
    console = console or Console()
    async with contextlib.AsyncExitStack() as stack:
        if http is None:
            http = await stack.enter_async_context(
                httpx.AsyncClient(base_url=addresses["api"], timeout=60)
            )
        client = DemoClient(http, addresses["tokens"])
        try:
            # The local stack's centre token acts for its demo body only.
            centre_bodies = addresses.get("bodies", {}).get(Role.CENTRE.value) or [None]
            # ... and its organiser token for its demo organising body.
            organisers = addresses.get("bodies", {}).get(Role.ORGANISER.value) or [ORGANISER_ID]
            await _scenario(
                client,
                console,
                candidates,
                centre_bodies[0],
                personal_data or DemoPersonalData(),
                organisers[0],
            )
        except (DemoFailed, TimeoutError, httpx.HTTPError) as exc:
            console.print(f"[red]demo stopped:[/red] {exc}")
            return False
    return True


async def ensure_centre(api: DemoClient, body_id: str, site_serial: str) -> tuple[Any, bool]:
    """The demo's assessment centre, filed and approved: filed unless it was before, and a
    filing still waiting is approved. Returns the body and whether it was filed before."""
    filed = await api.find(Role.REGULATOR, f"/bodies/{body_id}")
    if filed is not None and filed["status"] == "active":
        return filed, True
    if filed is None:
        await api.call(
            Role.CENTRE,
            "POST",
            "/bodies",
            json={
                "body_id": body_id,
                "name": "沈阳市职业技能鉴定中心",
                "province_code": "21",
                "site_serial": site_serial,
                "scope": [{"occupation_code": OCCUPATION, "level": level} for level in (5, 4, 3)],
            },
        )
    body = await _retry(
        lambda: api.call(
            Role.REGULATOR, "POST", f"/bodies/{body_id}/decision", json={"approve": True}
        )
    )
    return body, False


def examiner_panel(candidates: int) -> list[dict[str, str]]:
    """Practical examiners enough for ``candidates`` under the staffing rule: ceil(candidates
    / 5), an odd number, at least 3."""
    panel = max(3, math.ceil(candidates / 5))
    panel += 1 - panel % 2
    return [
        {
            "examiner_id": f"E{i}",
            "name": f"考评员{i}",
            "grade": "senior",
            "employer": f"考评单位{i}",
        }
        for i in range(1, panel + 1)
    ]


async def open_session(
    api: DemoClient,
    session_id: str,
    body_id: str,
    today: date,
    examiners: list[dict[str, str]],
    *,
    capacity: int,
    policy_version: str = "demo-fast",
) -> None:
    """The centre opens an exam session of the demo's occupation and level, two weeks out."""
    await api.call(
        Role.CENTRE,
        "POST",
        "/sessions",
        json={
            "session_id": session_id,
            "body_id": body_id,
            "occupation_code": OCCUPATION,
            "level": LEVEL,
            "exam_date": str(today + timedelta(days=14)),
            "registration_closes_on": str(today + timedelta(days=7)),
            "capacity": capacity,
            "theory_rooms": 1,
            "proctors": max(2, math.ceil(capacity / 15)),
            "examiners": examiners,
            "policy_version": policy_version,
        },
    )


async def load_insurance(api: DemoClient, id_numbers: list[str], today: date) -> None:
    """The records officer loads each person's unemployment-insurance contributions
    (``INSURED_MONTHS``, enough for the skill-upgrading subsidy)."""
    await api.call(
        Role.RECORDS_OFFICER,
        "POST",
        "/incentives/insurance-records",
        json={
            "records": [
                {"id_number": n, "insured_months": INSURED_MONTHS, "as_of": str(today)}
                for n in id_numbers
            ]
        },
    )


async def _scenario(
    api: DemoClient,
    console: Console,
    count: int,
    centre: str | None,
    sent: DemoPersonalData,
    organiser: str,
) -> None:
    run = uuid.uuid4().hex[:6]
    started = datetime.now(UTC) - timedelta(seconds=5)
    rng = random.Random(run)
    today = china_date(started)
    body_id, session_id = centre or f"S-LN-{run}", f"ln-{run}-dg4"

    console.rule("[bold]SkillFlow demo[/bold]")
    console.print(
        f"1. 沈阳市职业技能鉴定中心 ({body_id}) files for electrician level {LEVEL}; the regulator approves."
    )
    body, earlier = await ensure_centre(api, body_id, f"{rng.randrange(1, 999_999):06d}")
    console.print(
        f"   {'filed in an earlier run: ' if earlier else ''}"
        f"filing receipt [cyan]{body['filing_receipt']}[/cyan], "
        f"status [green]{body['status']}[/green]"
    )

    examiners = examiner_panel(count)
    sent.names += [examiner["name"] for examiner in examiners]
    console.print(
        f"2. The centre opens exam session {session_id}: {count} places, {len(examiners)} practical examiners."
    )
    await open_session(api, session_id, body_id, today, examiners, capacity=count)

    people = [_candidate(rng, n) for n in range(count)]
    by_json, by_csv = people[: count // 2], people[count // 2 :]
    console.print(
        f"3. Registration: {len(by_json)} through the API, {len(by_csv)} in a CSV upload (plus two bad rows)."
    )
    for person in by_json:
        answer = await api.call(
            Role.CENTRE,
            "POST",
            f"/sessions/{session_id}/applications",
            json={
                "id_number": person.id_number,
                "name": person.name,
                "years_in_occupation": 7,
                "category": person.category,
                "appraisal_fee_fen": APPRAISAL_FEE_FEN,
                "employer": "沈阳电力工程公司",
            },
        )
        person.application_id = answer["application_id"]
    too_young = make_id_number("210102", today - timedelta(days=365 * 15), 1, "F")
    wrong_check = by_csv[0].id_number[:-1] + ("0" if by_csv[0].id_number[-1] != "0" else "1")
    sent.id_numbers += [p.id_number for p in people] + [too_young, wrong_check]
    sent.names += [p.name for p in people] + ["赵小", "钱多"]
    rows = await api.imported(
        f"/sessions/{session_id}/applications.csv",
        _registration_csv(
            [*by_csv, Candidate(too_young, "赵小", False), Candidate(wrong_check, "钱多", False)]
        ),
    )
    refused = [row for row in rows if row["status"] == "rejected"]
    for row, person in zip([r for r in rows if r["status"] != "rejected"], by_csv, strict=False):
        person.application_id = row["application_id"]
    for row in refused:
        error = row["errors"][0]
        console.print(
            f"   row {row['row']} refused: [yellow]{error['field']}[/yellow] — {error['message']} [dim]({error['rule']})[/dim]"
        )

    console.print(
        "4. The records officer loads 24 months of unemployment-insurance contributions per candidate."
    )
    await load_insurance(api, [p.id_number for p in people], today)

    console.print(
        "5. The centre approves every registration and starts the exam; examiners upload the scores."
    )
    await api.call(Role.CENTRE, "POST", f"/sessions/{session_id}/reviews", json={"approve": True})
    await _retry(lambda: api.call(Role.CENTRE, "POST", f"/sessions/{session_id}/start"))
    score_rows = await api.imported(f"/sessions/{session_id}/scores.csv", _scores_csv(people, rng))
    accepted = sum(1 for row in score_rows if row["status"] == "accepted")
    passing = [p for p in people if p.passes]
    console.print(
        f"   {accepted} score rows accepted; {len(passing)} candidates passed, {count - len(passing)} failed theory."
    )
    closed = await api.call(Role.CENTRE, "POST", f"/sessions/{session_id}/close")
    console.print(
        f"   Every first-round score is in, so the centre closes the session ({closed['status']}); "
        f"the {count - len(passing)} who failed theory may re-sit it within the window."
    )

    console.print(
        "6. Public notice, then certificates; events flow to the records and incentive services."
    )
    issued = await _wait_for_certificates(api, session_id, len(passing))
    decisions = await _wait_for_subsidies(api, set(issued.values()), started)

    sample = next(p for p in passing)

    async def sample_archive() -> list[dict[str, Any]]:
        return [
            await api.call(
                Role.RECORDS_OFFICER,
                "POST",
                "/records/archives/lookup",
                json={"id_number": sample.id_number},
            )
        ]

    # The records service is a consumer group of its own: it may still be catching up with
    # the certificate and the subsidy decisions the incentive service already made.
    try:
        [archive] = await _wait_for(
            sample_archive,
            lambda found: (
                bool(found[0]["certificates"])
                and any(e["entry_kind"].startswith("subsidy_") for e in found[0]["timeline"])
            ),
            timeout=60,
        )
    except TimeoutError:
        raise DemoFailed("the sample worker's archive has no certificate and subsidy") from None
    number = archive["certificates"][0]["certificate_number"]
    verification = await api.call(None, "GET", f"/certificates/{number}")
    # The holder's details need the holder's name as well as the number.
    holder = await api.call(
        None, "POST", f"/certificates/{number}/verification", json={"holder_name": sample.name}
    )
    console.print(
        f"7. Anyone verifies {number}: [green]{verification['status']}[/green], "
        f"level {verification['level']}; with the holder's name, {holder['holder_name_masked']} "
        f"of {holder['body_name']}."
    )
    console.print(
        f"   The holder's archive (looked up by ID number) has {len(archive['timeline'])} entries:"
    )
    for entry in archive["timeline"]:
        detail = entry["details"].get("kind") or entry.get("certificate_number") or ""
        console.print(f"     · {entry['occurred_at'][:19]}  {entry['entry_kind']} {detail}")

    prior_number = f"{rng_digits(number)}-LN"
    [imported] = await api.call(
        Role.RECORDS_OFFICER,
        "POST",
        "/records/prior-certificates",
        json={
            "certificates": [
                {
                    "certificate_number": prior_number,
                    "id_number": sample.id_number,
                    "holder_name": sample.name,
                    "occupation_code": OCCUPATION,
                    "level": 5,
                    "issuing_body": "江苏省职业技能鉴定中心",
                    "issued_on": str(china_date(datetime.now(UTC)) - timedelta(days=5 * 365)),
                    "checked_against": "全国联网查询 (national certificate query)",
                    "checked_on": str(china_date(datetime.now(UTC))),
                }
            ]
        },
    )
    prior = await api.call(None, "GET", f"/certificates/{prior_number}")
    console.print(
        f"   The records officer imports the holder's earlier level-5 certificate {prior_number} "
        f"({imported['status']}, checked against the national query): it verifies as "
        f"{prior['status']}, imported={prior['imported']}, and counts for eligibility and titles."
    )

    revoked_person = passing[-1]
    revoked_number = issued[revoked_person.application_id or ""]
    console.print(
        f"8. The regulator revokes {revoked_number} (scores altered after sign-off); the subsidy is clawed back."
    )
    reason = "scores altered after sign-off"
    sent.free_text.append(reason)
    await api.call(
        Role.REGULATOR,
        "POST",
        f"/certificates/{revoked_number}/revocation",
        json={"reason": reason},
    )
    # A registered-unemployed holder also had the appraisal subsidy: every grant on the
    # certificate is clawed back, so wait for all of them, not the first.
    granted_on_revoked = [
        c
        for c in decisions
        if c["certificate_number"] == revoked_number and c["status"] == "granted"
    ]

    def clawed_on_revoked(claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [c for c in claims if c["certificate_number"] == revoked_number]

    clawed = await _wait_for(
        lambda: _claims(api, "clawed_back", started),
        lambda claims: len(clawed_on_revoked(claims)) >= len(granted_on_revoked),
    )
    status = (await api.call(None, "GET", f"/certificates/{revoked_number}"))["status"]

    folder = Path(tempfile.mkdtemp(prefix="skillflow-credential-"))
    held = await _credential_offline(api, number, sample.name, folder)
    console.print(
        f"9. The holder of {number} takes it as a signed Open Badges 3.0 credential; saved with "
        f"SkillFlow's key set and the status list, it verifies offline: signature "
        f"[green]{held.signature}[/green], status [green]{held.status}[/green]."
    )
    console.print(
        f"   skillflow verify --credential {folder}/credential.json --keys {folder}/keys.json "
        f"--status-list {folder}/status-list.json --offline"
    )
    gone = await _credential_offline(
        api, revoked_number, revoked_person.name, Path(tempfile.mkdtemp(prefix="skillflow-"))
    )
    console.print(
        f"   The revoked {revoked_number}'s credential: signature {gone.signature}, "
        f"status [red]{gone.status}[/red]."
    )

    ladder = await competition_act(
        api, console, run=run, body_id=body_id, organiser_id=organiser, occupation=OCCUPATION,
        today=today, rng=rng, step=10, sent=sent,
    )  # fmt: skip

    table = Table(title="What happened")
    table.add_column("")
    table.add_column("count", justify="right")
    table.add_row("candidates registered", str(count))
    table.add_row("registration rows refused (rule named)", str(len(refused)))
    table.add_row("certificates issued", str(len(issued)))
    for kind, label in (("skill_upgrade", "skill-upgrading"), ("appraisal", "appraisal")):
        claims = [c for c in decisions if c["kind"] == kind]
        granted = [c for c in claims if c["status"] == "granted"]
        yuan = sum(c["amount_fen"] for c in granted) / 100
        table.add_row(
            f"{label} subsidies granted / refused", f"{len(granted)} / {len(claims) - len(granted)}"
        )
        table.add_row(f"{label} yuan granted", f"{yuan:,.2f}")
    table.add_row("revoked certificate now verifies as", status)
    table.add_row(
        "subsidies clawed back",
        f"{len(clawed_on_revoked(clawed))} of {len(granted_on_revoked)}",
    )
    table.add_row("credential verified offline", f"{held.signature} / {held.status}")
    table.add_row("revoked certificate's credential", f"{gone.signature} / {gone.status}")
    table.add_row(
        "competitions run (city -> provincial -> national)", str(len(ladder.competitions))
    )
    table.add_row(
        "qualifiers advanced (city, provincial)",
        f"{ladder.advanced.get('city', 0)}, {ladder.advanced.get('provincial', 0)}",
    )
    table.add_row("promotion certificate (national medallist)", ladder.certificate or "none")
    table.add_row("competition rewards in that archive (yuan)", f"{ladder.rewards_fen / 100:,.2f}")
    console.print(table)
    console.print(ladder_table(ladder))
    held_application = await _held_issuance(
        api, console, rng, body_id, run, today, examiners, count
    )
    console.print(
        "Open the operator page and the Temporal UI (addresses in stack.json) to look around: "
        f"under 'Waiting too long', re-check application-{held_application} (with a reason) to issue its "
        "certificate, or run "
        f"[cyan]skillflow repair recheck application-{held_application} --reason 'body reinstated'[/cyan]."
    )


async def _held_issuance(
    api: DemoClient,
    console: Console,
    rng: random.Random,
    body_id: str,
    run: str,
    today: date,
    examiners: list[dict[str, str]],
    count: int,
) -> str:
    """A late candidate passes while the regulator suspends the centre: the certificate is
    held. The centre is reinstated at once, but under ``demo-held`` the next automatic
    recheck is an hour away, so the operator console lists the held issuance as late work
    for an operator to re-check. Returns the application id."""
    session_id = f"ln-{run}-held"
    console.print(
        f"11. A late candidate in session {session_id} passes while the regulator suspends the "
        "centre; the certificate is held. The centre is reinstated a moment later."
    )
    await open_session(
        api, session_id, body_id, today, examiners[:3], capacity=1, policy_version="demo-held"
    )
    person = _candidate(rng, count + 1)
    answer = await api.call(
        Role.CENTRE,
        "POST",
        f"/sessions/{session_id}/applications",
        json={"id_number": person.id_number, "name": person.name, "years_in_occupation": 7},
    )
    application_id = str(answer["application_id"])
    await api.call(
        Role.CENTRE, "POST", f"/applications/{application_id}/review", json={"approve": True}
    )
    await _retry(lambda: api.call(Role.CENTRE, "POST", f"/sessions/{session_id}/start"))
    for component, score in (("theory", 88), ("practical", 91)):
        await api.call(
            Role.CENTRE,
            "POST",
            f"/applications/{application_id}/scores",
            json={"examiner_id": "E1", "scores": {component: score}},
        )
    await api.call(
        Role.REGULATOR,
        "POST",
        f"/bodies/{body_id}/status",
        json={"action": "suspend", "reason": "site inspection pending (demo)"},
    )
    try:
        await _wait_for(
            lambda: _as_list(api.call(Role.CENTRE, "GET", f"/applications/{application_id}")),
            lambda found: found[0]["stage"] == "held",
            timeout=60,
        )
    finally:
        await api.call(
            Role.REGULATOR,
            "POST",
            f"/bodies/{body_id}/status",
            json={"action": "reinstate", "reason": "inspection passed (demo)"},
        )
    console.print(
        f"   application {application_id}: [yellow]held[/yellow]; the centre is active again."
    )
    return application_id


async def _as_list(call: Awaitable[Any]) -> list[dict[str, Any]]:
    return [await call]


def rng_digits(seed: str) -> str:
    """A 16-digit older-form certificate number, different for each demo run."""
    return f"{uuid.uuid5(uuid.NAMESPACE_URL, seed + uuid.uuid4().hex).int % 10**16:016d}"


async def _credential_offline(
    api: DemoClient, number: str, holder: str, folder: Path
) -> CredentialCheck:
    """Fetch the holder's credential, SkillFlow's key set and the status list, save them,
    and check the saved files with no further call (as ``skillflow verify --offline``)."""
    credential = await api.call(
        None, "POST", f"/certificates/{number}/credential", json={"holder_name": holder}
    )
    keys = await api.call(None, "GET", "/.well-known/did.json")
    status_url = credential["credentialStatus"]["statusListCredential"]
    status_list = await api.call(None, "GET", urlsplit(status_url).path)
    for name, document in (
        ("credential", credential),
        ("keys", keys),
        ("status-list", status_list),
    ):
        (folder / f"{name}.json").write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    saved = {
        name: json.loads((folder / f"{name}.json").read_text("utf-8"))
        for name in ("credential", "keys", "status-list")
    }
    return check_credential(
        saved["credential"], KeySet.from_did_document(saved["keys"]), saved["status-list"]
    )


def _candidate(rng: random.Random, n: int) -> Candidate:
    birth = date(1975, 1, 1) + timedelta(days=rng.randrange(0, 365 * 25))
    number = make_id_number("210102", birth, n % 100, rng.choice(["M", "F"]))
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    # About a third are registered unemployed: eligible for the appraisal subsidy too.
    category = "registered_unemployed" if rng.random() < 0.33 else "employed"
    return Candidate(number, name, passes=rng.random() < 0.85, category=category)


def _registration_csv(people: list[Candidate]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["id_number", "name", "years_in_occupation", "employer", "category", "appraisal_fee_fen"]
    )
    for person in people:
        writer.writerow(
            [
                person.id_number,
                person.name,
                7,
                "沈阳电力工程公司",
                person.category,
                APPRAISAL_FEE_FEN,
            ]
        )
    return out.getvalue()


def _scores_csv(people: list[Candidate], rng: random.Random) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["application_id", "examiner_id", "theory", "practical"])
    for person in people:
        if person.passes:
            writer.writerow([person.application_id, "E1", rng.randint(62, 96), rng.randint(60, 95)])
        else:
            # Theory must pass before the practical is sat (electrician): no practical score.
            writer.writerow([person.application_id, "E1", rng.randint(30, 59), ""])
    return out.getvalue()


async def _retry(call: Callable[[], Awaitable[Any]], attempts: int = 50) -> Any:
    """Commands right after a start may reach the workflow before it has begun: retry briefly."""
    for attempt in range(attempts):
        try:
            return await call()
        except DemoFailed:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.2)
    raise AssertionError("unreachable")


async def _claims(api: DemoClient, status: str, since: datetime) -> list[dict[str, Any]]:
    claims: list[dict[str, Any]] = await api.call(
        Role.REGULATOR,
        "GET",
        "/incentives/claims",
        params={"status": status, "decided_since": since.isoformat(), "limit": 1000},
    )
    return claims


async def _wait_for(
    fetch: Callable[[], Awaitable[list[dict[str, Any]]]],
    done: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 120,
) -> list[dict[str, Any]]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        items = await fetch()
        if done(items):
            return items
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"gave up waiting after {timeout:.0f}s")
        await asyncio.sleep(0.5)


async def _wait_for_certificates(api: DemoClient, session_id: str, expected: int) -> dict[str, str]:
    with _progress() as progress:
        task = progress.add_task("certificates issued", total=expected)
        deadline = asyncio.get_running_loop().time() + 180
        while True:
            listing = await api.call(
                Role.CENTRE, "GET", f"/sessions/{session_id}/applications?limit=10000"
            )
            issued = {
                a["application_id"]: a["certificate_number"]
                for a in listing
                if a.get("certificate_number")
            }
            progress.update(task, completed=len(issued))
            if len(issued) >= expected:
                return issued
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"only {len(issued)} of {expected} certificates after 180s")
            await asyncio.sleep(0.5)


async def _wait_for_subsidies(
    api: DemoClient, certificates: set[str], since: datetime
) -> list[dict[str, Any]]:
    with _progress() as progress:
        task = progress.add_task("skill-upgrading subsidies decided", total=len(certificates))
        deadline = asyncio.get_running_loop().time() + 120
        while True:
            decided = [
                c
                for status in ("granted", "held", "refused")
                for c in await _claims(api, status, since)
                if c["certificate_number"] in certificates
            ]
            upgrades = [c for c in decided if c["kind"] == "skill_upgrade"]
            progress.update(task, completed=len(upgrades))
            if len(upgrades) >= len(certificates):
                return decided
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(
                    f"only {len(decided)} of {len(certificates)} subsidies decided after 120s"
                )
            await asyncio.sleep(0.5)


def _progress() -> Progress:
    return Progress(
        TextColumn("   {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    )
