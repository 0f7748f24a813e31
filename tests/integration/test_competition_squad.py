"""The national squad and WorldSkills on the real stack, through the API: a WorldSkills
selection feeds the squad, elimination rounds with a withdrawal pick the team member, who is
entered for WorldSkills; the organiser's WorldSkills result (gold) becomes the medal, title
and promotion (高级技师) events, and the promotion a certificate."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
import pytest

from policy.idnumber import person_key
from schemas import payloads
from schemas.topics import Topic
from skillflow.settings import Role
from tests.integration.steps import (
    Auth,
    approved_body,
    certificate_issued,
    eventually,
    new_id_number,
    today,
)
from tests.integration.test_competition_ladder import create

pytestmark = pytest.mark.integration


async def test_squad_rounds_pick_the_team_member_and_worldskills_gold_promotes(
    stack: Any, worker: None, consumers: None, api: httpx.AsyncClient, auth: Auth, events: Any
) -> None:
    body_id = await approved_body(api, auth, levels=(5, 4, 3, 2, 1), province_code="12")
    year = today().year
    young = {"birth_from": date(year - 20, 1, 1), "days": 300}
    worldskills = await create(
        api, auth, stack, "worldskills", body_id, worldskills_skill="cooking", edition_year=year
    )
    selection = await create(
        api, auth, stack, "worldskills_selection", body_id, worldskills_skill="cooking",
        edition_year=year,
    )  # fmt: skip
    # Over the age cap: refused by name.
    too_old = new_id_number(birth_from=date(year - 40, 1, 1), days=300)
    await selection.post("/nominations", {"id_numbers": [too_old]})
    refused = await selection.post("/entries", {"id_number": too_old, "name": "老将"}, expect=422)
    assert refused["errors"][0]["rule"] == "entry.worldskills_age"

    people = [new_id_number(**young) for _ in range(4)]  # type: ignore[arg-type]
    await selection.nominate_and_enter(people, "周", level_held=3)
    await selection.panel()
    await selection.post("/close-entries")
    await selection.score({1: (30, 39, 3), 2: (28, 38, 3), 3: (26, 30, 2), 4: (20, 20, 1)})
    results = await selection.finish()
    assert [r["scale_score"] is not None for r in results] == [True] * 4

    squad_id = f"squad-{uuid.uuid4().hex[:6]}"
    organiser = auth(Role.ORGANISER)
    formed = await api.post(
        "/squads",
        headers=organiser,
        json={"squad_id": squad_id, "selection_competition_id": selection.id,
              "worldskills_competition_id": worldskills.id, "skill": "cooking"},
    )  # fmt: skip
    assert formed.status_code == 201, formed.text
    assert [m["member"] for m in formed.json()["members"]] == [1, 2, 3, 4]

    async def squad(path: str, body: Any = None) -> dict[str, Any]:
        response = await api.post(f"/squads/{squad_id}{path}", headers=organiser, json=body)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    # Round 1 keeps 5 of 4; a withdrawal with no one left to move up shrinks the round.
    await squad(
        "/rounds/1/scores", {"scores": [{"member": m, "score": "60"} for m in (1, 2, 3, 4)]}
    )
    state = await squad("/withdrawals", {"member": 4, "reason": "injury"})
    assert [m["member"] for m in state["members"]] == [1, 2, 3]
    missing = await api.post(f"/squads/{squad_id}/rounds/2/close", headers=organiser)
    assert missing.json()["errors"][0]["rule"] == "squad.not_current_round"
    await squad("/rounds/1/close")
    await squad(
        "/rounds/2/scores",
        {
            "scores": [
                {"member": 1, "score": "70"},
                {"member": 2, "score": "90"},
                {"member": 3, "score": "80"},
            ]
        },
    )
    state = await squad("/rounds/2/close")
    assert [m["member"] for m in state["members"]] == [2, 3]
    await squad(
        "/rounds/3/scores", {"scores": [{"member": 2, "score": "75"}, {"member": 3, "score": "85"}]}
    )
    await squad("/rounds/3/close")

    async def entered() -> list[dict[str, Any]] | None:
        answer = await api.get(f"/competitions/{worldskills.id}/entries", headers=organiser)
        found: list[dict[str, Any]] = answer.json()
        return found or None

    [member] = await eventually(entered)
    assert member["source"] == "advanced"
    team_member = person_key(people[2], stack.settings.person_key_secret_bytes)

    state = await worldskills.post(
        "/worldskills-results",
        {"results": [{"entry": member["entry"], "scale_score": 771, "medal": "gold"}]},
    )
    assert state["phase"] == "results_published"

    def about(event_type: str) -> Any:
        return lambda e: (
            e.event_type == event_type and e.payload.get("competition_id") == worldskills.id
        )

    result = await events.wait_for(
        Topic.COMPETITION.value, about(payloads.CompetitionResultRecorded.event_type)
    )
    assert (result.person_key, result.payload["medal"], result.payload["scale_score"]) == (
        team_member, "gold", 771,
    )  # fmt: skip
    title = await events.wait_for(Topic.COMPETITION.value, about(payloads.TitleAwarded.event_type))
    assert title.payload["title"] == "全国技术能手"
    promotion = await events.wait_for(
        Topic.COMPETITION.value, about(payloads.PromotionGranted.event_type)
    )
    assert promotion.payload["to_level"] == 1
    issued = await certificate_issued(events, f"promotion-{promotion.payload['promotion_id']}")
    assert issued.payload["level"] == 1 and issued.person_key == team_member
    reward = await events.wait_for(
        Topic.INCENTIVE.value,
        lambda e: (
            e.event_type == payloads.RewardGranted.event_type
            and e.payload["competition_id"] == worldskills.id
        ),
    )
    assert reward.payload["amount_fen"] == 30_000_000  # worldskills-2017: gold 300,000 yuan
