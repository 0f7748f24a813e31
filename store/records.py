"""Queries on the ``records`` schema (the electronic training archive) that the API reads:
a worker's certificates, titles and timeline, one certificate, and per-body statistics.
The records service's consumers write this schema; the API only reads it, through here.
"""

from __future__ import annotations

from typing import Any, Final

from store.database import Connection

_CERTIFICATES_SQL: Final = """
SELECT c.*, v.revoked_on, v.reason AS revocation_reason
FROM records.certificates c
LEFT JOIN records.certificate_revocations v USING (certificate_number)
"""


async def archive(conn: Connection, person_key: str) -> dict[str, list[dict[str, Any]]]:
    """A worker's timeline (by when it happened: events on different topics may be applied
    in either order), certificates and title eligibilities."""
    timeline = await conn.fetch(
        "SELECT * FROM records.timeline WHERE person_key = $1 ORDER BY occurred_at, entry_id",
        person_key,
    )
    certificates = await conn.fetch(
        _CERTIFICATES_SQL + " WHERE c.person_key = $1 ORDER BY c.issued_on, c.certificate_number",
        person_key,
    )
    titles = await conn.fetch(
        "SELECT * FROM records.title_eligibilities WHERE person_key = $1 ORDER BY held_since, title",
        person_key,
    )
    return {
        "timeline": [dict(r) for r in timeline],
        "certificates": [dict(r) for r in certificates],
        "titles": [dict(r) for r in titles],
    }


async def certificate(conn: Connection, certificate_number: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        _CERTIFICATES_SQL + " WHERE c.certificate_number = $1", certificate_number
    )
    return None if row is None else dict(row)


_BODY_STATISTICS_SQL: Final = """
WITH outcomes AS (
    SELECT body_id,
           count(*) AS assessed,
           count(*) FILTER (WHERE entry_kind = 'assessment_passed') AS passed
    FROM records.timeline
    WHERE entry_kind IN ('assessment_passed', 'assessment_failed')
      AND ($1::text IS NULL OR body_id = $1)
    GROUP BY body_id
), issued AS (
    SELECT body_id, count(*) AS certificates_issued FROM records.certificates
    WHERE source = 'issued' AND ($1::text IS NULL OR body_id = $1) GROUP BY body_id
), status AS (
    SELECT DISTINCT ON (body_id) body_id, entry_kind AS status FROM records.body_history
    WHERE ($1::text IS NULL OR body_id = $1) ORDER BY body_id, entry_id DESC
)
SELECT body_id,
       coalesce(o.assessed, 0) AS assessed,
       coalesce(o.passed, 0) AS passed,
       coalesce(i.certificates_issued, 0) AS certificates_issued,
       s.status
FROM outcomes o FULL JOIN issued i USING (body_id) FULL JOIN status s USING (body_id)
WHERE coalesce(o.assessed, 0) >= $2
ORDER BY body_id
"""


async def body_statistics(
    conn: Connection, body_id: str | None, min_volume: int
) -> list[dict[str, Any]]:
    """Assessed, passed and issued per body (one body, or every body with ``min_volume``
    assessments or more)."""
    rows = await conn.fetch(_BODY_STATISTICS_SQL, body_id, min_volume)
    return [dict(r) for r in rows]


async def masked_names(conn: Connection, person_key: str) -> list[str]:
    """The masked holder names on a worker's certificates in the register."""
    rows = await conn.fetch(
        "SELECT holder_name_masked FROM records.certificates WHERE person_key = $1", person_key
    )
    return [str(row["holder_name_masked"]) for row in rows]
