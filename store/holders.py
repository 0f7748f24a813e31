"""A certificate holder's name, read in one place.

Holder names are personal data: this is the only function that reads one for a
certificate, so where and how names are kept (a plain column today) changes here alone.
"""

from __future__ import annotations

from store.database import Connection


async def certificate_holder_name(conn: Connection, certificate_number: str) -> str | None:
    """The full name of an issued certificate's holder, as registered; None when SkillFlow
    never had it (a competition promotion, which carries the masked name only)."""
    name: str | None = await conn.fetchval(
        """SELECT a.holder_name FROM certification.certificates c
           JOIN certification.applications a ON a.application_id = c.source_id
           WHERE c.certificate_number = $1""",
        certificate_number,
    )
    return name
