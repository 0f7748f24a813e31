"""Every skill-upgrading and appraisal subsidy rule, each with a case that fails without it."""

from datetime import date

import pytest

from policy.errors import RuleViolation
from policy.rule_ids import Rule
from policy.subsidy import (
    AppraisalClaim,
    HeldCertificate,
    PriorClaim,
    SkillUpgradeClaim,
    add_months,
    appraisal_policy_on,
    decide_appraisal,
    decide_skill_upgrade,
    skill_upgrade_policy_on,
)

ELECTRICIAN = "6-31-01-03"
FITTER = "6-20-01-01"
CURRENT = skill_upgrade_policy_on(date(2025, 3, 1))
OLDER = skill_upgrade_policy_on(date(2018, 6, 1))
APPRAISAL = appraisal_policy_on(date(2025, 3, 1))


def _number(level: int, serial: int = 42) -> str:
    return f"S00012100000125{level}{serial:06d}"


def _claim(**changes: object) -> SkillUpgradeClaim:
    level = int(changes.get("level", 4))  # type: ignore[call-overload]
    base: dict[str, object] = {
        "certificate_number": _number(level),
        "occupation_code": FITTER,
        "level": level,
        "issued_on": date(2025, 3, 1),
        "claimed_on": date(2025, 3, 2),
        "insured_months": 24,
        "shortage_uplift_pct": 0,
    }
    return SkillUpgradeClaim.model_validate(base | changes)


def _prior(
    level: int, occupation: str = FITTER, claimed_on: date = date(2025, 1, 5), serial: int = 7
) -> PriorClaim:
    return PriorClaim(
        certificate_number=_number(level, serial),
        occupation_code=occupation,
        level=level,
        claimed_on=claimed_on,
    )


def test_policy_versions_are_chosen_by_date() -> None:
    assert CURRENT.version == "skill-upgrade-2024" and CURRENT.min_insured_months == 12
    assert OLDER.version == "skill-upgrade-2017" and OLDER.min_insured_months == 36
    with pytest.raises(RuleViolation) as error:
        skill_upgrade_policy_on(date(2010, 1, 1))
    assert error.value.rule == Rule.SUBSIDY_NO_POLICY


@pytest.mark.parametrize(("level", "amount"), [(5, 100_000), (4, 150_000), (3, 200_000)])
def test_grant_pays_the_cap_of_the_level(level: int, amount: int) -> None:
    decision = decide_skill_upgrade(_claim(level=level), CURRENT)
    assert decision.granted and decision.rule is None
    assert decision.amount_fen == amount and decision.rule_version == "skill-upgrade-2024"


def test_shortage_occupation_is_uplifted() -> None:
    decision = decide_skill_upgrade(
        _claim(level=3, occupation_code=ELECTRICIAN, shortage_uplift_pct=20), CURRENT
    )
    assert decision.amount_fen == 240_000


def test_older_policy_pays_no_uplift() -> None:
    claim = _claim(
        level=3,
        shortage_uplift_pct=30,
        issued_on=date(2018, 6, 1),
        claimed_on=date(2018, 6, 2),
        insured_months=40,
    )
    assert decide_skill_upgrade(claim, OLDER).amount_fen == 200_000


def test_certificate_must_verify() -> None:
    decision = decide_skill_upgrade(_claim(level=4, certificate_number=_number(3)), CURRENT)
    assert decision.rule == Rule.SUBSIDY_CERTIFICATE_UNVERIFIED and decision.amount_fen == 0


def test_revoked_certificate_is_refused() -> None:
    assert (
        decide_skill_upgrade(_claim(certificate_revoked=True), CURRENT).rule
        == Rule.SUBSIDY_CERTIFICATE_REVOKED
    )


def test_level_without_a_cap_is_refused() -> None:
    assert decide_skill_upgrade(_claim(level=2), CURRENT).granted
    claim = _claim(
        level=2, issued_on=date(2018, 6, 1), claimed_on=date(2018, 6, 2), insured_months=40
    )
    assert decide_skill_upgrade(claim, OLDER).rule == Rule.SUBSIDY_LEVEL_NOT_COVERED


def test_insured_months_minimum() -> None:
    assert decide_skill_upgrade(_claim(insured_months=12), CURRENT).granted
    assert (
        decide_skill_upgrade(_claim(insured_months=11), CURRENT).rule == Rule.SUBSIDY_INSURED_MONTHS
    )


def test_older_policy_needs_36_insured_months() -> None:
    claim = _claim(issued_on=date(2018, 6, 1), claimed_on=date(2018, 6, 2), insured_months=35)
    assert decide_skill_upgrade(claim, OLDER).rule == Rule.SUBSIDY_INSURED_MONTHS
    assert decide_skill_upgrade(claim.model_copy(update={"insured_months": 36}), OLDER).granted


def test_claim_window_after_certificate_date() -> None:
    issued = date(2024, 1, 31)
    assert decide_skill_upgrade(
        _claim(issued_on=issued, claimed_on=date(2025, 1, 31)), CURRENT
    ).granted
    late = decide_skill_upgrade(_claim(issued_on=issued, claimed_on=date(2025, 2, 1)), CURRENT)
    assert late.rule == Rule.SUBSIDY_CLAIM_WINDOW


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2024, 11, 15), 3) == date(2025, 2, 15)


def test_not_combined_with_training_subsidy() -> None:
    decision = decide_skill_upgrade(_claim(training_subsidy_on_certificate=True), CURRENT)
    assert decision.rule == Rule.SUBSIDY_COMBINED_WITH_TRAINING_SUBSIDY


def test_once_per_person_occupation_and_level() -> None:
    decision = decide_skill_upgrade(_claim(level=4, prior_claims=(_prior(4),)), CURRENT)
    assert decision.rule == Rule.SUBSIDY_ONCE_PER_OCCUPATION_LEVEL
    # Another occupation at the same level is a new subsidy.
    assert decide_skill_upgrade(
        _claim(level=4, prior_claims=(_prior(4, ELECTRICIAN),)), CURRENT
    ).granted


def test_the_claim_itself_does_not_count_as_prior() -> None:
    itself = PriorClaim(
        certificate_number=_number(4), occupation_code=FITTER, level=4, claimed_on=date(2025, 3, 2)
    )
    assert decide_skill_upgrade(_claim(level=4, prior_claims=(itself,)), CURRENT).granted


def test_no_lower_level_after_a_higher_one() -> None:
    decision = decide_skill_upgrade(_claim(level=4, prior_claims=(_prior(3),)), CURRENT)
    assert decision.rule == Rule.SUBSIDY_LOWER_AFTER_HIGHER
    # Higher after lower is the normal ladder.
    assert decide_skill_upgrade(_claim(level=3, prior_claims=(_prior(4),)), CURRENT).granted
    assert decide_skill_upgrade(
        _claim(level=4, prior_claims=(_prior(3, ELECTRICIAN),)), CURRENT
    ).granted


def test_an_imported_higher_level_held_before_refuses_a_lower_one() -> None:
    def held(level: int, issued_on: date, occupation: str = FITTER) -> HeldCertificate:
        return HeldCertificate(
            certificate_number=f"0{level}2011-LN-000123",
            occupation_code=occupation,
            level=level,
            issued_on=issued_on,
        )

    refused = decide_skill_upgrade(
        _claim(level=4, imported_certificates=(held(3, date(2015, 6, 1)),)), CURRENT
    )
    assert refused.rule == "subsidy.lower_after_higher" and "imported" in refused.reason
    # Counted from its real issue date: a higher level issued after this certificate does
    # not make this one "lower after higher"; nor does another occupation or a lower level.
    for other in (
        held(3, date(2025, 3, 2)),
        held(3, date(2015, 6, 1), ELECTRICIAN),
        held(5, date(2015, 6, 1)),
    ):
        assert decide_skill_upgrade(
            _claim(level=4, imported_certificates=(other,)), CURRENT
        ).granted


def test_at_most_three_a_year() -> None:
    two = (_prior(5, ELECTRICIAN, serial=1), _prior(5, "6-18-02-04", serial=2))
    assert decide_skill_upgrade(_claim(prior_claims=two), CURRENT).granted
    three = (*two, _prior(5, "6-18-01-01", serial=3))
    assert (
        decide_skill_upgrade(_claim(prior_claims=three), CURRENT).rule == Rule.SUBSIDY_ANNUAL_LIMIT
    )
    # Claims of an earlier year do not count.
    last_year = tuple(p.model_copy(update={"claimed_on": date(2024, 12, 31)}) for p in three)
    assert decide_skill_upgrade(_claim(prior_claims=last_year), CURRENT).granted


def _appraisal(**changes: object) -> AppraisalClaim:
    base: dict[str, object] = {
        "certificate_number": _number(5),
        "candidate_category": "registered_unemployed",
        "appraisal_fee_fen": 50_000,
        "first_appraisal": True,
        "prior_appraisal_subsidy": False,
        "key_industry": False,
    }
    return AppraisalClaim.model_validate(base | changes)


def test_appraisal_pays_the_rate_of_the_fee() -> None:
    decision = decide_appraisal(_appraisal(), APPRAISAL)
    assert (
        decision.granted
        and decision.amount_fen == 35_000
        and decision.rule_version == "appraisal-2024"
    )


def test_appraisal_key_industry_rate() -> None:
    assert decide_appraisal(_appraisal(key_industry=True), APPRAISAL).amount_fen == 45_000


def test_appraisal_floor_but_never_more_than_the_fee() -> None:
    assert decide_appraisal(_appraisal(appraisal_fee_fen=30_000), APPRAISAL).amount_fen == 22_000
    assert decide_appraisal(_appraisal(appraisal_fee_fen=20_000), APPRAISAL).amount_fen == 20_000


def test_appraisal_first_appraisal_only() -> None:
    assert (
        decide_appraisal(_appraisal(first_appraisal=False), APPRAISAL).rule
        == Rule.APPRAISAL_FIRST_APPRAISAL_ONLY
    )
    assert (
        decide_appraisal(_appraisal(prior_appraisal_subsidy=True), APPRAISAL).rule
        == Rule.APPRAISAL_FIRST_APPRAISAL_ONLY
    )


@pytest.mark.parametrize("group", ["registered_unemployed", "migrant_worker", "graduating_student"])
def test_appraisal_eligible_groups(group: str) -> None:
    assert decide_appraisal(_appraisal(candidate_category=group), APPRAISAL).granted


@pytest.mark.parametrize("group", ["employed", "other", "retired"])
def test_appraisal_other_groups_refused(group: str) -> None:
    assert (
        decide_appraisal(_appraisal(candidate_category=group), APPRAISAL).rule
        == Rule.APPRAISAL_INELIGIBLE_GROUP
    )


def test_appraisal_needs_a_fee_and_a_valid_certificate() -> None:
    assert (
        decide_appraisal(_appraisal(appraisal_fee_fen=0), APPRAISAL).rule == Rule.APPRAISAL_NO_FEE
    )
    assert (
        decide_appraisal(_appraisal(certificate_revoked=True), APPRAISAL).rule
        == Rule.APPRAISAL_CERTIFICATE_REVOKED
    )
