"""Admitting a competitor's entry, and recording a refusal, inside the caller's transaction.

The API calls it for entries by JSON and CSV (after the ID number was validated and hashed);
the advance activity calls it for the qualifiers a lower tier sends. Each refusal names its
rule; an admitted entry is inserted with its ``competition.entry_accepted`` event.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypedDict

from pydantic import BaseModel

from policy.competition import check_worldskills_age, rule_set
from policy.errors import NotFound, RuleViolation
from policy.rule_ids import Rule
from schemas.competition import EntryFacts, competition_workflow_id
from schemas.events import EventEnvelope, workflow_event
from schemas.payloads import (
    CompetitionEntryAccepted,
    CompetitionEntryRefused,
    CompetitionEvent,
    EntrySource,
)
from store.database import Connection
from store.outbox import enqueue

PRODUCER = "skillflow.competition"


def competition_event(
    payload: CompetitionEvent, business_key: str, occurred_at: datetime, person_key: str | None
) -> EventEnvelope:
    """The envelope of an event of a competition's workflow, whichever activity writes it."""
    workflow_id = competition_workflow_id(payload.competition_id)
    return workflow_event(payload, PRODUCER, workflow_id, business_key, occurred_at, person_key)


class Entered(BaseModel):
    competition_id: str
    entry_sequence: int
    source: EntrySource


class CompetitionNames(TypedDict):
    """How an event of the competition names it: id, tier and occupation."""

    competition_id: str
    tier: str
    occupation_code: str


def competition_names(competition: Any) -> CompetitionNames:
    """The names of a ``competition_row`` its events carry."""
    return CompetitionNames(
        competition_id=competition["competition_id"],
        tier=competition["tier"],
        occupation_code=competition["occupation_code"],
    )


async def competition_row(conn: Connection, competition_id: str, *, lock: str = "") -> Any:
    row = await conn.fetchrow(
        f"""SELECT competition_id, tier, occupation_code, worldskills_skill, edition_year,
                   competed_on, organiser_id, issuing_body_id, categories, rule_version,
                   marking_scheme, feeds_competition_id, phase
            FROM competitions.competitions WHERE competition_id = $1 {lock}""",
        competition_id,
    )
    if row is None:
        raise NotFound("no competition with this id")
    return row


async def admit_entry(
    conn: Connection,
    competition_id: str,
    facts: EntryFacts,
    *,
    entered_by: str,
    occurred_at: datetime,
) -> Entered:
    """Check and record one entry; raises RuleViolation naming the rule it breaks."""
    # FOR UPDATE: entry numbers are handed out in order, and closing entries waits for us.
    competition = await competition_row(conn, competition_id, lock="FOR UPDATE")
    if competition["phase"] != "entries_open":
        raise RuleViolation(
            "competition_id", Rule.ENTRY_CLOSED, f"entries are closed ({competition['phase']})"
        )
    rules = rule_set(competition["rule_version"])
    if facts.category not in competition["categories"]:
        raise RuleViolation(
            "category",
            Rule.ENTRY_CATEGORY,
            f"this competition has categories {', '.join(competition['categories'])}",
        )
    if await conn.fetchval(
        """SELECT true FROM competitions.entries
           WHERE competition_id = $1 AND person_key = $2""",
        competition_id,
        facts.person_key,
    ):
        raise RuleViolation(
            "id_number", Rule.ENTRY_DUPLICATE, "this person has already entered this competition"
        )
    source: EntrySource = "open"
    if rules.qualification.from_tiers:
        qualification = await conn.fetchval(
            """SELECT source FROM competitions.qualifications
               WHERE competition_id = $1 AND person_key = $2""",
            competition_id,
            facts.person_key,
        )
        if qualification is None or (
            qualification == "nominated" and not rules.qualification.nomination_allowed
        ):
            raise RuleViolation(
                "id_number",
                Rule.ENTRY_NOT_QUALIFIED,
                f"a {rules.tier} competition takes qualifiers from "
                f"{', '.join(rules.qualification.from_tiers)} competitions"
                + (" or recorded nominees" if rules.qualification.nomination_allowed else ""),
            )
        source = qualification
    if rules.worldskills_age_rule:
        # Born on or after 1 January of (year - cap): the birth year alone decides.
        check_worldskills_age(
            date(facts.birth_year, 1, 1),
            competition["edition_year"],
            competition["worldskills_skill"] or competition["occupation_code"],
        )
    sequence = await conn.fetchval(
        """SELECT coalesce(max(entry_sequence), 0) + 1 FROM competitions.entries
           WHERE competition_id = $1""",
        competition_id,
    )
    await conn.execute(
        """INSERT INTO competitions.entries
             (competition_id, person_key, entry_sequence, category, holder_name_masked,
              employer, region, level_held, birth_year, source, entered_by, entered_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
        competition_id,
        facts.person_key,
        sequence,
        facts.category,
        facts.holder_name_masked,
        facts.employer,
        facts.region,
        facts.level_held,
        facts.birth_year,
        source,
        entered_by,
        occurred_at,
    )
    await enqueue(
        conn,
        competition_event(
            CompetitionEntryAccepted(
                **competition_names(competition),
                category=facts.category,
                source=source,
                entry_sequence=sequence,
            ),
            f"{competition_id}|{facts.person_key}",
            occurred_at,
            facts.person_key,
        ),
    )
    return Entered(competition_id=competition_id, entry_sequence=sequence, source=source)


async def record_refusal(
    conn: Connection,
    competition_id: str,
    person_key: str,
    refusal: RuleViolation,
    occurred_at: datetime,
) -> None:
    """Publish ``competition.entry_refused`` for a valid ID number refused by a rule
    (once per person, competition and rule). Nothing else is written."""
    tier = await conn.fetchval(
        "SELECT tier FROM competitions.competitions WHERE competition_id = $1", competition_id
    )
    if tier is None:
        return
    await enqueue(
        conn,
        competition_event(
            CompetitionEntryRefused(
                competition_id=competition_id,
                tier=tier,
                rule=refusal.rule,
                reason=refusal.message,
            ),
            f"{competition_id}|{person_key}|{refusal.rule}",
            occurred_at,
            person_key,
        ),
    )
