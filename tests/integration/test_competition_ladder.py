"""A three-tier ladder on the real stack, through the API: a city contest feeds a provincial
class-1 competition, which feeds the national one. Qualifiers advance by themselves; the
events are read back from the broker; a national promotion becomes a certificate and a
subsidy claim in the worker's archive, and the gold medal a reward."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from policy.competition import default_rule_version
from policy.idnumber import person_key
from policy.rule_ids import Rule
from schemas import payloads
from schemas.topics import Topic
from skillflow.settings import Role
from tests.integration.steps import (
    FITTER,
    Auth,
    approved_body,
    certificate_issued,
    eventually,
    insured,
    new_id_number,
    today,
)

pytestmark = pytest.mark.integration

SCHEME = {
    "modules": [
        {"module_id": "T", "kind": "theory",
         "aspects": [{"aspect_id": "T1", "kind": "measurement", "max_mark": "30"}]},
        {"module_id": "P", "kind": "practical",
         "aspects": [{"aspect_id": "P1", "kind": "measurement", "max_mark": "40"},
                     {"aspect_id": "J1", "kind": "judgement", "max_mark": "30"}]},
    ]
}  # fmt: skip
PANEL = ("J-1", "J-2", "J-3")


class Organiser:
    """What an organiser and the judges do through the API for one competition."""

    def __init__(self, api: httpx.AsyncClient, auth: Auth, stack: Any, competition_id: str):
        self.api, self.auth, self.stack, self.id = api, auth, stack, competition_id

    def judge(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.stack.named_tokens[f'judge:{name}']}"}

    async def post(self, path: str, body: Any = None, expect: int = 200) -> Any:
        response = await self.api.post(
            f"/competitions/{self.id}{path}", json=body, headers=self.auth(Role.ORGANISER)
        )
        assert response.status_code == expect, response.text
        return response.json()

    async def nominate_and_enter(self, people: list[str], surname: str, level_held: int) -> None:
        """The organiser nominates ``people`` and enters each (named surname + index)."""
        await self.post("/nominations", {"id_numbers": people})
        for i, number in enumerate(people):
            entry = {"id_number": number, "name": f"{surname}{i}", "level_held": level_held}
            await self.post("/entries", entry, expect=201)

    async def panel(self, **conflicts: str) -> None:
        await self.post("/judges", {"judge_id": "J-1", "aspects": ["T1", "P1", "J1"]})
        for name in PANEL[1:]:
            await self.post("/judges", {"judge_id": name, "aspects": ["J1"]})
        await self.post("/judges", {"judge_id": "J-4", "aspects": ["J1"], **conflicts})

    async def marks(self, name: str, marks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        response = await self.api.post(
            f"/competitions/{self.id}/marks", json={"marks": marks}, headers=self.judge(name)
        )
        assert response.status_code == 200, response.text
        reports: list[dict[str, Any]] = response.json()
        return reports

    async def score(self, scores: dict[int, tuple[int, int, int]]) -> None:
        """Entry -> (theory, measurement, judgement 0-3 from each of the three judges)."""
        first = [
            {"entry": e, "aspect_id": a, "value": v}
            for e, (t, p, j) in scores.items()
            for a, v in (("T1", t), ("P1", p), ("J1", j))
        ]
        assert {r["status"] for r in await self.marks("J-1", first)} == {"accepted"}
        for name in PANEL[1:]:
            body = "entry,aspect_id,value\n" + "".join(
                f"{e},J1,{j}\n" for e, (_, _, j) in scores.items()
            )
            response = await self.api.post(
                f"/competitions/{self.id}/marks.csv",
                content=body.encode(),
                headers={**self.judge(name), "Content-Type": "text/csv"},
            )
            assert response.status_code == 200, response.text
            assert {r["status"] for r in response.json()} == {"accepted"}

    async def finish(self) -> list[dict[str, Any]]:
        for module in ("T", "P"):
            await self.post("/locks", {"module_id": module})
        state = await self.post("/publish")
        assert state["phase"] == "results_published", state
        response = await self.api.get(f"/competitions/{self.id}/results")  # the public
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()
        return results


async def create(
    api: httpx.AsyncClient, auth: Auth, stack: Any, tier: str, body_id: str, **extra: Any
) -> Organiser:
    competition_id = f"{tier.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
    response = await api.post(
        "/competitions",
        headers=auth(Role.ORGANISER),
        json={
            "competition_id": competition_id,
            "name": f"钳工 {tier}",
            "tier": tier,
            "occupation_code": FITTER,
            "edition_year": today().year,
            "competed_on": str(today()),
            "organiser_id": "ORG-TJ",
            "issuing_body_id": body_id,
            "categories": ["workers"],
            "marking_scheme": SCHEME,
            **extra,
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["phase"] == "entries_open"
    return Organiser(api, auth, stack, competition_id)


def person(stack: Any, id_number: str) -> str:
    return person_key(id_number, stack.settings.person_key_secret_bytes)


async def test_city_to_provincial_to_national_ladder(
    stack: Any, worker: None, consumers: None, api: httpx.AsyncClient, auth: Auth, events: Any
) -> None:
    body_id = await approved_body(api, auth, levels=(5, 4, 3, 2, 1), province_code="12")
    national = await create(api, auth, stack, "national", body_id)
    provincial = await create(
        api, auth, stack, "provincial_class1", body_id, feeds_competition_id=national.id
    )
    city = await create(api, auth, stack, "city", body_id, feeds_competition_id=provincial.id)

    # --- the city contest: entries by CSV, one bad row and one duplicate refused by name.
    climbers = [new_id_number(region="120101") for _ in range(5)]
    rows = "".join(f"{n},王{i}{i},workers,EMP-{i},1201\n" for i, n in enumerate(climbers))
    csv = "id_number,name,category,employer,region\n" + rows + "12010119900101001X,坏行\n"
    csv += f"{climbers[0]},王重复\n"
    response = await api.post(
        f"/competitions/{city.id}/entries.csv",
        content=csv.encode(),
        headers={**auth(Role.ORGANISER), "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert [r["status"] for r in report] == ["accepted"] * 5 + ["rejected"] * 2
    assert report[5]["errors"][0]["rule"].startswith("id_number.")
    assert report[6]["errors"][0]["rule"] == "entry.duplicate"
    assert climbers[0] not in response.text
    # J-4 works for the first entrant's employer: recused for that competitor only.
    await city.panel(employer="EMP-0")
    await city.post("/close-entries")
    refused = await city.marks("J-4", [{"entry": 1, "aspect_id": "J1", "value": 2}])
    assert refused[0]["errors"][0]["rule"] == "marks.recused"
    await city.score(
        {1: (28, 38, 3), 2: (27, 37, 3), 3: (26, 36, 3), 4: (20, 30, 2), 5: (10, 20, 1)}
    )
    leaderboard = await api.get(
        f"/competitions/{city.id}/leaderboard", headers=auth(Role.ORGANISER)
    )
    assert [row["entry"] for row in leaderboard.json()][:3] == [1, 2, 3]
    early = await api.get(f"/competitions/{provincial.id}/results")
    assert early.json()["errors"][0]["rule"] == "results.not_published"
    city_results = await city.finish()
    assert [(r["entry"], r["rank"], r["award"]) for r in city_results] == [
        (1, 1, "gold"), (2, 2, "silver"), (3, 3, "bronze"), (4, 4, "none"), (5, 5, "none"),
    ]  # fmt: skip

    # --- the provincial competition received the city's three qualifiers by itself.
    async def qualifiers() -> list[dict[str, Any]] | None:
        answer = await api.get(
            f"/competitions/{provincial.id}/entries", headers=auth(Role.ORGANISER)
        )
        entries: list[dict[str, Any]] = answer.json()
        return entries if len(entries) == 3 else None

    assert {e["source"] for e in await eventually(qualifiers)} == {"advanced"}
    outsider = new_id_number()
    refusal = await provincial.post("/entries", {"id_number": outsider, "name": "赵六"}, expect=422)
    assert refusal["errors"][0]["rule"] == "entry.not_qualified"
    await provincial.post("/nominations", {"id_numbers": [outsider]})
    await provincial.post("/entries", {"id_number": outsider, "name": "赵六"}, expect=201)
    await provincial.panel()
    await provincial.post("/close-entries")
    await provincial.score({1: (29, 39, 3), 2: (25, 35, 2), 3: (20, 30, 2), 4: (28, 30, 3)})
    await provincial.finish()

    async def advanced_from_provincial() -> list[int] | None:
        answer = (await api.get(f"/competitions/{provincial.id}/results")).json()
        return [r["entry"] for r in answer if r["advanced"]] or None

    assert await eventually(advanced_from_provincial) == [1, 4]  # quota 2

    # --- the national final: two provincial qualifiers and six nominees.
    nominees = [new_id_number() for _ in range(6)]
    champion = nominees[0]
    on = today()
    loaded = await insured(api, auth, champion, as_of=on - timedelta(days=1))
    assert loaded.status_code == 200, loaded.text
    await national.nominate_and_enter(nominees, "李", level_held=4)
    await national.panel()
    await national.post("/close-entries")
    entries = (
        await api.get(f"/competitions/{national.id}/entries", headers=auth(Role.ORGANISER))
    ).json()
    assert len(entries) == 8
    scores = {e["entry"]: (20, 20, 1) for e in entries}
    by_entry = {e["entry"]: e for e in entries}
    nominee_entries = sorted(n for n, e in by_entry.items() if e["source"] == "nominated")
    champion_entry = nominee_entries[0]
    scores[champion_entry] = (30, 40, 3)  # 100
    for rank_, entry in enumerate(e for e in sorted(by_entry) if e != champion_entry):
        scores[entry] = (25, 39 - 2 * rank_, 2)
    await national.score(scores)
    national_results = await national.finish()
    awards = [r["award"] for r in national_results]
    assert awards == ["gold", "silver", "bronze", "merit"] + ["none"] * 4
    assert national_results[0]["entry"] == champion_entry
    assert "全国技术能手" in national_results[0]["titles"]
    assert national_results[0]["promoted_to"] == 3
    export = await api.get(f"/competitions/{national.id}/results.csv")
    assert export.text.splitlines()[0].startswith("category,rank,entry")
    assert len(export.text.splitlines()) == 9

    # --- the events, read back from the broker.
    champion_key = person(stack, champion)

    def about(competition_id: str, event_type: str) -> Any:
        return lambda e: (
            e.event_type == event_type and e.payload.get("competition_id") == competition_id
        )

    results = await events.all(
        Topic.COMPETITION.value,
        about(national.id, payloads.CompetitionResultRecorded.event_type),
        settle=2,
    )
    assert len(results) == 8
    [gold] = [e for e in results if e.person_key == champion_key]
    assert (gold.payload["medal"], gold.payload["rank"], gold.payload["field_size"]) == (
        "gold",
        1,
        8,
    )
    assert gold.payload["score"] == 100.0
    merit = [e for e in results if e.payload["award"] == "merit"]
    assert len(merit) == 1 and merit[0].payload["medal"] == "none"
    advanced = await events.all(
        Topic.COMPETITION.value, about(city.id, payloads.CompetitorAdvanced.event_type), settle=0
    )
    assert {e.person_key for e in advanced} == {person(stack, n) for n in climbers[:3]}
    assert {e.payload["to_competition_id"] for e in advanced} == {provincial.id}
    await events.wait_for(
        Topic.COMPETITION.value, about(national.id, payloads.CompetitionResultsPublished.event_type)
    )
    await events.wait_for(
        Topic.COMPETITION.value, about(city.id, payloads.CompetitionMarksLocked.event_type)
    )
    refused_entry = await events.wait_for(
        Topic.COMPETITION.value, about(city.id, payloads.CompetitionEntryRefused.event_type)
    )
    assert refused_entry.payload["rule"] == "entry.duplicate"
    titles = await events.all(
        Topic.COMPETITION.value, about(national.id, payloads.TitleAwarded.event_type), settle=0
    )
    assert champion_key in {e.person_key for e in titles}
    # The city's promotion was this year's for its climbers: none again at the final.
    promotions = await events.all(
        Topic.COMPETITION.value, about(national.id, payloads.PromotionGranted.event_type), settle=0
    )
    climber_keys = {person(stack, n) for n in climbers[:3]}
    assert champion_key in {e.person_key for e in promotions}
    assert not climber_keys & {e.person_key for e in promotions}
    everything = "".join(
        e.model_dump_json() for e in await events.all(Topic.COMPETITION.value, lambda e: True, 0)
    )
    assert all(n not in everything for n in [*climbers, *nominees, outsider])

    # --- the champion's promotion: a certificate, a subsidy claim, the reward, the archive.
    promotion_id = next(e for e in promotions if e.person_key == champion_key).payload[
        "promotion_id"
    ]
    issued = await certificate_issued(events, f"promotion-{promotion_id}")
    assert (issued.payload["route"], issued.payload["level"]) == ("promotion", 3)
    number = issued.payload["certificate_number"]
    claim = await events.wait_for(
        Topic.INCENTIVE.value,
        lambda e: e.payload.get("claim_id") == f"skill_upgrade:{number}",
        timeout=60,
    )
    assert claim.event_type == payloads.SubsidyGranted.event_type, claim.payload
    reward = await events.wait_for(
        Topic.INCENTIVE.value,
        lambda e: (
            e.event_type == payloads.RewardGranted.event_type
            and e.person_key == champion_key
            and e.payload["competition_id"] == national.id
        ),
    )
    assert reward.payload["amount_fen"] == 2_000_000  # national-2020: gold

    async def archive() -> dict[str, Any] | None:
        answer = await api.post(
            "/records/archives/lookup",
            json={"id_number": champion},
            headers=auth(Role.RECORDS_OFFICER),
        )
        found: dict[str, Any] = answer.json()
        kinds = {e["entry_kind"] for e in found.get("timeline", [])}
        wanted = {"competition_result", "title_awarded", "promotion_granted", "certificate_issued",
                  "subsidy_granted", "reward_granted"}  # fmt: skip
        return found if wanted <= kinds else None

    found = await eventually(archive, timeout=60)
    assert [c["certificate_number"] for c in found["certificates"]] == [number]


async def test_organiser_and_judge_scopes(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    body_id = await approved_body(api, auth, levels=(5, 4), province_code="12")
    city = await create(api, auth, stack, "city", body_id)
    other = {"Authorization": f"Bearer {stack.named_tokens['organiser:org-staff@ORG-OTHER']}"}
    forbidden = await api.post(
        f"/competitions/{city.id}/entries",
        json={"id_number": new_id_number(), "name": "钱七"},
        headers=other,
    )
    assert forbidden.status_code == 403
    entries = await api.get(f"/competitions/{city.id}/entries", headers=auth(Role.ORGANISER))
    assert entries.json() == []
    # Creating for another organising body is refused too.
    response = await api.post(
        "/competitions",
        headers=other,
        json={"competition_id": f"x-{uuid.uuid4().hex[:6]}", "name": "x", "tier": "city",
              "occupation_code": FITTER, "edition_year": 2026, "competed_on": str(today()),
              "organiser_id": "ORG-TJ", "issuing_body_id": body_id},
    )  # fmt: skip
    assert response.status_code == 403
    # Bad marks are named 4xx: booleans, NaN, an unassigned aspect, an unknown entry.
    await city.post("/entries", {"id_number": new_id_number(), "name": "孙八"}, expect=201)
    await city.panel()
    await city.post("/close-entries")
    for value in (True, "NaN", "Infinity", None):
        bad = await api.post(
            f"/competitions/{city.id}/marks",
            json={"marks": [{"entry": 1, "aspect_id": "T1", "value": value}]},
            headers=city.judge("J-1"),
        )
        if bad.status_code == 200:
            assert bad.json()[0]["errors"][0]["rule"] == "mark.not_a_number", value
        else:
            assert bad.status_code == 422, bad.text
    reports = await city.marks(
        "J-2",
        [
            {"entry": 1, "aspect_id": "T1", "value": 20},
            {"entry": 99, "aspect_id": "J1", "value": 2},
        ],
    )
    assert [r["errors"][0]["rule"] for r in reports] == ["marks.not_assigned", "marks.not_entered"]
    # A judge bound to another competition is refused at the door; CSV rows are checked
    # one by one (entry numbers of this competition only, bounded cells).
    elsewhere = {"Authorization": f"Bearer {stack.named_tokens['judge:J-9@competition-elsewhere']}"}
    outside = await api.post(
        f"/competitions/{city.id}/marks",
        json={"marks": [{"entry": 1, "aspect_id": "J1", "value": 2}]},
        headers=elsewhere,
    )
    assert outside.status_code == 403
    sheet = "entry,aspect_id,value\nx,T1,3\n1,T1,1.00000000000000009\n2,T1,3\n1,T1,25\n"
    rows = await api.post(
        f"/competitions/{city.id}/marks.csv",
        content=sheet.encode(),
        headers={**city.judge("J-1"), "Content-Type": "text/csv"},
    )
    assert rows.status_code == 200, rows.text
    assert [
        (r["status"], r["errors"][0]["rule"] if r["errors"] else None) for r in rows.json()
    ] == [
        ("rejected", "marks.entry_number"),
        ("rejected", "csv.cell_too_long"),
        ("rejected", "marks.not_entered"),
        ("accepted", None),
    ]
    blank = await city.post(
        "/corrections",
        {"entry": 1, "aspect_id": "T1", "judge_id": "J-1", "value": 20, "reason": "   "},
        expect=422,
    )
    assert blank["errors"][0]["field"] == "reason"
    lock = await city.post("/locks", {"module_id": "P"}, expect=422)
    assert lock["errors"][0]["rule"] == "marks.incomplete"


async def test_a_competition_opens_only_under_its_tiers_rules(
    stack: Any, worker: None, api: httpx.AsyncClient, auth: Auth
) -> None:
    """The competition process checks a new competition against its rule set and the one
    of the competition it feeds before its workflow starts, so a refusal leaves the id
    free; judges are assigned only to aspects of the scheme."""
    body_id = await approved_body(api, auth, levels=(5, 4), province_code="12")
    national = await create(api, auth, stack, "national", body_id)
    competition_id = f"city-{uuid.uuid4().hex[:8]}"
    opening = {
        "competition_id": competition_id,
        "name": "钳工 city",
        "tier": "city",
        "occupation_code": FITTER,
        "edition_year": today().year,
        "competed_on": str(today()),
        "organiser_id": "ORG-TJ",
        "issuing_body_id": body_id,
        "marking_scheme": SCHEME,
    }
    refusals = [
        ({"rule_version": default_rule_version("national")}, Rule.COMPETITION_RULE_TIER),
        ({"issuing_body_id": None}, Rule.COMPETITION_ISSUING_BODY_REQUIRED),
        ({"feeds_competition_id": "no-such-competition"}, Rule.COMPETITION_FEEDS_UNKNOWN),
        # A city contest sends its qualifiers to a provincial one, not straight to national.
        ({"feeds_competition_id": national.id}, Rule.COMPETITION_FEEDS_TIER),
    ]
    for change, rule in refusals:
        response = await api.post(
            "/competitions", headers=auth(Role.ORGANISER), json={**opening, **change}
        )
        assert response.status_code == 422, response.text
        assert [e["rule"] for e in response.json()["errors"]] == [rule]
        missing = await api.get(f"/competitions/{competition_id}", headers=auth(Role.ORGANISER))
        assert missing.status_code == 404
    response = await api.post("/competitions", headers=auth(Role.ORGANISER), json=opening)
    assert response.status_code == 201, response.text
    city = Organiser(api, auth, stack, competition_id)
    unknown = await city.post("/judges", {"judge_id": "J-1", "aspects": ["T1", "X9"]}, expect=422)
    assert [e["rule"] for e in unknown["errors"]] == [Rule.MARKS_UNKNOWN_ASPECT]
    assigned = await city.post("/judges", {"judge_id": "J-1", "aspects": ["T1", "P1", "T1"]})
    assert assigned == {"judge_id": "J-1", "aspects": ["P1", "T1"], "recusals": 0}
