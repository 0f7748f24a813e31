"""Signing SkillFlow's credentials from the certification tables, on request.

A certificate's credential states what the certificate row says (the row is the record;
the credential is a signed copy of it), so it is made when asked for, signed by the newest
key. Its status index is given the first time and never changes; revoking the certificate
sets that bit in the body's status list, which is signed afresh whenever it is fetched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from credentials.documents import document_loader
from credentials.keys import IssuerKey, did_document, did_web, signing_keys
from credentials.open_badge import (
    CertifiedLevel,
    body_issuer,
    certificate_credential,
    status_list_credential,
)
from credentials.proofs import sign
from credentials.status_list import LIST_LENGTH
from policy.catalogue import get_occupation
from store.database import Connection
from store.sealed import KeyRing


@dataclass(frozen=True)
class CredentialIssuer:
    base_url: str
    key_ring: KeyRing

    @property
    def did(self) -> str:
        return did_web(self.base_url)

    async def _active_key(self, conn: Connection) -> IssuerKey:
        return (await signing_keys(conn, self.key_ring))[-1]

    async def did_document(self, conn: Connection, body_id: str | None = None) -> dict[str, Any]:
        """SkillFlow's own DID document, or a body's: every key, retired ones too."""
        did = self.did if body_id is None else body_issuer(self.base_url, body_id)
        return did_document(did, await signing_keys(conn, self.key_ring))

    async def _signed(
        self, conn: Connection, document: dict[str, Any], issuer: str
    ) -> dict[str, Any]:
        key = await self._active_key(conn)
        assert key.private_key is not None, "keys loaded from the table carry their private part"
        return sign(
            document,
            private_key=key.private_key,
            verification_method=f"{issuer}#{key.key_id}",
            created=datetime.now(UTC),
            loader=document_loader(),
        )

    async def certificate_credential(
        self, conn: Connection, certificate_number: str
    ) -> dict[str, Any] | None:
        """The signed credential of an issued certificate (valid or revoked); None if unknown."""
        row = await conn.fetchrow(
            """SELECT c.certificate_number, c.person_key, c.body_id, b.name AS body_name,
                      c.occupation_code, c.level, c.issued_on
               FROM certification.certificates c JOIN certification.bodies b USING (body_id)
               WHERE c.certificate_number = $1""",
            certificate_number,
        )
        if row is None:
            return None
        facts = CertifiedLevel(
            certificate_number=row["certificate_number"],
            person_key=row["person_key"],
            body_id=row["body_id"],
            body_name=row["body_name"],
            occupation_code=row["occupation_code"],
            occupation_name=get_occupation(row["occupation_code"]).name,
            level=row["level"],
            issued_on=row["issued_on"],
            status_index=await self._status_index(conn, certificate_number, row["body_id"]),
        )
        credential = certificate_credential(facts, self.base_url)
        return await self._signed(conn, credential, body_issuer(self.base_url, facts.body_id))

    async def _status_index(self, conn: Connection, certificate_number: str, body_id: str) -> int:
        index: int | None = await conn.fetchval(
            "SELECT status_index FROM credentials.status_entries WHERE certificate_number = $1",
            certificate_number,
        )
        if index is not None:
            return index
        async with conn.transaction():
            # One body's indices are handed out one at a time, so none is given twice.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('status:' || $1))", body_id)
            index = await conn.fetchval(
                """INSERT INTO credentials.status_entries (certificate_number, body_id, status_index)
                   SELECT $1, $2, coalesce(max(status_index) + 1, 0)
                   FROM credentials.status_entries WHERE body_id = $2
                   ON CONFLICT (certificate_number) DO NOTHING
                   RETURNING status_index""",
                certificate_number,
                body_id,
            )
            if index is None:
                index = await conn.fetchval(
                    """SELECT status_index FROM credentials.status_entries
                       WHERE certificate_number = $1""",
                    certificate_number,
                )
        assert index is not None
        return index

    async def status_list(
        self, conn: Connection, body_id: str, list_number: int
    ) -> dict[str, Any] | None:
        """The body's signed revocation list ``list_number``; None for a body with none."""
        if not await conn.fetchval(
            "SELECT true FROM certification.bodies WHERE body_id = $1", body_id
        ):
            return None
        first = list_number * LIST_LENGTH
        rows = await conn.fetch(
            """SELECT e.status_index FROM credentials.status_entries e
               JOIN certification.certificates c USING (certificate_number)
               WHERE e.body_id = $1 AND c.status = 'revoked'
                 AND e.status_index >= $2 AND e.status_index < $3""",
            body_id,
            first,
            first + LIST_LENGTH,
        )
        document = status_list_credential(
            self.base_url,
            body_id,
            list_number,
            [row["status_index"] - first for row in rows],
            datetime.now(UTC),
        )
        return await self._signed(conn, document, body_issuer(self.base_url, body_id))
