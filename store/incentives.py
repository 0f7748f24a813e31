"""Queries on the ``incentives`` schema that the API reads and the records it loads:
insurance months, training subsidies already paid, claims with what the ledger holds for
them, and a person's rewards and promotions.

The incentive service's decisions (granting, holding, clawing back) live in
``consumers.incentives``; this module only reads claims and stores the facts those
decisions read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Final

from store.database import Connection

_CLAIMS_SQL: Final = """
SELECT c.*, coalesce((SELECT sum(p.amount_fen) FROM incentives.payments p
                      WHERE p.claim_id = c.claim_id), 0) AS paid_fen
FROM incentives.claims c
"""


async def save_insurance_records(
    conn: Connection,
    records: Sequence[tuple[str, date, int]],
    source: str,
    loaded_by: str,
) -> None:
    """(person key, as of, insured months); a later load for the same date replaces it."""
    await conn.executemany(
        """INSERT INTO incentives.insurance_records
             (person_key, as_of, insured_months, source, loaded_by)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (person_key, as_of) DO UPDATE
           SET insured_months = excluded.insured_months, source = excluded.source,
               loaded_by = excluded.loaded_by, loaded_at = now()""",
        [(key, as_of, months, source, loaded_by) for key, as_of, months in records],
    )


async def save_training_subsidies(
    conn: Connection,
    subsidies: Sequence[tuple[str, int, date]],
    source: str,
    loaded_by: str,
) -> None:
    """(certificate number, amount in fen, granted on)."""
    await conn.executemany(
        """INSERT INTO incentives.training_subsidies
             (certificate_number, amount_fen, granted_on, source, loaded_by)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (certificate_number) DO UPDATE
           SET amount_fen = excluded.amount_fen, granted_on = excluded.granted_on,
               source = excluded.source, loaded_by = excluded.loaded_by, loaded_at = now()""",
        [(number, fen, on, source, loaded_by) for number, fen, on in subsidies],
    )


async def claims(
    conn: Connection,
    *,
    status: str | None,
    person_key: str | None,
    decided_since: datetime | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Oldest decision first."""
    rows = await conn.fetch(
        _CLAIMS_SQL
        + """ WHERE ($1::text IS NULL OR c.status = $1) AND ($2::text IS NULL OR c.person_key = $2)
                AND ($3::timestamptz IS NULL OR c.decided_at >= $3)
              ORDER BY c.decided_at, c.claim_id LIMIT $4""",
        status,
        person_key,
        decided_since,
        limit,
    )
    return [dict(r) for r in rows]


async def claim(conn: Connection, claim_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(_CLAIMS_SQL + " WHERE c.claim_id = $1", claim_id)
    return None if row is None else dict(row)


async def person_incentives(conn: Connection, person_key: str) -> dict[str, list[dict[str, Any]]]:
    """A person's claims, rewards and promotions, each oldest first."""
    claim_rows = await conn.fetch(
        _CLAIMS_SQL + " WHERE c.person_key = $1 ORDER BY c.decided_at, c.claim_id", person_key
    )
    rewards = await conn.fetch(
        """SELECT competition_id, tier, medal, amount_fen, rule_version, competed_on
           FROM incentives.rewards WHERE person_key = $1 ORDER BY competed_on""",
        person_key,
    )
    promotions = await conn.fetch(
        """SELECT promotion_id, competition_id, occupation_code, to_level, granted_on, status,
                  rule, rule_version, workflow_id
           FROM incentives.promotions WHERE person_key = $1 ORDER BY granted_on""",
        person_key,
    )
    return {
        "claims": [dict(r) for r in claim_rows],
        "rewards": [dict(r) for r in rewards],
        "promotions": [dict(r) for r in promotions],
    }
