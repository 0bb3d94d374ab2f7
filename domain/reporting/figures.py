"""Weekly and monthly report figures of one OEM, computed in SQL (DESIGN.md "Definitions").

A period is a half-open range of local dates ``[start, end)`` (a week Monday-Sunday or a
calendar month in the configured zone, default ``Asia/Kolkata``). Its local bounds are turned
into UTC once (``domain.calendar.period_bounds_utc``) and every event is counted by its own
timestamp falling in that range, on the indexed columns:

* leads received (``lead.received_at``), surveys completed (``survey.completed_at``),
  installations completed (``installation.completed_at``), closure packs submitted
  (``closure_pack.submitted_to_oem_at``), all per zone of the lead (``GROUP BY``);
* revenue: installations completed grouped per (zone, install level, completion local date),
  each group priced in SQL by a correlated subquery for the rate in force on that date
  (``oem_rate`` with the greatest ``valid_from`` <= the date), summed per zone;
* SLA and average days: counted per zone in SQL, business days from the ``business_day``
  calendar table (``domain.business_calendar``; the difference of the running business-day
  ordinals of the zone state's calendar on the lead's received and the completion local
  dates, stored on the lead and installation rows: ``domain.kpi.queries.sla_sql``), as the
  KPI dashboards do. The breaches
  list is one more statement that keeps only the installations over the target.

Seeds: 000 (WeeklyReport/MonthlyReport fields), DESIGN.md "Definitions".
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from domain.accounts.models import Oem, OemRate, Zone
from domain.calendar import period_bounds_utc
from domain.errors import NotFound
from domain.installations.models import Installation
from domain.kpi.queries import local_date_sql, sla_sql
from domain.kpi.sla import average_days, compliance_rate
from domain.leads.models import Lead
from domain.money import to_inr
from domain.reporting.models import ClosurePack
from domain.surveys.models import Survey


@dataclass(frozen=True)
class ZoneFigures:
    """One zone's share of a period (the per-zone breakdown). Money in INR."""

    zone_code: str
    zone_name: str
    leads_received: int
    surveys_completed: int
    installations_completed: int
    closure_packs_submitted: int
    sla_met: int
    total_revenue: str  # Decimal as a string (JSON-able, exact)


@dataclass(frozen=True)
class SlaBreach:
    """A completed installation that missed the OEM's installation SLA."""

    installation_ref: str
    lead_ref: str
    customer_name: str
    zone_code: str
    received_on: str  # ISO local date
    completed_on: str  # ISO local date
    business_days: int
    target_days: int


@dataclass(frozen=True)
class PeriodFigures:
    """Everything a weekly or monthly report shows for one OEM and one local period.

    ``period_end`` is exclusive. Percent and day figures are ``None`` when nothing was
    completed. ``total_revenue`` is INR (2 places); ``unpriced_installations`` counts
    completions without a rate in force (no level or no rate), which add nothing to revenue.
    """

    oem_id: uuid.UUID
    period_start: date
    period_end: date
    leads_received: int
    surveys_completed: int
    installations_completed: int
    closure_packs_submitted: int
    total_revenue: Decimal
    unpriced_installations: int
    average_installation_time_days: Decimal | None
    sla_met: int
    sla_compliance_rate: Decimal | None
    sla_target_days: int
    zones: tuple[ZoneFigures, ...]
    breaches: tuple[SlaBreach, ...]

    def details(self) -> dict[str, Any]:
        """The JSON snapshot stored in ``details`` (deterministic order: equal data, equal
        dict)."""
        return {
            "period_end": self.period_end.isoformat(),
            "sla_met": self.sla_met,
            "sla_target_days": self.sla_target_days,
            "unpriced_installations": self.unpriced_installations,
            "zones": [asdict(z) for z in self.zones],
            "sla_breaches": [asdict(b) for b in self.breaches],
        }


def _counts_by_zone(
    session: Session, ts: Any, oem_id: uuid.UUID, lo: Any, hi: Any, lead_fk: Any | None
) -> dict[uuid.UUID, int]:
    stmt = select(Lead.zone_id, func.count()).select_from(ts.table)
    if lead_fk is not None:
        stmt = stmt.join(Lead, Lead.id == lead_fk)
    stmt = stmt.where(ts >= lo, ts < hi, Lead.oem_id == oem_id).group_by(Lead.zone_id)
    return {r[0]: int(r[1]) for r in session.execute(stmt)}


def period_figures(
    session: Session, *, oem_id: uuid.UUID, period_start: date, period_end: date
) -> PeriodFigures:
    """Compute one OEM's figures for the local dates ``[period_start, period_end)``.

    No permission check: callers (``domain.reporting.reports``) check ``report.compile``.

    Raises:
        NotFound: unknown OEM.
    """
    sla = sla_sql(session, first=period_start, end=period_end)  # before the first query
    oem = session.get(Oem, oem_id)
    if oem is None:
        raise NotFound("OEM not found")
    target = int(oem.sla_install_days)
    dialect = session.get_bind().dialect.name
    lo, hi = period_bounds_utc(period_start, period_end)

    leads = _counts_by_zone(session, Lead.received_at, oem_id, lo, hi, None)
    surveys = _counts_by_zone(session, Survey.completed_at, oem_id, lo, hi, Survey.lead_id)
    installs = _counts_by_zone(
        session, Installation.completed_at, oem_id, lo, hi, Installation.lead_id
    )
    packs = _counts_by_zone(
        session, ClosurePack.submitted_to_oem_at, oem_id, lo, hi, ClosurePack.lead_id
    )

    # Revenue, priced in SQL per (zone, level, completion local date).
    completed_day = local_date_sql(Installation.completed_at, dialect, period_start, period_end)
    daily = (
        select(
            Lead.zone_id.label("zone_id"),
            Installation.install_level.label("level"),
            completed_day.label("day"),
            func.count().label("n"),
        )
        .select_from(Installation)
        .join(Lead, Lead.id == Installation.lead_id)
        .where(Installation.completed_at >= lo, Installation.completed_at < hi)
        .where(Lead.oem_id == oem_id)
        .group_by(Lead.zone_id, Installation.install_level, completed_day)
        .subquery()
    )
    price = (
        select(OemRate.price)
        .where(
            OemRate.oem_id == oem_id,
            OemRate.install_level == daily.c.level,
            OemRate.valid_from <= daily.c.day,
        )
        .order_by(OemRate.valid_from.desc())
        .limit(1)
        .scalar_subquery()
    )
    priced = select(daily.c.zone_id, daily.c.n, price.label("price")).subquery()
    revenue_rows = session.execute(
        select(
            priced.c.zone_id,
            func.sum(priced.c.price * priced.c.n),
            func.sum(case((priced.c.price.is_(None), priced.c.n), else_=0)),
        ).group_by(priced.c.zone_id)
    ).all()
    revenue = {r[0]: to_inr(r[1]) for r in revenue_rows}
    unpriced = sum(int(r[2] or 0) for r in revenue_rows)

    # SLA and average days per zone in SQL: business days from the ``business_day`` calendar
    # (difference of the running ordinals stored on the rows, ``domain.kpi.queries.sla_sql``).
    met = sla.met(Oem.sla_install_days)

    def completions(*columns: Any) -> Any:
        return sla.join(
            select(*columns)
            .select_from(Installation)
            .join(Lead, Lead.id == Installation.lead_id)
            .join(Zone, Zone.id == Lead.zone_id)
            .join(Oem, Oem.id == Lead.oem_id)
        ).where(
            Installation.completed_at >= lo,
            Installation.completed_at < hi,
            Lead.oem_id == oem_id,
        )

    met_by_zone: dict[uuid.UUID, int] = {}
    total_days = 0
    total_done = 0
    for zone_id, n, n_met, days in session.execute(
        completions(
            Lead.zone_id, func.count(), func.sum(met), func.sum(sla.calendar_days)
        ).group_by(Lead.zone_id)
    ):
        total_done += int(n)
        total_days += int(days or 0)
        if n_met:
            met_by_zone[zone_id] = int(n_met)

    zone_rows = {
        r[0]: (r[1], r[2])
        for r in session.execute(
            select(Zone.id, Zone.code, Zone.name).where(
                Zone.id.in_(set(leads) | set(surveys) | set(installs) | set(packs))
            )
        )
    }

    breaches = [
        SlaBreach(
            installation_ref=row[0],
            lead_ref=row[1],
            customer_name=row[2],
            zone_code=zone_rows[row[3]][0],
            received_on=row[4].isoformat(),
            completed_on=row[5].isoformat(),
            business_days=int(row[6]),
            target_days=target,
        )
        for row in session.execute(
            completions(
                Installation.ref,
                Lead.ref,
                Lead.customer_name,
                Lead.zone_id,
                sla.received_day,
                sla.completed_day,
                sla.business_days,
            )
            .where(sla.business_days > Oem.sla_install_days)
            .order_by(Installation.ref)
        )
    ]

    zones = tuple(
        sorted(
            (
                ZoneFigures(
                    zone_code=code,
                    zone_name=name,
                    leads_received=leads.get(zid, 0),
                    surveys_completed=surveys.get(zid, 0),
                    installations_completed=installs.get(zid, 0),
                    closure_packs_submitted=packs.get(zid, 0),
                    sla_met=met_by_zone.get(zid, 0),
                    total_revenue=str(revenue.get(zid, to_inr(0))),
                )
                for zid, (code, name) in zone_rows.items()
            ),
            key=lambda z: z.zone_code,
        )
    )
    met = sum(met_by_zone.values())
    return PeriodFigures(
        oem_id=oem_id,
        period_start=period_start,
        period_end=period_end,
        leads_received=sum(leads.values()),
        surveys_completed=sum(surveys.values()),
        installations_completed=sum(installs.values()),
        closure_packs_submitted=sum(packs.values()),
        total_revenue=to_inr(sum(revenue.values(), Decimal("0"))),
        unpriced_installations=unpriced,
        average_installation_time_days=average_days(total_days, total_done),
        sla_met=met,
        sla_compliance_rate=compliance_rate(met, total_done),
        sla_target_days=target,
        zones=zones,
        breaches=tuple(breaches),
    )
