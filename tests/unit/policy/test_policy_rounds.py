"""A round's outcome, what a failed round leads to, and what is still to sit."""

from __future__ import annotations

from datetime import date

import pytest

from policy.assessment import FailedRound, after_failed_round, round_outcome, still_to_sit

BOTH = ("theory", "practical")
PASS = 60


@pytest.mark.parametrize(
    ("scores", "awaiting", "ordered", "outcome"),
    [
        ({"theory": 70, "practical": 80}, [], False, "passed"),
        ({"theory": 70, "practical": 50}, [], False, "failed"),
        # One component in: the round is still open, whatever its score...
        ({"theory": 50}, ["practical"], False, None),
        ({"theory": 70}, ["practical"], True, None),
        # ...unless theory failed where the practical may only follow a passed theory.
        ({"theory": 50}, ["practical"], True, "failed"),
        # A failed practical before theory is in does not end the round.
        ({"practical": 50}, ["theory"], True, None),
    ],
)
def test_round_outcome(
    scores: dict[str, float], awaiting: list[str], ordered: bool, outcome: str | None
) -> None:
    assert (
        round_outcome(BOTH, scores, awaiting, pass_mark=PASS, theory_before_practical=ordered)
        == outcome
    )


def test_still_to_sit_keeps_the_order_given_and_counts_never_sat() -> None:
    scores = {"theory": 59.5, "practical": 60}
    assert still_to_sit(("review", "theory", "practical"), scores, PASS) == ["review", "theory"]
    assert still_to_sit(("practical",), scores, PASS) == []


def _failed(attempts: dict[str, int], today: date, awaiting: tuple[str, ...] = ()) -> FailedRound:
    return after_failed_round(
        ("theory", "practical", "review"),
        {"theory": 50, "practical": 80},
        attempts,
        awaiting,
        pass_mark=PASS,
        max_resits=1,
        today=today,
        deadline=date(2026, 6, 30),
    )


def test_a_failed_round_is_re_sat_within_the_window_with_resits_left() -> None:
    after = _failed({"theory": 1, "practical": 1}, date(2026, 6, 30))
    # Passed components stand; failed and never-sat ones are taken in the re-sit.
    assert after == FailedRound(failed=["theory"], resit=True, awaiting=["theory", "review"])


def test_no_resit_after_the_window_or_once_resits_are_used() -> None:
    late = _failed({"theory": 1, "practical": 1}, date(2026, 7, 1))
    used = _failed({"theory": 2, "practical": 1}, date(2026, 6, 1))
    for after in (late, used):
        assert after == FailedRound(failed=["theory"], resit=False, awaiting=[])


def test_a_component_still_awaited_is_not_counted_failed() -> None:
    after = _failed({"theory": 1, "practical": 1}, date(2026, 6, 1), awaiting=("theory",))
    assert after.failed == []
