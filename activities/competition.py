"""Activities of the competition workflow: the competition row and its phase, recusals at
the close of entries, module sign-off, results (ranking, awards, titles, promotions) and the
advancement of qualifiers to the competition this one feeds.

Each writes its state and its events (``skills.competition``, keyed by person) in one
transaction through the outbox, with event ids derived from business keys, so a retried
activity changes nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from temporalio import activity

from activities.competition_entries import (
    admit_entry,
    competition_event,
    competition_names,
    competition_row,
    record_refusal,
)
from activities.competition_marks import EntryTotals, check_module, competitor_totals, scheme_of
from activities.resources import ActivityResources
from policy.calendar import china_date
from policy.catalogue import get_occupation
from policy.competition import (
    Category,
    CompetitorTotals,
    Placing,
    RuleSet,
    advancing,
    award_for,
    check_opening,
    judge_conflicts,
    promotion_level,
    rank,
    rule_set,
    titles_for,
)
from policy.errors import RuleViolation
from policy.rule_ids import Rule
from schemas.competition import (
    PHASES,
    Advanced,
    AdvanceRecord,
    AssignJudge,
    CompetitionOpening,
    CompetitionOpenRecord,
    EntryFacts,
    ModuleLockRecord,
    PhaseOutcome,
    PhaseRecord,
    PublishedResults,
    ResultsRecord,
    WorldSkillsResultsRecord,
    competition_workflow_id,
)
from schemas.events import EventEnvelope
from schemas.payloads import (
    CompetitionMarksLocked,
    CompetitionResultRecorded,
    CompetitionResultsPublished,
    CompetitorAdvanced,
    PromotionGranted,
    TitleAwarded,
)
from store import competitions
from store.database import Connection
from store.outbox import enqueue
from workflows.rules import rule_error


def promotion_id_for(competition_id: str, person_key: str) -> str:
    return f"{competition_id}-{person_key[:16]}"


async def record_recusals(
    conn: Connection, competition_id: str, rules: RuleSet, occurred_at: datetime
) -> int:
    """Record every judge's conflict with an entered competitor (回避); returns how many."""
    judges = await conn.fetch(
        "SELECT judge_id, employer, region FROM competitions.judges WHERE competition_id = $1",
        competition_id,
    )
    if not judges:
        return 0
    entries = await conn.fetch(
        """SELECT person_key, employer, region FROM competitions.entries
           WHERE competition_id = $1 AND status = 'entered'""",
        competition_id,
    )
    rows: list[tuple[str, str, str]] = []
    for judge in judges:
        for entry in entries:
            conflicts = judge_conflicts(dict(judge), dict(entry), rules.recuse_on)
            if conflicts:
                rows.append((judge["judge_id"], entry["person_key"], f"same_{conflicts[0]}"))
    if rows:
        await conn.execute(
            """INSERT INTO competitions.recusals
                 (competition_id, judge_id, person_key, reason, recorded_at)
               SELECT $1, j, p, r, $2 FROM unnest($3::text[], $4::text[], $5::text[]) AS t(j, p, r)
               ON CONFLICT DO NOTHING""",
            competition_id,
            occurred_at,
            [r[0] for r in rows],
            [r[1] for r in rows],
            [r[2] for r in rows],
        )
    return len(rows)


async def record_judge_assignment(conn: Connection, competition_id: str, judge: AssignJudge) -> int:
    """Assign a judge to aspects (again: replaces them) in the caller's transaction: refused
    once judging is over or for an aspect the scheme lacks. Conflicts with the field are
    recorded at once while marking is open (at the close of entries before that); returns
    how many were recorded now."""
    competition = await competition_row(conn, competition_id, lock="FOR UPDATE")
    if competition["phase"] not in ("entries_open", "marking"):
        raise RuleViolation(
            "competition_id", Rule.JUDGES_CLOSED, f"judging is over ({competition['phase']})"
        )
    unknown = sorted(set(judge.aspects) - set(scheme_of(competition).aspects()))
    if unknown:
        raise RuleViolation(
            "aspects",
            Rule.MARKS_UNKNOWN_ASPECT,
            f"the marking scheme has no aspect(s) {', '.join(unknown[:10])}",
        )
    await competitions.save_judge(
        conn,
        competition_id,
        judge.judge_id,
        judge.employer,
        judge.region,
        list(judge.aspects),
        judge.assigned_by,
        judge.assigned_at,
    )
    if competition["phase"] != "marking":
        return 0
    return await record_recusals(
        conn, competition_id, rule_set(competition["rule_version"]), judge.assigned_at
    )


async def check_competition_opening(conn: Connection, opening: CompetitionOpening) -> None:
    """Every rule a new competition meets (``policy.competition.check_opening``), with the
    rule set of the competition it feeds, which must exist. The API calls it before the
    workflow starts, so a refused competition starts none."""
    get_occupation(opening.occupation_code)
    feeds = None
    if opening.feeds_competition_id is not None:
        version = await competitions.rule_version_of(conn, opening.feeds_competition_id)
        if version is None:
            raise RuleViolation(
                "feeds_competition_id",
                Rule.COMPETITION_FEEDS_UNKNOWN,
                "the competition to feed must be created first",
            )
        feeds = rule_set(version)
    check_opening(
        rule_set(opening.rule_version),
        opening.tier,
        opening.marking_scheme,
        issuing_body_id=opening.issuing_body_id,
        feeds=feeds,
    )


class CompetitionActivities:
    def __init__(self, resources: ActivityResources) -> None:
        self._pool = resources.pool

    @activity.defn(name="competition.open")
    async def open_competition(self, record: CompetitionOpenRecord) -> PhaseOutcome:
        """Record the competition, then enter the qualifiers a lower tier already sent."""
        opening = record.opening
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """INSERT INTO competitions.competitions
                     (competition_id, name, tier, occupation_code, worldskills_skill,
                      edition_year, competed_on, organiser_id, issuing_body_id, categories,
                      rule_version, marking_scheme, feeds_competition_id, phase, created_by,
                      created_at, updated_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
                           'entries_open', $14, $15, $15)
                   ON CONFLICT (competition_id) DO NOTHING""",
                opening.competition_id,
                opening.name,
                opening.tier,
                opening.occupation_code,
                opening.worldskills_skill,
                opening.edition_year,
                opening.competed_on,
                opening.organiser_id,
                opening.issuing_body_id,
                list(opening.categories),
                opening.rule_version,
                opening.marking_scheme.model_dump(mode="json"),
                opening.feeds_competition_id,
                opening.opened_by or "organiser",
                record.occurred_at,
            )
            waiting = await conn.fetch(
                """SELECT q.* FROM competitions.qualifications q
                   WHERE q.competition_id = $1 AND q.source = 'advanced'
                     AND NOT EXISTS (SELECT 1 FROM competitions.entries e
                                     WHERE e.competition_id = q.competition_id
                                       AND e.person_key = q.person_key)
                   ORDER BY q.from_rank, q.person_key""",
                opening.competition_id,
            )
            for qualification in waiting:
                await enter_qualifier(
                    conn, opening.competition_id, qualification, record.occurred_at
                )
            entries = await conn.fetchval(
                "SELECT count(*) FROM competitions.entries WHERE competition_id = $1",
                opening.competition_id,
            )
        return PhaseOutcome(entries=int(entries or 0))

    @activity.defn(name="competition.close_entries")
    async def close_entries(self, record: PhaseRecord) -> PhaseOutcome:
        async with self._pool.acquire() as conn, conn.transaction():
            competition = await competition_row(conn, record.competition_id, lock="FOR UPDATE")
            entries = int(
                await conn.fetchval(
                    """SELECT count(*) FROM competitions.entries
                       WHERE competition_id = $1 AND status = 'entered'""",
                    record.competition_id,
                )
                or 0
            )
            if competition["phase"] == "entries_open" and entries == 0:
                raise rule_error(
                    "competition_id", Rule.COMPETITION_NO_ENTRIES, "no one has entered yet"
                )
            recusals = await record_recusals(
                conn,
                record.competition_id,
                rule_set(competition["rule_version"]),
                record.occurred_at,
            )
            await _set_phase(conn, record)
        return PhaseOutcome(entries=entries, recusals=recusals)

    @activity.defn(name="competition.record_phase")
    async def record_phase(self, record: PhaseRecord) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await _set_phase(conn, record)

    @activity.defn(name="competition.lock_module")
    async def lock_module(self, record: ModuleLockRecord) -> None:
        """Sign off a module when every competitor's aspects in it are accepted."""
        async with self._pool.acquire() as conn, conn.transaction():
            # FOR UPDATE waits for marks being written (they hold the row FOR SHARE).
            competition = await competition_row(conn, record.competition_id, lock="FOR UPDATE")
            module = scheme_of(competition).module(record.module_id)
            if module is None:
                raise rule_error("module_id", Rule.MARKS_UNKNOWN_MODULE, "no such module")
            check = await check_module(conn, record.competition_id, module)
            if check.incomplete:
                raise rule_error(
                    "module_id",
                    Rule.MARKS_INCOMPLETE,
                    f"{len(check.incomplete)} competitor(s) lack marks in module "
                    f"{module.module_id} (entries {_first(check.incomplete)})",
                )
            if check.remark_required:
                raise rule_error(
                    "module_id",
                    Rule.MARKS_REMARK_REQUIRED,
                    f"judges differ by more than one point for {len(check.remark_required)} "
                    f"competitor(s) in module {module.module_id} (entries "
                    f"{_first(check.remark_required)}): they must re-mark",
                )
            inserted = await conn.fetchval(
                """INSERT INTO competitions.module_locks
                     (competition_id, module_id, locked_by, locked_at)
                   VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true""",
                record.competition_id,
                record.module_id,
                record.locked_by or "organiser",
                record.occurred_at,
            )
            if inserted:
                await enqueue(
                    conn,
                    competition_event(
                        CompetitionMarksLocked(
                            competition_id=record.competition_id,
                            module_id=record.module_id,
                            competitors=check.competitors,
                            marks=check.marks,
                        ),
                        f"{record.competition_id}|{record.module_id}",
                        record.occurred_at,
                        None,
                    ),
                )

    @activity.defn(name="competition.publish_results")
    async def publish_results(self, record: ResultsRecord) -> PublishedResults:
        """Rank each category, give awards, titles and promotions, and publish them."""
        async with self._pool.acquire() as conn, conn.transaction():
            competition = await competition_row(conn, record.competition_id, lock="FOR UPDATE")
            rules = rule_set(competition["rule_version"])
            scheme = scheme_of(competition)
            published_on = china_date(record.occurred_at)
            field = await competitor_totals(
                conn, record.competition_id, scheme, accepted_only=False
            )
            by_category: dict[str, list[EntryTotals]] = defaultdict(list)
            for entry in field:
                by_category[entry.category].append(entry)
            events: list[EventEnvelope] = []
            summary = {"results": 0, "medals": 0, "promotions": 0, "titles": 0}
            for category, entries in sorted(by_category.items()):
                facts = {e.totals.person_key: e for e in entries}
                placings = rank([e.totals for e in entries], rules)
                for placing in placings:
                    entry = facts[placing.person_key]
                    events += await self._one_result(
                        conn, competition, rules, placing, entry, category, len(placings),
                        published_on, record, summary,
                    )  # fmt: skip
            await _publish(conn, competition, rules, record, len(field), events)
        return PublishedResults(**summary)

    @activity.defn(name="competition.record_worldskills_results")
    async def record_worldskills_results(
        self, record: WorldSkillsResultsRecord
    ) -> PublishedResults:
        """The team's WorldSkills results: a medal as entered, else a Medallion for
        Excellence at the threshold; then the same events as any published result."""
        async with self._pool.acquire() as conn, conn.transaction():
            competition = await competition_row(conn, record.competition_id, lock="FOR UPDATE")
            rules = rule_set(competition["rule_version"])
            published_on = china_date(record.occurred_at)
            entries = {
                r["person_key"]: r
                for r in await conn.fetch(
                    """SELECT person_key, entry_sequence, category, holder_name_masked,
                              level_held, employer, region, birth_year
                       FROM competitions.entries WHERE competition_id = $1""",
                    record.competition_id,
                )
            }
            events: list[EventEnvelope] = []
            summary = {"results": 0, "medals": 0, "promotions": 0, "titles": 0}
            field_size = len(record.results)
            for result in record.results:
                entry = entries.get(result.person_key)
                if entry is None:
                    raise rule_error(
                        "entry", Rule.MARKS_NOT_ENTERED, "no entry of this competitor here"
                    )
                medal_rank = {"gold": 1, "silver": 2, "bronze": 3}.get(result.medal)
                award = (
                    result.medal
                    if medal_rank
                    # Without a medal the result ranks below the medals (4th), where only
                    # the medallion (and 优胜奖, where a tier has it) can still be earned.
                    else award_for(4, field_size, result.scale_score, rules.awards)
                )
                placing = Placing(
                    person_key=result.person_key,
                    rank=medal_rank or 4,
                    total=Decimal(result.scale_score),
                    scale_score=result.scale_score,
                    award=award,
                )
                totals = EntryTotals.of_entry(
                    entry,
                    CompetitorTotals(
                        person_key=result.person_key,
                        entry_sequence=entry["entry_sequence"],
                        total=Decimal(result.scale_score),
                    ),
                )
                events += await self._one_result(
                    conn, competition, rules, placing, totals, entry["category"], field_size,
                    published_on, ResultsRecord(
                        competition_id=record.competition_id,
                        published_by=record.recorded_by,
                        occurred_at=record.occurred_at,
                    ), summary,
                )  # fmt: skip
            await _publish(conn, competition, rules, record, field_size, events)
        return PublishedResults(**summary)

    async def _one_result(
        self,
        conn: Connection,
        competition: Any,
        rules: RuleSet,
        placing: Placing,
        entry: EntryTotals,
        category: str,
        field_size: int,
        published_on: date,
        record: ResultsRecord,
        summary: dict[str, int],
    ) -> list[EventEnvelope]:
        c = competition  # an asyncpg Record
        cid = record.competition_id
        person = placing.person_key
        titles = titles_for(placing, field_size, _category(category), rules)
        promoted_to = promotion_level(
            placing, field_size, _category(category), entry.level_held, rules
        )
        events = [
            competition_event(
                CompetitionResultRecorded(
                    **competition_names(c),
                    rank=placing.rank,
                    field_size=field_size,
                    medal=placing.medal,
                    score=float(placing.total),
                    competed_on=c["competed_on"],
                    award=placing.award,
                    scale_score=placing.scale_score,
                    category=category,
                ),
                f"{cid}|{person}",
                record.occurred_at,
                person,
            )
        ]
        summary["results"] += 1
        summary["medals"] += placing.medal != "none"
        for title in titles:
            events.append(
                competition_event(
                    TitleAwarded(
                        **competition_names(c),
                        title=title,
                        awarded_on=published_on,
                        rule_version=rules.version,
                    ),
                    f"{cid}|{person}|{title}",
                    record.occurred_at,
                    person,
                )
            )
            summary["titles"] += 1
        granted = None
        if promoted_to is not None and c["issuing_body_id"]:
            granted = await _grant_promotion(conn, cid, person, promoted_to, published_on)
        if granted is not None and promoted_to is not None:
            events.append(
                competition_event(
                    PromotionGranted(
                        **competition_names(c),
                        promotion_id=granted,
                        to_level=promoted_to,
                        issuing_body_id=c["issuing_body_id"],
                        holder_name_masked=entry.holder_name_masked,
                        granted_on=published_on,
                        rule_version=rules.version,
                    ),
                    granted,
                    record.occurred_at,
                    person,
                )
            )
            summary["promotions"] += 1
        await conn.execute(
            """INSERT INTO competitions.results
                 (competition_id, person_key, category, rank, field_size, total, scale_score,
                  award, titles, promoted_to)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               ON CONFLICT (competition_id, person_key) DO NOTHING""",
            cid,
            person,
            category,
            placing.rank,
            field_size,
            placing.total,
            placing.scale_score,
            placing.award,
            titles,
            promoted_to if granted is not None else None,
        )
        return events

    @activity.defn(name="competition.advance")
    async def advance(self, record: AdvanceRecord) -> Advanced:
        """Qualifiers of each category go to the competition this one feeds: recorded as
        qualified there, and entered at once when its entries are open (else when it opens)."""
        async with self._pool.acquire() as conn, conn.transaction():
            competition = await competition_row(conn, record.competition_id)
            target = competition["feeds_competition_id"]
            rules = rule_set(competition["rule_version"])
            if target is None or rules.advancement.quota == 0:
                return Advanced(qualifiers=0, entered=0)
            rows = await conn.fetch(
                """SELECT r.person_key, r.rank, r.total, r.award, r.category, r.promoted_to,
                          e.entry_sequence, e.holder_name_masked, e.employer, e.region,
                          e.level_held, e.birth_year
                   FROM competitions.results r JOIN competitions.entries e USING
                        (competition_id, person_key)
                   WHERE r.competition_id = $1 ORDER BY r.category, r.rank, e.entry_sequence""",
                record.competition_id,
            )
            qualifiers = []
            for category in sorted({r["category"] for r in rows}):
                placed = [r for r in rows if r["category"] == category]
                chosen = {
                    p.person_key
                    for p in advancing(
                        [
                            Placing(person_key=r["person_key"], rank=r["rank"], total=r["total"])
                            for r in placed
                        ],
                        rules,
                    )
                }
                qualifiers += [r for r in placed if r["person_key"] in chosen]
            events = []
            for q in qualifiers:
                await conn.execute(
                    """INSERT INTO competitions.qualifications
                         (competition_id, person_key, source, from_competition_id, from_rank,
                          category, holder_name_masked, employer, region, level_held,
                          birth_year, recorded_by, recorded_at)
                       VALUES ($1, $2, 'advanced', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                       ON CONFLICT (competition_id, person_key) DO NOTHING""",
                    target,
                    q["person_key"],
                    record.competition_id,
                    q["rank"],
                    q["category"],
                    q["holder_name_masked"],
                    q["employer"],
                    q["region"],
                    q["promoted_to"] or q["level_held"],
                    q["birth_year"],
                    competition_workflow_id(record.competition_id),
                    record.occurred_at,
                )
                await conn.execute(
                    """UPDATE competitions.results SET advanced = true
                       WHERE competition_id = $1 AND person_key = $2""",
                    record.competition_id,
                    q["person_key"],
                )
                events.append(
                    competition_event(
                        CompetitorAdvanced(
                            competition_id=record.competition_id,
                            tier=competition["tier"],
                            to_competition_id=target,
                            rank=q["rank"],
                        ),
                        f"{record.competition_id}|{q['person_key']}",
                        record.occurred_at,
                        q["person_key"],
                    )
                )
            await enqueue(conn, *events)
            entered = 0
            phase = await conn.fetchval(
                "SELECT phase FROM competitions.competitions WHERE competition_id = $1", target
            )
            if phase == "entries_open":
                for q in qualifiers:
                    qualification = await conn.fetchrow(
                        """SELECT * FROM competitions.qualifications
                           WHERE competition_id = $1 AND person_key = $2""",
                        target,
                        q["person_key"],
                    )
                    entered += await enter_qualifier(
                        conn, target, qualification, record.occurred_at
                    )
        return Advanced(qualifiers=len(qualifiers), entered=entered)


async def enter_qualifier(
    conn: Connection, competition_id: str, qualification: Any, occurred_at: datetime
) -> int:
    """Enter an advanced qualifier; a refusal (an age cap, say) is published, not raised."""
    q = qualification  # an asyncpg Record
    if await conn.fetchval(
        "SELECT true FROM competitions.entries WHERE competition_id = $1 AND person_key = $2",
        competition_id,
        q["person_key"],
    ):
        return 0
    # A qualification keeps the entry's facts under the same names, to enter it as it was.
    facts = EntryFacts.model_validate({name: q[name] for name in EntryFacts.model_fields})
    try:
        async with conn.transaction():
            await admit_entry(
                conn,
                competition_id,
                facts,
                entered_by=f"advanced from {q['from_competition_id']}",
                occurred_at=occurred_at,
            )
    except RuleViolation as refused:
        await record_refusal(conn, competition_id, facts.person_key, refused, occurred_at)
        return 0
    return 1


async def _grant_promotion(
    conn: Connection, competition_id: str, person_key: str, to_level: int, granted_on: date
) -> str | None:
    """The promotion id when this competition may promote the person this calendar year
    (at most one competition promotion per person per year), else None."""
    promotion_id = promotion_id_for(competition_id, person_key)
    year = granted_on.year
    await conn.execute(
        """INSERT INTO competitions.promotions
             (promotion_id, person_key, competition_id, to_level, granted_year, granted_on)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
        promotion_id,
        person_key,
        competition_id,
        to_level,
        year,
        granted_on,
    )
    holder = await conn.fetchval(
        """SELECT promotion_id FROM competitions.promotions
           WHERE person_key = $1 AND granted_year = $2""",
        person_key,
        year,
    )
    return promotion_id if holder == promotion_id else None


async def _publish(
    conn: Connection,
    competition: Any,
    rules: RuleSet,
    record: ResultsRecord | WorldSkillsResultsRecord,
    field_size: int,
    events: list[EventEnvelope],
) -> None:
    """Publish the results' events, closed by the one that says the results are out, and
    move the competition to its results phase, whichever way the results were found."""
    events.append(
        competition_event(
            CompetitionResultsPublished(
                **competition_names(competition),
                field_size=field_size,
                rule_version=rules.version,
                published_on=china_date(record.occurred_at),
            ),
            record.competition_id,
            record.occurred_at,
            None,
        )
    )
    await enqueue(conn, *events)
    await _set_phase(
        conn,
        PhaseRecord(
            competition_id=record.competition_id,
            phase="results_published",
            occurred_at=record.occurred_at,
        ),
    )


async def _set_phase(conn: Connection, record: PhaseRecord) -> None:
    """Phases only move forward: an activity run again late never takes one back."""
    await conn.execute(
        """UPDATE competitions.competitions SET phase = $2, updated_at = $3
           WHERE competition_id = $1
             AND array_position($4::text[], phase) < array_position($4::text[], $2)""",
        record.competition_id,
        record.phase,
        record.occurred_at,
        list(PHASES),
    )


def _category(value: str) -> Category:
    if value not in ("workers", "students", "teams"):
        raise ValueError(f"unknown category {value}")
    return value  # type: ignore[return-value]


def _first(numbers: list[int], shown: int = 10) -> str:
    text = ", ".join(str(n) for n in numbers[:shown])
    return text + (", ..." if len(numbers) > shown else "")
