"""Queries on the ``certification`` schema that the API reads: bodies, sessions and
applications as their owners and supervisors see them, and the stored facts a command's
rule needs (a session's status, its examiners' panels, recusals).

The workflows' activities write this schema; the API only reads it, through here.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import astuple, dataclass
from datetime import date, datetime
from typing import Any, Final

from store.database import Connection

# The panel of each examiner, built in PostgreSQL: a large session has thousands of
# examiners, and a sheet needs one or two of them.
_PANELS_SQL: Final = """(SELECT coalesce(jsonb_object_agg(e->>'examiner_id',
                                            coalesce(e->>'panel', 'practical')), '{}')
                 FROM jsonb_array_elements(s.examiners) e
                 WHERE $2::text[] IS NULL OR e->>'examiner_id' = ANY($2::text[]))"""


# --- who owns an object (api/access.py) --------------------------------------------------


@dataclass(frozen=True)
class Owner:
    """The body an object belongs to, with the body's type (None while no such body is
    filed): what decides who may act on the object."""

    body_id: str
    body_type: str | None


async def body_owner(conn: Connection, body_id: str) -> Owner | None:
    row = await conn.fetchrow(
        "SELECT body_id, body_type FROM certification.bodies WHERE body_id = $1", body_id
    )
    return None if row is None else Owner(row["body_id"], row["body_type"])


async def session_owner(conn: Connection, session_id: str) -> Owner | None:
    row = await conn.fetchrow(
        """SELECT s.body_id, b.body_type FROM certification.sessions s
           LEFT JOIN certification.bodies b USING (body_id) WHERE s.session_id = $1""",
        session_id,
    )
    return None if row is None else Owner(row["body_id"], row["body_type"])


async def application_owner(conn: Connection, application_id: str) -> Owner | None:
    row = await conn.fetchrow(
        """SELECT a.body_id, b.body_type FROM certification.applications a
           LEFT JOIN certification.bodies b USING (body_id) WHERE a.application_id = $1""",
        application_id,
    )
    return None if row is None else Owner(row["body_id"], row["body_type"])


# --- bodies ------------------------------------------------------------------------------


async def body_status(conn: Connection, body_id: str) -> str | None:
    status: str | None = await conn.fetchval(
        "SELECT status FROM certification.bodies WHERE body_id = $1", body_id
    )
    return status


async def body_view(conn: Connection, body_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        """SELECT body_id, body_type, name, province_code, body_code, site_serial, scope,
                  pass_mark, sub_levels, status, filing_receipt, status_reason, policy_version
           FROM certification.bodies WHERE body_id = $1""",
        body_id,
    )
    return None if row is None else dict(row)


async def save_commission(
    conn: Connection, body_id: str, commission_id: str, client: str, valid_until: Any
) -> None:
    await conn.execute(
        """INSERT INTO certification.commissions (body_id, commission_id, client, valid_until)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (body_id, commission_id)
           DO UPDATE SET client = excluded.client, valid_until = excluded.valid_until""",
        body_id,
        commission_id,
        client,
        valid_until,
    )


# --- sessions ----------------------------------------------------------------------------


async def session_view(conn: Connection, session_id: str) -> dict[str, Any] | None:
    """A session with the count of its applications by stage."""
    row = await conn.fetchrow(
        """SELECT session_id, body_id, occupation_code, level, exam_date,
                  registration_closes_on, capacity, theory_rooms, proctors, policy_version,
                  pass_mark, status
           FROM certification.sessions WHERE session_id = $1""",
        session_id,
    )
    if row is None:
        return None
    stages = await conn.fetch(
        """SELECT stage, count(*) AS n FROM certification.applications
           WHERE session_id = $1 GROUP BY stage ORDER BY stage""",
        session_id,
    )
    return {**dict(row), "applications": {r["stage"]: r["n"] for r in stages}}


async def session_examiners(conn: Connection, session_id: str) -> dict[str, Any] | None:
    """The examiners (conflict facts, no names) and their sealed names of a session."""
    row = await conn.fetchrow(
        """SELECT examiners, examiner_names_sealed FROM certification.sessions
           WHERE session_id = $1""",
        session_id,
    )
    return None if row is None else dict(row)


async def session_status(conn: Connection, session_id: str) -> str | None:
    status: str | None = await conn.fetchval(
        "SELECT status FROM certification.sessions WHERE session_id = $1", session_id
    )
    return status


async def first_round_outstanding(conn: Connection, session_id: str) -> int:
    """Approved candidates still waiting for a first-round score."""
    count: int = await conn.fetchval(
        """SELECT count(*) FROM certification.applications
           WHERE session_id = $1 AND stage = 'assessment'""",
        session_id,
    )
    return count


async def awaiting_review(conn: Connection, session_id: str) -> list[str]:
    rows = await conn.fetch(
        """SELECT application_id FROM certification.applications
           WHERE session_id = $1 AND stage = 'awaiting_review' ORDER BY application_id""",
        session_id,
    )
    return [r["application_id"] for r in rows]


async def session_applications(
    conn: Connection, session_id: str, stage: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    """A session's applications with stage, scores and certificate number (masked names)."""
    rows = await conn.fetch(
        """SELECT application_id, holder_name_masked, stage, stage_rule, scores, attempts,
                  notice_ends_on, resit_deadline, certificate_number
           FROM certification.applications
           WHERE session_id = $1 AND ($2::text IS NULL OR stage = $2)
           ORDER BY application_id LIMIT $3 OFFSET $4""",
        session_id,
        stage,
        limit,
        offset,
    )
    return [dict(r) for r in rows]


async def in_session(
    conn: Connection, session_id: str, application_ids: Collection[str]
) -> set[str]:
    """Which of ``application_ids`` belong to the session."""
    rows = await conn.fetch(
        """SELECT application_id FROM certification.applications
           WHERE session_id = $1 AND application_id = ANY($2::text[])""",
        session_id,
        sorted(set(application_ids)),
    )
    return {r["application_id"] for r in rows}


# --- the facts a score sheet's examiner checks need --------------------------------------


@dataclass(frozen=True)
class ScoringFacts:
    """A session's status, the panel of each examiner named, and who is recused from whom."""

    session_status: str
    panels: dict[str, str]
    recused: dict[str, set[str]]  # application id -> examiner ids


async def scoring_facts_for_session(
    conn: Connection, session_id: str, application_ids: Collection[str]
) -> ScoringFacts | None:
    """Read once for a whole score file rather than per row."""
    session = await conn.fetchrow(
        f"SELECT s.status, {_PANELS_SQL} AS panels FROM certification.sessions s "
        "WHERE s.session_id = $1",
        session_id,
        None,
    )
    if session is None:
        return None
    recused: dict[str, set[str]] = {}
    for r in await conn.fetch(
        """SELECT application_id, examiner_id FROM certification.recusals
           WHERE session_id = $1 AND application_id = ANY($2::text[])""",
        session_id,
        sorted(set(application_ids)),
    ):
        recused.setdefault(r["application_id"], set()).add(r["examiner_id"])
    return ScoringFacts(session["status"], session["panels"], recused)


async def scoring_facts_for_application(
    conn: Connection, application_id: str, examiner_ids: Collection[str]
) -> ScoringFacts | None:
    row = await conn.fetchrow(
        f"""SELECT s.status, {_PANELS_SQL} AS panels,
                   array(SELECT r.examiner_id FROM certification.recusals r
                         WHERE r.application_id = a.application_id) AS recused
            FROM certification.applications a JOIN certification.sessions s USING (session_id)
            WHERE a.application_id = $1""",
        application_id,
        sorted(set(examiner_ids)),
    )
    if row is None:
        return None
    return ScoringFacts(row["status"], row["panels"], {application_id: set(row["recused"])})


# --- applications ------------------------------------------------------------------------


async def application_view(conn: Connection, application_id: str) -> dict[str, Any] | None:
    """An application with its score audit and recorded recusals."""
    row = await conn.fetchrow(
        """SELECT application_id, session_id, body_id, occupation_code, level,
                  holder_name_masked, relationship, sub_level, eligibility_path, stage,
                  stage_rule, stage_reason, scores, attempts, notice_ends_on, resit_deadline,
                  certificate_number, submitted_at
           FROM certification.applications WHERE application_id = $1""",
        application_id,
    )
    if row is None:
        return None
    audit = await conn.fetch(
        """SELECT correction_id, component, previous_score, new_score, reason, corrected_by,
                  corrected_at
           FROM certification.score_audit WHERE application_id = $1 ORDER BY corrected_at""",
        application_id,
    )
    recusals = await conn.fetch(
        """SELECT examiner_id, reason FROM certification.recusals
           WHERE application_id = $1 ORDER BY examiner_id, reason""",
        application_id,
    )
    return {
        **dict(row),
        "score_audit": [
            {
                **dict(a),
                "previous_score": float(a["previous_score"]),
                "new_score": float(a["new_score"]),
            }
            for a in audit
        ],
        "recusals": [dict(r) for r in recusals],
    }


async def holder_name_sealed(conn: Connection, application_id: str) -> bytes | None:
    """The holder's sealed name (``store.sealed``); None for no application, or one
    registered before names were sealed."""
    sealed: bytes | None = await conn.fetchval(
        "SELECT holder_name_sealed FROM certification.applications WHERE application_id = $1",
        application_id,
    )
    return sealed


# --- certificates -------------------------------------------------------------------------


async def issued_certificate(conn: Connection, certificate_number: str) -> dict[str, Any] | None:
    """A certificate SkillFlow issued, with its body's name (for printing it)."""
    row = await conn.fetchrow(
        """SELECT c.*, b.name AS body_name FROM certification.certificates c
           JOIN certification.bodies b USING (body_id) WHERE c.certificate_number = $1""",
        certificate_number,
    )
    return None if row is None else dict(row)


async def certificate_verification(
    conn: Connection, certificate_number: str
) -> dict[str, Any] | None:
    """What verification may show of an issued certificate, with its holder's masked name
    (shown only to a caller who gives the holder's name)."""
    row = await conn.fetchrow(
        """SELECT c.certificate_number, c.status, c.occupation_code, c.level, c.body_id,
                  b.name AS body_name, c.issued_on, c.revoked_on, c.holder_name_masked
           FROM certification.certificates c
           LEFT JOIN certification.bodies b USING (body_id)
           WHERE c.certificate_number = $1""",
        certificate_number,
    )
    return None if row is None else dict(row)


async def issued_here(conn: Connection, certificate_number: str) -> bool:
    """Did SkillFlow issue a certificate with this number?"""
    found: bool | None = await conn.fetchval(
        "SELECT true FROM certification.certificates WHERE certificate_number = $1",
        certificate_number,
    )
    return bool(found)


async def prior_certificate(conn: Connection, certificate_number: str) -> dict[str, Any] | None:
    """A certificate imported from before SkillFlow, by its number as written."""
    row = await conn.fetchrow(
        "SELECT * FROM certification.prior_certificates WHERE certificate_number = $1",
        certificate_number,
    )
    return None if row is None else dict(row)


@dataclass(frozen=True)
class PriorCertificateRow:
    """A checked certificate from before SkillFlow, as stored: the person key and the
    masked name, never the ID number nor the full name."""

    certificate_number: str
    person_key: str
    holder_name_masked: str
    occupation_code: str
    level: int
    issuing_body: str
    issued_on: date
    checked_against: str
    checked_on: date
    imported_by: str


async def save_prior_certificate(conn: Connection, row: PriorCertificateRow) -> datetime | None:
    """Store an imported certificate; when it was imported, or None if its number was
    imported before (the row then stays as it was)."""
    imported_at: datetime | None = await conn.fetchval(
        """INSERT INTO certification.prior_certificates
             (certificate_number, person_key, holder_name_masked, occupation_code, level,
              issuing_body, issued_on, checked_against, checked_on, imported_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (certificate_number) DO NOTHING
           RETURNING imported_at""",
        *astuple(row),
    )
    return imported_at
