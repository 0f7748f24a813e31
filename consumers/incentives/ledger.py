"""Claims, the payment ledger and the decision events, written in the caller's transaction.

A claim is decided once (its id is a business key, ``{kind}:{certificate_number}``) and
every change of its status is an event on ``skills.incentive`` enqueued in the same
transaction, so the outbox publishes exactly the decisions that were committed. The
ledger (``incentives.payments``) holds one ``paid`` and at most one ``clawed_back`` row per
claim: what was paid on a claim is the sum of its rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

from policy.errors import NotFound, RuleViolation
from policy.rule_ids import Rule
from policy.subsidy import SubsidyDecision
from schemas.events import EventPayload, build_event
from schemas.payloads import (
    SubsidyClawedBack,
    SubsidyGranted,
    SubsidyHeld,
    SubsidyKind,
    SubsidyRefused,
    SubsidyReviewed,
)
from store.database import Connection
from store.outbox import enqueue

PRODUCER: Final = "skillflow.incentives"
REVIEW_REJECTED: Final = Rule.REVIEW_REJECTED
CERTIFICATE_REVOKED: Final = Rule.SUBSIDY_CERTIFICATE_REVOKED


def claim_id_for(kind: SubsidyKind, certificate_number: str) -> str:
    return f"{kind}:{certificate_number}"


@dataclass(frozen=True)
class ClaimSubject:
    """What a claim is about; the decision says what happens to it."""

    kind: SubsidyKind
    person_key: str
    certificate_number: str
    occupation_code: str
    level: int
    claimed_on: date
    correlation_id: str

    @property
    def claim_id(self) -> str:
        return claim_id_for(self.kind, self.certificate_number)


async def emit(
    conn: Connection,
    payload: EventPayload,
    *,
    business_key: str,
    correlation_id: str,
    person_key: str,
) -> None:
    await enqueue(
        conn,
        build_event(
            payload,
            business_key=business_key,
            occurred_at=datetime.now(UTC),
            producer=PRODUCER,
            correlation_id=correlation_id,
            person_key=person_key,
        ),
    )


async def claim_exists(conn: Connection, claim_id: str) -> bool:
    return bool(
        await conn.fetchval("SELECT true FROM incentives.claims WHERE claim_id = $1", claim_id)
    )


async def _insert_claim(
    conn: Connection,
    subject: ClaimSubject,
    decision: SubsidyDecision,
    status: str,
    signals: list[str],
) -> bool:
    inserted = await conn.fetchval(
        """INSERT INTO incentives.claims
             (claim_id, kind, person_key, certificate_number, occupation_code, level,
              claimed_on, status, amount_fen, rule, reason, rule_version, signals, correlation_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
           ON CONFLICT (claim_id) DO NOTHING
           RETURNING true""",
        subject.claim_id,
        subject.kind,
        subject.person_key,
        subject.certificate_number,
        subject.occupation_code,
        subject.level,
        subject.claimed_on,
        status,
        decision.amount_fen,
        decision.rule,
        decision.reason,
        decision.rule_version,
        signals,
        subject.correlation_id,
    )
    return bool(inserted)


async def _pay(conn: Connection, claim_id: str, person_key: str, amount_fen: int) -> None:
    if amount_fen > 0:
        await conn.execute(
            """INSERT INTO incentives.payments (claim_id, person_key, entry_kind, amount_fen)
               VALUES ($1, $2, 'paid', $3)""",
            claim_id,
            person_key,
            amount_fen,
        )


async def record_decision(
    conn: Connection, subject: ClaimSubject, decision: SubsidyDecision, signals: list[str]
) -> str | None:
    """Record a new claim as granted, refused or held; returns its status, or None when the
    claim had already been decided (a re-issued certificate is not a second claim)."""
    status = decision_status(decision, signals)
    if not await _insert_claim(conn, subject, decision, status, signals):
        return None
    await announce_decision(conn, subject, decision, status, signals)
    return status


def decision_status(decision: SubsidyDecision, signals: list[str]) -> str:
    if not decision.granted:
        return "refused"
    return "held" if signals else "granted"


async def announce_decision(
    conn: Connection,
    subject: ClaimSubject,
    decision: SubsidyDecision,
    status: str,
    signals: list[str],
) -> None:
    """The decision's event, and the payment of a grant, beside the claim row."""
    keys: dict[str, Any] = {
        "business_key": subject.claim_id,
        "correlation_id": subject.correlation_id,
        "person_key": subject.person_key,
    }
    if status == "refused":
        assert decision.rule is not None
        await emit(
            conn,
            SubsidyRefused(
                claim_id=subject.claim_id,
                kind=subject.kind,
                certificate_number=subject.certificate_number,
                rule=decision.rule,
                reason=decision.reason,
                rule_version=decision.rule_version,
            ),
            **keys,
        )
    elif status == "held":
        await emit(
            conn,
            SubsidyHeld(
                claim_id=subject.claim_id,
                kind=subject.kind,
                certificate_number=subject.certificate_number,
                amount_fen=decision.amount_fen,
                signals=signals,
            ),
            **keys,
        )
    else:
        await _pay(conn, subject.claim_id, subject.person_key, decision.amount_fen)
        await emit(
            conn,
            SubsidyGranted(
                claim_id=subject.claim_id,
                kind=subject.kind,
                certificate_number=subject.certificate_number,
                amount_fen=decision.amount_fen,
                rule_version=decision.rule_version,
            ),
            **keys,
        )


async def revoke_claims(conn: Connection, certificate_number: str, revoked_on: date) -> list[str]:
    """Claw back what was paid on a revoked certificate and refuse what is still held."""
    return await withdraw_claims(
        conn,
        certificate_number,
        kinds=("skill_upgrade", "appraisal"),
        rule=CERTIFICATE_REVOKED,
        clawback_reason=f"certificate revoked on {revoked_on}",
        held_reason="the certificate was revoked while the payment was held",
    )


async def lock_certificate_claims(conn: Connection, certificate_numbers: list[str]) -> None:
    """Serialise deciding a certificate's claims with loading a training subsidy on it,
    until the transaction ends. Without it each side could miss the other's uncommitted
    row and both subsidies would be paid on one certificate. Locks in sorted order, so
    two bulk loads cannot deadlock each other."""
    await conn.execute(
        """SELECT count(pg_advisory_xact_lock(k))
           FROM (SELECT hashtextextended(n, 0) AS k FROM unnest($1::text[]) n ORDER BY 1) s""",
        sorted(set(certificate_numbers)),
    )


async def withdraw_claims(
    conn: Connection,
    certificate_number: str,
    *,
    kinds: tuple[str, ...],
    rule: str,
    clawback_reason: str,
    held_reason: str,
) -> list[str]:
    """Claw back granted claims of ``kinds`` on a certificate and refuse the held ones.

    Returns the ids of the claims changed. Locks each claim so a reviewer releasing it at
    the same moment waits and then finds it no longer held.
    """
    claims = await conn.fetch(
        """SELECT claim_id, kind, person_key, status, rule_version, correlation_id
           FROM incentives.claims
           WHERE certificate_number = $1 AND status IN ('granted', 'held') AND kind = ANY($2)
           ORDER BY claim_id
           FOR UPDATE""",
        certificate_number,
        list(kinds),
    )
    for claim in claims:
        keys: dict[str, Any] = {
            "business_key": claim["claim_id"],
            "correlation_id": claim["correlation_id"],
            "person_key": claim["person_key"],
        }
        if claim["status"] == "granted":
            paid = await conn.fetchval(
                "SELECT coalesce(sum(amount_fen), 0) FROM incentives.payments WHERE claim_id = $1",
                claim["claim_id"],
            )
            await conn.execute(
                "UPDATE incentives.claims SET status = 'clawed_back' WHERE claim_id = $1",
                claim["claim_id"],
            )
            if paid > 0:
                await conn.execute(
                    """INSERT INTO incentives.payments (claim_id, person_key, entry_kind, amount_fen)
                       VALUES ($1, $2, 'clawed_back', $3)""",
                    claim["claim_id"],
                    claim["person_key"],
                    -paid,
                )
            await emit(
                conn,
                SubsidyClawedBack(
                    claim_id=claim["claim_id"],
                    certificate_number=certificate_number,
                    amount_fen=int(paid),
                    reason=clawback_reason,
                ),
                **keys,
            )
        else:
            await conn.execute(
                """UPDATE incentives.claims SET status = 'refused', rule = $2, reason = $3
                   WHERE claim_id = $1""",
                claim["claim_id"],
                rule,
                held_reason,
            )
            await emit(
                conn,
                SubsidyRefused(
                    claim_id=claim["claim_id"],
                    kind=claim["kind"],
                    certificate_number=certificate_number,
                    rule=rule,
                    reason=held_reason,
                    rule_version=claim["rule_version"],
                ),
                **keys,
            )
    return [claim["claim_id"] for claim in claims]


async def review_held_claim(
    conn: Connection, claim_id: str, *, release: bool, reviewer: str, reason: str
) -> dict[str, Any]:
    """A reviewer releases (pays) or rejects a held claim; call inside a transaction."""
    claim = await conn.fetchrow(
        "SELECT * FROM incentives.claims WHERE claim_id = $1 FOR UPDATE", claim_id
    )
    if claim is None:
        raise NotFound(f"claim {claim_id} does not exist")
    if claim["status"] != "held":
        raise RuleViolation(
            "claim_id", Rule.REVIEW_NOT_HELD, f"claim {claim_id} is {claim['status']}, not held"
        )
    status = "granted" if release else "rejected"
    await conn.execute(
        """UPDATE incentives.claims
           SET status = $2, reviewed_by = $3, review_reason = $4, reviewed_at = now(),
               rule = CASE WHEN $2 = 'rejected' THEN $5 ELSE rule END
           WHERE claim_id = $1""",
        claim_id,
        status,
        reviewer,
        reason,
        REVIEW_REJECTED,
    )
    keys: dict[str, Any] = {
        "business_key": claim_id,
        "correlation_id": claim["correlation_id"],
        "person_key": claim["person_key"],
    }
    await emit(
        conn,
        # The reviewer's reason is free text: it stays in incentives.claims.review_reason.
        SubsidyReviewed(claim_id=claim_id, released=release, reviewer=reviewer),
        **keys,
    )
    if release:
        await _pay(conn, claim_id, claim["person_key"], claim["amount_fen"])
        await emit(
            conn,
            SubsidyGranted(
                claim_id=claim_id,
                kind=claim["kind"],
                certificate_number=claim["certificate_number"],
                amount_fen=claim["amount_fen"],
                rule_version=claim["rule_version"],
            ),
            **keys,
        )
    else:
        await emit(
            conn,
            SubsidyRefused(
                claim_id=claim_id,
                kind=claim["kind"],
                certificate_number=claim["certificate_number"],
                rule=REVIEW_REJECTED,
                reason=reason,
                rule_version=claim["rule_version"],
            ),
            **keys,
        )
    return {"claim_id": claim_id, "status": status, "amount_fen": claim["amount_fen"]}
