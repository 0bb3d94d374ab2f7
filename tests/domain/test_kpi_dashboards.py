"""KPI dashboards: hand-computed figures on the KPI fixture, on SQLite and PostgreSQL.

The fixture is ``tests.domain.test_kpi.build_kpi_world`` (leads L1..L12, installations named
after their lead: I2 I3 I4 I5 I6 I8 I10 I11 I12), plus, for utilisation and stock,
``add_teams_and_stock`` below. Period October-November 2026 unless said otherwise; today is
Saturday 2026-11-21 (local, Asia/Kolkata = UTC+05:30). Every expected number is derived by
hand in the comments.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine, event, func, select, update
from sqlalchemy.orm import Session

from db.engine import session_scope
from domain.accounts.models import FieldTeam, TeamUnavailability, Zone
from domain.business_calendar import BusinessDay, backfill_business_days
from domain.errors import PermissionDenied, ValidationError
from domain.installations.models import Installation
from domain.kpi.dashboards import dashboard, resolve_period
from domain.kpi.dto import KpiDashboard
from domain.kpi.queries import overview
from domain.leads.models import Lead
from domain.procurement.models import Material, MaterialStock
from domain.slots import TeamSlotBooking
from domain.surveys.models import Survey
from tests.domain.test_kpi import TODAY, KpiWorld, build_kpi_world, ist
from tests.factories import make_team

OCT = date(2026, 10, 1)
NOV = date(2026, 11, 1)


@dataclass(frozen=True)
class DashWorld:
    kpi: KpiWorld
    blr_team: uuid.UUID
    mum_team: uuid.UUID


def add_teams_and_stock(s: Session, w: KpiWorld) -> DashWorld:
    """Teams BLR-T1 (Karnataka) and MUM-T1 (Maharashtra), an inactive BLR-T9, slot bookings,
    an unavailability, and stock rows (see the utilisation and stock tests)."""
    from domain.accounts.models import Zone

    blr = s.get(Zone, w.blr_id)
    mum = s.get(Zone, w.mum_id)
    assert blr is not None and mum is not None
    t_blr = make_team(s, blr, "BLR-T1")
    t_mum = make_team(s, mum, "MUM-T1")
    t_off = make_team(s, blr, "BLR-T9")
    t_off.active = False
    # BLR-T1 is off Thu 11-12 and Fri 11-13.
    s.add(
        TeamUnavailability(
            team_id=t_blr.id,
            from_date=date(2026, 11, 12),
            to_date=date(2026, 11, 13),
            reason="leave",
        )
    )
    surveys = s.scalars(select(Survey).order_by(Survey.ref)).all()
    bookings = [
        (t_blr, date(2026, 11, 9), "09-12"),
        (t_blr, date(2026, 11, 10), "12-15"),
        (t_blr, date(2026, 11, 14), "15-18"),  # Saturday
        (t_blr, date(2026, 11, 15), "09-12"),  # Sunday: still the week of Mon 11-09
        (t_blr, date(2026, 11, 16), "09-12"),  # next week
        (t_off, date(2026, 11, 10), "09-12"),  # inactive team: not shown
    ]
    for sv, (team, day, slot) in zip(surveys, bookings, strict=False):
        s.add(
            TeamSlotBooking(
                team_id=team.id, slot_date=day, time_slot=slot, kind="survey", survey_id=sv.id
            )
        )
    m1 = Material(name="Cable 6 sq mm", sku="CAB-6", category="cable", unit="meter")
    m2 = Material(name="MCB 32A", sku="MCB-32", category="electrical", unit="piece")
    s.add_all([m1, m2])
    s.flush()
    s.add_all(
        [
            MaterialStock(material_id=m1.id, zone_id=blr.id, quantity_available=2, reorder_level=5),
            MaterialStock(material_id=m2.id, zone_id=blr.id, quantity_available=9, reorder_level=5),
            MaterialStock(material_id=m2.id, zone_id=mum.id, quantity_available=5, reorder_level=5),
        ]
    )
    s.flush()
    return DashWorld(kpi=w, blr_team=t_blr.id, mum_team=t_mum.id)


@pytest.fixture
def dash(engine: Engine) -> DashWorld:
    with session_scope(engine) as s:
        return add_teams_and_stock(s, build_kpi_world(s))


def _dash(engine: Engine, actor: object, **kw: object) -> KpiDashboard:
    kw.setdefault("from_month", OCT)
    kw.setdefault("to_month", NOV)
    kw.setdefault("today", TODAY)
    with session_scope(engine, readonly=True) as s:
        return dashboard(s, actor, **kw)  # type: ignore[arg-type]


def test_sla_by_oem_zone_and_month(engine: Engine, dash: DashWorld) -> None:
    d = _dash(engine, dash.kpi.manager)
    # November (tests/domain/test_kpi.py): TATA I11 met, I10 missed (13 > 7), I4 met (MH
    # holiday 11-10), I5 missed (8 > 7), I2 met; MG I12 met, I6 met -> 5 of 7.
    # October: I8 (MG, MUM) lead Tue 09-15 -> Mon 10-05: business days in MH 09-16..19 = 4,
    # 21..26 = 6, 28..30 = 3, 10-01, 10-03 (10-02 Gandhi Jayanti), 10-05 = 16 > 5: missed.
    assert (d.sla_total.installations_completed, d.sla_total.sla_met) == (8, 5)
    assert d.sla_total.sla_breached == 3
    assert d.sla_total.sla_compliance_rate == Decimal("62.50")
    by_oem = {
        g.key: (g.installations_completed, g.sla_met, g.sla_compliance_rate) for g in d.sla_by_oem
    }
    assert by_oem == {"MG": (3, 2, Decimal("66.67")), "TATA": (5, 3, Decimal("60.00"))}
    # Zones: BLR I2 I5 I6 I10 I11 I12 (I5 I10 missed) = 4 of 6; MUM I4 I8 (I8 missed) = 1 of 2.
    by_zone = {g.key: (g.installations_completed, g.sla_met) for g in d.sla_by_zone}
    assert by_zone == {"BLR": (6, 4), "MUM": (2, 1)}
    assert [(g.key, g.installations_completed, g.sla_met) for g in d.sla_by_month] == [
        ("2026-10", 1, 0),
        ("2026-11", 7, 5),
    ]
    assert d.sla_by_month[1].sla_compliance_rate == Decimal("71.43")


def test_breaches_listed_latest_first(engine: Engine, dash: DashWorld) -> None:
    d = _dash(engine, dash.kpi.manager)
    assert d.breach_count == 3
    rows = [
        (b.oem_code, b.zone_code, b.business_days, b.target_days, b.calendar_days)
        for b in d.breaches
    ]
    # I5 completed 11-11 12:00 (8 bd, 9 days), I10 11-10 00:15 (13 bd, 15 days),
    # I8 10-05 (16 bd, 20 days).
    assert rows == [
        ("TATA", "BLR", 8, 7, 9),
        ("TATA", "BLR", 13, 7, 15),
        ("MG", "MUM", 16, 5, 20),
    ]
    i10 = d.breaches[1]
    assert i10.completed.date() == date(2026, 11, 10)  # local date, 11-09 in UTC
    assert i10.lead_received.date() == date(2026, 10, 26)
    assert i10.completed.utcoffset() is not None
    with session_scope(engine, readonly=True) as s:
        refs = set(
            s.scalars(
                select(Installation.ref)
                .join(Lead, Lead.id == Installation.lead_id)
                .where(Lead.ref.in_(["LEAD-2026-00005", "LEAD-2026-00010", "LEAD-2026-00008"]))
            )
        )
    assert {b.installation_ref for b in d.breaches} == refs
    # The limit cuts the list, not the count.
    d1 = _dash(engine, dash.kpi.manager, breach_limit=1)
    assert len(d1.breaches) == 1 and d1.breach_count == 3
    assert d1.breaches[0].calendar_days == 9


def test_revenue_by_oem_and_month(engine: Engine, dash: DashWorld) -> None:
    d = _dash(engine, dash.kpi.manager)
    rev = {(p.month, p.oem_code): (p.installations_completed, p.revenue) for p in d.revenue}
    # October: I8 MG standard 10,000; TATA nothing (every OEM x month is listed).
    # November: TATA 12,000 (I11, old rate) + 13,000 (I10, new rate from 11-10, local date)
    # + 13,000 (I4) + 20,000 (I5 premium) + 13,000 (I2) = 71,000; MG 2 x 10,000.
    assert rev == {
        (OCT, "MG"): (1, Decimal("10000.00")),
        (OCT, "TATA"): (0, Decimal("0.00")),
        (NOV, "MG"): (2, Decimal("20000.00")),
        (NOV, "TATA"): (5, Decimal("71000.00")),
    }
    assert d.total_revenue == Decimal("101000.00")
    assert all(p.unpriced_installations == 0 for p in d.revenue)


def test_installation_time_average_and_histogram(engine: Engine, dash: DashWorld) -> None:
    d = _dash(engine, dash.kpi.manager)
    # Calendar days: TATA I11 5, I10 15, I4 9, I5 9, I2 3 = 41 / 5 = 8.2;
    # MG I12 5, I6 5, I8 20 = 30 / 3 = 10.0; all 71 / 8 = 8.875 -> 8.9.
    by_oem = {
        t.oem_code: (t.installations_completed, t.total_days, t.average_days)
        for t in d.install_time_by_oem
    }
    assert by_oem == {"MG": (3, 30, Decimal("10.0")), "TATA": (5, 41, Decimal("8.2"))}
    assert d.install_time_average == Decimal("8.9")
    # 0-3: I2 (3); 4-7: I11 I12 I6 (5); 8-14: I4 I5 (9); 15-21: I10 (15), I8 (20).
    assert [(b.label, b.count) for b in d.install_time_histogram] == [
        ("0-3", 1),
        ("4-7", 3),
        ("8-14", 2),
        ("15-21", 2),
        ("22-30", 0),
        ("31-60", 0),
        (">60", 0),
    ]


def test_funnel_of_leads_received_in_the_period(engine: Engine, dash: DashWorld) -> None:
    d = _dash(engine, dash.kpi.manager)
    # Received Oct-Nov: L1 (Sun 11-15 23:30 local) L2 L3 L4 L5 L6 L7 L9 L10 L11 L12 = 11
    # (L8 is September). Surveyed: all but L1 (survey not done) and L9 (none) = 9.
    # Installed: L2 L4 L5 L6 L10 L11 L12 = 7 (I3 planned). Pack submitted: L12, L6 = 2.
    assert [(f.stage, f.count) for f in d.funnel] == [
        ("lead", 11),
        ("survey", 9),
        ("installation", 7),
        ("pack", 2),
    ]
    assert [f.percent_of_leads for f in d.funnel] == [
        Decimal("100.00"),
        Decimal("81.82"),
        Decimal("63.64"),
        Decimal("18.18"),
    ]
    # September alone: L8 received, surveyed, installed, pack submitted.
    sep = _dash(engine, dash.kpi.manager, from_month=date(2026, 9, 1), to_month=date(2026, 9, 1))
    assert [f.count for f in sep.funnel] == [1, 1, 1, 1]


def test_backlog_ageing(engine: Engine, dash: DashWorld) -> None:
    d = _dash(engine, dash.kpi.manager)
    # Open installations, age = 2026-11-21 - lead received local date:
    # I3 planned (L3 11-18: 3); completed I2 (L2 11-16: 5), I5 I11 (11-02: 19), I10
    # (10-26: 26); report_submitted I4 (11-02: 19). I6 I8 I12 are closed.
    cells = {(c.status, c.bucket): c.count for c in d.backlog_ageing}
    assert cells == {
        ("planned", "0-7"): 1,
        ("completed", "0-7"): 1,
        ("completed", "15-30"): 3,
        ("report_submitted", "15-30"): 1,
    }
    # A week later (11-28): I3 is 10 days old, I2 12 -> 8-14; I10 33 -> 31-60.
    later = _dash(engine, dash.kpi.manager, today=date(2026, 11, 28))
    cells = {(c.status, c.bucket): c.count for c in later.backlog_ageing}
    assert cells == {
        ("planned", "8-14"): 1,
        ("completed", "8-14"): 1,
        ("completed", "15-30"): 2,
        ("completed", "31-60"): 1,
        ("report_submitted", "15-30"): 1,
    }


def test_backlog_age_uses_the_local_received_date(engine: Engine, dash: DashWorld) -> None:
    # Two open installations whose leads arrive 20 minutes apart across local midnight:
    # 11-14 00:10 local (18:40Z on 11-13) is 7 days old on 11-21; 11-13 23:50 local is 8.
    with session_scope(engine) as s:
        for i, received in enumerate((ist(2026, 11, 14, 0, 10), ist(2026, 11, 13, 23, 50))):
            lead = Lead(
                ref=f"LEAD-2026-009{i}",
                oem_id=dash.kpi.tata_id,
                oem_lead_ref=f"EDGE{i}",
                customer_name="Edge",
                phone="+919876543210",
                address="x",
                city="Bengaluru",
                pincode="560001",
                zone_id=dash.kpi.blr_id,
                received_at=received,
                status="installation_scheduled",
            )
            s.add(lead)
            s.flush()
            sv = Survey(
                ref=f"SUR-2026-009{i}",
                lead_id=lead.id,
                survey_date=date(2026, 11, 15),
                time_slot="09-12",
                status="reviewed_approved",
            )
            s.add(sv)
            s.flush()
            s.add(
                Installation(
                    ref=f"INS-2026-009{i}",
                    survey_id=sv.id,
                    lead_id=lead.id,
                    status="material_ready",
                )
            )
    d = _dash(engine, dash.kpi.manager)
    cells = {(c.status, c.bucket): c.count for c in d.backlog_ageing}
    assert cells[("material_ready", "0-7")] == 1
    assert cells[("material_ready", "8-14")] == 1


def test_team_utilisation(engine: Engine, dash: DashWorld) -> None:
    d = _dash(engine, dash.kpi.manager, from_month=NOV, to_month=NOV)
    # Weeks overlapping November: Mondays 10-26, 11-02, 11-09, 11-16, 11-23, 11-30, for the
    # active teams BLR-T1 and MUM-T1 (BLR-T9 inactive) = 12 rows.
    assert len(d.utilisation) == 12
    u = {(r.team_code, r.week_start): r for r in d.utilisation}
    assert {t for t, _ in u} == {"BLR-T1", "MUM-T1"}
    # BLR-T1 week of 11-09: Mon-Sat 9..14, no Karnataka holiday, off 11-12 and 11-13 ->
    # 4 working days x 3 slots = 12; booked 11-09, 11-10, 11-14 and Sunday 11-15 = 4 -> 33.33 %.
    w = u[("BLR-T1", date(2026, 11, 9))]
    assert (w.working_days, w.available_slots, w.booked_slots) == (4, 12, 4)
    assert w.utilisation_rate == Decimal("33.33")
    # Its next week: 6 working days = 18 slots, 1 booked (11-16) -> 5.56 %.
    w = u[("BLR-T1", date(2026, 11, 16))]
    assert (w.working_days, w.available_slots, w.booked_slots) == (6, 18, 1)
    assert w.utilisation_rate == Decimal("5.56")
    # MUM-T1 week of 11-09: Tue 11-10 is a Maharashtra holiday -> 5 days, 15 slots, none booked.
    w = u[("MUM-T1", date(2026, 11, 9))]
    assert (w.working_days, w.available_slots, w.booked_slots) == (5, 15, 0)
    assert w.utilisation_rate == Decimal("0.00")
    # Week of 11-23: Tue 11-24 Guru Nanak's birthday (national) -> 5 days for both teams.
    assert u[("BLR-T1", date(2026, 11, 23))].working_days == 5
    assert u[("MUM-T1", date(2026, 11, 23))].working_days == 5
    # Zone filter: only MUM-T1.
    mum = _dash(engine, dash.kpi.manager, from_month=NOV, to_month=NOV, zone_id=dash.kpi.mum_id)
    assert {r.team_code for r in mum.utilisation} == {"MUM-T1"}


def test_stock_below_reorder(engine: Engine, dash: DashWorld) -> None:
    d = _dash(engine, dash.kpi.manager)
    # BLR CAB-6 2 <= 5 (suggest 2 x 5 - 2 = 8); BLR MCB-32 9 > 5 no; MUM MCB-32 5 <= 5 (5).
    rows = [(r.zone_code, r.sku, r.projected, r.suggested_order) for r in d.stock_below_reorder]
    assert rows == [("BLR", "CAB-6", 2, 8), ("MUM", "MCB-32", 5, 5)]
    blr = _dash(engine, dash.kpi.manager, zone_id=dash.kpi.blr_id)
    assert [r.sku for r in blr.stock_below_reorder] == ["CAB-6"]


def test_zone_filter_applies_to_every_lead_figure(engine: Engine, dash: DashWorld) -> None:
    d = _dash(engine, dash.kpi.manager, zone_id=dash.kpi.mum_id)
    # MUM: I4 (TATA, met, 9 days, 13,000) and I8 (MG, missed, 20 days, 10,000); leads in
    # Oct-Nov: L3, L4 = 2 (L8 is September); L3 surveyed, L4 surveyed and installed.
    assert (d.sla_total.installations_completed, d.sla_total.sla_met) == (2, 1)
    assert [g.key for g in d.sla_by_zone] == ["MUM"]
    assert d.total_revenue == Decimal("23000.00")
    assert d.install_time_average == Decimal("14.5")
    assert [f.count for f in d.funnel] == [2, 2, 1, 0]
    assert {c.status for c in d.backlog_ageing} == {"planned", "report_submitted"}


def test_oem_viewer_is_forced_to_its_own_oem(engine: Engine, dash: DashWorld) -> None:
    w = dash.kpi
    # The MG viewer asks for TATA's figures: it gets MG's, and no internals.
    d = _dash(engine, w.mg_viewer, oem_id=w.tata_id)
    assert d.oem_id == w.mg_id
    assert [g.key for g in d.sla_by_oem] == ["MG"]
    assert (d.sla_total.installations_completed, d.sla_total.sla_met) == (3, 2)
    assert {b.oem_code for b in d.breaches} == {"MG"}
    assert {p.oem_code for p in d.revenue} == {"MG"}
    assert d.total_revenue == Decimal("30000.00")
    assert [t.oem_code for t in d.install_time_by_oem] == ["MG"]
    # MG leads received Oct-Nov: L3, L6, L12; surveyed all 3; installed L6, L12; packs L6, L12.
    assert [f.count for f in d.funnel] == [3, 3, 2, 2]
    # MG's open installations: only I3 (planned).
    assert {(c.status, c.count) for c in d.backlog_ageing} == {("planned", 1)}
    assert d.internal_visible is False
    assert d.utilisation == () and d.stock_below_reorder == ()
    # And the TATA viewer never sees MG.
    t = _dash(engine, w.tata_viewer, oem_id=w.mg_id)
    assert [g.key for g in t.sla_by_oem] == ["TATA"] and t.breach_count == 2


def test_roles_without_kpi_read_are_refused(engine: Engine, dash: DashWorld) -> None:
    for actor in (dash.kpi.field_engineer, dash.kpi.procurement):
        with pytest.raises(PermissionDenied):
            _dash(engine, actor)


def test_period_validation_and_defaults() -> None:
    assert resolve_period(None, None, TODAY) == (date(2025, 12, 1), NOV)
    assert resolve_period(date(2026, 10, 17), date(2026, 11, 30), TODAY) == (OCT, NOV)
    with pytest.raises(ValidationError) as e:
        resolve_period(NOV, OCT, TODAY)
    assert "to_month" in e.value.errors
    with pytest.raises(ValidationError):
        resolve_period(date(2010, 1, 1), NOV, TODAY)


def test_month_figures_agree_with_the_overview(engine: Engine, dash: DashWorld) -> None:
    d = _dash(engine, dash.kpi.manager, from_month=NOV, to_month=NOV)
    with session_scope(engine, readonly=True) as s:
        ov = overview(s, dash.kpi.manager, today=TODAY)
    assert d.sla_total.sla_compliance_rate == ov.sla_compliance_rate
    assert d.total_revenue == ov.total_revenue
    avg = {t.oem_code: t.average_days for t in d.install_time_by_oem}
    assert avg == {f.oem_code: f.average_installation_time_days for f in ov.by_oem}
    # Nothing completed in December: every figure empty, not an error.
    dec = _dash(engine, dash.kpi.manager, from_month=date(2026, 12, 1), to_month=date(2026, 12, 1))
    assert dec.sla_total.installations_completed == 0
    assert dec.sla_total.sla_compliance_rate is None
    assert dec.install_time_average is None and dec.breaches == ()
    assert [f.count for f in dec.funnel] == [0, 0, 0, 0]
    assert dec.funnel[0].percent_of_leads is None


def test_inactive_team_bookings_are_not_shown(engine: Engine, dash: DashWorld) -> None:
    with session_scope(engine, readonly=True) as s:
        off = s.scalars(select(FieldTeam.id).where(FieldTeam.code == "BLR-T9")).one()
    d = _dash(engine, dash.kpi.manager, from_month=NOV, to_month=NOV)
    assert off not in {r.team_id for r in d.utilisation}


def _calendar_rows(engine: Engine) -> int:
    with session_scope(engine, readonly=True) as s:
        return int(s.execute(select(func.count()).select_from(BusinessDay)).scalar_one())


def test_sla_is_counted_in_sql_from_the_calendar_table(engine: Engine, dash: DashWorld) -> None:
    """Writing the leads and installations filled their zones' calendar years (their stored
    ordinals need them); the first dashboard fills the rest (the national calendar, committed
    from the read-only scope), later ones reuse it, and the figures follow the table through
    the ordinals stored on the rows (``backfill_business_days`` re-keys them)."""
    # KA and MH, the whole of 2026 (every lead's received and completion date)
    assert _calendar_rows(engine) == 2 * 365
    d = _dash(engine, dash.kpi.manager)
    filled = _calendar_rows(engine)
    # '', KA and MH, the whole of 2026 (the period and every lead's received date)
    assert filled == 3 * 365
    again = _dash(engine, dash.kpi.manager)
    assert _calendar_rows(engine) == filled
    assert again.sla_by_zone == d.sla_by_zone and again.breaches == d.breaches
    # Tamper with the Karnataka calendar: 10 business days fewer from 2026-11-08 on. I10
    # (10-26 -> 11-10, 13 -> 3) and I5 (11-02 -> 11-11, 8 -> -2, i.e. 0) now meet the SLA;
    # I2 (11-16 -> 11-19) and I11, I12, I6 are unchanged (both ends on one side).
    with session_scope(engine) as s:
        s.execute(
            update(BusinessDay)
            .where(BusinessDay.subdiv == "KA", BusinessDay.day >= date(2026, 11, 8))
            .values(ordinal=BusinessDay.ordinal - 10)
        )
    # the stored ordinals still hold the old calendar until they are re-keyed
    assert _dash(engine, dash.kpi.manager).sla_total == d.sla_total
    with session_scope(engine) as s:
        backfill_business_days(s)
    t = _dash(engine, dash.kpi.manager)
    assert (t.sla_total.installations_completed, t.sla_total.sla_met) == (8, 7)
    assert [(b.zone_code, b.business_days) for b in t.breaches] == [("MUM", 16)]


def test_zone_without_state_uses_national_holidays(engine: Engine, dash: DashWorld) -> None:
    """MUM without a holiday subdivision: I4 (11-02 -> 11-11) loses the Maharashtra holiday of
    11-10 and takes 8 business days > 7: a breach; I8 keeps 16 (Gandhi Jayanti is national)."""
    with session_scope(engine) as s:
        mum = s.get(Zone, dash.kpi.mum_id)
        assert mum is not None
        mum.holiday_subdiv = None
    d = _dash(engine, dash.kpi.manager)
    assert (d.sla_total.installations_completed, d.sla_total.sla_met) == (8, 4)
    by_zone = {g.key: (g.installations_completed, g.sla_met) for g in d.sla_by_zone}
    assert by_zone == {"BLR": (6, 4), "MUM": (2, 0)}
    mum_breaches = sorted(
        (b.business_days, b.calendar_days) for b in d.breaches if b.zone_code == "MUM"
    )
    assert mum_breaches == [(8, 9), (16, 20)]


def test_sqlite_reads_completions_in_lead_order_through_covering_indexes(
    engine: Engine, dash: DashWorld
) -> None:
    """The access path ``period_completions`` steers SQLite to (a 2-3x difference at 500,000
    leads): the SLA/revenue statement scans ix_installation_lead_completed and, given planner
    statistics (ANALYZE: the benchmark runs it after loading), finds leads in
    ix_lead_sla_cover, both covering, instead of following the completion-date index.
    PostgreSQL (hash joins, its own statistics) gets the plain join: no ``+`` in its SQL."""
    with engine.begin() as c:
        c.exec_driver_sql("ANALYZE")
    seen: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        # PostgreSQL groups the join; SQLite a MATERIALIZED CTE of it (one rate lookup a row)
        if "GROUP BY oem.code" in statement or "GROUP BY done.oem" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        _dash(engine, dash.kpi.manager)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert len(seen) == 1
    statement, parameters = seen[0]
    if engine.dialect.name != "sqlite":
        assert "JOIN lead ON lead.id = installation.lead_id" in statement, statement
        assert "(+ " not in statement, statement
        return
    assert "(+ installation.lead_id)" in statement, statement
    assert "WITH done AS MATERIALIZED" in statement, statement
    with engine.connect() as c:
        plan = [r[3] for r in c.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
    assert any("ix_installation_lead_completed" in p and "COVERING" in p for p in plan), plan
    assert any("ix_lead_sla_cover" in p and "COVERING" in p for p in plan), plan
    assert not any("ix_installation_completed_at" in p for p in plan), plan
