"""How a broken rule crosses the Temporal boundary.

Update validators and handlers raise ``ApplicationError`` of type ``RuleViolation`` whose
first detail is ``{field, rule, message}``; the API turns it back into a
``policy.errors.RuleViolation`` so callers see the same 422 as for any other bad input.
"""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from policy.errors import RuleViolation, RuleViolations, Violation

RULE_VIOLATION = "RuleViolation"


def rule_error(field: str, rule: str, message: str) -> ApplicationError:
    return ApplicationError(
        f"{field}: {message} [{rule}]",
        {"field": field, "rule": rule, "message": message},
        type=RULE_VIOLATION,
        non_retryable=True,
    )


def as_rule_error(violation: RuleViolation) -> ApplicationError:
    return rule_error(violation.field, violation.rule, violation.message)


def rules_error(violations: list[Violation]) -> ApplicationError:
    """Several broken rules reported together, so the caller can fix them all at once."""
    return ApplicationError(
        "; ".join(str(v) for v in violations),
        *[v.model_dump() for v in violations],
        type=RULE_VIOLATION,
        non_retryable=True,
    )


def rule_violations_from(error: BaseException | None) -> RuleViolations | None:
    """The broken rules an ApplicationError (or its cause chain) carries, if any."""
    while error is not None:
        if isinstance(error, ApplicationError) and error.type == RULE_VIOLATION and error.details:
            violations = [
                Violation(
                    field=str(detail.get("field", "")),
                    rule=str(detail.get("rule", "")),
                    message=str(detail.get("message", "")),
                )
                for detail in error.details
                if isinstance(detail, dict)
            ]
            if violations:
                return RuleViolations(violations)
        error = error.__cause__
    return None
