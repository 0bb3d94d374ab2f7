"""SLA, pricing and averaging rules in Python: the rounding helpers every query uses, and the
business-day and rate rules of the pandas baselines and tests.

DESIGN.md "Definitions": an SLA is met when the business days (Monday-Saturday minus Indian
public holidays of the zone's state) from the lead's received local date to the event's local
date are <= the OEM's target. Revenue of an installation is the rate in force on its
completion date (``oem_rate`` with the greatest ``valid_from`` <= that date).

The domain's queries count business days in SQL instead, from the ``business_day`` calendar
table (``domain.business_calendar``, filled with ``domain.calendar.is_business_day``, the same
rule as ``BusinessDayIndex`` here); ``tests/domain/test_business_calendar.py`` holds the two
to each other.
"""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from domain.calendar import business_days_between, is_business_day
from domain.money import to_inr

RateKey = tuple[uuid.UUID, str]


def sla_met(received: date, event: date, target_days: int, subdiv: str | None) -> bool:
    """True when ``business_days_between(received, event, subdiv) <= target_days``.

    Args:
        received: local date the lead was received.
        event: local date of the event (e.g. installation completed).
        target_days: the OEM's target in business days (``oem.sla_install_days``).
        subdiv: the zone's ``holiday_subdiv`` (state code) or ``None`` for national holidays.
    """
    return business_days_between(received, event, subdiv) <= target_days


class BusinessDayIndex:
    """Constant-time ``business_days_between`` for many date pairs in one span and state.

    Builds, once, the running count of business days from ``first`` to ``last`` for the
    holiday subdivision ``subdiv``; ``between(a, b)`` then equals
    ``domain.calendar.business_days_between(a, b, subdiv)`` for any dates (outside the span it
    falls back to that function).
    """

    def __init__(self, subdiv: str | None, first: date, last: date) -> None:
        self.subdiv = subdiv
        self.first = first
        self.last = last
        running = 0
        self._cum: list[int] = []
        day = first
        while day <= last:
            if is_business_day(day, subdiv):
                running += 1
            self._cum.append(running)
            day += timedelta(days=1)

    def between(self, start: date, end: date) -> int:
        """Business days after ``start`` up to and including ``end`` (0 if ``end <= start``)."""
        if end <= start:
            return 0
        if start < self.first or end > self.last:
            return business_days_between(start, end, self.subdiv)
        base = self.first.toordinal()
        return self._cum[end.toordinal() - base] - self._cum[start.toordinal() - base]


def compliance_rate(met: int, total: int) -> Decimal | None:
    """``met / total * 100`` as a percent with 2 decimal places; ``None`` when ``total`` is 0."""
    if total <= 0:
        return None
    return (Decimal(met) * 100 / Decimal(total)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def average_days(total_days: int, count: int) -> Decimal | None:
    """Mean days with 1 decimal place (half up); ``None`` when ``count`` is 0."""
    if count <= 0:
        return None
    return (Decimal(total_days) / Decimal(count)).quantize(Decimal("0.1"), ROUND_HALF_UP)


class RateCard:
    """Rate lookup: price (INR) for (OEM, install level) in force on a date."""

    def __init__(self, rows: Iterable[tuple[uuid.UUID, str, date, Decimal]]) -> None:
        """Build from ``(oem_id, install_level, valid_from, price)`` rows (any order)."""
        table: dict[RateKey, list[tuple[date, Decimal]]] = {}
        for oem_id, level, valid_from, price in rows:
            table.setdefault((oem_id, level), []).append((valid_from, to_inr(price)))
        self._dates: dict[RateKey, list[date]] = {}
        self._prices: dict[RateKey, list[Decimal]] = {}
        for key, lines in table.items():
            lines.sort()
            self._dates[key] = [d for d, _ in lines]
            self._prices[key] = [p for _, p in lines]

    def price(self, oem_id: uuid.UUID, level: str | None, on: date) -> Decimal | None:
        """Price with the greatest ``valid_from <= on``; ``None`` if no level or no such rate."""
        if level is None:
            return None
        key = (oem_id, level)
        dates = self._dates.get(key)
        if not dates:
            return None
        i = bisect.bisect_right(dates, on)
        if i == 0:
            return None
        return self._prices[key][i - 1]
