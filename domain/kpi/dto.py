"""Plain, frozen results of the KPI queries (no ORM objects; safe to cache and pickle).

Units: counts are ``int``; money is INR ``Decimal`` rounded to paise; rates are percent
``Decimal`` with 2 decimal places; durations are calendar days ``Decimal`` with 1 decimal place.
All dates are local dates in the configured zone (default ``Asia/Kolkata``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
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


# --------------------------------------------------------------------------- KPI dashboards
# Results of ``domain.kpi.dashboards.dashboard`` (the KPIs page). Same units as above.


@dataclass(frozen=True)
class SlaGroup:
    """Installation SLA compliance of one group (an OEM, a zone or a local month).

    Attributes:
        key: the group's label: OEM code, zone code or ``"YYYY-MM"``.
        group_id: the OEM or zone id (``None`` for a month).
        month: first day of the local month (``None`` for an OEM or zone group).
        installations_completed: installations completed in the period (local time).
        sla_met / sla_breached: of those, within / beyond the OEM's target business days.
        sla_compliance_rate: ``sla_met / installations_completed * 100`` (2 dp) or ``None``.
    """

    key: str
    group_id: uuid.UUID | None
    month: date | None
    installations_completed: int
    sla_met: int
    sla_breached: int
    sla_compliance_rate: Decimal | None


@dataclass(frozen=True)
class SlaBreach:
    """One installation completed beyond its OEM's installation SLA.

    ``lead_received`` and ``completed`` are local (configured zone) aware datetimes;
    ``business_days`` counts business days after the received local date up to and including
    the completion local date (DESIGN.md "Definitions"); ``target_days`` is
    ``oem.sla_install_days``; ``calendar_days`` the plain difference of the local dates.
    """

    installation_id: uuid.UUID
    installation_ref: str
    oem_code: str
    zone_code: str
    lead_received: datetime
    completed: datetime
    business_days: int
    target_days: int
    calendar_days: int


@dataclass(frozen=True)
class RevenuePoint:
    """One OEM's installations completed and revenue (INR) in one local month of the period.

    ``unpriced_installations``: completions with no install level or no rate in force (they
    add nothing to ``revenue``).
    """

    month: date
    oem_id: uuid.UUID
    oem_code: str
    installations_completed: int
    revenue: Decimal
    unpriced_installations: int


@dataclass(frozen=True)
class InstallTimeByOem:
    """Mean calendar days from lead received to installation completed (local dates), per OEM.

    ``average_days`` is ``total_days / installations_completed`` (1 dp) or ``None``.
    """

    oem_id: uuid.UUID
    oem_code: str
    installations_completed: int
    total_days: int
    average_days: Decimal | None


@dataclass(frozen=True)
class DayBucket:
    """A histogram bar: how many items fall in ``low`` .. ``high`` days (``high`` None: open)."""

    label: str
    low: int
    high: int | None
    count: int


@dataclass(frozen=True)
class FunnelStage:
    """Leads of the period's cohort that reached a stage.

    ``stage`` is ``lead``, ``survey``, ``installation`` or ``pack``; ``percent_of_leads`` is
    ``count / leads * 100`` (2 dp) or ``None`` when the cohort is empty.
    """

    stage: str
    count: int
    percent_of_leads: Decimal | None


@dataclass(frozen=True)
class AgeingCell:
    """Open installations of one status whose lead is ``bucket`` days old (e.g. ``"8-14"``)."""

    status: str
    bucket: str
    count: int


@dataclass(frozen=True)
class TeamWeekUtilisation:
    """One team's booked slots against its available slots in one week (Monday-Sunday).

    Attributes:
        working_days: Monday-Saturday days of the week that are not public holidays of the
            team zone's state and not inside a ``team_unavailability`` range.
        available_slots: ``working_days x`` the configured slots per day.
        booked_slots: ``team_slot_booking`` rows of the team dated in the week (surveys,
            installation assignments and service visits that hold a slot).
        utilisation_rate: ``booked_slots / available_slots * 100`` (2 dp) or ``None`` when no
            slot was available (it can exceed 100 when jobs sit on unavailable days).
    """

    team_id: uuid.UUID
    team_code: str
    zone_code: str
    week_start: date
    working_days: int
    available_slots: int
    booked_slots: int
    utilisation_rate: Decimal | None


@dataclass(frozen=True)
class StockShortage:
    """A stock row (material in a zone) whose projected quantity is <= its reorder level."""

    zone_code: str
    sku: str
    name: str
    unit: str
    quantity_available: int
    on_order: int
    projected: int
    reorder_level: int
    suggested_order: int


@dataclass(frozen=True)
class KpiDashboard:
    """Everything the KPIs page shows for one scope and period (see ``dashboards.dashboard``).

    Attributes:
        from_month / to_month: first days of the first and last local months (inclusive).
        today: the reference local date (backlog ages are counted to it).
        oem_id / zone_id: effective filters (``oem_id`` forced for ``oem_viewer``).
        sla_total: the SLA figures over the whole scope and period (key ``"All"``).
        sla_by_oem / sla_by_zone / sla_by_month: the same per OEM code, zone code and month
            (groups with completions only; months in order, every month of the period).
        breaches: installations beyond their SLA, latest completion first, at most the
            requested limit; ``breach_count`` is the full number.
        revenue: every month of the period x every OEM in scope (zeros included).
        install_time_by_oem / install_time_average / install_time_histogram: mean calendar
            days lead -> installation per OEM and overall, and the distribution.
        funnel: lead, survey, installation, pack counts of the leads received in the period.
        backlog_ageing: open installations by status and lead age bucket, as of ``today``.
        internal_visible: False for ``oem_viewer``: team utilisation and stock are company
            internals, left empty.
        utilisation: per active team in scope and week overlapping the period.
        stock_below_reorder: stock rows at or below their reorder level (zone filter only).
    """

    from_month: date
    to_month: date
    today: date
    oem_id: uuid.UUID | None
    zone_id: uuid.UUID | None
    sla_total: SlaGroup
    sla_by_oem: tuple[SlaGroup, ...]
    sla_by_zone: tuple[SlaGroup, ...]
    sla_by_month: tuple[SlaGroup, ...]
    breaches: tuple[SlaBreach, ...]
    breach_count: int
    revenue: tuple[RevenuePoint, ...]
    total_revenue: Decimal
    install_time_by_oem: tuple[InstallTimeByOem, ...]
    install_time_average: Decimal | None
    install_time_histogram: tuple[DayBucket, ...]
    funnel: tuple[FunnelStage, ...]
    backlog_ageing: tuple[AgeingCell, ...]
    internal_visible: bool
    utilisation: tuple[TeamWeekUtilisation, ...]
    stock_below_reorder: tuple[StockShortage, ...]
