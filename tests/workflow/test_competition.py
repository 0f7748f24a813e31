"""The competition workflow on the time-skipping server, with its real activities on a real
PostgreSQL (entries, marks and results live there; faking them would test the fake).

Entries and marks go in through the same functions the API calls; the workflow moves the
phases. Every path of the issue: entry refusals (age boundary, no qualification, duplicate),
recusal, the re-mark rule, locked marks, audited corrections, ties, medals, the 优胜奖
boundary, the medallion at 700, advancement to the next tier, one promotion a year.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.competition import CompetitionActivities
from activities.competition_entries import admit_entry, record_refusal
from activities.competition_marks import Correction, correct_mark, record_marks
from activities.resources import ActivityResources, competition_activities
from policy.competition import Aspect, MarkingScheme, Module, default_rule_version, rule_set
from policy.errors import RuleViolation
from schemas import payloads
from schemas.competition import (
    AdvanceRecord,
    CloseEntries,
    CompetitionOpening,
    EntryFacts,
    LockModule,
    MarkInput,
    ModuleLockRecord,
    PhaseRecord,
    PublishResults,
    ResultsRecord,
    WorldSkillsResult,
    WorldSkillsResults,
    competition_workflow_id,
)
from schemas.national_squad import (
    CloseRound,
    MemberScore,
    RoundScores,
    SquadOpening,
    SquadState,
    Withdrawal,
    squad_workflow_id,
)
from skillflow.settings import Settings
from skillflow.stack.process import free_port
from skillflow.stack.servers import PostgresServer
from skillflow.temporal import data_converter, workflow_runner
from store.database import apply_migrations, create_pool, ensure_database
from tests.workflow.conftest import time_skipping_environment
from workflows.competition import CompetitionWorkflow
from workflows.national_squad import NationalSquadWorkflow
from workflows.rules import rule_violations_from

pytestmark = pytest.mark.integration  # a real PostgreSQL besides the time-skipping server

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
HISTORIES = Path(__file__).parent / "histories"
FITTER = "6-20-01-01"
JUDGES = ("J-A", "J-B", "J-C")

# 30 theory marks, 40 practical measurement marks, 30 practical judgement marks.
SCHEME = MarkingScheme(
    modules=(
        Module(
            module_id="T",
            kind="theory",
            aspects=(Aspect(aspect_id="T1", kind="measurement", max_mark=Decimal(30)),),
        ),
        Module(
            module_id="P",
            aspects=(
                Aspect(aspect_id="P1", kind="measurement", max_mark=Decimal(40)),
                Aspect(aspect_id="J1", kind="judgement", max_mark=Decimal(30)),
            ),
        ),
    )
)


@pytest.fixture(scope="module")
async def pool(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[asyncpg.Pool]:
    data_dir: Path = tmp_path_factory.mktemp("competition-pg")
    postgres = PostgresServer(data_dir, free_port())
    postgres.start()
    try:
        await ensure_database(postgres.dsn())
        created = await create_pool(postgres.dsn(), max_size=10)
        async with created.acquire() as conn:
            await apply_migrations(conn)
        try:
            yield created
        finally:
            await created.close()
    finally:
        postgres.process.stop()


@dataclass
class Ladder:
    env: WorkflowEnvironment
    pool: asyncpg.Pool
    task_queue: str
    handles: list[WorkflowHandle[Any, Any]] = field(default_factory=list)

    async def open(
        self,
        tier: str,
        *,
        feeds: str | None = None,
        skill: str | None = None,
        edition: int = 2026,
        competition_id: str | None = None,
    ) -> tuple[str, WorkflowHandle[Any, Any]]:
        competition_id = competition_id or f"{tier.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
        opening = CompetitionOpening(
            competition_id=competition_id,
            name=f"{tier} 钳工",
            tier=tier,
            rule_version=default_rule_version(tier),
            occupation_code=FITTER,
            worldskills_skill=skill,
            edition_year=edition,
            competed_on=date(edition, 6, 1),
            organiser_id="ORG-1",
            issuing_body_id="S-TJ-1",
            categories=("workers", "students"),
            marking_scheme=SCHEME,
            feeds_competition_id=feeds,
        )
        handle = await self.env.client.start_workflow(
            CompetitionWorkflow.run,
            opening,
            id=competition_workflow_id(competition_id),
            task_queue=self.task_queue,
        )
        self.handles.append(handle)
        await run_update(handle, CompetitionWorkflow.await_opened, CloseEntries())
        return competition_id, handle

    async def enter(self, competition_id: str, facts: EntryFacts) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            entered = await admit_entry(
                conn, competition_id, facts, entered_by="organiser", occurred_at=NOW
            )
        return entered.entry_sequence

    async def refused(self, competition_id: str, facts: EntryFacts) -> str:
        with pytest.raises(RuleViolation) as refusal:
            await self.enter(competition_id, facts)
        async with self.pool.acquire() as conn, conn.transaction():
            await record_refusal(conn, competition_id, facts.person_key, refusal.value, NOW)
        return refusal.value.rule

    async def judge(
        self, competition_id: str, judge_id: str, aspects: list[str], **extra: str
    ) -> None:
        await self.pool.execute(
            """INSERT INTO competitions.judges
                 (competition_id, judge_id, employer, region, aspects, assigned_by, assigned_at)
               VALUES ($1, $2, $3, $4, $5, 'organiser', $6)""",
            competition_id,
            judge_id,
            extra.get("employer", ""),
            extra.get("region", ""),
            aspects,
            NOW,
        )

    async def mark(
        self, competition_id: str, judge_id: str, person: str, aspect: str, value: str
    ) -> str:
        """The mark's status, or the rule that refused it (or its whole batch)."""
        try:
            return await self._mark(competition_id, judge_id, person, aspect, value)
        except RuleViolation as refused:
            return refused.rule

    async def _mark(
        self, competition_id: str, judge_id: str, person: str, aspect: str, value: str
    ) -> str:
        async with self.pool.acquire() as conn, conn.transaction():
            [report] = await record_marks(
                conn,
                competition_id,
                judge_id,
                [MarkInput(person_key=person, aspect_id=aspect, value=value)],
                NOW,
            )
        return report.errors[0].rule if report.errors else report.status

    async def score(self, competition_id: str, person: str, t: int, p: int, j: int) -> None:
        """Marks worth t + p + 10 * j: theory t, measurement p, three judges' j (0-3)."""
        assert await self.mark(competition_id, "J-A", person, "T1", str(t)) == "accepted"
        assert await self.mark(competition_id, "J-A", person, "P1", str(p)) == "accepted"
        for judge in JUDGES:
            assert await self.mark(competition_id, judge, person, "J1", str(j)) == "accepted"

    async def panel(self, competition_id: str) -> None:
        await self.judge(competition_id, "J-A", ["T1", "P1", "J1"])
        for judge in JUDGES[1:]:
            await self.judge(competition_id, judge, ["J1"])

    async def nominate(self, competition_id: str, key: str) -> None:
        """Record ``key`` as the organiser's nominee (entry above the base tier)."""
        await self.pool.execute(
            """INSERT INTO competitions.qualifications
                 (competition_id, person_key, source, recorded_by, recorded_at)
               VALUES ($1, $2, 'nominated', 'organiser', $3)""",
            competition_id,
            key,
            NOW,
        )

    async def close_entries(self, competition_id: str, handle: WorkflowHandle[Any, Any]) -> None:
        """Seat the judging panel, then close entries (marking opens)."""
        await self.panel(competition_id)
        await run_update(handle, CompetitionWorkflow.close_entries, CloseEntries())

    async def results(self, competition_id: str) -> dict[str, dict[str, Any]]:
        """Each competitor's recorded result, by person key."""
        return {
            e["person_key"]: e["payload"]
            for e in await self.events(
                competition_id, payloads.CompetitionResultRecorded.event_type
            )
        }

    async def events(self, competition_id: str, event_type: str) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            """SELECT envelope FROM outbox.events
               WHERE envelope->>'event_type' = $1
                 AND envelope->>'correlation_id' = $2 ORDER BY seq""",
            event_type,
            competition_workflow_id(competition_id),
        )
        return [r["envelope"] for r in rows]


@pytest.fixture
async def ladder(pool: asyncpg.Pool) -> AsyncIterator[Ladder]:
    async with time_skipping_environment() as env:
        task_queue = f"competition-{uuid.uuid4().hex[:8]}"
        resources = ActivityResources(pool, Settings(), env.client)
        async with Worker(
            env.client,
            task_queue=task_queue,
            workflows=[CompetitionWorkflow, NationalSquadWorkflow],
            activities=competition_activities(resources),
            workflow_runner=workflow_runner(),
        ):
            # Competitions have no timers: nothing here needs time to skip. Waiting on a
            # result would otherwise let the test server skip ahead until a workflow left
            # idle meanwhile (the WorldSkills competition waiting for its team member, say)
            # timed out.
            with env.auto_time_skipping_disabled():
                yield Ladder(env, pool, task_queue)


async def replays_and_is_recorded(handle: WorkflowHandle[Any, Any], name: str) -> None:
    """The run's history replays on today's code, and is kept in ``histories/`` (when
    missing, or with SKILLFLOW_RECORD_HISTORIES=1) for test_replay to guard from now on."""
    history = await handle.fetch_history()
    replayer = Replayer(
        workflows=[CompetitionWorkflow, NationalSquadWorkflow],
        workflow_runner=workflow_runner(),
        data_converter=data_converter(Settings()),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
    path = HISTORIES / f"{name}.json"
    if not path.exists() or os.environ.get("SKILLFLOW_RECORD_HISTORIES") == "1":
        path.write_text(history.to_json())


def person(label: str) -> str:
    return hashlib.sha256(f"{label}-{uuid.uuid4()}".encode()).hexdigest()


def facts(key: str, **extra: Any) -> EntryFacts:
    values: dict[str, Any] = {"holder_name_masked": "李*", "birth_year": 1995} | extra
    return EntryFacts(person_key=key, **values)


async def run_update(handle: WorkflowHandle[Any, Any], update: Any, arg: Any) -> Any:
    """``execute_update``; on the time-skipping server a workflow that closed right after
    the update (publishing results ends in advancement) may have lost the update's outcome
    (NOT_FOUND), so its own result (the same state, one phase on) stands in."""
    try:
        return await handle.execute_update(update, arg)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            raise
        return await handle.result()


async def refused_update(handle: WorkflowHandle[Any, Any], update: Any, arg: Any) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await run_update(handle, update, arg)
    violations = rule_violations_from(failed.value)
    assert violations is not None, failed.value
    return violations.violations[0].rule


async def lock_all_and_publish(handle: WorkflowHandle[Any, Any]) -> Any:
    for module in ("T", "P"):
        await run_update(handle, CompetitionWorkflow.lock_module, LockModule(module_id=module))
    return await run_update(handle, CompetitionWorkflow.publish_results, PublishResults())


# --- entries ---------------------------------------------------------------------------


async def test_entry_refusals_name_their_rule(ladder: Ladder) -> None:
    city, city_handle = await ladder.open("city")
    someone = person("a")
    assert await ladder.enter(city, facts(someone)) == 1
    assert await ladder.refused(city, facts(someone)) == "entry.duplicate"
    assert await ladder.refused(city, facts(person("t"), category="teams")) == "entry.category"

    # Above the base tier: a qualifier from the tier below, or a recorded nominee.
    provincial, _ = await ladder.open("provincial_class1")
    outsider, nominee = person("o"), person("n")
    assert await ladder.refused(provincial, facts(outsider)) == "entry.not_qualified"
    await ladder.nominate(provincial, nominee)
    assert await ladder.enter(provincial, facts(nominee)) == 1
    [refused] = await ladder.events(provincial, payloads.CompetitionEntryRefused.event_type)
    assert (refused["person_key"], refused["payload"]["rule"]) == (outsider, "entry.not_qualified")

    # WorldSkills age cap of the edition and skill: born on or after 1 January of year - cap.
    selection, _ = await ladder.open("worldskills_selection", skill="cooking", edition=2024)
    for key in (young := person("y"), old := person("old")):
        await ladder.nominate(selection, key)
    assert await ladder.enter(selection, facts(young, birth_year=2001)) == 1  # cap 23 in 2024
    assert await ladder.refused(selection, facts(old, birth_year=2000)) == "entry.worldskills_age"

    # Entries close with the phase.
    await run_update(city_handle, CompetitionWorkflow.close_entries, CloseEntries())
    assert await ladder.refused(city, facts(person("late"))) == "entry.closed"
    [accepted] = await ladder.events(city, payloads.CompetitionEntryAccepted.event_type)
    assert accepted["person_key"] == someone and accepted["payload"]["source"] == "open"


async def test_phases_go_in_order(ladder: Ladder) -> None:
    competition, handle = await ladder.open("city")
    assert await refused_update(handle, CompetitionWorkflow.close_entries, CloseEntries()) == (
        "competition.no_entries"
    )
    assert await refused_update(
        handle, CompetitionWorkflow.lock_module, LockModule(module_id="T")
    ) == ("competition.not_marking")
    assert await refused_update(handle, CompetitionWorkflow.publish_results, PublishResults()) == (
        "competition.not_locked"
    )
    await ladder.enter(competition, facts(person("x")))
    state = await run_update(handle, CompetitionWorkflow.close_entries, CloseEntries())
    assert (state.phase, state.entries) == ("marking", 1)
    assert await refused_update(
        handle, CompetitionWorkflow.lock_module, LockModule(module_id="Z")
    ) == ("marks.unknown_module")


# --- marks -----------------------------------------------------------------------------


async def test_recusal_remark_lock_and_audited_correction(ladder: Ladder) -> None:
    competition, handle = await ladder.open("provincial_class2")
    competitor = person("c")
    await ladder.nominate(competition, competitor)
    await ladder.enter(competition, facts(competitor, employer="E-1", region="1201"))
    await ladder.panel(competition)
    # Same region as the competitor (the provincial rule recuses on employer and region).
    await ladder.judge(competition, "J-D", ["J1"], region="1201")
    await ladder.judge(competition, "J-E", ["J1"], employer="E-9")
    assert await ladder.mark(competition, "J-B", competitor, "J1", "2") == "marks.not_marking"
    state = await run_update(handle, CompetitionWorkflow.close_entries, CloseEntries())
    assert state.phase == "marking"
    recusals = await ladder.pool.fetch(
        "SELECT judge_id, reason FROM competitions.recusals WHERE competition_id = $1", competition
    )
    assert [(r["judge_id"], r["reason"]) for r in recusals] == [("J-D", "same_region")]
    assert await ladder.mark(competition, "J-D", competitor, "J1", "2") == "marks.recused"
    assert await ladder.mark(competition, "J-B", competitor, "T1", "20") == "marks.not_assigned"
    assert await ladder.mark(competition, "J-B", competitor, "J1", "4") == "mark.judgement_range"
    assert (
        await ladder.mark(competition, "J-A", competitor, "P1", "40.5") == "mark.measurement_range"
    )
    assert await ladder.mark(competition, "J-A", competitor, "P1", "NaN") == "mark.not_a_number"
    assert await ladder.mark(competition, "J-A", competitor, "T1", "25") == "accepted"
    assert await ladder.mark(competition, "J-A", competitor, "P1", "30") == "accepted"
    assert await ladder.mark(competition, "J-A", competitor, "J1", "1") == "accepted"
    assert await ladder.mark(competition, "J-B", competitor, "J1", "3") == "accepted"
    assert await ladder.mark(competition, "J-C", competitor, "J1", "2") == "accepted"
    assert await ladder.mark(competition, "J-E", competitor, "J1", "2") == "marks.panel_full"

    # 1, 3, 2: more than one point apart, so module P cannot be signed off.
    await run_update(handle, CompetitionWorkflow.lock_module, LockModule(module_id="T"))
    assert await refused_update(
        handle, CompetitionWorkflow.lock_module, LockModule(module_id="P")
    ) == ("marks.remark_required")
    assert await ladder.mark(competition, "J-B", competitor, "J1", "2") == "remarked"
    await run_update(handle, CompetitionWorkflow.lock_module, LockModule(module_id="P"))
    assert len(await ladder.events(competition, payloads.CompetitionMarksLocked.event_type)) == 2

    # Locked: a judge cannot change it; the organiser corrects with a reason, audited.
    assert await ladder.mark(competition, "J-A", competitor, "T1", "28") == "marks.locked"

    async def correct(value: str, reason: str, judge: str = "J-A", aspect: str = "T1") -> Any:
        async with ladder.pool.acquire() as conn, conn.transaction():
            return await correct_mark(
                conn,
                competition,
                Correction(competitor, aspect, judge, value, reason),
                "organiser-zhao",
                NOW,
            )

    with pytest.raises(RuleViolation, match="reason"):
        await correct("28", "  ")
    with pytest.raises(RuleViolation) as spread:
        await correct("0", "transcription error", judge="J-A", aspect="J1")
    assert spread.value.rule == "marks.remark_required"
    assert await correct("28", "transcription error on the theory sheet") == Decimal(25)
    audit = await ladder.pool.fetch(
        """SELECT kind, judge_id, previous_value, new_value, reason, changed_by
           FROM competitions.mark_audit WHERE competition_id = $1 ORDER BY audit_id""",
        competition,
    )
    assert [tuple(r) for r in audit] == [
        ("remark", "J-B", Decimal(3), Decimal(2), "re-marked by the judge before sign-off", "J-B"),
        (
            "correction",
            "J-A",
            Decimal(25),
            Decimal(28),
            "transcription error on the theory sheet",
            "organiser-zhao",
        ),
    ]
    state = await run_update(handle, CompetitionWorkflow.publish_results, PublishResults())
    assert state.phase in ("results_published", "advanced")
    [result] = await ladder.events(competition, payloads.CompetitionResultRecorded.event_type)
    # 28 + 30 + 30 * (1 + 2 + 2) / 9 = 74.67
    assert result["payload"]["score"] == pytest.approx(74.67)
    assert (await handle.result()).phase == "advanced"


# --- results ---------------------------------------------------------------------------


async def test_national_podium_ties_merit_titles_and_promotions(ladder: Ladder) -> None:
    competition, handle = await ladder.open("national")
    field_ = [person(f"n{i}") for i in range(10)]
    for key in field_:
        await ladder.nominate(competition, key)
        await ladder.enter(competition, facts(key, level_held=3))
    await ladder.close_entries(competition, handle)
    # Entrants 1 and 2 tie on 80 overall; entrant 2 has more practical marks. Then 79, 78, ...
    await ladder.score(competition, field_[0], t=30, p=20, j=3)  # 80, practical 50
    await ladder.score(competition, field_[1], t=20, p=30, j=3)  # 80, practical 60
    for i, key in enumerate(field_[2:]):
        await ladder.score(competition, key, t=20, p=29 - i, j=3)
    state = await lock_all_and_publish(handle)
    assert state.results == 10
    results = await ladder.results(competition)
    order = sorted(results, key=lambda k: results[k]["rank"])
    assert order[:2] == [field_[1], field_[0]]  # no tied medals: the practical marks decide
    assert [results[k]["award"] for k in order] == (
        ["gold", "silver", "bronze", "merit", "merit"] + ["none"] * 5
    )
    assert [results[k]["medal"] for k in order][3:5] == ["none", "none"]
    titles = await ladder.events(competition, payloads.TitleAwarded.event_type)
    assert {t["person_key"] for t in titles} == set(order[:5])
    assert {t["payload"]["title"] for t in titles} == {"全国技术能手"}
    promotions = await ladder.events(competition, payloads.PromotionGranted.event_type)
    assert {p["person_key"]: p["payload"]["to_level"] for p in promotions} == {
        k: 2 for k in order[:5]
    }
    assert all(p["payload"]["issuing_body_id"] == "S-TJ-1" for p in promotions)
    [published] = await ladder.events(competition, payloads.CompetitionResultsPublished.event_type)
    assert published["person_key"] is None and published["payload"]["field_size"] == 10
    await handle.result()
    await replays_and_is_recorded(handle, "competition_national")


async def test_ties_share_a_place_where_the_tier_allows(ladder: Ladder) -> None:
    competition, handle = await ladder.open("enterprise")
    a, b, c = person("a"), person("b"), person("c")
    for key in (a, b, c):
        await ladder.enter(competition, facts(key))
    await ladder.close_entries(competition, handle)
    await ladder.score(competition, a, t=20, p=30, j=2)
    await ladder.score(competition, b, t=20, p=30, j=2)
    await ladder.score(competition, c, t=10, p=30, j=2)
    await lock_all_and_publish(handle)
    results = await ladder.results(competition)
    assert [(results[k]["rank"], results[k]["award"]) for k in (a, b, c)] == [
        (1, "gold"),
        (1, "gold"),
        (3, "bronze"),
    ]


async def test_medallion_for_700_on_the_worldskills_scale(ladder: Ladder) -> None:
    competition, handle = await ladder.open("worldskills_selection", skill="cooking", edition=2026)
    # Totals 40, 50, ..., 100: median 70, sd 20, so 700 + (total - 70) * 2.5.
    field_ = [person(f"w{i}") for i in range(7)]
    for key in field_:
        await ladder.nominate(competition, key)
        await ladder.enter(competition, facts(key, birth_year=2005))
    await ladder.close_entries(competition, handle)
    for i, key in enumerate(field_):
        total = 40 + 10 * i
        if total >= 70:
            await ladder.score(competition, key, t=30, p=total - 60, j=3)
        else:
            await ladder.score(competition, key, t=30, p=total - 30, j=0)
    await lock_all_and_publish(handle)
    results = sorted(
        (
            e["payload"]
            for e in await ladder.events(competition, payloads.CompetitionResultRecorded.event_type)
        ),
        key=lambda r: r["rank"],
    )
    assert [r["score"] for r in results] == [100.0, 90.0, 80.0, 70.0, 60.0, 50.0, 40.0]
    assert [(r["scale_score"], r["award"]) for r in results] == [
        (775, "gold"),
        (750, "silver"),
        (725, "bronze"),
        (700, "excellence"),
        (675, "none"),
        (650, "none"),
        (625, "none"),
    ]
    assert results[3]["medal"] == "excellence"


async def test_qualifiers_advance_to_the_next_tier_by_themselves(ladder: Ladder) -> None:
    provincial, _ = await ladder.open("provincial_class1")
    city, handle = await ladder.open("city", feeds=provincial)
    field_ = [person(f"c{i}") for i in range(5)]
    for key in field_:
        await ladder.enter(city, facts(key, region="1201"))
    await ladder.close_entries(city, handle)
    for i, key in enumerate(field_):
        await ladder.score(city, key, t=20, p=30 - i, j=2)
    await lock_all_and_publish(handle)
    final = await handle.result()
    assert (final.phase, final.advanced) == ("advanced", 3)  # the city quota is 3
    advanced = await ladder.events(city, payloads.CompetitorAdvanced.event_type)
    assert [a["person_key"] for a in advanced] == field_[:3]
    assert {a["payload"]["to_competition_id"] for a in advanced} == {provincial}
    entries = await ladder.pool.fetch(
        """SELECT person_key, source, level_held FROM competitions.entries
           WHERE competition_id = $1 ORDER BY entry_sequence""",
        provincial,
    )
    assert [(e["person_key"], e["source"]) for e in entries] == [
        (k, "advanced") for k in field_[:3]
    ]
    # The promoted level travels with them (city: first 3 up one level, from none to 5).
    assert {e["level_held"] for e in entries} == {5}
    assert await ladder.refused(provincial, facts(field_[3])) == "entry.not_qualified"


async def test_a_competition_opened_later_takes_its_waiting_qualifiers(ladder: Ladder) -> None:
    national_id = f"national-{uuid.uuid4().hex[:8]}"
    provincial, handle = await ladder.open("provincial_class1", feeds=national_id)
    field_ = [person(f"p{i}") for i in range(3)]
    for key in field_:
        await ladder.nominate(provincial, key)
        await ladder.enter(provincial, facts(key))
    await ladder.close_entries(provincial, handle)
    for i, key in enumerate(field_):
        await ladder.score(provincial, key, t=20, p=30 - i, j=2)
    await lock_all_and_publish(handle)
    assert (await handle.result()).advanced == 2
    _, national = await ladder.open("national", competition_id=national_id)
    state = await national.query(CompetitionWorkflow.state)
    assert state.entries == 2


async def test_at_most_one_competition_promotion_per_person_a_year(ladder: Ladder) -> None:
    champion = person("champ")
    promoted = []
    for _ in range(2):
        competition, handle = await ladder.open("city")
        await ladder.enter(competition, facts(champion, level_held=4))
        await ladder.enter(competition, facts(person("other")))
        await ladder.close_entries(competition, handle)
        entries = await ladder.pool.fetch(
            "SELECT person_key FROM competitions.entries WHERE competition_id = $1", competition
        )
        for e in entries:
            top = e["person_key"] == champion
            await ladder.score(competition, e["person_key"], t=25 if top else 10, p=30, j=2)
        await lock_all_and_publish(handle)
        promoted.append(
            [
                p
                for p in await ladder.events(competition, payloads.PromotionGranted.event_type)
                if p["person_key"] == champion
            ]
        )
    assert [len(p) for p in promoted] == [1, 0]
    assert promoted[0][0]["payload"]["to_level"] == 3
    # The result itself still counts (and may earn a reward); only the promotion is held back.
    rules = rule_set(default_rule_version("city"))
    assert rules.promotions[0].max_rank == 3


# --- the national squad and WorldSkills -------------------------------------------------


async def test_squad_rounds_with_a_withdrawal_pick_the_worldskills_team_member(
    ladder: Ladder,
) -> None:
    worldskills, ws_handle = await ladder.open("worldskills", skill="cooking", edition=2026)
    selection, handle = await ladder.open("worldskills_selection", skill="cooking", edition=2026)
    field_ = [person(f"s{i}") for i in range(12)]
    for key in field_:
        await ladder.nominate(selection, key)
        await ladder.enter(selection, facts(key, birth_year=2005, level_held=3))
    await ladder.close_entries(selection, handle)
    for i, key in enumerate(field_):  # entry i + 1 ranks i + 1
        await ladder.score(selection, key, t=20, p=40 - i, j=2)
    await lock_all_and_publish(handle)

    squad = await ladder.env.client.start_workflow(
        NationalSquadWorkflow.run,
        SquadOpening(
            squad_id=f"squad-{uuid.uuid4().hex[:6]}",
            selection_competition_id=selection,
            worldskills_competition_id=worldskills,
            skill="cooking",
            organiser_id="ORG-1",
        ),
        id=squad_workflow_id(f"{selection}"),
        task_queue=ladder.task_queue,
    )
    ladder.handles.append(squad)
    state: SquadState = await run_update(
        squad, NationalSquadWorkflow.await_formed, CloseRound(round=1)
    )
    assert (state.rounds, [m.member for m in state.members], state.reserves) == (
        (10, 5, 2, 1),
        list(range(1, 11)),
        2,
    )

    async def scores(round_: int, values: dict[int, int]) -> SquadState:
        sheet = RoundScores(
            round=round_,
            scores=tuple(MemberScore(member=m, score=str(v)) for m, v in values.items()),
        )
        result: SquadState = await run_update(squad, NationalSquadWorkflow.record_scores, sheet)
        return result

    # Round 1: member 4 withdraws mid-round; the selection's 11th moves up into the round.
    await scores(1, {m: 50 + m for m in range(1, 11)})
    state = await run_update(
        squad, NationalSquadWorkflow.withdraw, Withdrawal(member=4, reason="injury")
    )
    assert 11 in [m.member for m in state.members] and 4 not in [m.member for m in state.members]
    assert await refused_update(squad, NationalSquadWorkflow.close_round, CloseRound(round=1)) == (
        "squad.scores_missing"
    )
    await scores(1, {11: 99})
    state = await run_update(squad, NationalSquadWorkflow.close_round, CloseRound(round=1))
    assert [m.member for m in state.members] == [11, 10, 9, 8, 7]
    # Round 2, with a tie on 80 broken by the round-1 standing (10 before 9).
    await scores(2, {11: 70, 10: 80, 9: 80, 8: 60, 7: 50})
    state = await run_update(squad, NationalSquadWorkflow.close_round, CloseRound(round=2))
    assert [m.member for m in state.members] == [10, 9]
    # Mid-round 3 the second withdraws: the best of those cut in round 2 (member 11) moves up.
    state = await run_update(
        squad, NationalSquadWorkflow.withdraw, Withdrawal(member=9, reason="left")
    )
    assert [m.member for m in state.members] == [10, 11]
    await scores(3, {10: 70, 11: 90})
    await run_update(squad, NationalSquadWorkflow.close_round, CloseRound(round=3))
    final: SquadState = await squad.result()
    assert (final.team_member, final.entered_for_worldskills) == (11, True)
    statuses = dict(
        (r["member"], r["status"])
        for r in await ladder.pool.fetch(
            "SELECT member, status FROM competitions.squad_members WHERE squad_id = $1",
            final.squad_id,
        )
    )
    assert (statuses[11], statuses[4], statuses[9], statuses[10]) == (
        "team_member",
        "withdrawn",
        "withdrawn",
        "eliminated",
    )
    [entry] = await ladder.pool.fetch(
        "SELECT person_key, source FROM competitions.entries WHERE competition_id = $1", worldskills
    )
    assert (entry["person_key"], entry["source"]) == (field_[10], "advanced")

    # WorldSkills: the organiser enters the scale score and the medal.
    ws_state = await run_update(
        ws_handle,
        CompetitionWorkflow.record_worldskills_results,
        WorldSkillsResults(
            results=(WorldSkillsResult(person_key=field_[10], scale_score=760, medal="gold"),)
        ),
    )
    assert ws_state.phase in ("results_published", "advanced")
    [result] = await ladder.events(worldskills, payloads.CompetitionResultRecorded.event_type)
    assert (result["payload"]["medal"], result["payload"]["scale_score"]) == ("gold", 760)
    [title] = await ladder.events(worldskills, payloads.TitleAwarded.event_type)
    assert title["payload"]["title"] == "全国技术能手"
    [promotion] = await ladder.events(worldskills, payloads.PromotionGranted.event_type)
    assert promotion["payload"]["to_level"] == 1  # 高级技师
    assert (await ws_handle.result()).phase == "advanced"
    await replays_and_is_recorded(squad, "national_squad")
    await replays_and_is_recorded(ws_handle, "competition_worldskills")


async def test_worldskills_medallion_at_700_not_699(ladder: Ladder) -> None:
    worldskills, handle = await ladder.open("worldskills", skill="cooking", edition=2026)
    at, below = person("at"), person("below")
    for key in (at, below):
        await ladder.nominate(worldskills, key)
        await ladder.enter(worldskills, facts(key, birth_year=2005))
    assert (
        await refused_update(
            handle,
            CompetitionWorkflow.publish_results,
            PublishResults(),
        )
        == "competition.not_locked"
    )
    await run_update(
        handle,
        CompetitionWorkflow.record_worldskills_results,
        WorldSkillsResults(
            results=(
                WorldSkillsResult(person_key=at, scale_score=700, medal="none"),
                WorldSkillsResult(person_key=below, scale_score=699, medal="none"),
            )
        ),
    )
    results = await ladder.results(worldskills)
    assert (results[at]["medal"], results[below]["medal"]) == ("excellence", "none")
    assert await ladder.events(worldskills, payloads.PromotionGranted.event_type) == []


async def test_activities_run_again_change_nothing(ladder: Ladder) -> None:
    """Temporal may run an activity twice: a second open, close, lock, publish or advance
    writes no second row and no second event."""
    provincial, _ = await ladder.open("provincial_class1")
    city, handle = await ladder.open("city", feeds=provincial)
    field_ = [person(f"i{i}") for i in range(4)]
    for key in field_:
        await ladder.enter(city, facts(key))
    await ladder.close_entries(city, handle)
    for i, key in enumerate(field_):
        await ladder.score(city, key, t=20, p=30 - i, j=2)
    await lock_all_and_publish(handle)
    await handle.result()

    async def footprint() -> tuple[Any, ...]:
        counts = await ladder.pool.fetchrow(
            """SELECT (SELECT count(*) FROM outbox.events) AS events,
                      (SELECT count(*) FROM competitions.results WHERE competition_id = $1) AS r,
                      (SELECT count(*) FROM competitions.entries WHERE competition_id = $2) AS e,
                      (SELECT count(*) FROM competitions.promotions WHERE competition_id = $1) AS p,
                      (SELECT count(*) FROM competitions.module_locks WHERE competition_id = $1)
                        AS l,
                      (SELECT count(*) FROM competitions.recusals WHERE competition_id = $1) AS u,
                      (SELECT phase FROM competitions.competitions WHERE competition_id = $1)
                        AS phase""",
            city,
            provincial,
        )
        assert counts is not None
        return tuple(counts)

    before = await footprint()
    activities = CompetitionActivities(
        ActivityResources(ladder.pool, Settings(), ladder.env.client)
    )
    later = NOW + timedelta(hours=1)
    await activities.close_entries(
        PhaseRecord(competition_id=city, phase="marking", occurred_at=later)
    )
    for module in ("T", "P"):
        await activities.lock_module(
            ModuleLockRecord(
                competition_id=city, module_id=module, locked_by="x", occurred_at=later
            )
        )
    await activities.publish_results(
        ResultsRecord(competition_id=city, published_by="x", occurred_at=later)
    )
    await activities.advance(AdvanceRecord(competition_id=city, occurred_at=later))
    assert await footprint() == before
