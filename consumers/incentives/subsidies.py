"""Skill-upgrading and appraisal subsidies, decided when a certificate is issued (an
assessed one once its registration is known too), and clawed back when it is revoked.

The claim date is the date the certificate event occurred (China time), not the date it
is applied, so a backlog or a replayed dead letter never pushes a claim out of its window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

import asyncpg

from consumers.incentives.fraud import payment_facts
from consumers.incentives.ledger import (
    ClaimSubject,
    announce_decision,
    claim_exists,
    decision_status,
    lock_certificate_claims,
    record_decision,
    revoke_claims,
)
from policy.calendar import china_date
from policy.catalogue import get_occupation
from policy.errors import NotFound, RuleViolation
from policy.fraud import fraud_signals
from policy.rule_ids import Rule
from policy.subsidy import (
    INSURED_MONTHS,
    AppraisalClaim,
    HeldCertificate,
    PriorClaim,
    SkillUpgradeClaim,
    SubsidyDecision,
    appraisal_policy_on,
    decide_appraisal,
    decide_skill_upgrade,
    skill_upgrade_policy_on,
)
from schemas.events import EventEnvelope
from schemas.payloads import (
    CertificateImported,
    CertificateIssued,
    CertificateRevoked,
    SubsidyKind,
)
from store.database import Connection

NO_POLICY_VERSION: Final = "none"
# Refusals whose facts the service learns late: insurance records often arrive from the
# social-security system after the certificate. Other refusals are final.
RECONSIDERABLE: Final = frozenset({INSURED_MONTHS})


def _occupation_facts(code: str) -> tuple[int, bool]:
    """(shortage uplift percent, key industry) of an occupation; none for one not listed."""
    try:
        occupation = get_occupation(code)
    except RuleViolation:
        return 0, False
    return occupation.shortage_uplift_pct, occupation.shortage


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate as the subsidy rules see it, from its event or from the table."""

    person_key: str
    certificate_number: str
    body_id: str
    occupation_code: str
    level: int
    issued_on: date
    route: str
    claimed_on: date
    correlation_id: str

    @classmethod
    def from_row(
        cls, row: asyncpg.Record, *, claimed_on: date, correlation_id: str
    ) -> IssuedCertificate:
        """From ``incentives.certificates``, for a decision taken after the event."""
        return cls(
            person_key=row["person_key"],
            certificate_number=row["certificate_number"],
            body_id=row["body_id"],
            occupation_code=row["occupation_code"],
            level=row["level"],
            issued_on=row["issued_on"],
            route=row["route"],
            claimed_on=claimed_on,
            correlation_id=correlation_id,
        )

    @property
    def assessing_body(self) -> str | None:
        """The body whose assessment earned it (its pass rate is a fraud signal); none for
        a promotion."""
        return self.body_id if self.route == "assessment" else None

    def claim(self, kind: SubsidyKind) -> ClaimSubject:
        return ClaimSubject(
            kind=kind,
            person_key=self.person_key,
            certificate_number=self.certificate_number,
            occupation_code=self.occupation_code,
            level=self.level,
            claimed_on=self.claimed_on,
            correlation_id=self.correlation_id,
        )


async def on_certificate_issued(
    conn: Connection, event: EventEnvelope, issued: CertificateIssued
) -> None:
    if event.person_key is None:
        raise ValueError(f"certificate.issued {event.event_id} has no person_key")
    await conn.execute(
        """INSERT INTO incentives.certificates
             (certificate_number, person_key, application_id, body_id, occupation_code, level,
              issued_on, route)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (certificate_number) DO NOTHING""",
        issued.certificate_number,
        event.person_key,
        issued.application_id,
        issued.body_id,
        issued.occupation_code,
        issued.level,
        issued.issued_on,
        issued.route,
    )
    registration = None
    if issued.route == "assessment":
        registration = await _registration_of(conn, issued.application_id)
        if registration is None:
            # Registration and certificate travel on different topics, so a backlog or a
            # registration in the dead letters can bring the certificate first. Deciding
            # now would skip the fraud checks and the appraisal subsidy, which need the
            # registration: its arrival decides instead (on_registration_submitted).
            return
    certificate = IssuedCertificate(
        person_key=event.person_key,
        certificate_number=issued.certificate_number,
        body_id=issued.body_id,
        occupation_code=issued.occupation_code,
        level=issued.level,
        issued_on=issued.issued_on,
        route=issued.route,
        claimed_on=china_date(event.occurred_at),
        correlation_id=event.correlation_id,
    )
    await decide_claims(conn, certificate, registration)


async def decide_claims_awaiting(
    conn: Connection, application_id: str, correlation_id: str
) -> None:
    """Decide the claims on an assessed certificate that arrived before its registration."""
    row = await conn.fetchrow(
        """SELECT * FROM incentives.certificates
           WHERE application_id = $1 AND route = 'assessment'""",
        application_id,
    )
    registration = await _registration_of(conn, application_id)
    if row is None or registration is None:
        return
    # The certificate event occurred on its issue day (China time).
    certificate = IssuedCertificate.from_row(
        row, claimed_on=row["issued_on"], correlation_id=correlation_id
    )
    await decide_claims(conn, certificate, registration)


async def decide_claims(
    conn: Connection, issued: IssuedCertificate, registration: asyncpg.Record | None
) -> None:
    """The skill-upgrading subsidy for every certificate; the appraisal subsidy for an
    assessed one. Each claim is decided once (its id is the kind and the number)."""
    await lock_certificate_claims(conn, [issued.certificate_number])
    revoked = await _is_revoked(conn, issued.certificate_number)

    skill_upgrade = issued.claim("skill_upgrade")
    if not await claim_exists(conn, skill_upgrade.claim_id):
        decision, signals = await _skill_upgrade_decision(conn, issued, registration, revoked)
        await record_decision(conn, skill_upgrade, decision, signals)

    # The appraisal subsidy refunds an appraisal fee: only an assessed candidate paid one.
    if registration is None:
        return
    appraisal = issued.claim("appraisal")
    if await claim_exists(conn, appraisal.claim_id):
        return
    prior = bool(
        await conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM incentives.claims
                              WHERE person_key = $1 AND kind = 'appraisal'
                                AND status IN ('granted', 'held'))""",
            issued.person_key,
        )
    )
    _, key_industry = _occupation_facts(issued.occupation_code)
    try:
        policy = appraisal_policy_on(issued.issued_on)
    except RuleViolation as exc:
        decision = SubsidyDecision(
            granted=False,
            amount_fen=0,
            rule=exc.rule,
            reason=exc.message,
            rule_version=NO_POLICY_VERSION,
        )
    else:
        decision = decide_appraisal(
            AppraisalClaim(
                certificate_number=issued.certificate_number,
                candidate_category=registration["candidate_category"],
                appraisal_fee_fen=registration["appraisal_fee_fen"],
                first_appraisal=registration["first_appraisal"],
                prior_appraisal_subsidy=prior,
                key_industry=key_industry,
                certificate_revoked=revoked,
            ),
            policy,
        )
    signals = (
        fraud_signals(await payment_facts(conn, "appraisal", registration, issued.assessing_body))
        if decision.granted
        else []
    )
    await record_decision(conn, appraisal, decision, signals)


async def reconsider_claim(conn: Connection, claim_id: str, *, reviewer: str, reason: str) -> str:
    """Decide a refused skill-upgrading claim again with the facts known now (same claim
    date, so the claim window does not move); returns the new status. Call inside a
    transaction. Still refused: nothing changes and the refusing rule is raised."""
    claim = await conn.fetchrow(
        "SELECT * FROM incentives.claims WHERE claim_id = $1 FOR UPDATE", claim_id
    )
    if claim is None:
        raise NotFound(f"claim {claim_id} does not exist")
    if claim["status"] != "refused" or claim["rule"] not in RECONSIDERABLE:
        raise RuleViolation(
            "claim_id",
            Rule.RECONSIDER_NOT_RECONSIDERABLE,
            f"claim {claim_id} is {claim['status']} ({claim['rule'] or 'no rule'}): only a "
            f"claim refused under {', '.join(sorted(RECONSIDERABLE))} is decided again",
        )
    row = await conn.fetchrow(
        "SELECT * FROM incentives.certificates WHERE certificate_number = $1",
        claim["certificate_number"],
    )
    assert row is not None, "a claim is only ever made on a recorded certificate"
    registration = None
    if row["route"] == "assessment":
        registration = await _registration_of(conn, row["application_id"])
    issued = IssuedCertificate.from_row(
        row, claimed_on=claim["claimed_on"], correlation_id=claim["correlation_id"]
    )
    await lock_certificate_claims(conn, [issued.certificate_number])
    revoked = await _is_revoked(conn, issued.certificate_number)
    decision, signals = await _skill_upgrade_decision(conn, issued, registration, revoked)
    if not decision.granted:
        assert decision.rule is not None
        raise RuleViolation("claim_id", decision.rule, f"still refused: {decision.reason}")
    status = decision_status(decision, signals)
    await conn.execute(
        """UPDATE incentives.claims
           SET status = $2, amount_fen = $3, rule = NULL, reason = $4, rule_version = $5,
               signals = $6, decided_at = now(), reviewed_by = $7, review_reason = $8,
               reviewed_at = now()
           WHERE claim_id = $1""",
        claim_id,
        status,
        decision.amount_fen,
        decision.reason,
        decision.rule_version,
        signals,
        reviewer,
        reason,
    )
    await announce_decision(conn, issued.claim("skill_upgrade"), decision, status, signals)
    return status


async def _registration_of(conn: Connection, application_id: str) -> asyncpg.Record | None:
    record: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM incentives.registrations WHERE application_id = $1", application_id
    )
    return record


async def _is_revoked(conn: Connection, certificate_number: str) -> bool:
    # Recorded even before its certificate arrives (see on_certificate_revoked).
    return bool(
        await conn.fetchval(
            "SELECT true FROM incentives.revocations WHERE certificate_number = $1",
            certificate_number,
        )
    )


async def _skill_upgrade_decision(
    conn: Connection,
    issued: IssuedCertificate,
    registration: asyncpg.Record | None,
    revoked: bool,
) -> tuple[SubsidyDecision, list[str]]:
    """The skill-upgrading decision and, for a grant, the fraud signals that hold it."""
    uplift, _ = _occupation_facts(issued.occupation_code)
    decision = await _decide_skill_upgrade(
        conn, issued.claim("skill_upgrade"), issued, revoked, uplift
    )
    if not decision.granted:
        return decision, []
    facts = await payment_facts(conn, "skill_upgrade", registration, issued.assessing_body)
    return decision, fraud_signals(facts)


async def _decide_skill_upgrade(
    conn: Connection,
    subject: ClaimSubject,
    issued: IssuedCertificate,
    revoked: bool,
    uplift: int,
) -> SubsidyDecision:
    try:
        policy = skill_upgrade_policy_on(issued.issued_on)
    except RuleViolation as exc:
        return SubsidyDecision(
            granted=False,
            amount_fen=0,
            rule=exc.rule,
            reason=exc.message,
            rule_version=NO_POLICY_VERSION,
        )
    insured_months = await conn.fetchval(
        """SELECT insured_months FROM incentives.insurance_records
           WHERE person_key = $1 AND as_of <= $2 ORDER BY as_of DESC LIMIT 1""",
        subject.person_key,
        subject.claimed_on,
    )
    training = bool(
        await conn.fetchval(
            "SELECT true FROM incentives.training_subsidies WHERE certificate_number = $1",
            subject.certificate_number,
        )
    )
    prior = await conn.fetch(
        """SELECT certificate_number, occupation_code, level, claimed_on FROM incentives.claims
           WHERE person_key = $1 AND kind = 'skill_upgrade' AND status IN ('granted', 'held')""",
        subject.person_key,
    )
    imported = await conn.fetch(
        """SELECT certificate_number, occupation_code, level, issued_on FROM incentives.certificates
           WHERE person_key = $1 AND route = 'imported'""",
        subject.person_key,
    )
    return decide_skill_upgrade(
        SkillUpgradeClaim(
            certificate_number=subject.certificate_number,
            occupation_code=subject.occupation_code,
            level=subject.level,
            issued_on=issued.issued_on,
            claimed_on=subject.claimed_on,
            insured_months=insured_months or 0,
            shortage_uplift_pct=uplift,
            certificate_revoked=revoked,
            training_subsidy_on_certificate=training,
            prior_claims=tuple(PriorClaim.model_validate(dict(row)) for row in prior),
            imported_certificates=tuple(
                HeldCertificate.model_validate(dict(row)) for row in imported
            ),
        ),
        policy,
    )


async def on_certificate_imported(
    conn: Connection, event: EventEnvelope, imported: CertificateImported
) -> None:
    """A certificate from before SkillFlow: recorded for the lower-level rule, never a claim
    (it was earned, and any subsidy on it paid, elsewhere)."""
    if event.person_key is None:
        raise ValueError(f"certificate.imported {event.event_id} has no person_key")
    # No application: the column is the link to a registration, which an import never has.
    await conn.execute(
        """INSERT INTO incentives.certificates
             (certificate_number, person_key, application_id, body_id, occupation_code, level,
              issued_on, route)
           VALUES ($1, $2, '', $3, $4, $5, $6, 'imported')
           ON CONFLICT (certificate_number) DO NOTHING""",
        imported.certificate_number,
        event.person_key,
        imported.issuing_body,
        imported.occupation_code,
        imported.level,
        imported.issued_on,
    )


async def on_certificate_revoked(
    conn: Connection, event: EventEnvelope, revoked: CertificateRevoked
) -> None:
    # Recorded even before the certificate is known here: a later certificate.issued (a
    # relay retry can reorder) then finds it and refuses the subsidy.
    await conn.execute(
        """INSERT INTO incentives.revocations (certificate_number, revoked_on, reason)
           VALUES ($1, $2, $3) ON CONFLICT (certificate_number) DO NOTHING""",
        revoked.certificate_number,
        revoked.revoked_on,
        revoked.reason,
    )
    await revoke_claims(conn, revoked.certificate_number, revoked.revoked_on)
