"""Plain, frozen results of the KPI queries (no ORM objects; safe to cache and pickle).

Units: counts are ``int``; money is INR ``Decimal`` rounded to paise; rates are percent
``Decimal`` with 2 decimal places; durations are calendar days ``Decimal`` with 1 decimal place.
All dates are local dates in the configured zone (default ``Asia/Kolkata``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class PeriodCounts:
    """How many events fell in this/last local week (Monday-Sunday) and this/last month."""

    this_week: int
    last_week: int
    this_month: int
    last_month: int


@dataclass(frozen=True)
class OemMonthFigures:
    """One OEM's installation figures for the current local month (DESIGN.md "Definitions").

    Attributes:
        installations_completed: installations whose ``completed_at`` falls in the month.
        sla_met: of those, how many took <= ``sla_install_days`` business days from the lead's
            received local date to the completion local date.
        sla_compliance_rate: ``sla_met / installations_completed * 100`` (percent, 2 dp), or
            ``None`` when nothing was completed.
        total_revenue: sum (INR) of the rate in force on each completion date for the
            installation's install level.
        unpriced_installations: completions with no install level or no rate in force (they
            add nothing to revenue; shown so a missing rate card is visible).
        average_installation_time_days: mean calendar days from lead received to installation
            completed (local dates, 1 dp), or ``None``.
    """

    oem_id: uuid.UUID
    oem_code: str
    oem_name: str
    sla_install_days: int
    installations_completed: int
    sla_met: int
    sla_compliance_rate: Decimal | None
    total_revenue: Decimal
    unpriced_installations: int
    average_installation_time_days: Decimal | None


@dataclass(frozen=True)
class BacklogCount:
    """Open work by status: ``entity`` is ``"lead"`` or ``"installation"``."""

    entity: str
    status: str
    count: int


@dataclass(frozen=True)
class MonthlyPoint:
    """One OEM's installations completed and revenue (INR) in one local month."""

    month: date
    oem_id: uuid.UUID
    oem_code: str
    installations_completed: int
    revenue: Decimal


@dataclass(frozen=True)
class Overview:
    """The manager overview for ``today`` (local date) and the given scope.

    Attributes:
        today: the reference local date.
        week_start / month_start: Monday of this week and first day of this month.
        oem_id / zone_id: the effective filters (``oem_id`` forced for ``oem_viewer``).
        leads_received, surveys_completed, installations_completed, closure_packs_submitted:
            counts by ``lead.received_at``, ``survey.completed_at``,
            ``installation.completed_at`` and ``closure_pack.submitted_to_oem_at``.
        by_oem: this month's figures per OEM in scope, ordered by OEM code (every OEM in
            scope appears, with zeros when idle).
        installations_this_month / sla_met_this_month / sla_compliance_rate / total_revenue:
            the same figures over all OEMs in scope.
        backlog: open leads and installations (status not closed/cancelled) by status, in
            lifecycle order, statuses with zero rows omitted.
        trend: 12 local months ending with this month x every OEM in scope (zeros included),
            ordered by month then OEM code.
    """

    today: date
    week_start: date
    month_start: date
    oem_id: uuid.UUID | None
    zone_id: uuid.UUID | None
    leads_received: PeriodCounts
    surveys_completed: PeriodCounts
    installations_completed: PeriodCounts
    closure_packs_submitted: PeriodCounts
    by_oem: tuple[OemMonthFigures, ...]
    installations_this_month: int
    sla_met_this_month: int
    sla_compliance_rate: Decimal | None
    total_revenue: Decimal
    backlog: tuple[BacklogCount, ...]
    trend: tuple[MonthlyPoint, ...]


@dataclass(frozen=True)
class Option:
    """A filter choice: id and label."""

    id: uuid.UUID
    label: str


@dataclass(frozen=True)
class FilterOptions:
    """OEMs and zones an actor may filter the overview by; ``oem_fixed`` for oem_viewer."""

    oems: tuple[Option, ...]
    zones: tuple[Option, ...]
    oem_fixed: bool
