"""Eligibility to register for a level (申报条件), decided by a versioned table of paths.

Tables live in ``data/eligibility/<version>.json``; each occupation names the table its
standard uses. A candidate qualifies through any one path of the level; a path holds
when all of its conditions hold.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from policy.catalogue import NATIONAL_LEVELS
from policy.errors import RuleViolation, known_or_refused
from policy.rule_ids import Rule
from policy.versioned_data import VERSION_SHAPE, read_versions

Education = Literal[
    "none",
    "technical_school_diploma",
    "technical_school_student",
    "senior_technical_school_diploma",
    "senior_technical_school_graduate",
    "college",
    "bachelor_or_higher",
]


class HeldCertificate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    occupation_code: str
    level: int = Field(ge=1, le=5)
    issued_on: date


class CandidateHistory(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    occupation_code: str = Field(description="Occupation the candidate registers for")
    years_in_occupation: float = Field(ge=0, description="Years worked in it, on the check date")
    education: Education = "none"
    apprenticeship_completed: bool = False
    preparatory_technician_certificate_on: date | None = None
    certificates: list[HeldCertificate] = Field(default_factory=list)


class PathConditions(BaseModel):
    """Conditions of one path; absent conditions do not apply."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    years_in_occupation: float | None = Field(default=None, ge=0)
    apprenticeship: Literal[True] | None = None
    prior_level: int | None = Field(default=None, ge=1, le=5)
    years_since_prior: float | None = Field(default=None, ge=0)
    education: tuple[Education, ...] | None = Field(
        default=None, min_length=1, description="Any one of these education levels"
    )
    preparatory_technician_certificate: Literal[True] | None = None
    years_since_preparatory_technician: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("a path needs at least one condition")
        if self.years_since_prior is not None and self.prior_level is None:
            raise ValueError("years_since_prior needs prior_level")
        if (
            self.years_since_preparatory_technician is not None
            and self.preparatory_technician_certificate is None
        ):
            raise ValueError("years_since_preparatory_technician needs the certificate")
        return self


class EligibilityPath(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^L[1-5]\.[A-Za-z0-9_]+$", description="Stable path id")
    conditions: PathConditions


class EligibilityTable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    description: str
    levels: dict[int, tuple[EligibilityPath, ...]]

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if sorted(self.levels) != sorted(NATIONAL_LEVELS):
            raise ValueError("a table lists paths for each of levels 1-5")
        ids = [path.id for paths in self.levels.values() for path in paths]
        if len(set(ids)) != len(ids):
            raise ValueError("path ids must be unique within a table")
        for level, paths in self.levels.items():
            if not paths:
                raise ValueError(f"level {level} has no path")
            for path in paths:
                if not path.id.startswith(f"L{level}."):
                    raise ValueError(f"path {path.id} is listed under level {level}")
                prior = path.conditions.prior_level
                # Level 5 is the lowest, so a prerequisite certificate has a larger number.
                if prior is not None and prior <= level:
                    raise ValueError(f"path {path.id} requires a level not below {level}")
        return self


class EligibilityDecision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    eligible: bool
    level: int
    table_version: str
    path: str | None = Field(description="Id of the first path that holds")
    reasons: list[str] = Field(
        default_factory=list, description="When refused: what each path lacks, one per path"
    )


def _load() -> dict[str, EligibilityTable]:
    # Read every version at import so that rules called inside a workflow never do I/O.
    return read_versions("eligibility", EligibilityTable.model_validate)


_TABLES: Final = _load()


def load_eligibility_table(version: str) -> EligibilityTable:
    return known_or_refused(
        _TABLES,
        version,
        field="eligibility_table",
        rule=Rule.ELIGIBILITY_UNKNOWN_TABLE,
        message="eligibility table{key} does not exist",
        shape=VERSION_SHAPE,
    )


def years_between(start: date, end: date) -> float:
    """Whole years by calendar anniversary plus the elapsed share of the next year.

    An anniversary of 29 February falls on 28 February in other years. Negative when
    end is before start.
    """
    if end < start:
        return -years_between(end, start)
    whole = end.year - start.year
    if _anniversary(start, whole) > end:
        whole -= 1
    last, following = _anniversary(start, whole), _anniversary(start, whole + 1)
    return whole + (end - last).days / (following - last).days


def _anniversary(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return date(start.year + years, 2, 28)


def check_eligibility(
    level: int, history: CandidateHistory, on_date: date, table_version: str
) -> EligibilityDecision:
    if level not in NATIONAL_LEVELS:
        raise RuleViolation("level", Rule.LEVEL_RANGE, "level must be 1-5")
    table = load_eligibility_table(table_version)
    reasons: list[str] = []
    for path in table.levels[level]:
        shortfalls = _shortfalls(path.conditions, history, on_date)
        if not shortfalls:
            return EligibilityDecision(
                eligible=True, level=level, table_version=table.version, path=path.id
            )
        reasons.append(f"{path.id}: " + "; ".join(shortfalls))
    return EligibilityDecision(
        eligible=False, level=level, table_version=table.version, path=None, reasons=reasons
    )


def assert_eligible(
    level: int, history: CandidateHistory, on_date: date, table_version: str
) -> EligibilityDecision:
    decision = check_eligibility(level, history, on_date, table_version)
    if not decision.eligible:
        raise RuleViolation(
            "level",
            Rule.ELIGIBILITY_NO_PATH,
            f"not eligible for level {level} in {history.occupation_code} under "
            f"{table_version}: " + " | ".join(decision.reasons),
        )
    return decision


def _shortfalls(conditions: PathConditions, history: CandidateHistory, on_date: date) -> list[str]:
    """What the candidate lacks for one path; empty when the path holds."""
    lacking: list[str] = []
    occupation = history.occupation_code
    if (
        conditions.years_in_occupation is not None
        and history.years_in_occupation < conditions.years_in_occupation
    ):
        lacking.append(
            f"needs {conditions.years_in_occupation:g} years in {occupation} "
            f"(has {_shown(history.years_in_occupation)})"
        )
    if conditions.apprenticeship and not history.apprenticeship_completed:
        lacking.append("needs a completed apprenticeship")
    if conditions.prior_level is not None:
        lacking += _certificate_shortfall(
            f"a level-{conditions.prior_level} certificate in {occupation}",
            _earliest_issue(history, conditions.prior_level, on_date),
            conditions.years_since_prior,
            on_date,
        )
    if conditions.education is not None and history.education not in conditions.education:
        lacking.append(
            f"needs education {' or '.join(conditions.education)} (has {history.education})"
        )
    if conditions.preparatory_technician_certificate:
        obtained_on = history.preparatory_technician_certificate_on
        lacking += _certificate_shortfall(
            "a preparatory-technician certificate",
            None if obtained_on is not None and obtained_on > on_date else obtained_on,
            conditions.years_since_preparatory_technician,
            on_date,
        )
    return lacking


def _certificate_shortfall(
    certificate: str, obtained_on: date | None, years_needed: float | None, on_date: date
) -> list[str]:
    """What a path that asks for ``certificate`` (held ``years_needed`` years, when it says)
    finds lacking; ``obtained_on`` is None when the candidate has none by ``on_date``."""
    if years_needed is None:
        return [] if obtained_on is not None else [f"needs {certificate}"]
    held = "none" if obtained_on is None else _shown(years_between(obtained_on, on_date))
    if obtained_on is None or years_between(obtained_on, on_date) < years_needed:
        return [f"needs {years_needed:g} years since {certificate} (has {held})"]
    return []


def _earliest_issue(history: CandidateHistory, level: int, on_date: date) -> date | None:
    # Only the same occupation counts, and a certificate dated after the check does not.
    dates = [
        certificate.issued_on
        for certificate in history.certificates
        if certificate.occupation_code == history.occupation_code
        and certificate.level == level
        and certificate.issued_on <= on_date
    ]
    return min(dates, default=None)


def _shown(years: float) -> str:
    # Round down so 3.97 years never reads as "has 4.0" next to "needs 4".
    return f"{math.floor(years * 10) / 10:.1f}"
