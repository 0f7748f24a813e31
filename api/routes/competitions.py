"""Competitions: organisers create them from a tier's rule set, take entries (JSON and CSV),
assign judges, close entries, lock modules, correct marks and publish results; judges enter
marks (JSON and CSV); everyone reads published results.

Who may touch a competition is decided in one place, :func:`competition_actor`: an organiser
token's bodies are organising bodies (the competition's ``organiser_id`` must be one of
them), a judge token's bodies are competition ids; a judge marks only the aspects the
organiser assigned to the token holder's name.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from activities.competition import check_competition_opening, record_judge_assignment
from activities.competition_entries import Entered, admit_entry, record_refusal
from activities.competition_marks import (
    Correction,
    MarkReport,
    competitor_totals,
    correct_mark,
    record_marks,
    scheme_of,
)
from api.access import Caller, require_roles
from api.commands import COMPETITIONS
from api.csv_import import CSV_REQUEST_BODY, CsvFile, read_csv
from api.services import Services
from api.views import (
    CompetitionView,
    EntryLine,
    JudgeAssigned,
    JudgeAssignment,
    LeaderboardLine,
    MarkAuditEntry,
    MarkCorrected,
    NominationsRecorded,
    PublishedResult,
)
from policy.calendar import china_date
from policy.competition import (
    Category,
    MarkingScheme,
    Tier,
    default_rule_version,
    rank,
    rule_set,
)
from policy.errors import NotFound, RuleViolation, RuleViolations, Violation, as_violations
from policy.idnumber import mask_name, person_key, validate_id_number
from policy.rule_ids import Rule
from schemas.competition import (
    COMPETITION_ID_PATTERN,
    AssignJudge,
    CloseEntries,
    CompetitionOpening,
    CompetitionState,
    EntryFacts,
    LockModule,
    MarkInput,
    PublishResults,
)
from schemas.inputs import RequestBody, number_cell
from skillflow.settings import Role
from store import competitions
from workflows.competition import CompetitionWorkflow

router = APIRouter(prefix="/competitions", tags=["competitions"])


def competition_actor(*roles: Role) -> Callable[..., Awaitable[Caller]]:
    """``require_roles`` for a route on ``/{competition_id}``: an organiser bound to bodies
    acts only on competitions those bodies organise; a judge bound to competitions only on
    those (or, bound to organising bodies, on theirs). An unknown competition is a 404, a
    refusal a 403, before anything is read or written."""
    admitted = require_roles(*roles)

    async def dependency(
        competition_id: str,
        services: Services,
        caller: Caller = Depends(admitted),  # noqa: B008
    ) -> Caller:
        organiser_id = await services.found(
            competitions.organiser_of, competition_id, "no competition with this id"
        )
        if not caller.bodies or (caller.role == Role.JUDGE and competition_id in caller.bodies):
            return caller
        # An organiser (or a judge bound to an organising body) acts on that body's
        # competitions only.
        caller.check_body(organiser_id)
        return caller

    return dependency


Organiser = Annotated[Caller, Depends(require_roles(Role.ORGANISER))]
CompetitionOrganiser = Annotated[Caller, Depends(competition_actor(Role.ORGANISER))]
CompetitionJudge = Annotated[Caller, Depends(competition_actor(Role.JUDGE))]
Overseer = Annotated[
    Caller, Depends(competition_actor(Role.ORGANISER, Role.REGULATOR, Role.RECORDS_OFFICER))
]


def now() -> datetime:
    return datetime.now(UTC)


# --- creating and running --------------------------------------------------------------


class CompetitionRequest(RequestBody):
    competition_id: str = Field(pattern=COMPETITION_ID_PATTERN)
    name: str = Field(min_length=1, max_length=100)
    tier: Tier
    rule_version: str | None = Field(
        None, max_length=64, description="default: the tier's newest rule set"
    )
    occupation_code: str = Field(max_length=16)
    worldskills_skill: str | None = Field(
        None, pattern=r"^[a-z0-9-]{1,64}$", description="WorldSkills skill, for the age cap"
    )
    edition_year: int = Field(ge=2000, le=2100)
    competed_on: date
    organiser_id: str = Field(min_length=1, max_length=64)
    issuing_body_id: str | None = Field(
        None, max_length=64, description="evaluation body certifying promotions"
    )
    categories: list[Category] = Field(["workers"], min_length=1, max_length=3)
    marking_scheme: MarkingScheme | None = Field(None, description="default: the rule set's scheme")
    feeds_competition_id: str | None = Field(None, pattern=COMPETITION_ID_PATTERN)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_competition(
    request: CompetitionRequest, caller: Organiser, services: Services
) -> CompetitionState:
    """Create a competition from its tier's rule set; entries open at once. The
    competition process checks it against the rule set (and the one it feeds) first."""
    caller.check_body(request.organiser_id)
    version = request.rule_version or default_rule_version(request.tier)
    scheme = request.marking_scheme or rule_set(version).marking_scheme
    opening = CompetitionOpening(
        **request.model_dump(exclude={"rule_version", "marking_scheme", "categories"}),
        rule_version=version,
        categories=tuple(dict.fromkeys(request.categories)),
        marking_scheme=scheme,
        opened_by=caller.name,
    )
    async with services.pool.acquire() as conn:
        await check_competition_opening(conn, opening)
    key = request.competition_id
    await COMPETITIONS.start(
        services, key, CompetitionWorkflow.run, opening, exists=Rule.COMPETITION_EXISTS
    )
    return await COMPETITIONS.opened(
        services, key, CompetitionWorkflow.await_opened, CloseEntries()
    )


@router.post("/{competition_id}/close-entries")
async def close_entries(
    competition_id: str, caller: CompetitionOrganiser, services: Services
) -> CompetitionState:
    """Entries end; judges' conflicts with the field are recorded and marking opens."""
    return await COMPETITIONS.update(
        services,
        competition_id,
        CompetitionWorkflow.close_entries,
        CloseEntries(closed_by=caller.name),
    )


class LockRequest(RequestBody):
    module_id: str = Field(min_length=1, max_length=32)


@router.post("/{competition_id}/locks")
async def lock_module(
    competition_id: str, request: LockRequest, caller: CompetitionOrganiser, services: Services
) -> CompetitionState:
    """Sign off a module: refused while a mark is missing or judges must re-mark."""
    return await COMPETITIONS.update(
        services,
        competition_id,
        CompetitionWorkflow.lock_module,
        LockModule(module_id=request.module_id, locked_by=caller.name),
    )


@router.post("/{competition_id}/publish")
async def publish_results(
    competition_id: str, caller: CompetitionOrganiser, services: Services
) -> CompetitionState:
    """Rank, award, promote and publish; qualifiers then advance to the competition fed."""
    return await COMPETITIONS.update(
        services,
        competition_id,
        CompetitionWorkflow.publish_results,
        PublishResults(published_by=caller.name),
    )


@router.get("/{competition_id}")
async def get_competition(competition_id: str, _: Overseer, services: Services) -> CompetitionView:
    view = await services.found(
        competitions.competition_view, competition_id, "no competition with this id"
    )
    return CompetitionView.model_validate(view)


# --- entries ---------------------------------------------------------------------------


class EntryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id_number: str = Field(min_length=1, max_length=32, description="never stored or logged")
    name: str = Field(min_length=1, max_length=50)
    category: Category = "workers"
    employer: str = Field("", max_length=64)
    region: str = Field("", max_length=16)
    level_held: int | None = Field(None, strict=True, ge=1, le=5)


async def _enter(
    services: Services, competition_id: str, request: EntryRequest, entered_by: str
) -> Entered:
    """Validate the ID number, hash it, and admit the entry; a rule refusal of a valid ID
    number is published as ``competition.entry_refused`` and raised."""
    competition = await services.found(
        competitions.competition_facts, competition_id, "no competition with this id"
    )
    rules = rule_set(competition["rule_version"])
    facts_of_id = validate_id_number(
        request.id_number, today=competition["competed_on"], min_age=rules.min_age
    )
    key = person_key(request.id_number, services.settings.person_key_secret_bytes)
    facts = EntryFacts(
        person_key=key,
        holder_name_masked=mask_name(request.name),
        birth_year=facts_of_id.birth_date.year,
        category=request.category,
        employer=request.employer,
        region=request.region,
        level_held=request.level_held,
    )
    async with services.pool.acquire() as conn:
        try:
            async with conn.transaction():
                return await admit_entry(
                    conn, competition_id, facts, entered_by=entered_by, occurred_at=now()
                )
        except RuleViolation as refused:
            async with conn.transaction():
                await record_refusal(conn, competition_id, key, refused, now())
            raise


@router.post("/{competition_id}/entries", status_code=status.HTTP_201_CREATED)
async def enter(
    competition_id: str, request: EntryRequest, caller: CompetitionOrganiser, services: Services
) -> Entered:
    """Enter one competitor. Refusals name their rule: ID number, duplicate, category,
    qualification from the tier below (or a nomination), the WorldSkills age cap."""
    return await _enter(services, competition_id, request, caller.name)


class EntryRowReport(BaseModel):
    row: int
    status: Literal["accepted", "rejected"]
    entry: int | None = None
    errors: list[Violation] = Field(default_factory=list)


@router.post("/{competition_id}/entries.csv", openapi_extra=CSV_REQUEST_BODY)
async def import_entries(
    competition_id: str,
    caller: CompetitionOrganiser,
    services: Services,
    body: CsvFile,
) -> list[EntryRowReport]:
    """Entries from CSV (header: id_number,name and optionally category, employer, region,
    level_held). Each row is its own transaction and gets its own report."""
    rows = read_csv(body, {"id_number", "name"})
    reports: list[EntryRowReport] = []
    for row in rows:
        number = row.number
        if row.error is not None:
            reports.append(EntryRowReport(row=number, status="rejected", errors=[row.error]))
            continue
        try:
            values: dict[str, Any] = {k: v for k, v in row.cells.items() if v != ""}
            if "level_held" in values:
                values["level_held"] = number_cell(values["level_held"])
            try:
                request = EntryRequest.model_validate(values)
            except ValueError as exc:
                raise RuleViolation("row", Rule.CSV_INVALID_ROW, _first_error(exc)) from None
            entered = await _enter(services, competition_id, request, caller.name)
        except (RuleViolation, RuleViolations) as exc:
            reports.append(EntryRowReport(row=number, status="rejected", errors=as_violations(exc)))
            continue
        reports.append(EntryRowReport(row=number, status="accepted", entry=entered.entry_sequence))
    return reports


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return "the row does not fit the entry form"


class NominationRequest(RequestBody):
    id_numbers: list[str] = Field(min_length=1, max_length=1000)


@router.post("/{competition_id}/nominations")
async def nominate(
    competition_id: str,
    request: NominationRequest,
    caller: CompetitionOrganiser,
    services: Services,
) -> NominationsRecorded:
    """Record nominees: above the base tier they may enter without a lower-tier result."""
    keys = []
    for index, number in enumerate(request.id_numbers):
        try:
            validate_id_number(number, today=china_date(now()), min_age=0)
        except RuleViolation as violation:
            raise RuleViolation(f"id_numbers[{index}]", violation.rule, violation.message) from None
        keys.append(person_key(number, services.settings.person_key_secret_bytes))
    async with services.pool.acquire() as conn:
        recorded = await competitions.save_nominations(
            conn, competition_id, keys, caller.name, now()
        )
    return NominationsRecorded(recorded=recorded)


Reader = Annotated[
    Caller,
    Depends(competition_actor(Role.ORGANISER, Role.JUDGE, Role.REGULATOR, Role.RECORDS_OFFICER)),
]


@router.get("/{competition_id}/entries")
async def list_entries(
    competition_id: str,
    _: Reader,
    services: Services,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[EntryLine]:
    """Entries by number, with masked names (the number is what judges mark; judges read
    them too)."""
    async with services.pool.acquire() as conn:
        rows = await competitions.entries_view(conn, competition_id, limit, offset)
    return [EntryLine.model_validate(row) for row in rows]


# --- judges and marks ------------------------------------------------------------------


class JudgeRequest(RequestBody):
    judge_id: str = Field(min_length=1, max_length=64, description="the judge's token name")
    employer: str = Field("", max_length=64)
    region: str = Field("", max_length=16)
    aspects: list[str] = Field(min_length=1, max_length=200)


@router.post("/{competition_id}/judges")
async def assign_judge(
    competition_id: str, request: JudgeRequest, caller: CompetitionOrganiser, services: Services
) -> JudgeAssigned:
    """Assign a judge to aspects (again: replaces the aspects). Conflicts with entered
    competitors are recorded once marking is open (at the close of entries before that)."""
    judge = AssignJudge(
        **request.model_dump(exclude={"aspects"}),
        aspects=tuple(sorted(set(request.aspects))),
        assigned_by=caller.name,
        assigned_at=now(),
    )
    async with services.pool.acquire() as conn, conn.transaction():
        recusals = await record_judge_assignment(conn, competition_id, judge)
    return JudgeAssigned(judge_id=judge.judge_id, aspects=list(judge.aspects), recusals=recusals)


@router.get("/{competition_id}/judges/me")
async def my_assignment(
    competition_id: str, caller: CompetitionJudge, services: Services
) -> JudgeAssignment:
    """What the calling judge marks here: the name marks are entered under, its aspects
    (none until the organiser assigns them) and the competitors it is recused for."""
    async with services.pool.acquire() as conn:
        aspects, recused = await competitions.judge_assignment(conn, competition_id, caller.name)
    return JudgeAssignment(judge_id=caller.name, aspects=aspects, recused_for_entries=recused)


MarkValue = Annotated[
    StrictInt | StrictFloat | Annotated[StrictStr, Field(max_length=16)],
    Field(description="a number; booleans, NaN and Infinity are refused"),
]


class MarkRequest(RequestBody):
    entry: int = Field(ge=1, le=1_000_000, description="the competitor's entry number")
    aspect_id: str = Field(min_length=1, max_length=32)
    value: MarkValue


class MarkSheet(RequestBody):
    marks: list[MarkRequest] = Field(min_length=1, max_length=5000)


async def _record(
    services: Services, competition_id: str, judge: str, rows: list[tuple[int, str, str]]
) -> list[MarkReport]:
    """Marks given by entry number: rows naming no entry of this competition are refused
    here, the rest go through the marking rules in one transaction."""
    async with services.pool.acquire() as conn:
        people = await competitions.person_keys_of_entries(
            conn, competition_id, [entry for entry, _, _ in rows]
        )
    marks = [
        MarkInput(person_key=people[entry], aspect_id=aspect, value=value)
        for entry, aspect, value in rows
        if entry in people
    ]
    recorded: list[MarkReport] = []
    if marks:
        async with services.pool.acquire() as conn, conn.transaction():
            recorded = await record_marks(conn, competition_id, judge, marks, now())
    reports: list[MarkReport] = []
    for row, (entry, aspect, _) in enumerate(rows, start=1):
        if entry in people:
            reports.append(recorded.pop(0).model_copy(update={"row": row}))
        else:
            reports.append(
                MarkReport(
                    row=row,
                    status="rejected",
                    aspect_id=aspect,
                    errors=[
                        Violation(
                            field="entry",
                            rule=Rule.MARKS_NOT_ENTERED,
                            message="no entry with this number in this competition",
                        )
                    ],
                )
            )
    return reports


def _value_text(value: int | float | str) -> str:
    if isinstance(value, float):
        return repr(value)  # nan and inf stay recognisable, and are refused as such
    return str(value)


@router.post("/{competition_id}/marks")
async def enter_marks(
    competition_id: str, sheet: MarkSheet, caller: CompetitionJudge, services: Services
) -> list[MarkReport]:
    """A judge's marks. Each is checked (phase, assignment, recusal, range, the three-judge
    panel, locked modules) and reported; re-entering one's own mark before the module is
    locked is a re-mark, kept in the audit."""
    rows = [(m.entry, m.aspect_id, _value_text(m.value)) for m in sheet.marks]
    return await _record(services, competition_id, caller.name, rows)


@router.post("/{competition_id}/marks.csv", openapi_extra=CSV_REQUEST_BODY)
async def import_marks(
    competition_id: str,
    caller: CompetitionJudge,
    services: Services,
    body: CsvFile,
) -> list[MarkReport]:
    """A judge's marks from CSV (header: entry,aspect_id,value)."""
    rows = read_csv(body, {"entry", "aspect_id", "value"})
    parsed: list[tuple[int, str, str]] = []
    refused: dict[int, Violation] = {}
    for csv_row in rows:
        number, row = csv_row.number, csv_row.cells
        entry, aspect, value = row.get("entry", ""), row.get("aspect_id", ""), row.get("value", "")
        if csv_row.error is not None:
            refused[number] = csv_row.error
        elif not entry.isascii() or not entry.isdigit() or not 1 <= int(entry) <= 1_000_000:
            refused[number] = Violation(
                field="entry", rule=Rule.MARKS_ENTRY_NUMBER, message="entry must be a whole number"
            )
        elif len(aspect) > 32 or len(value) > 16:
            refused[number] = Violation(
                field="value" if len(value) > 16 else "aspect_id",
                rule=Rule.CSV_CELL_TOO_LONG,
                message="aspect ids have at most 32 characters and marks at most 16",
            )
        if number in refused:
            parsed.append((0, aspect[:32], ""))
            continue
        parsed.append((int(entry), aspect, value))
    reports = await _record(services, competition_id, caller.name, parsed)
    return [
        MarkReport(row=r.row, status="rejected", aspect_id=r.aspect_id, errors=[refused[r.row]])
        if r.row in refused
        else r
        for r in reports
    ]


class CorrectionRequest(RequestBody):
    entry: int = Field(ge=1, le=1_000_000)
    aspect_id: str = Field(min_length=1, max_length=32)
    judge_id: str = Field(min_length=1, max_length=64)
    value: MarkValue
    reason: str = Field(min_length=1, max_length=500, pattern=r"\S")


@router.post("/{competition_id}/corrections")
async def correct(
    competition_id: str,
    request: CorrectionRequest,
    caller: CompetitionOrganiser,
    services: Services,
) -> MarkCorrected:
    """Change a signed-off mark: a reason is required and the change is audited."""
    async with services.pool.acquire() as conn:
        keys = await competitions.person_keys_of_entries(conn, competition_id, [request.entry])
    key = keys.get(request.entry)
    if key is None:
        raise NotFound("no entry with this number in this competition")
    async with services.pool.acquire() as conn, conn.transaction():
        previous = await correct_mark(
            conn,
            competition_id,
            Correction(
                person_key=key,
                aspect_id=request.aspect_id,
                judge_id=request.judge_id,
                value=_value_text(request.value),
                reason=request.reason,
            ),
            caller.name,
            now(),
        )
    return MarkCorrected(
        entry=request.entry, aspect_id=request.aspect_id, previous_value=str(previous)
    )


@router.get("/{competition_id}/audit")
async def audit(competition_id: str, _: Overseer, services: Services) -> list[MarkAuditEntry]:
    async with services.pool.acquire() as conn:
        rows = await competitions.audit_view(conn, competition_id)
    return [MarkAuditEntry.model_validate(row) for row in rows]


# --- leaderboard and results -----------------------------------------------------------


@router.get("/{competition_id}/leaderboard")
async def leaderboard(
    competition_id: str, _: CompetitionOrganiser, services: Services
) -> list[LeaderboardLine]:
    """The live ranking while marking is open: accepted aspects only (poll it)."""
    async with services.pool.acquire() as conn:
        competition = await competitions.competition_facts(conn, competition_id)
        if competition is None:
            raise NotFound("no competition with this id")
        field = await competitor_totals(
            conn, competition_id, scheme_of(competition), accepted_only=True
        )
    rules = rule_set(competition["rule_version"])
    board: list[LeaderboardLine] = []
    for category in sorted({e.category for e in field}):
        entries = [e for e in field if e.category == category]
        by_key = {e.totals.person_key: e for e in entries}
        for placing in rank([e.totals for e in entries], rules):
            entry = by_key[placing.person_key]
            board.append(
                LeaderboardLine(
                    category=category,
                    rank=placing.rank,
                    entry=entry.totals.entry_sequence,
                    holder_name_masked=entry.holder_name_masked,
                    total=str(placing.total),
                )
            )
    return board


async def _published(services: Services, competition_id: str) -> list[PublishedResult]:
    async with services.pool.acquire() as conn:
        phase = await competitions.phase_of(conn, competition_id)
        published = await competitions.results_view(conn, competition_id)
    if phase is None:
        raise NotFound("no competition with this id")
    if phase not in ("results_published", "advanced"):
        raise RuleViolation(
            "competition_id",
            Rule.RESULTS_NOT_PUBLISHED,
            f"results are not published yet (phase {phase}); organisers see the leaderboard",
        )
    return [PublishedResult.model_validate(row) for row in published]


@router.get("/{competition_id}/results")
async def results(competition_id: str, services: Services) -> list[PublishedResult]:
    """Published results, for everyone (masked names)."""
    return await _published(services, competition_id)


@router.get("/{competition_id}/results.csv", response_class=PlainTextResponse)
async def results_csv(competition_id: str, services: Services) -> str:
    rows = await _published(services, competition_id)
    out = io.StringIO()
    columns = ["category", "rank", "entry", "holder_name_masked", "total", "scale_score",
               "award", "titles", "promoted_to", "advanced"]  # fmt: skip
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row.model_dump(), "titles": ";".join(row.titles)})
    return out.getvalue()
