"""A holder's name, read in one place.

Holder names are personal data, kept sealed at rest (``store/sealed.py``): ``holder_name``
is the only function that opens one for a certificate or a worker (a printed certificate,
a credential hand-over, an archive transcript).
"""

from __future__ import annotations

from store import certification
from store.database import Connection
from store.sealed import KeyRing, holder_name_place


async def holder_name(
    conn: Connection,
    key_ring: KeyRing,
    *,
    certificate_number: str | None = None,
    person_key: str | None = None,
) -> str | None:
    """The full name registered for an issued certificate's holder, or the name a worker
    last registered under; None when SkillFlow never had it (a competition promotion
    carries the masked name only; an imported certificate no name at all)."""
    if (certificate_number is None) == (person_key is None):
        raise ValueError("name either a certificate number or a person key")
    application_id: str | None = await conn.fetchval(
        """SELECT a.application_id FROM certification.applications a
           WHERE a.holder_name_sealed IS NOT NULL
             AND (($1::text IS NOT NULL AND a.application_id = (
                       SELECT source_id FROM certification.certificates
                       WHERE certificate_number = $1))
                  OR ($2::text IS NOT NULL AND a.person_key = $2))
           ORDER BY a.submitted_at DESC LIMIT 1""",
        certificate_number,
        person_key,
    )
    if application_id is None:
        return None
    sealed = await certification.holder_name_sealed(conn, application_id)
    if sealed is None:
        return None
    return key_ring.open_text(sealed, holder_name_place(application_id))
