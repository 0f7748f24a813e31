"""Judges' marks in PostgreSQL: entry (API and CSV, validated in bulk), re-marks, audited
corrections after a module's sign-off, the completeness a lock needs, and the totals.

A batch reads what its checks need once (the judge's assignment, the locks, the judge's
recusals, the marks already on its competitors' aspects), checks each mark in memory with
the policy's rules, and writes the accepted ones in one statement. The competitors' entry
rows are locked in key order, so two judges' batches on one competitor serialise (the
three-judge panel of an aspect cannot overfill) without deadlocking.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, Field

from activities.competition_entries import competition_row
from policy.competition import (
    JUDGES_PER_JUDGEMENT,
    CompetitorTotals,
    MarkingScheme,
    Module,
    aspect_marks,
    aspect_status,
    check_mark,
)
from policy.errors import NotFound, RuleViolation, Violation
from policy.rule_ids import Rule
from schemas.competition import MarkInput
from store.database import Connection


class MarkReport(BaseModel):
    row: int = Field(description="1-based position in the batch or CSV data rows")
    status: Literal["accepted", "remarked", "unchanged", "rejected"]
    aspect_id: str | None = None
    errors: list[Violation] = Field(default_factory=list)


def parse_value(text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise RuleViolation("value", Rule.MARK_NOT_A_NUMBER, "a mark must be a number") from None
    if not value.is_finite():
        raise RuleViolation("value", Rule.MARK_NOT_A_NUMBER, "a mark must be a finite number")
    return value


def scheme_of(competition: Any) -> MarkingScheme:
    return MarkingScheme.model_validate(competition["marking_scheme"])


async def record_marks(
    conn: Connection,
    competition_id: str,
    judge_id: str,
    marks: Sequence[MarkInput],
    occurred_at: datetime,
) -> list[MarkReport]:
    """Check and record a judge's marks in the caller's transaction; one report per mark."""
    competition = await competition_row(conn, competition_id, lock="FOR SHARE")
    if competition["phase"] == "locked":
        raise RuleViolation(
            "competition_id",
            Rule.MARKS_LOCKED,
            "every module is locked: a change needs a correction with a reason",
        )
    if competition["phase"] != "marking":
        raise RuleViolation(
            "competition_id",
            Rule.MARKS_NOT_MARKING,
            f"marking is not open ({competition['phase']})",
        )
    judge = await conn.fetchrow(
        """SELECT aspects FROM competitions.judges WHERE competition_id = $1 AND judge_id = $2""",
        competition_id,
        judge_id,
    )
    if judge is None:
        raise RuleViolation(
            "judge_id", Rule.MARKS_NOT_A_JUDGE, "this judge is not assigned to this competition"
        )
    assigned = set(judge["aspects"])
    aspects = scheme_of(competition).aspects()
    locked = {
        r["module_id"]
        for r in await conn.fetch(
            "SELECT module_id FROM competitions.module_locks WHERE competition_id = $1",
            competition_id,
        )
    }
    people = sorted({m.person_key for m in marks})
    entered = {
        r["person_key"]
        for r in await conn.fetch(
            """SELECT person_key FROM competitions.entries
               WHERE competition_id = $1 AND person_key = ANY($2::text[]) AND status = 'entered'
               ORDER BY person_key FOR UPDATE""",
            competition_id,
            people,
        )
    }
    recused = {
        r["person_key"]
        for r in await conn.fetch(
            """SELECT person_key FROM competitions.recusals
               WHERE competition_id = $1 AND judge_id = $2 AND person_key = ANY($3::text[])""",
            competition_id,
            judge_id,
            people,
        )
    }
    existing: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
    for r in await conn.fetch(
        """SELECT person_key, aspect_id, judge_id, value FROM competitions.marks
           WHERE competition_id = $1 AND person_key = ANY($2::text[])""",
        competition_id,
        people,
    ):
        existing[(r["person_key"], r["aspect_id"])][r["judge_id"]] = r["value"]

    reports: list[MarkReport] = []
    inserts: list[tuple[str, str, str, Decimal]] = []
    remarks: list[tuple[str, str, Decimal, Decimal]] = []
    for row, mark in enumerate(marks, start=1):
        try:
            found = aspects.get(mark.aspect_id)
            if found is None:
                raise RuleViolation(
                    "aspect_id", Rule.MARKS_UNKNOWN_ASPECT, "the marking scheme has no such aspect"
                )
            module, aspect = found
            if mark.aspect_id not in assigned:
                raise RuleViolation(
                    "aspect_id",
                    Rule.MARKS_NOT_ASSIGNED,
                    "the organiser has not assigned this aspect to this judge",
                )
            if mark.person_key not in entered:
                raise RuleViolation(
                    "person_key", Rule.MARKS_NOT_ENTERED, "no entry of this competitor here"
                )
            if module.module_id in locked:
                raise RuleViolation(
                    "aspect_id",
                    Rule.MARKS_LOCKED,
                    f"module {module.module_id} is locked: a change needs a correction "
                    "with a reason",
                )
            if mark.person_key in recused:
                raise RuleViolation(
                    "judge_id",
                    Rule.MARKS_RECUSED,
                    "this judge is recused for this competitor (conflict recorded)",
                )
            value = parse_value(mark.value)
            check_mark(aspect, value)
            panel = existing[(mark.person_key, mark.aspect_id)]
            previous = panel.get(judge_id)
            if previous is None:
                limit = JUDGES_PER_JUDGEMENT if aspect.kind == "judgement" else 1
                if len(panel) >= limit:
                    raise RuleViolation(
                        "aspect_id",
                        Rule.MARKS_PANEL_FULL,
                        f"this aspect already has its {limit} mark(s) for this competitor",
                    )
                inserts.append((mark.person_key, mark.aspect_id, module.module_id, value))
                status: Literal["accepted", "remarked", "unchanged"] = "accepted"
            elif previous == value:
                status = "unchanged"
            else:
                remarks.append((mark.person_key, mark.aspect_id, previous, value))
                status = "remarked"
            panel[judge_id] = value
            reports.append(MarkReport(row=row, status=status, aspect_id=mark.aspect_id))
        except RuleViolation as refused:
            reports.append(
                MarkReport(
                    row=row,
                    status="rejected",
                    aspect_id=mark.aspect_id,
                    errors=[refused.as_violation()],
                )
            )
    if inserts:
        await conn.execute(
            """INSERT INTO competitions.marks
                 (competition_id, person_key, aspect_id, judge_id, module_id, value,
                  entered_at, updated_at)
               SELECT $1, p, a, $2, m, v, $3, $3
               FROM unnest($4::text[], $5::text[], $6::text[], $7::numeric[]) AS t(p, a, m, v)
               ON CONFLICT DO NOTHING""",
            competition_id,
            judge_id,
            occurred_at,
            [i[0] for i in inserts],
            [i[1] for i in inserts],
            [i[2] for i in inserts],
            [i[3] for i in inserts],
        )
    for person, aspect_id, previous, value in remarks:
        await _change_mark(
            conn,
            competition_id,
            person,
            aspect_id,
            judge_id,
            previous,
            value,
            kind="remark",
            reason="re-marked by the judge before sign-off",
            changed_by=judge_id,
            occurred_at=occurred_at,
        )
    return reports


async def _change_mark(
    conn: Connection,
    competition_id: str,
    person_key: str,
    aspect_id: str,
    judge_id: str,
    previous: Decimal,
    value: Decimal,
    *,
    kind: Literal["remark", "correction"],
    reason: str,
    changed_by: str,
    occurred_at: datetime,
) -> None:
    await conn.execute(
        """UPDATE competitions.marks SET value = $5, revision = revision + 1, updated_at = $6
           WHERE competition_id = $1 AND person_key = $2 AND aspect_id = $3 AND judge_id = $4""",
        competition_id,
        person_key,
        aspect_id,
        judge_id,
        value,
        occurred_at,
    )
    await conn.execute(
        """INSERT INTO competitions.mark_audit
             (competition_id, person_key, aspect_id, judge_id, kind, previous_value, new_value,
              reason, changed_by, changed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        competition_id,
        person_key,
        aspect_id,
        judge_id,
        kind,
        previous,
        value,
        reason,
        changed_by,
        occurred_at,
    )


@dataclass(frozen=True)
class Correction:
    person_key: str
    aspect_id: str
    judge_id: str
    value: str
    reason: str


async def correct_mark(
    conn: Connection,
    competition_id: str,
    correction: Correction,
    corrected_by: str,
    occurred_at: datetime,
) -> Decimal:
    """Change a signed-off mark, with a reason and an audit entry; returns the old value."""
    competition = await competition_row(conn, competition_id, lock="FOR UPDATE")
    if competition["phase"] not in ("marking", "locked"):
        raise RuleViolation(
            "competition_id",
            Rule.MARKS_RESULTS_PUBLISHED,
            f"marks are final once results are published ({competition['phase']})",
        )
    if not correction.reason.strip():
        raise RuleViolation(
            "reason", Rule.CORRECTION_REASON_REQUIRED, "a correction needs a reason"
        )
    found = scheme_of(competition).aspects().get(correction.aspect_id)
    if found is None:
        raise RuleViolation(
            "aspect_id", Rule.MARKS_UNKNOWN_ASPECT, "the marking scheme has no such aspect"
        )
    module, aspect = found
    if not await conn.fetchval(
        """SELECT true FROM competitions.module_locks WHERE competition_id = $1 AND module_id = $2""",
        competition_id,
        module.module_id,
    ):
        raise RuleViolation(
            "aspect_id",
            Rule.CORRECTION_NOT_LOCKED,
            f"module {module.module_id} is not signed off: the judge re-marks instead",
        )
    value = parse_value(correction.value)
    check_mark(aspect, value)
    panel = {
        r["judge_id"]: r["value"]
        for r in await conn.fetch(
            """SELECT judge_id, value FROM competitions.marks
               WHERE competition_id = $1 AND person_key = $2 AND aspect_id = $3 FOR UPDATE""",
            competition_id,
            correction.person_key,
            correction.aspect_id,
        )
    }
    previous = panel.get(correction.judge_id)
    if previous is None:
        raise NotFound("no such mark of this judge for this competitor and aspect")
    panel[correction.judge_id] = value
    if aspect_status(aspect, list(panel.values())) != "accepted":
        raise RuleViolation(
            "value",
            Rule.MARKS_REMARK_REQUIRED,
            "the judges' scores would differ by more than one point",
        )
    await _change_mark(
        conn,
        competition_id,
        correction.person_key,
        correction.aspect_id,
        correction.judge_id,
        previous,
        value,
        kind="correction",
        reason=correction.reason.strip(),
        changed_by=corrected_by,
        occurred_at=occurred_at,
    )
    return Decimal(previous)


class ModuleCheck(BaseModel):
    competitors: int
    marks: int
    incomplete: list[int] = Field(description="entry numbers with a missing mark")
    remark_required: list[int] = Field(description="entry numbers whose judges must re-mark")


async def check_module(conn: Connection, competition_id: str, module: Module) -> ModuleCheck:
    """Whether every entered competitor's aspects in ``module`` are accepted."""
    entries = await conn.fetch(
        """SELECT person_key, entry_sequence FROM competitions.entries
           WHERE competition_id = $1 AND status = 'entered'""",
        competition_id,
    )
    values: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    marks = 0
    for r in await conn.fetch(
        """SELECT person_key, aspect_id, value FROM competitions.marks
           WHERE competition_id = $1 AND module_id = $2""",
        competition_id,
        module.module_id,
    ):
        values[(r["person_key"], r["aspect_id"])].append(r["value"])
        marks += 1
    incomplete: list[int] = []
    remark: list[int] = []
    for entry in entries:
        statuses = {
            aspect_status(a, values.get((entry["person_key"], a.aspect_id), []))
            for a in module.aspects
        }
        if "incomplete" in statuses:
            incomplete.append(entry["entry_sequence"])
        elif "remark_required" in statuses:
            remark.append(entry["entry_sequence"])
    return ModuleCheck(
        competitors=len(entries),
        marks=marks,
        incomplete=sorted(incomplete),
        remark_required=sorted(remark),
    )


class EntryTotals(BaseModel):
    totals: CompetitorTotals
    category: str
    holder_name_masked: str
    level_held: int | None
    employer: str
    region: str
    birth_year: int

    @classmethod
    def of_entry(cls, entry: Any, totals: CompetitorTotals) -> EntryTotals:
        """The totals beside the facts of the competitor's ``competitions.entries`` row
        (its columns bear the fields' names; the others are ignored)."""
        return cls.model_validate({**dict(entry), "totals": totals})


async def competitor_totals(
    conn: Connection, competition_id: str, scheme: MarkingScheme, *, accepted_only: bool
) -> list[EntryTotals]:
    """Each entered competitor's marks summed per the scheme. ``accepted_only`` leaves out
    aspects not yet accepted (the live leaderboard); after every lock all are accepted."""
    aspects = scheme.aspects()
    values: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    for r in await conn.fetch(
        "SELECT person_key, aspect_id, value FROM competitions.marks WHERE competition_id = $1",
        competition_id,
    ):
        values[(r["person_key"], r["aspect_id"])].append(r["value"])
    by_person: dict[str, dict[str, Decimal]] = defaultdict(
        lambda: {"total": Decimal(0), "practical": Decimal(0), "judgement": Decimal(0)}
    )
    for (person, aspect_id), marks in values.items():
        module, aspect = aspects[aspect_id]
        if accepted_only and aspect_status(aspect, marks) != "accepted":
            continue
        earned = aspect_marks(aspect, marks)
        sums = by_person[person]
        sums["total"] += earned
        if module.kind == "practical":
            sums["practical"] += earned
        if aspect.kind == "judgement":
            sums["judgement"] += earned
    entries = await conn.fetch(
        """SELECT person_key, entry_sequence, category, holder_name_masked, level_held,
                  employer, region, birth_year
           FROM competitions.entries WHERE competition_id = $1 AND status = 'entered'
           ORDER BY entry_sequence""",
        competition_id,
    )
    found = []
    for e in entries:
        sums = by_person[e["person_key"]]
        found.append(
            EntryTotals.of_entry(
                e,
                CompetitorTotals(
                    person_key=e["person_key"],
                    entry_sequence=e["entry_sequence"],
                    total=sums["total"],
                    practical=sums["practical"],
                    judgement=sums["judgement"],
                    measurement=sums["total"] - sums["judgement"],
                ),
            )
        )
    return found
