from datetime import date

import pytest
from pydantic import ValidationError

from policy.assessment import (
    DEFAULT_ASSESSMENT_POLICY,
    AssessmentPolicy,
    CandidateConflictFacts,
    Examiner,
    ExaminerGrade,
    check_sitting_order,
    check_staffing,
    effective_pass_mark,
    evaluate_components,
    load_assessment_policy,
    recusals,
    resit_allowed,
    resit_deadline,
    validate_score,
)
from policy.catalogue import Component
from policy.errors import RuleViolation, Violation
from policy.rule_ids import Rule

POLICY = load_assessment_policy()
RULES = POLICY.staffing


def _examiners(count: int, grade: ExaminerGrade = "senior", prefix: str = "E") -> list[Examiner]:
    return [
        Examiner(examiner_id=f"{prefix}{i}", name=f"考评员{i}", grade=grade, employer=f"org-{i}")
        for i in range(count)
    ]


def _rules(violations: list[Violation]) -> set[str]:
    return {v.rule for v in violations}


def test_default_policy_figures() -> None:
    assert POLICY.version == DEFAULT_ASSESSMENT_POLICY == "2024-default"
    assert (POLICY.pass_mark, POLICY.score_min, POLICY.score_max) == (60, 0, 100)
    assert POLICY.min_candidate_age == 16
    assert (POLICY.resit_window_days, POLICY.max_resits) == (365, 1)


def test_policy_pass_mark_must_lie_within_the_score_range() -> None:
    data = POLICY.model_dump(mode="json")
    AssessmentPolicy.model_validate(data)
    with pytest.raises(ValidationError):
        AssessmentPolicy.model_validate(data | {"pass_mark": 101})
    staffing = data["staffing"] | {"grade_levels": {"ordinary": [3, 4, 5]}}
    with pytest.raises(ValidationError):
        AssessmentPolicy.model_validate(data | {"staffing": staffing})


def test_unknown_policy_version_is_refused() -> None:
    with pytest.raises(RuleViolation) as caught:
        load_assessment_policy("1999-none")
    assert caught.value.field == "policy_version"


# --- scores


@pytest.mark.parametrize("score", [0, 60, 100, 59.5])
def test_scores_in_range_are_accepted(score: float) -> None:
    validate_score("theory", score, POLICY)


@pytest.mark.parametrize("score", [-1, 100.5, 101, float("nan"), True])
def test_scores_out_of_range_are_refused(score: float) -> None:
    with pytest.raises(RuleViolation) as caught:
        validate_score("practical", score, POLICY)
    assert (caught.value.field, caught.value.rule) == ("scores.practical", Rule.SCORE_RANGE)


def test_score_for_unknown_component_is_refused() -> None:
    with pytest.raises(RuleViolation, match=r"\[score.component\]"):
        validate_score("interview", 70, POLICY)


def test_candidate_passes_only_when_every_required_component_passes() -> None:
    both: tuple[Component, ...] = ("theory", "practical")
    assert evaluate_components(both, {"theory": 60, "practical": 75}, 60).passed
    failed = evaluate_components(both, {"theory": 59.9, "practical": 90}, 60)
    assert (failed.passed, failed.complete, failed.failed) == (False, True, ("theory",))


def test_missing_component_means_incomplete() -> None:
    outcome = evaluate_components(
        ("theory", "practical", "review"), {"theory": 80, "practical": 80}, 60
    )
    assert (outcome.passed, outcome.complete, outcome.missing) == (False, False, ("review",))


def test_scores_for_components_not_required_are_ignored() -> None:
    assert evaluate_components(
        ("theory", "practical"), {"theory": 70, "practical": 70, "review": 10}, 60
    ).passed


def test_practical_waits_for_theory_where_the_standard_says_so() -> None:
    with pytest.raises(RuleViolation, match=r"\[score.theory_before_practical\]"):
        check_sitting_order("practical", {}, theory_before_practical=True, pass_mark=60)
    with pytest.raises(RuleViolation):
        check_sitting_order("practical", {"theory": 50}, theory_before_practical=True, pass_mark=60)
    check_sitting_order("practical", {"theory": 60}, theory_before_practical=True, pass_mark=60)
    check_sitting_order("practical", {}, theory_before_practical=False, pass_mark=60)


def test_enterprise_may_raise_but_not_lower_the_pass_mark() -> None:
    assert effective_pass_mark(60, None) == 60
    assert effective_pass_mark(60, 70) == 70
    with pytest.raises(RuleViolation) as caught:
        effective_pass_mark(60, 55)
    assert (caught.value.field, caught.value.rule) == (
        "pass_mark",
        Rule.ENTERPRISE_PASS_MARK_BELOW_NATIONAL,
    )
    with pytest.raises(RuleViolation, match=r"\[enterprise.pass_mark_above_max\]"):
        effective_pass_mark(60, 101, score_max=100)


# --- staffing


def test_well_staffed_session_passes() -> None:
    assert check_staffing(4, 30, 1, 2, _examiners(7), [], RULES, review_panel_needed=False) == []
    assert (
        check_staffing(
            2, 15, 1, 2, _examiners(3), _examiners(3, prefix="R"), RULES, review_panel_needed=True
        )
        == []
    )


def test_proctors_follow_candidates() -> None:
    violations = check_staffing(4, 31, 1, 2, _examiners(7), [], RULES, review_panel_needed=False)
    assert [v.field for v in violations] == ["proctors"]
    assert _rules(violations) == {Rule.STAFFING_PROCTORS_PER_CANDIDATES}


def test_proctors_follow_theory_rooms() -> None:
    violations = check_staffing(4, 10, 2, 3, _examiners(3), [], RULES, review_panel_needed=False)
    assert _rules(violations) == {Rule.STAFFING_PROCTORS_PER_ROOM}


def test_practical_examiners_follow_candidates() -> None:
    violations = check_staffing(4, 20, 1, 2, _examiners(3), [], RULES, review_panel_needed=False)
    assert _rules(violations) == {Rule.STAFFING_PRACTICAL_EXAMINERS_TOO_FEW}
    assert violations[0].field == "practical_examiners"


def test_practical_panel_needs_at_least_three() -> None:
    violations = check_staffing(4, 2, 1, 2, _examiners(1), [], RULES, review_panel_needed=False)
    assert _rules(violations) == {Rule.STAFFING_PRACTICAL_EXAMINERS_TOO_FEW}


def test_even_practical_panel_is_refused() -> None:
    violations = check_staffing(4, 15, 1, 2, _examiners(4), [], RULES, review_panel_needed=False)
    assert _rules(violations) == {Rule.STAFFING_PRACTICAL_EXAMINERS_EVEN}


def test_duplicate_examiner_is_refused() -> None:
    panel = [*_examiners(2), _examiners(1)[0]]
    assert _rules(check_staffing(4, 5, 1, 2, panel, [], RULES, review_panel_needed=False)) == {
        Rule.STAFFING_DUPLICATE_EXAMINER
    }


def test_review_panel_is_required_for_levels_2_and_1() -> None:
    for level in (2, 1):
        violations = check_staffing(
            level,
            5,
            1,
            2,
            _examiners(3),
            _examiners(2, prefix="R"),
            RULES,
            review_panel_needed=level in (1, 2),
        )
        assert _rules(violations) == {
            Rule.STAFFING_REVIEW_PANEL_TOO_FEW,
            Rule.STAFFING_REVIEW_PANEL_EVEN,
        }
    assert check_staffing(3, 5, 1, 2, _examiners(3), [], RULES, review_panel_needed=False) == []


def test_even_review_panel_is_refused() -> None:
    violations = check_staffing(
        1, 5, 1, 2, _examiners(3), _examiners(4, prefix="R"), RULES, review_panel_needed=True
    )
    assert _rules(violations) == {Rule.STAFFING_REVIEW_PANEL_EVEN}


def test_ordinary_grade_examiner_may_not_examine_level_2() -> None:
    practical = [*_examiners(2), *_examiners(1, grade="ordinary", prefix="O")]
    review = [*_examiners(2, prefix="R"), *_examiners(1, grade="ordinary", prefix="Q")]
    violations = check_staffing(2, 5, 1, 2, practical, review, RULES, review_panel_needed=True)
    assert {(v.field, v.rule) for v in violations} == {
        ("practical_examiners[2].grade", Rule.STAFFING_EXAMINER_GRADE),
        ("review_panel[2].grade", Rule.STAFFING_EXAMINER_GRADE),
    }
    assert (
        check_staffing(
            3, 5, 1, 2, _examiners(3, grade="ordinary"), [], RULES, review_panel_needed=False
        )
        == []
    )


def test_staffing_refuses_a_level_outside_1_to_5() -> None:
    assert _rules(
        check_staffing(6, 5, 1, 2, _examiners(3), [], RULES, review_panel_needed=False)
    ) == {Rule.LEVEL_RANGE}


# --- recusal


def senior(examiner_id: str, name: str, employer: str, **conflicts: list[str]) -> Examiner:
    """A senior examiner at ``employer``, with what may conflict them (former employers,
    relatives, trainees)."""
    return Examiner(
        examiner_id=examiner_id, name=name, grade="senior", employer=employer, **conflicts
    )


def test_recusal_reasons() -> None:
    candidate = CandidateConflictFacts(
        person_key="pk-1", employer="org-A", former_employers=["org-B"]
    )
    examiners = [
        senior("colleague", "甲", "org-A"),
        senior("former", "乙", "org-B"),
        senior("moved", "丙", "org-C", former_employers=["org-A"]),
        senior("relative", "丁", "org-D", relatives_person_keys=["pk-1"]),
        senior("trainer", "戊", "org-E", trained_person_keys=["pk-1"]),
        senior("clear", "己", "org-F", trained_person_keys=["pk-2"]),
    ]
    found = {(r.examiner_id, r.reason) for r in recusals(examiners, candidate)}
    assert found == {
        ("colleague", "same_employer"),
        ("former", "same_employer"),
        ("moved", "same_employer"),
        ("relative", "relative"),
        ("trainer", "trainer"),
    }
    assert all(r.person_key == "pk-1" for r in recusals(examiners, candidate))


def test_no_employer_is_not_a_shared_employer() -> None:
    candidate = CandidateConflictFacts(person_key="pk-1", employer="")
    examiner = senior("e", "甲", "")
    assert recusals([examiner], candidate) == []


def test_each_reason_of_one_examiner_is_recorded() -> None:
    candidate = CandidateConflictFacts(person_key="pk-1", employer="org-A")
    examiner = senior("e", "甲", "org-A", trained_person_keys=["pk-1"])
    assert [r.reason for r in recusals([examiner], candidate)] == ["same_employer", "trainer"]


# --- re-sits


def test_one_resit_within_a_year() -> None:
    failed_on = date(2024, 3, 1)
    assert resit_deadline(failed_on, POLICY) == date(2025, 3, 1)
    assert resit_allowed(failed_on, date(2025, 3, 1), 0, POLICY)
    assert not resit_allowed(failed_on, date(2025, 3, 2), 0, POLICY)
    assert not resit_allowed(failed_on, date(2024, 6, 1), 1, POLICY)
    assert not resit_allowed(failed_on, date(2024, 2, 1), 0, POLICY)


def test_public_notice_lasts_the_policy_days_unless_a_demo_override_is_set() -> None:
    from datetime import timedelta

    from policy.assessment import public_notice_duration

    assert public_notice_duration(load_assessment_policy("2024-default")) == timedelta(days=5)
    assert public_notice_duration(load_assessment_policy("demo-fast")) == timedelta(seconds=3)


def test_the_conflict_index_finds_exactly_what_the_full_scan_finds() -> None:
    import random

    from policy.assessment import ConflictIndex

    rng = random.Random(7)
    orgs = ["", "org-A", "org-B", "org-C", "org-D"]
    keys = [f"pk-{i}" for i in range(6)]
    examiners = [
        Examiner(
            examiner_id=f"E{i}",
            name="甲",
            grade="senior",
            employer=rng.choice(orgs),
            former_employers=rng.sample(orgs, 2),
            relatives_person_keys=rng.sample(keys, rng.randint(0, 2)),
            trained_person_keys=rng.sample(keys, rng.randint(0, 2)),
        )
        for i in range(40)
    ]
    index = ConflictIndex(examiners)
    assert len(index) == 40
    for _ in range(200):
        candidate = CandidateConflictFacts(
            person_key=rng.choice(keys),
            employer=rng.choice(orgs),
            former_employers=rng.sample(orgs, rng.randint(0, 2)),
        )
        assert index.recusals(candidate) == recusals(examiners, candidate)
