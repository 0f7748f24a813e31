from datetime import date

import pytest
from pydantic import ValidationError

from policy.eligibility import (
    CandidateHistory,
    EligibilityTable,
    HeldCertificate,
    assert_eligible,
    check_eligibility,
    load_eligibility_table,
    years_between,
)
from policy.errors import RuleViolation
from policy.rule_ids import Rule

ELECTRICIAN = "6-31-01-03"
WELDER = "6-18-02-04"
ON = date(2025, 6, 1)


def _history(**changes: object) -> CandidateHistory:
    base: dict[str, object] = {"occupation_code": ELECTRICIAN, "years_in_occupation": 0}
    return CandidateHistory.model_validate(base | changes)


def _holding(
    level: int, issued_on: date, occupation: str = ELECTRICIAN, **changes: object
) -> CandidateHistory:
    certificate = HeldCertificate(occupation_code=occupation, level=level, issued_on=issued_on)
    return _history(certificates=[certificate], **changes)


def _path(level: int, history: CandidateHistory, table: str = "national-2018") -> str | None:
    return check_eligibility(level, history, ON, table).path


def test_years_between_counts_calendar_anniversaries() -> None:
    assert years_between(date(2021, 6, 1), ON) == 4.0
    assert 3.99 < years_between(date(2021, 6, 2), ON) < 4.0
    assert years_between(date(2020, 2, 29), date(2021, 2, 28)) == 1.0
    assert years_between(ON, date(2021, 6, 1)) == -4.0


def test_level_5_by_one_year_or_apprenticeship() -> None:
    assert _path(5, _history(years_in_occupation=1)) == "L5.years_in_occupation"
    assert _path(5, _history(apprenticeship_completed=True)) == "L5.apprenticeship"
    assert _path(5, _history(years_in_occupation=0.9)) is None


def test_level_4_needs_4_years_since_level_5_under_national_2018() -> None:
    four_years = _holding(5, date(2021, 6, 1))
    assert _path(4, four_years) == "L4.years_since_L5"
    almost = _holding(5, date(2021, 6, 30))  # 3.92 years
    decision = check_eligibility(4, almost, ON, "national-2018")
    assert not decision.eligible
    assert (
        "L4.years_since_L5: needs 4 years since a level-5 certificate in 6-31-01-03 (has 3.9)"
        in decision.reasons
    )
    assert len(decision.reasons) == 3


def test_level_4_needs_only_3_years_since_level_5_under_alt_2020() -> None:
    assert _path(4, _holding(5, date(2022, 6, 1)), "alt-2020") == "L4.years_since_L5"
    assert _path(4, _holding(5, date(2022, 6, 2)), "alt-2020") is None
    assert _path(4, _holding(5, date(2022, 6, 1))) is None


def test_level_4_by_years_in_occupation() -> None:
    assert _path(4, _history(years_in_occupation=6)) == "L4.years_in_occupation"
    assert _path(4, _history(years_in_occupation=5)) is None
    assert _path(4, _history(years_in_occupation=5), "alt-2020") == "L4.years_in_occupation"


def test_level_4_by_technical_school_including_graduating_students() -> None:
    assert _path(4, _history(education="technical_school_diploma")) == "L4.technical_school"
    assert _path(4, _history(education="technical_school_student")) == "L4.technical_school"
    assert _path(4, _history(education="none")) is None


def test_certificates_in_other_occupations_do_not_count() -> None:
    assert _path(4, _holding(5, date(2015, 1, 1), occupation=WELDER)) is None


def test_certificates_dated_after_the_check_do_not_count() -> None:
    assert (
        _path(3, _holding(4, date(2026, 1, 1), education="senior_technical_school_diploma")) is None
    )


def test_level_3_paths() -> None:
    assert _path(3, _holding(4, date(2020, 6, 1))) == "L3.years_since_L4"
    assert _path(3, _holding(4, date(2020, 6, 2))) is None
    senior = _holding(4, date(2025, 1, 1), education="senior_technical_school_diploma")
    assert _path(3, senior) == "L3.L4_senior_technical_school"
    assert _path(3, _history(education="senior_technical_school_diploma")) is None
    assert (
        _path(3, _holding(4, date(2023, 6, 1), education="college")) == "L3.college_years_since_L4"
    )
    assert _path(3, _holding(4, date(2023, 6, 2), education="college")) is None


def test_level_2_paths() -> None:
    assert _path(2, _holding(3, date(2021, 6, 1))) == "L2.years_since_L3"
    graduate = _holding(3, date(2024, 1, 1), education="senior_technical_school_graduate")
    assert _path(2, graduate.model_copy(update={"years_in_occupation": 3})) == (
        "L2.L3_senior_technical_school_graduate"
    )
    assert _path(2, graduate.model_copy(update={"years_in_occupation": 2.9})) is None
    preparatory = _history(preparatory_technician_certificate_on=date(2023, 6, 1))
    assert _path(2, preparatory) == "L2.preparatory_technician"
    too_recent = _history(preparatory_technician_certificate_on=date(2023, 6, 2))
    assert _path(2, too_recent) is None


def test_level_1_needs_4_years_since_level_2() -> None:
    assert _path(1, _holding(2, date(2021, 6, 1))) == "L1.years_since_L2"
    decision = check_eligibility(1, _history(), ON, "national-2018")
    assert decision.reasons == [
        "L1.years_since_L2: needs 4 years since a level-2 certificate in 6-31-01-03 (has none)"
    ]


def test_no_skipping_levels_without_a_listed_path() -> None:
    assert _path(3, _holding(5, date(2000, 1, 1), years_in_occupation=25)) is None


def test_assert_eligible_refuses_with_the_reasons() -> None:
    with pytest.raises(RuleViolation) as caught:
        assert_eligible(4, _holding(5, date(2023, 1, 1)), ON, "national-2018")
    error = caught.value
    assert (error.field, error.rule) == ("level", Rule.ELIGIBILITY_NO_PATH)
    assert "needs 4 years since a level-5 certificate" in error.message
    assert assert_eligible(5, _history(years_in_occupation=2), ON, "national-2018").eligible


def test_unknown_table_and_level_are_refused() -> None:
    with pytest.raises(RuleViolation, match=r"\[eligibility.unknown_table\]"):
        check_eligibility(4, _history(), ON, "national-1999")
    with pytest.raises(RuleViolation, match=r"\[level.range\]"):
        check_eligibility(6, _history(), ON, "national-2018")


def test_tables_differ_only_in_level_4() -> None:
    national, alternate = (
        load_eligibility_table("national-2018"),
        load_eligibility_table("alt-2020"),
    )
    for level in (5, 3, 2, 1):
        assert national.levels[level] == alternate.levels[level]
    assert national.levels[4] != alternate.levels[4]


def _table(level_4_paths: list[dict[str, object]]) -> dict[str, object]:
    national = load_eligibility_table("national-2018").model_dump(mode="json")
    national["levels"]["4"] = level_4_paths
    return national


def test_table_data_is_checked_on_load() -> None:
    EligibilityTable.model_validate(_table([{"id": "L4.ok", "conditions": {"prior_level": 5}}]))
    bad_paths: list[dict[str, object]] = [
        {"id": "L4.same_level", "conditions": {"prior_level": 4}},
        {"id": "L4.years_alone", "conditions": {"years_since_prior": 3}},
        {"id": "L4.typo", "conditions": {"years_in_ocupation": 3}},
        {"id": "L4.empty", "conditions": {}},
        {"id": "L3.misplaced", "conditions": {"years_in_occupation": 3}},
    ]
    for path in bad_paths:
        with pytest.raises(ValidationError):
            EligibilityTable.model_validate(_table([path]))
