"""Queries on the ``competitions`` schema that the API reads (and the few organiser records
it writes directly: nominations, judges' assignments): competitions, entries by number,
judges, audits, published results and squads.

The competition and squad workflows' activities write the rest (``activities.competition*``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from store.database import Connection


async def organiser_of(conn: Connection, competition_id: str) -> str | None:
    organiser: str | None = await conn.fetchval(
        "SELECT organiser_id FROM competitions.competitions WHERE competition_id = $1",
        competition_id,
    )
    return organiser


async def rule_version_of(conn: Connection, competition_id: str) -> str | None:
    version: str | None = await conn.fetchval(
        "SELECT rule_version FROM competitions.competitions WHERE competition_id = $1",
        competition_id,
    )
    return version


async def phase_of(conn: Connection, competition_id: str) -> str | None:
    phase: str | None = await conn.fetchval(
        "SELECT phase FROM competitions.competitions WHERE competition_id = $1", competition_id
    )
    return phase


async def competition_facts(
    conn: Connection, competition_id: str, *, for_update: bool = False
) -> dict[str, Any] | None:
    """What a command's rules need: phase, rule set, date, marking scheme."""
    row = await conn.fetchrow(
        f"""SELECT phase, rule_version, competed_on, marking_scheme
            FROM competitions.competitions WHERE competition_id = $1
            {"FOR UPDATE" if for_update else ""}""",
        competition_id,
    )
    return None if row is None else dict(row)


async def competition_view(conn: Connection, competition_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        """SELECT competition_id, name, tier, occupation_code, worldskills_skill, edition_year,
                  competed_on, organiser_id, issuing_body_id, categories, rule_version,
                  marking_scheme, feeds_competition_id, phase,
                  (SELECT count(*) FROM competitions.entries e
                    WHERE e.competition_id = c.competition_id) AS entries,
                  (SELECT count(*) FROM competitions.marks m
                    WHERE m.competition_id = c.competition_id) AS marks,
                  (SELECT array_agg(module_id ORDER BY module_id) FROM competitions.module_locks l
                    WHERE l.competition_id = c.competition_id) AS locked
           FROM competitions.competitions c WHERE competition_id = $1""",
        competition_id,
    )
    return None if row is None else dict(row)


# --- entries and nominations -------------------------------------------------------------


async def entries_view(
    conn: Connection, competition_id: str, limit: int, offset: int
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT entry_sequence AS entry, holder_name_masked, category, source, status
           FROM competitions.entries WHERE competition_id = $1
           ORDER BY entry_sequence LIMIT $2 OFFSET $3""",
        competition_id,
        limit,
        offset,
    )
    return [dict(r) for r in rows]


async def person_keys_of_entries(
    conn: Connection, competition_id: str, entries: Sequence[int]
) -> dict[int, str]:
    """Entry number -> person key, for this competition's entries only: a number of another
    competition's field is simply absent."""
    rows = await conn.fetch(
        """SELECT entry_sequence, person_key FROM competitions.entries
           WHERE competition_id = $1 AND entry_sequence = ANY($2::int[])""",
        competition_id,
        sorted(set(entries)),
    )
    return {r["entry_sequence"]: r["person_key"] for r in rows}


async def save_nominations(
    conn: Connection, competition_id: str, person_keys: list[str], by: str, at: datetime
) -> int:
    status = await conn.execute(
        """INSERT INTO competitions.qualifications
             (competition_id, person_key, source, recorded_by, recorded_at)
           SELECT $1, k, 'nominated', $2, $3 FROM unnest($4::text[]) AS k
           ON CONFLICT DO NOTHING""",
        competition_id,
        by,
        at,
        person_keys,
    )
    return int(status.split()[-1])


# --- judges and the audit ----------------------------------------------------------------


async def save_judge(
    conn: Connection,
    competition_id: str,
    judge_id: str,
    employer: str,
    region: str,
    aspects: list[str],
    by: str,
    at: datetime,
) -> None:
    """Assign a judge (again: replaces the assignment)."""
    await conn.execute(
        """INSERT INTO competitions.judges
             (competition_id, judge_id, employer, region, aspects, assigned_by, assigned_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (competition_id, judge_id) DO UPDATE
             SET employer = EXCLUDED.employer, region = EXCLUDED.region,
                 aspects = EXCLUDED.aspects, assigned_by = EXCLUDED.assigned_by,
                 assigned_at = EXCLUDED.assigned_at""",
        competition_id,
        judge_id,
        employer,
        region,
        aspects,
        by,
        at,
    )


async def judge_assignment(
    conn: Connection, competition_id: str, judge_id: str
) -> tuple[list[str], list[int]]:
    """(aspects, entry numbers recused for) of one judge."""
    aspects = await conn.fetchval(
        "SELECT aspects FROM competitions.judges WHERE competition_id = $1 AND judge_id = $2",
        competition_id,
        judge_id,
    )
    recused = await conn.fetch(
        """SELECT e.entry_sequence FROM competitions.recusals r
           JOIN competitions.entries e USING (competition_id, person_key)
           WHERE r.competition_id = $1 AND r.judge_id = $2 ORDER BY 1""",
        competition_id,
        judge_id,
    )
    return list(aspects or []), [r["entry_sequence"] for r in recused]


async def audit_view(conn: Connection, competition_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT e.entry_sequence AS entry, a.aspect_id, a.judge_id, a.kind,
                  a.previous_value::text AS previous_value, a.new_value::text AS new_value,
                  a.reason, a.changed_by, a.changed_at
           FROM competitions.mark_audit a JOIN competitions.entries e USING
                (competition_id, person_key)
           WHERE a.competition_id = $1 ORDER BY a.audit_id""",
        competition_id,
    )
    return [dict(r) for r in rows]


# --- results and squads ------------------------------------------------------------------

_RESULTS_SQL: Final = """
    SELECT e.entry_sequence AS entry, e.holder_name_masked, r.category, r.rank, r.field_size,
           r.total::text AS total, r.scale_score, r.award, r.titles, r.promoted_to, r.advanced
    FROM competitions.results r JOIN competitions.entries e USING (competition_id, person_key)
    WHERE r.competition_id = $1 ORDER BY r.category, r.rank, e.entry_sequence"""


async def results_view(conn: Connection, competition_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(_RESULTS_SQL, competition_id)]


async def squad_selection(conn: Connection, squad_id: str) -> str | None:
    selection: str | None = await conn.fetchval(
        "SELECT selection_competition_id FROM competitions.squads WHERE squad_id = $1",
        squad_id,
    )
    return selection
