"""A holder's name, read in one place.

Holder names are personal data: ``holder_name`` is the only function that reads one (for a
printed certificate, a credential hand-over and an archive transcript), so where and how
names are kept (a plain column of the registration today) changes here alone.
"""

from __future__ import annotations

from store.database import Connection


async def holder_name(
    conn: Connection, *, certificate_number: str | None = None, person_key: str | None = None
) -> str | None:
    """The full name registered for an issued certificate's holder, or the name a worker
    last registered under; None when SkillFlow never had it (a competition promotion
    carries the masked name only; an imported certificate no name at all)."""
    if (certificate_number is None) == (person_key is None):
        raise ValueError("name either a certificate number or a person key")
    name: str | None = await conn.fetchval(
        """SELECT a.holder_name FROM certification.applications a
           WHERE ($1::text IS NOT NULL AND a.application_id = (
                      SELECT source_id FROM certification.certificates
                      WHERE certificate_number = $1))
              OR ($2::text IS NOT NULL AND a.person_key = $2)
           ORDER BY a.submitted_at DESC LIMIT 1""",
        certificate_number,
        person_key,
    )
    return name
