"""Rules count Chinese calendar days, not UTC ones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from policy.calendar import CHINA, china_date, china_midnight


def test_the_china_date_is_a_day_ahead_of_utc_before_08_00_utc() -> None:
    assert china_date(datetime(2025, 12, 31, 16, 30, tzinfo=UTC)) == date(2026, 1, 1)
    assert china_date(datetime(2025, 12, 31, 15, 59, tzinfo=UTC)) == date(2025, 12, 31)


def test_any_zone_in_gives_the_same_china_date() -> None:
    new_york = timezone(timedelta(hours=-5))
    assert china_date(datetime(2025, 6, 30, 12, 0, tzinfo=new_york)) == date(2025, 7, 1)


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        china_date(datetime(2025, 1, 1, 12, 0))


def test_a_china_day_starts_at_16_00_utc_the_day_before() -> None:
    assert china_midnight(date(2026, 1, 1)) == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    assert CHINA.utcoffset(datetime(2026, 7, 1)) == timedelta(hours=8)
