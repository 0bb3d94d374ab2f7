"""Business days and local-time bucketing (DESIGN.md "Definitions").

Business days are Monday-Saturday minus Indian public holidays from the ``holidays`` package
(with the zone's state subdivision where known). Weeks run Monday-Sunday in the configured
local zone (default ``Asia/Kolkata``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from db.settings import get_settings


def local_zone() -> ZoneInfo:
    """The configured display/bucketing time zone."""
    return ZoneInfo(get_settings().timezone)


def to_local(moment: datetime) -> datetime:
    """Convert an aware UTC datetime to local time."""
    return moment.astimezone(local_zone())


def local_date(moment: datetime) -> date:
    """Local calendar date of an aware datetime."""
    return to_local(moment).date()


def local_midnight_utc(day: date) -> datetime:
    """The UTC instant at which local ``day`` starts."""
    return datetime.combine(day, time.min, tzinfo=local_zone()).astimezone(UTC)


def week_start(day: date) -> date:
    """Monday of the week containing ``day``."""
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    """First day of the month containing ``day``."""
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """First day of the month ``months`` after the month of ``day``."""
    idx = day.year * 12 + (day.month - 1) + months
    return date(idx // 12, idx % 12 + 1, 1)


def period_bounds_utc(start: date, end_exclusive: date) -> tuple[datetime, datetime]:
    """UTC half-open range [start, end) covering local days ``start`` .. ``end_exclusive``-1."""
    return local_midnight_utc(start), local_midnight_utc(end_exclusive)


@lru_cache(maxsize=64)
def _holiday_set(subdiv: str | None, year: int) -> frozenset[date]:
    try:
        cal = holidays.country_holidays("IN", subdiv=subdiv, years=year)
    except NotImplementedError:
        cal = holidays.country_holidays("IN", years=year)
    return frozenset(cal.keys())


def is_business_day(day: date, subdiv: str | None = None) -> bool:
    """True for Monday-Saturday that is not an Indian public holiday (state ``subdiv``)."""
    return day.weekday() != 6 and day not in _holiday_set(subdiv, day.year)


def business_days_between(start: date, end: date, subdiv: str | None = None) -> int:
    """Business days after ``start`` up to and including ``end`` (0 if ``end`` <= ``start``).

    A lead received on a Friday and installed the next Monday took 2 business days
    (Saturday, Monday), holidays excepted.
    """
    if end <= start:
        return 0
    n = 0
    day = start + timedelta(days=1)
    while day <= end:
        if is_business_day(day, subdiv):
            n += 1
        day += timedelta(days=1)
    return n


def add_business_days(start: date, days: int, subdiv: str | None = None) -> date:
    """The date ``days`` business days after ``start`` (the SLA deadline for a target)."""
    day = start
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_business_day(day, subdiv):
            remaining -= 1
    return day
