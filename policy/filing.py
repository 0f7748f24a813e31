"""What a filing (备案) of an evaluation body must meet before it is recorded: a mainland
province, a scope of occupations and levels the catalogue offers, a policy version the
service admits, and the enterprise-only parts (its own pass mark, sub-levels inside the
filed levels) only in an enterprise's self-evaluation (body type Y).

Pure: the filing's activity applies it (``activities.evaluation_body``).
"""

from __future__ import annotations

from collections.abc import Sequence

from policy.assessment import admit_policy_version, effective_pass_mark
from policy.catalogue import get_occupation, required_components
from policy.errors import RuleViolation, RuleViolations, Violation
from policy.regions import MAINLAND_PROVINCES
from policy.rule_ids import Rule


def check_filing(
    *,
    body_type: str,
    province_code: str,
    scope: Sequence[tuple[str, int]],
    pass_mark: int | None,
    sub_levels: Sequence[tuple[str, int]],
    policy_version: str,
    demo_allowed: bool,
) -> None:
    """Raise every rule the filing breaks, together. ``scope`` is (occupation code, level)
    pairs; ``sub_levels`` (code, national level) pairs."""
    violations: list[Violation] = []
    if province_code not in MAINLAND_PROVINCES:
        # Checked at filing, not first when the certificate number is built at issuance.
        violations.append(
            Violation(
                field="province_code",
                rule=Rule.BODY_PROVINCE_UNKNOWN,
                message="not a mainland province code (GB/T 2260, e.g. 21 for Liaoning)",
            )
        )
    for index, (occupation_code, level) in enumerate(scope):
        try:
            required_components(get_occupation(occupation_code), level)
        except RuleViolation as violation:
            violations.append(
                Violation(field=f"scope[{index}]", rule=violation.rule, message=violation.message)
            )
    policy = admit_policy_version(policy_version, demo_allowed=demo_allowed)
    if pass_mark is not None:
        if body_type != "Y":
            violations.append(
                Violation(
                    field="pass_mark",
                    rule=Rule.ENTERPRISE_PASS_MARK_ENTERPRISE_ONLY,
                    message="only an enterprise's self-evaluation sets its own pass mark",
                )
            )
        else:
            try:
                effective_pass_mark(policy.pass_mark, pass_mark, score_max=policy.score_max)
            except RuleViolation as violation:
                violations.append(violation.as_violation())
    levels = {level for _, level in scope}
    for index, (code, national_level) in enumerate(sub_levels):
        if body_type != "Y":
            violations.append(
                Violation(
                    field=f"sub_levels[{index}]",
                    rule=Rule.ENTERPRISE_SUB_LEVEL_ENTERPRISE_ONLY,
                    message="only an enterprise's self-evaluation adds sub-levels",
                )
            )
        elif national_level not in levels:
            violations.append(
                Violation(
                    field=f"sub_levels[{index}].national_level",
                    rule=Rule.ENTERPRISE_SUB_LEVEL_UNMAPPED,
                    message=f"sub-level {code} maps to level {national_level}, "
                    "which is not in the filed scope",
                )
            )
    if violations:
        raise RuleViolations(violations)
