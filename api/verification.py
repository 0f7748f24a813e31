"""Public certificate verification (全国联网查询): what a number alone tells, and what it
tells with the holder's name.

A number alone answers valid, revoked or unknown, with the occupation and level: enough
for an employer holding the paper certificate, too little to learn whose it is by walking
the (sequential) numbers. The masked name, the body and the issue date need the number
and the holder's name, as the national query does.

The name is compared in ``holder_name_matches`` only, against what ``holder_name_on_record``
finds: the holder's full name, opened from its sealed column by ``store.holders`` (the one
place that opens holder names), where SkillFlow registered one; else the masked name kept
with the certificate (a competition promotion's, or an imported certificate's).
"""

from __future__ import annotations

import hmac
import unicodedata
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from policy.idnumber import mask_name
from store import certification, holders
from store.database import Connection
from store.sealed import KeyRing


class HolderQuery(BaseModel):
    """The holder's name as printed on the certificate (sent in a body, never a URL)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    holder_name: str = Field(min_length=1, max_length=50)


@dataclass(frozen=True)
class HolderName:
    """The holder's name as the certificate's records keep it."""

    masked: str
    clear: str | None = None


async def holder_name_on_record(
    conn: Connection, key_ring: KeyRing, certificate_number: str
) -> HolderName | None:
    """The name a holder query is compared with; None for a number SkillFlow never issued."""
    issued = await certification.certificate_verification(conn, certificate_number)
    if issued is None:
        return None
    clear = await holders.holder_name(conn, key_ring, certificate_number=certificate_number)
    return HolderName(masked=issued["holder_name_masked"], clear=clear)


def _comparable(name: str) -> str:
    # Full-width letters, stray spaces and case are how the same name gets typed twice.
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(folded.split())


def holder_name_matches(given: str, on_record: HolderName) -> bool:
    """Whether ``given`` is the holder's name. A promotion's certificate keeps only the
    masked name: then the given name must mask to it (the family name and the length)."""
    if on_record.clear:
        return hmac.compare_digest(
            _comparable(given).encode(), _comparable(on_record.clear).encode()
        )
    return hmac.compare_digest(mask_name(given).encode(), on_record.masked.encode())
