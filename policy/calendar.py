"""The calendar the rules count in: the date in China, whatever the server's zone.

Deadlines, claim windows, ages and a certificate's issue date and year are all Chinese
calendar days. A UTC date is a day behind between 00:00 and 08:00 Beijing time, which is
when batch imports and overnight timers tend to run, so every rule that turns an instant
into a date goes through ``china_date``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _china() -> tzinfo:
    try:
        return ZoneInfo("Asia/Shanghai")
    except ZoneInfoNotFoundError:
        # China has kept UTC+8 without daylight saving since 1991, so a host without a
        # time-zone database still gets every date right.
        return timezone(timedelta(hours=8), "Asia/Shanghai")


# Built at import, outside any workflow sandbox: workflows only call its methods.
CHINA: Final[tzinfo] = _china()


def china_date(moment: datetime) -> date:
    """The calendar date in China at ``moment`` (which must be timezone-aware)."""
    if moment.tzinfo is None:
        raise ValueError("china_date needs a timezone-aware datetime")
    return moment.astimezone(CHINA).date()


def china_midnight(day: date) -> datetime:
    """The instant a Chinese calendar day starts."""
    return datetime.combine(day, time(), CHINA)
