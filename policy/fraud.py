"""Fraud signals that hold a subsidy for review instead of paying it (2022 national audit).

Data in ``data/fraud.json``. Each signal is a stable code carried by ``subsidy.held``; a
reviewer then releases or rejects the payment.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from policy.rule_ids import Rule
from policy.versioned_data import read_policy_file

PHANTOM_TRAINEE: Final = Rule.FRAUD_PHANTOM_TRAINEE
RETIREMENT_AGE: Final = Rule.FRAUD_RETIREMENT_AGE
CONCURRENT_SESSIONS: Final = Rule.FRAUD_CONCURRENT_SESSIONS
SCORE_EDITED_AFTER_SIGN_OFF: Final = Rule.FRAUD_SCORE_EDITED_AFTER_SIGN_OFF
ABNORMAL_PASS_RATE: Final = Rule.FRAUD_ABNORMAL_PASS_RATE


class FraudPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    description: str
    retirement_age: int = Field(ge=40, le=80)
    ineligible_categories: dict[str, tuple[str, ...]] = Field(
        description="subsidy kind -> candidate categories that cannot receive it"
    )
    abnormal_pass_rate: float = Field(gt=0, le=1)
    min_volume_for_pass_rate: int = Field(ge=1)


class BodyRecord(BaseModel):
    """Assessment outcomes of the evaluation body that assessed the candidate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    passed: int = Field(ge=0)
    assessed: int = Field(ge=0)

    @property
    def pass_rate(self) -> float:
        return self.passed / self.assessed if self.assessed else 0.0


class PaymentFacts(BaseModel):
    """What is known about the claimant and the assessment behind the certificate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subsidy_kind: str
    candidate_category: str | None = None
    candidate_age: int | None = Field(default=None, ge=0)
    concurrent_sessions: bool = Field(
        default=False, description="registered in another session while this one was open"
    )
    score_edited_after_sign_off: bool = False
    body: BodyRecord | None = None


_POLICY: Final = FraudPolicy.model_validate(read_policy_file("fraud.json"))


def fraud_policy() -> FraudPolicy:
    return _POLICY


def abnormal_pass_rate(body: BodyRecord, policy: FraudPolicy) -> bool:
    # Small bodies pass everyone by chance; judge only a meaningful volume.
    return (
        body.assessed >= policy.min_volume_for_pass_rate
        and body.pass_rate >= policy.abnormal_pass_rate
    )


def fraud_signals(facts: PaymentFacts, policy: FraudPolicy | None = None) -> list[str]:
    """Every signal raised, in a fixed order; empty means pay."""
    policy = policy or _POLICY
    signals: list[str] = []
    ineligible = policy.ineligible_categories.get(facts.subsidy_kind, ())
    if facts.candidate_category is not None and facts.candidate_category in ineligible:
        signals.append(PHANTOM_TRAINEE)
    if facts.candidate_age is not None and facts.candidate_age >= policy.retirement_age:
        signals.append(RETIREMENT_AGE)
    if facts.concurrent_sessions:
        signals.append(CONCURRENT_SESSIONS)
    if facts.score_edited_after_sign_off:
        signals.append(SCORE_EDITED_AFTER_SIGN_OFF)
    if facts.body is not None and abnormal_pass_rate(facts.body, policy):
        signals.append(ABNORMAL_PASS_RATE)
    return signals
