"""Title equivalence (职称贯通): a skill level held long enough opens an engineering title.

Data in ``data/titles.json``. A certificate at the rule's level or higher counts from its
issue date; "held N years" means N calendar anniversaries, as eligibility counts them.
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from policy.certificate_number import IssuedCertificate
from policy.eligibility import years_between
from policy.versioned_data import read_policy_file

Title = Literal["assistant_engineer", "engineer", "senior_engineer"]


class TitleRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    title: Title
    level: int = Field(ge=1, le=5)
    years_held: int = Field(ge=1)


class TitleTable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    description: str
    rules: tuple[TitleRule, ...]


class HeldLevel(IssuedCertificate):
    """A certificate the worker holds (not revoked)."""


class TitleDue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    title: Title
    certificate: HeldLevel


_TABLE: Final = TitleTable.model_validate(read_policy_file("titles.json"))


def title_table() -> TitleTable:
    return _TABLE


def held_since_cutoff(years_held: int, as_of: date) -> date:
    """The latest issue date that counts as held ``years_held`` years on ``as_of``.

    ``issued_on <= held_since_cutoff(n, d)`` exactly when ``years_between(issued_on, d) >= n``,
    so a database query by date agrees with the rule. A 29 February certificate has its
    anniversary on 28 February of a common year, hence the two leap-day cases.
    """
    year = as_of.year - years_held
    if (as_of.month, as_of.day) == (2, 29) and not calendar.isleap(year):
        return date(year, 2, 28)
    if (
        (as_of.month, as_of.day) == (2, 28)
        and calendar.isleap(year)
        and not calendar.isleap(as_of.year)
    ):
        return date(year, 2, 29)
    return date(year, as_of.month, as_of.day)


def due_titles(
    held: list[HeldLevel], as_of: date, table: TitleTable | None = None
) -> list[TitleDue]:
    """Each title the worker may apply for on ``as_of``, with the earliest certificate that
    opens it (ties broken by certificate number, so the answer is stable)."""
    table = table or _TABLE
    due: list[TitleDue] = []
    for rule in table.rules:
        qualifying = sorted(
            (
                c
                for c in held
                if c.level <= rule.level and years_between(c.issued_on, as_of) >= rule.years_held
            ),
            key=lambda c: (c.issued_on, c.certificate_number),
        )
        if qualifying:
            due.append(TitleDue(title=rule.title, certificate=qualifying[0]))
    return due
