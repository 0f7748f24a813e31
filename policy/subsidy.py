"""Skill-upgrading (技能提升补贴) and appraisal (职业技能鉴定补贴) subsidies.

Every figure is versioned policy data in ``data/subsidy/<version>.json``; the version in
force on the certificate's issue date decides. Each rule that refuses a claim returns a
stable code (``subsidy.*`` / ``appraisal.*``) that travels in the ``subsidy.refused`` event.
Amounts are integer fen.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Annotated, Final, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from policy.certificate_number import CertifiedLevel, IssuedCertificate
from policy.errors import RuleViolation
from policy.rule_ids import Rule
from policy.versioned_data import named_by_version, policy_files

_NUMBER_SHAPE: Final = re.compile(r"[YS]\d{21}")
# Position 16 (index 15) of a certificate number is the level it certifies.
_LEVEL_INDEX: Final = 15


COMBINED_WITH_TRAINING = Rule.SUBSIDY_COMBINED_WITH_TRAINING_SUBSIDY
INSURED_MONTHS = Rule.SUBSIDY_INSURED_MONTHS


class SkillUpgradePolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["skill_upgrade"]
    version: str
    description: str
    effective_from: date
    caps_fen: dict[int, Annotated[int, Field(ge=0)]]
    apply_shortage_uplift: bool
    min_insured_months: int = Field(ge=0)
    claim_window_months: int = Field(ge=1)
    max_per_person_per_year: int = Field(ge=1)


class AppraisalPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["appraisal"]
    version: str
    description: str
    effective_from: date
    rate_pct: int = Field(ge=0, le=100)
    key_industry_rate_pct: int = Field(ge=0, le=100)
    floor_fen: int = Field(ge=0)
    eligible_groups: tuple[str, ...]


_Policy = TypeVar("_Policy", SkillUpgradePolicy, AppraisalPolicy)


class _PolicyFile(BaseModel):
    policy: Annotated[SkillUpgradePolicy | AppraisalPolicy, Field(discriminator="kind")]


def _load() -> tuple[list[SkillUpgradePolicy], list[AppraisalPolicy]]:
    # Read at import so that a rule called from a workflow or a handler never does I/O.
    skill_upgrade: list[SkillUpgradePolicy] = []
    appraisal: list[AppraisalPolicy] = []
    for name, data in policy_files("subsidy"):
        policy = named_by_version(name, _PolicyFile.model_validate({"policy": data}).policy)
        if isinstance(policy, SkillUpgradePolicy):
            skill_upgrade.append(policy)
        else:
            appraisal.append(policy)
    skill_upgrade.sort(key=lambda p: p.effective_from)
    appraisal.sort(key=lambda p: p.effective_from)
    return skill_upgrade, appraisal


_SKILL_UPGRADE, _APPRAISAL = _load()


def skill_upgrade_policy_on(day: date) -> SkillUpgradePolicy:
    """The skill-upgrading policy in force on ``day``."""
    return _in_force(_SKILL_UPGRADE, day, Rule.SUBSIDY_NO_POLICY, "skill-upgrading")


def appraisal_policy_on(day: date) -> AppraisalPolicy:
    """The appraisal-subsidy policy in force on ``day``."""
    return _in_force(_APPRAISAL, day, Rule.APPRAISAL_NO_POLICY, "appraisal")


def _in_force(policies: list[_Policy], day: date, refusal: Rule, kind: str) -> _Policy:
    """The latest of ``policies`` (sorted by date) in force on ``day``."""
    in_force = [p for p in policies if p.effective_from <= day]
    if not in_force:
        raise RuleViolation("issued_on", refusal, f"no {kind} subsidy policy was in force on {day}")
    return in_force[-1]


class SubsidyDecision(BaseModel):
    """A grant (``rule`` is None) or a refusal naming the rule that refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    granted: bool
    amount_fen: int = Field(ge=0)
    rule: str | None
    reason: str
    rule_version: str


def _granted(amount_fen: int, reason: str, version: str) -> SubsidyDecision:
    return SubsidyDecision(
        granted=True, amount_fen=amount_fen, rule=None, reason=reason, rule_version=version
    )


def _refused(rule: str, reason: str, version: str) -> SubsidyDecision:
    return SubsidyDecision(
        granted=False, amount_fen=0, rule=rule, reason=reason, rule_version=version
    )


# --- skill-upgrading subsidy -----------------------------------------------------------------


class PriorClaim(CertifiedLevel):
    """A skill-upgrading subsidy already granted (or held for review) to the same person."""

    claimed_on: date


class HeldCertificate(IssuedCertificate):
    """A certificate the person held before SkillFlow (imported): it earns no subsidy here,
    but a higher level among them refuses a lower one, as a granted subsidy would."""


class SkillUpgradeClaim(IssuedCertificate):
    """Everything the skill-upgrading rules look at, gathered by the incentive service."""

    claimed_on: date = Field(description="when the certificate reached the incentive service")
    insured_months: int = Field(ge=0, description="unemployment-insurance months on the claim date")
    shortage_uplift_pct: int = Field(ge=0, le=100, description="from the occupation catalogue")
    certificate_revoked: bool = False
    training_subsidy_on_certificate: bool = False
    prior_claims: tuple[PriorClaim, ...] = ()
    imported_certificates: tuple[HeldCertificate, ...] = ()


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it has no such day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def certificate_verifies(certificate_number: str, level: int) -> bool:
    """The number has the national shape and certifies the level it is claimed for."""
    return _NUMBER_SHAPE.fullmatch(certificate_number) is not None and certificate_number[
        _LEVEL_INDEX
    ] == str(level)


def skill_upgrade_amount(level: int, shortage_uplift_pct: int, policy: SkillUpgradePolicy) -> int:
    cap = policy.caps_fen[level]
    if not policy.apply_shortage_uplift:
        return cap
    # Integer arithmetic: the uplift is a whole percentage of a whole number of fen.
    return cap * (100 + shortage_uplift_pct) // 100


def decide_skill_upgrade(claim: SkillUpgradeClaim, policy: SkillUpgradePolicy) -> SubsidyDecision:
    """Apply every skill-upgrading condition in DOMAIN.md, first refusal wins."""
    version = policy.version
    if not certificate_verifies(claim.certificate_number, claim.level):
        return _refused(
            Rule.SUBSIDY_CERTIFICATE_UNVERIFIED,
            "the certificate number does not verify for the level claimed",
            version,
        )
    if claim.certificate_revoked:
        return _refused(
            Rule.SUBSIDY_CERTIFICATE_REVOKED, "the certificate has been revoked", version
        )
    if claim.level not in policy.caps_fen:
        return _refused(
            Rule.SUBSIDY_LEVEL_NOT_COVERED,
            f"level {claim.level} is not covered by {version}",
            version,
        )
    deadline = add_months(claim.issued_on, policy.claim_window_months)
    if claim.claimed_on > deadline:
        return _refused(
            Rule.SUBSIDY_CLAIM_WINDOW,
            f"claimed on {claim.claimed_on}, after the {policy.claim_window_months}-month "
            f"window that closed on {deadline}",
            version,
        )
    if claim.insured_months < policy.min_insured_months:
        return _refused(
            INSURED_MONTHS,
            f"{claim.insured_months} months of unemployment insurance, "
            f"{policy.min_insured_months} needed",
            version,
        )
    if claim.training_subsidy_on_certificate:
        return _refused(
            COMBINED_WITH_TRAINING,
            "a training subsidy was already paid on this certificate",
            version,
        )
    others = [p for p in claim.prior_claims if p.certificate_number != claim.certificate_number]
    same_occupation = [p for p in others if p.occupation_code == claim.occupation_code]
    if any(p.level == claim.level for p in same_occupation):
        return _refused(
            Rule.SUBSIDY_ONCE_PER_OCCUPATION_LEVEL,
            f"a subsidy was already granted for level {claim.level} in {claim.occupation_code}",
            version,
        )
    # Level 1 is the highest, so a smaller number is a higher level.
    higher = sorted(p.level for p in same_occupation if p.level < claim.level)
    if higher:
        return _refused(
            Rule.SUBSIDY_LOWER_AFTER_HIGHER,
            f"a subsidy was already granted for the higher level {higher[0]} in "
            f"{claim.occupation_code}",
            version,
        )
    # A higher level held from before SkillFlow counts from its real issue date: it must
    # have been issued before this certificate to make this one "lower after higher".
    held_higher = sorted(
        c.level
        for c in claim.imported_certificates
        if c.occupation_code == claim.occupation_code
        and c.level < claim.level
        and c.issued_on <= claim.issued_on
        and c.certificate_number != claim.certificate_number
    )
    if held_higher:
        return _refused(
            Rule.SUBSIDY_LOWER_AFTER_HIGHER,
            f"the worker already held the higher level {held_higher[0]} in "
            f"{claim.occupation_code} (an imported certificate)",
            version,
        )
    this_year = [p for p in others if p.claimed_on.year == claim.claimed_on.year]
    if len(this_year) >= policy.max_per_person_per_year:
        return _refused(
            Rule.SUBSIDY_ANNUAL_LIMIT,
            f"already {len(this_year)} subsidies in {claim.claimed_on.year}, "
            f"at most {policy.max_per_person_per_year} a year",
            version,
        )
    amount = skill_upgrade_amount(claim.level, claim.shortage_uplift_pct, policy)
    uplift = (
        f" with a {claim.shortage_uplift_pct}% shortage uplift"
        if policy.apply_shortage_uplift and claim.shortage_uplift_pct
        else ""
    )
    return _granted(amount, f"level {claim.level} cap{uplift}", version)


# --- appraisal subsidy -----------------------------------------------------------------------


class AppraisalClaim(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    certificate_number: str
    candidate_category: str
    appraisal_fee_fen: int = Field(ge=0)
    first_appraisal: bool = Field(description="as declared at registration")
    prior_appraisal_subsidy: bool = Field(description="an appraisal subsidy was already granted")
    key_industry: bool
    certificate_revoked: bool = False


def appraisal_amount(fee_fen: int, key_industry: bool, policy: AppraisalPolicy) -> int:
    rate = policy.key_industry_rate_pct if key_industry else policy.rate_pct
    # The floor lifts small fees, but a subsidy never exceeds the fee actually paid.
    return min(fee_fen, max(fee_fen * rate // 100, policy.floor_fen))


def decide_appraisal(claim: AppraisalClaim, policy: AppraisalPolicy) -> SubsidyDecision:
    version = policy.version
    if claim.certificate_revoked:
        return _refused(
            Rule.APPRAISAL_CERTIFICATE_REVOKED, "the certificate has been revoked", version
        )
    if not claim.first_appraisal or claim.prior_appraisal_subsidy:
        return _refused(
            Rule.APPRAISAL_FIRST_APPRAISAL_ONLY,
            "the appraisal subsidy is paid for a first appraisal only",
            version,
        )
    if claim.candidate_category not in policy.eligible_groups:
        return _refused(
            Rule.APPRAISAL_INELIGIBLE_GROUP,
            f"candidates in the group {claim.candidate_category} are not eligible",
            version,
        )
    if claim.appraisal_fee_fen <= 0:
        return _refused(Rule.APPRAISAL_NO_FEE, "no appraisal fee was paid", version)
    amount = appraisal_amount(claim.appraisal_fee_fen, claim.key_industry, policy)
    rate = policy.key_industry_rate_pct if claim.key_industry else policy.rate_pct
    return _granted(amount, f"{rate}% of the appraisal fee, floor {policy.floor_fen} fen", version)
