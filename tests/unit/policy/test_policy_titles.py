from datetime import date, timedelta

import pytest

from policy.eligibility import years_between
from policy.titles import HeldLevel, due_titles, held_since_cutoff, title_table


def _held(level: int, issued_on: date, number: str = "S000121000001253000001") -> HeldLevel:
    return HeldLevel(
        certificate_number=number, occupation_code="6-31-01-03", level=level, issued_on=issued_on
    )


def _titles(held: list[HeldLevel], as_of: date) -> list[str]:
    return [d.title for d in due_titles(held, as_of)]


def test_table_holds_the_three_equivalences() -> None:
    assert [(r.title, r.level, r.years_held) for r in title_table().rules] == [
        ("assistant_engineer", 3, 2),
        ("engineer", 2, 3),
        ("senior_engineer", 1, 4),
    ]


def test_level_3_held_two_years_opens_assistant_engineer() -> None:
    assert _titles([_held(3, date(2023, 6, 1))], date(2025, 5, 31)) == []
    assert _titles([_held(3, date(2023, 6, 1))], date(2025, 6, 1)) == ["assistant_engineer"]


def test_level_2_held_three_years_opens_engineer() -> None:
    held = [_held(2, date(2022, 6, 1))]
    assert _titles(held, date(2025, 5, 31)) == ["assistant_engineer"]
    assert _titles(held, date(2025, 6, 1)) == ["assistant_engineer", "engineer"]


def test_level_1_held_four_years_opens_senior_engineer() -> None:
    held = [_held(1, date(2021, 6, 1))]
    assert "senior_engineer" not in _titles(held, date(2025, 5, 31))
    assert _titles(held, date(2025, 6, 1)) == ["assistant_engineer", "engineer", "senior_engineer"]


def test_lower_levels_do_not_count() -> None:
    assert _titles([_held(4, date(2000, 1, 1))], date(2025, 6, 1)) == []


def test_earliest_certificate_is_named() -> None:
    older = _held(3, date(2020, 1, 1), "S000121000001203000001")
    newer = _held(3, date(2022, 1, 1), "S000121000001223000002")
    due = due_titles([newer, older], date(2025, 1, 1))
    assert due[0].certificate == older


@pytest.mark.parametrize("years", [2, 3, 4])
def test_cutoff_agrees_with_years_between(years: int) -> None:
    # Every day across leap and common years: the date query and the rule never disagree.
    start = date(2027, 1, 1)
    for offset in range(2200):
        as_of = start + timedelta(days=offset)
        cutoff = held_since_cutoff(years, as_of)
        for issued_on in (cutoff - timedelta(days=1), cutoff, cutoff + timedelta(days=1)):
            assert (issued_on <= cutoff) == (years_between(issued_on, as_of) >= years), (
                as_of,
                issued_on,
            )
