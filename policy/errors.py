"""Rule failures that name the field and the rule, and never carry personal data."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError


class Violation(BaseModel):
    """One broken rule, in a form that can travel in API answers and Temporal payloads."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message} [{self.rule}]"


class RuleViolation(Exception):
    """Input broke one rule; ``rule`` is a stable machine code clients may branch on.

    The message is shown to people and may be logged, so it must never contain an ID
    number, a name or any other personal data.
    """

    def __init__(self, field: str, rule: str, message: str) -> None:
        # Passing every attribute to Exception keeps the error picklable and printable
        # when it crosses a process or Temporal boundary.
        super().__init__(field, rule, message)
        self.field = field
        self.rule = rule
        self.message = message

    def __str__(self) -> str:
        return f"{self.field}: {self.message} [{self.rule}]"

    def as_violation(self) -> Violation:
        return Violation(field=self.field, rule=self.rule, message=self.message)


class RuleViolations(Exception):
    """Input broke several rules at once, reported together so the caller fixes all."""

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__(violations)
        self.violations = list(violations)

    def __str__(self) -> str:
        return "; ".join(str(violation) for violation in self.violations)


class NotFound(Exception):
    """What the caller named does not exist (a session id, a claim, a dead letter): a 404.

    Deliberately not a ``LookupError``: a ``KeyError`` from a bug is one too, and must
    answer 500 rather than read as "not found". The message is shown to the caller, so it
    names the object by its id, never by personal data.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def violations_of(exc: ValidationError) -> list[Violation]:
    """A model's validation errors as broken rules, without the input values: a bad row
    or command may carry an ID number in any field."""
    return [
        Violation(
            field=".".join(str(p) for p in error["loc"]) or "body",
            rule=f"request.{error['type']}",
            message=error["msg"],
        )
        for error in exc.errors()
    ]


def as_violations(exc: RuleViolation | RuleViolations) -> list[Violation]:
    """One rule or several, as the list a row report or an answer carries."""
    if isinstance(exc, RuleViolation):
        return [exc.as_violation()]
    return exc.violations
