"""The demo's competition act: a city contest feeds a provincial class-1 competition, which
feeds the national one, all through the HTTP API as organiser and judge.

The local stack has one judge token, so the demo's marking scheme is measurement aspects
only (the three-judge judgement aspects are shown by the tests and the benchmark).
"""

from __future__ import annotations

import asyncio
import csv
import io
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from policy.idnumber import make_id_number
from skillflow.settings import Role

if TYPE_CHECKING:
    from skillflow.demo import DemoClient, DemoPersonalData

SCHEME = {
    "modules": [
        {"module_id": "T", "kind": "theory",
         "aspects": [{"aspect_id": "T1", "kind": "measurement", "max_mark": "30",
                      "description": "理论知识"}]},
        {"module_id": "P", "kind": "practical",
         "aspects": [{"aspect_id": "P1", "kind": "measurement", "max_mark": "40",
                      "description": "尺寸与公差"},
                     {"aspect_id": "P2", "kind": "measurement", "max_mark": "30",
                      "description": "安全文明操作"}]},
    ]
}  # fmt: skip
ORGANISER_ID = "ORG-LN"  # when the stack names no organising body for the demo
MEDALS = ("gold", "silver", "bronze")


@dataclass
class Competitor:
    id_number: str
    name: str
    level_held: int | None = None


@dataclass
class Ladder:
    """What the act did, for the summary table."""

    competitions: dict[str, str] = field(default_factory=dict)  # tier -> competition id
    podium: list[dict[str, Any]] = field(default_factory=list)
    merit: dict[str, Any] | None = None
    advanced: dict[str, int] = field(default_factory=dict)
    certificate: str | None = None
    rewards_fen: int = 0
    archive: list[str] = field(default_factory=list)


async def competition_act(
    api: DemoClient,
    console: Console,
    *,
    run: str,
    body_id: str,
    organiser_id: str,
    occupation: str,
    today: date,
    rng: random.Random,
    step: int,
    sent: DemoPersonalData,
) -> Ladder:
    from skillflow.demo import load_insurance

    ladder = Ladder()
    console.print(
        f"{step}. Competitions: a city contest feeds a provincial class-1 competition, which "
        "feeds the national final; the centre certifies promotions."
    )
    for tier, feeds in (
        ("national", None),
        ("provincial_class1", "national"),
        ("city", "provincial_class1"),
    ):
        competition_id = f"{tier.replace('_', '-')}-{run}"
        await api.call(
            Role.ORGANISER,
            "POST",
            "/competitions",
            json={
                "competition_id": competition_id,
                "name": f"电工技能竞赛 {tier}",
                "tier": tier,
                "occupation_code": occupation,
                "edition_year": today.year,
                "competed_on": str(today),
                "organiser_id": organiser_id,
                "issuing_body_id": body_id,
                "marking_scheme": SCHEME,
                "feeds_competition_id": ladder.competitions.get(feeds or ""),
            },
        )
        ladder.competitions[tier] = competition_id

    city = [_competitor(rng, 100 + n, None) for n in range(6)]
    report = await api.call(
        Role.ORGANISER,
        "POST",
        f"/competitions/{ladder.competitions['city']}/entries.csv",
        content=_entries_csv(city),
        headers={"Content-Type": "text/csv"},
    )
    console.print(f"   city: {sum(r['status'] == 'accepted' for r in report)} entries by CSV")
    await _run(api, ladder.competitions["city"], rng, console, "city")
    ladder.advanced["city"] = await _advanced(api, ladder.competitions["provincial_class1"], 3)

    provincial_nominees = [_competitor(rng, 200 + n, None) for n in range(2)]
    await _nominate_and_enter(api, ladder.competitions["provincial_class1"], provincial_nominees)
    console.print(
        f"   provincial: {ladder.advanced['city']} qualifiers arrived from the city contest by "
        f"themselves, {len(provincial_nominees)} nominees entered"
    )
    await _run(api, ladder.competitions["provincial_class1"], rng, console, "provincial")
    ladder.advanced["provincial"] = await _advanced(api, ladder.competitions["national"], 2)

    national_nominees = [_competitor(rng, 300 + n, 4) for n in range(6)]
    for competitor in (*city, *provincial_nominees, *national_nominees):
        sent.id_numbers.append(competitor.id_number)
        sent.names.append(competitor.name)
    await load_insurance(api, [c.id_number for c in national_nominees], today)
    await _nominate_and_enter(api, ladder.competitions["national"], national_nominees)
    console.print(
        f"   national: {ladder.advanced['provincial']} qualifiers from the provincial "
        f"competition, {len(national_nominees)} nominees (level 4 holders)"
    )
    results = await _run(api, ladder.competitions["national"], rng, console, "national")
    ladder.podium = [r for r in results if r["award"] in ("gold", "silver", "bronze")]
    ladder.merit = next((r for r in results if r["award"] == "merit"), None)

    # The best-placed medallist among the nominees (the climbers had this year's promotion
    # at the city contest already): promoted, so a certificate, a subsidy and a reward.
    entries = await api.call(
        Role.ORGANISER, "GET", f"/competitions/{ladder.competitions['national']}/entries"
    )
    nominee_entries = sorted(e["entry"] for e in entries if e["source"] == "nominated")
    medallists = [
        r for r in results
        if r["entry"] in nominee_entries and r["promoted_to"] and r["award"] in MEDALS
    ]  # fmt: skip
    if medallists:
        best = min(medallists, key=lambda r: r["rank"])
        champion = national_nominees[nominee_entries.index(best["entry"])]
        archive = await _wait_for_archive(api, champion.id_number)
        ladder.archive = [e["entry_kind"] for e in archive["timeline"]]
        promoted_certificates = [c for c in archive["certificates"] if c["route"] == "promotion"]
        ladder.certificate = promoted_certificates[0]["certificate_number"]
        ladder.rewards_fen = sum(
            e["details"].get("amount_fen", 0)
            for e in archive["timeline"]
            if e["entry_kind"] == "reward_granted"
        )
    return ladder


def ladder_table(ladder: Ladder) -> Table:
    table = Table(title="The national final")
    for column in ("rank", "competitor", "total", "award", "titles", "promoted to"):
        table.add_column(column)
    for row in [*ladder.podium, *([ladder.merit] if ladder.merit else [])]:
        table.add_row(
            str(row["rank"]),
            row["holder_name_masked"],
            row["total"],
            "优胜奖 (merit)" if row["award"] == "merit" else row["award"],
            ", ".join(row["titles"]),
            f"level {row['promoted_to']}" if row["promoted_to"] else "",
        )
    return table


async def _run(
    api: DemoClient, competition_id: str, rng: random.Random, console: Console, label: str
) -> list[dict[str, Any]]:
    path = f"/competitions/{competition_id}"
    # The judge marks under its token's name: ask, then assign that name.
    judge = (await api.call(Role.JUDGE, "GET", f"{path}/judges/me"))["judge_id"]
    await api.call(
        Role.ORGANISER, "POST", f"{path}/judges",
        json={"judge_id": judge, "aspects": ["T1", "P1", "P2"]},
    )  # fmt: skip
    await api.call(Role.ORGANISER, "POST", f"{path}/close-entries")
    entries = await api.call(Role.ORGANISER, "GET", f"{path}/entries")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["entry", "aspect_id", "value"])
    for entry in entries:
        for aspect, top in (("T1", 30), ("P1", 40), ("P2", 30)):
            writer.writerow([entry["entry"], aspect, rng.randint(top // 2, top)])
    marks = await api.call(
        Role.JUDGE, "POST", f"{path}/marks.csv", content=out.getvalue(),
        headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    for module in ("T", "P"):
        await api.call(Role.ORGANISER, "POST", f"{path}/locks", json={"module_id": module})
    await api.call(Role.ORGANISER, "POST", f"{path}/publish")
    results: list[dict[str, Any]] = await api.call(None, "GET", f"{path}/results")
    winner = results[0]
    console.print(
        f"   {label}: {len(marks)} marks, modules locked, results published — winner "
        f"{winner['holder_name_masked']} with {winner['total']}"
    )
    return results


async def _nominate_and_enter(
    api: DemoClient, competition_id: str, people: list[Competitor]
) -> None:
    path = f"/competitions/{competition_id}"
    await api.call(
        Role.ORGANISER, "POST", f"{path}/nominations",
        json={"id_numbers": [p.id_number for p in people]},
    )  # fmt: skip
    for person in people:
        await api.call(
            Role.ORGANISER, "POST", f"{path}/entries",
            json={"id_number": person.id_number, "name": person.name,
                  "level_held": person.level_held},
        )  # fmt: skip


async def _advanced(api: DemoClient, competition_id: str, expected: int) -> int:
    """Qualifiers arrive once the lower tier's workflow has advanced them."""
    for _ in range(300):
        entries = await api.call(Role.ORGANISER, "GET", f"/competitions/{competition_id}/entries")
        arrived = sum(1 for e in entries if e["source"] == "advanced")
        if arrived >= expected:
            return arrived
        await asyncio.sleep(0.1)
    raise TimeoutError(f"only {arrived} of {expected} qualifiers arrived")


async def _wait_for_archive(api: DemoClient, id_number: str) -> dict[str, Any]:
    wanted = {"competition_result", "promotion_granted", "certificate_issued", "reward_granted"}
    from skillflow.demo import DemoFailed

    for _ in range(240):
        await asyncio.sleep(0.5)
        try:
            archive: dict[str, Any] = await api.call(
                Role.RECORDS_OFFICER, "POST", "/records/archives/lookup",
                json={"id_number": id_number},
            )  # fmt: skip
        except DemoFailed:  # 404 until the records service archived a first event
            continue
        kinds = {e["entry_kind"] for e in archive["timeline"]}
        if wanted <= kinds and any(c["route"] == "promotion" for c in archive["certificates"]):
            return archive
    raise TimeoutError("the promoted champion's archive lacks the certificate or the reward")


def _competitor(rng: random.Random, n: int, level_held: int | None) -> Competitor:
    from skillflow.demo import GIVEN, SURNAMES

    birth = date(1985, 1, 1) + timedelta(days=rng.randrange(0, 365 * 15))
    number = make_id_number("210102", birth, n % 100, rng.choice(["M", "F"]))
    return Competitor(number, rng.choice(SURNAMES) + rng.choice(GIVEN), level_held)


def _entries_csv(people: list[Competitor]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id_number", "name", "employer", "region"])
    for person in people:
        writer.writerow([person.id_number, person.name, "沈阳电力工程公司", "2101"])
    return out.getvalue()
