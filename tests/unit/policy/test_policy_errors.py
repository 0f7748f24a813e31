import pickle

from policy.errors import RuleViolation, RuleViolations, Violation
from policy.rule_ids import Rule


def test_rule_violation_names_field_and_rule() -> None:
    error = RuleViolation("pass_mark", Rule.ENTERPRISE_PASS_MARK_BELOW_NATIONAL, "too low")
    assert str(error) == "pass_mark: too low [enterprise.pass_mark_below_national]"
    assert error.as_violation() == Violation(
        field="pass_mark", rule=Rule.ENTERPRISE_PASS_MARK_BELOW_NATIONAL, message="too low"
    )


def test_rule_violation_survives_pickling() -> None:
    error = pickle.loads(
        pickle.dumps(RuleViolation("level", Rule.LEVEL_RANGE, "level must be 1-5"))
    )
    assert (error.field, error.rule, error.message) == (
        "level",
        Rule.LEVEL_RANGE,
        "level must be 1-5",
    )


def test_rule_violations_reports_every_violation() -> None:
    errors = RuleViolations(
        [
            Violation(field="proctors", rule="a", message="x"),
            Violation(field="review_panel", rule="b", message="y"),
        ]
    )
    assert str(errors) == "proctors: x [a]; review_panel: y [b]"
    assert len(errors.violations) == 2
