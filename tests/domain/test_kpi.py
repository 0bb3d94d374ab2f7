"""KPI overview: hand-computed figures on a small fixture, on SQLite and PostgreSQL.

Reference date: Saturday 2026-11-21 (local, Asia/Kolkata = UTC+05:30).
This week = Mon 11-16 .. Sun 11-22, last week = 11-09 .. 11-15, this month = November,
last month = October. Every expected number below is derived by hand in the comments.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from db.engine import session_scope
from domain.accounts.models import OemRate
from domain.calendar import business_days_between
from domain.errors import PermissionDenied
from domain.installations.models import Installation, InstallationReport
from domain.kpi.dto import PeriodCounts
from domain.kpi.queries import filter_options, overview, overview_pandas
from domain.kpi.sla import BusinessDayIndex, RateCard, compliance_rate, sla_met
from domain.leads.models import Lead
from domain.procurement.models import Material
from domain.reporting.models import ClosurePack
from domain.surveys.models import Survey, SurveyReport
from tests.factories import actor_of, make_oem, make_user, make_zone

TODAY = date(2026, 11, 21)
IST = timezone(timedelta(hours=5, minutes=30))
ROOT = Path(__file__).resolve().parents[2]


def ist(y: int, m: int, d: int, hh: int = 12, mm: int = 0) -> datetime:
    """An aware UTC datetime for a local (IST) wall-clock time."""
    return datetime(y, m, d, hh, mm, tzinfo=IST).astimezone(UTC)


@dataclass(frozen=True)
class KpiWorld:
    tata_id: uuid.UUID
    mg_id: uuid.UUID
    blr_id: uuid.UUID
    mum_id: uuid.UUID
    manager: object
    mg_viewer: object
    tata_viewer: object
    field_engineer: object
    procurement: object


def build_kpi_world(s: Session) -> KpiWorld:
    """The hand-computed fixture (see the module docstring and the test comments)."""
    blr = make_zone(s)  # Karnataka, holiday_subdiv KA
    mum = make_zone(
        s, code="MUM", name="Mumbai", state="MAHARASHTRA", districts=("MUMBAI",), subdiv="MH"
    )
    # TATA: install SLA 7 business days; standard 12,000 until 2026-11-09, 13,000 from
    # 2026-11-10 (rate change mid-month); premium 20,000.
    tata = make_oem(s, sla_install_days=7, rates={"standard": "12000.00", "premium": "20000.00"})
    s.add(
        OemRate(
            oem_id=tata.id,
            install_level="standard",
            price=Decimal("13000.00"),
            valid_from=date(2026, 11, 10),
        )
    )
    # MG: install SLA 5 business days; standard 10,000.
    mg = make_oem(s, code="MG", name="MG Motor", sla_install_days=5, rates={"standard": "10000"})
    charger = Material(name="7.2kW AC charger", sku="CHG-72", category="charger", unit="piece")
    s.add(charger)
    manager = make_user(s, "manager")
    s.flush()

    n = {"lead": 0, "survey": 0, "inst": 0, "cp": 0}

    def lead(oem, zone, received: datetime, status: str) -> Lead:
        n["lead"] += 1
        row = Lead(
            ref=f"LEAD-2026-{n['lead']:05d}",
            oem_id=oem.id,
            oem_lead_ref=f"R{n['lead']}",
            customer_name=f"Customer {n['lead']}",
            phone="+919876543210",
            address="1 MG Road",
            city=zone.name,
            pincode="560001",
            zone_id=zone.id,
            received_at=received,
            status=status,
        )
        s.add(row)
        s.flush()
        return row

    def survey(ld: Lead, completed: datetime | None) -> Survey:
        n["survey"] += 1
        row = Survey(
            ref=f"SUR-2026-{n['survey']:05d}",
            lead_id=ld.id,
            survey_date=(completed or ist(2026, 11, 25)).date(),
            time_slot="morning",
            status="reviewed_approved" if completed else "scheduled",
            completed_at=completed,
        )
        s.add(row)
        s.flush()
        return row

    def inst(ld: Lead, sv: Survey, status: str, level: str | None, done: datetime | None):
        n["inst"] += 1
        row = Installation(
            ref=f"INS-2026-{n['inst']:05d}",
            survey_id=sv.id,
            lead_id=ld.id,
            status=status,
            install_level=level,
            completed_at=done,
        )
        s.add(row)
        s.flush()
        return row

    def pack(ld: Lead, sv: Survey, ins: Installation, submitted: datetime) -> None:
        n["cp"] += 1
        sr = SurveyReport(
            survey_id=sv.id,
            site_type="independent_house",
            parking="covered",
            meter_distance_m=Decimal("5"),
            sanctioned_load_kw=Decimal("7"),
            earthing_ok=True,
            cable_length_m=Decimal("8"),
        )
        ir = InstallationReport(
            installation_id=ins.id, charger_serial=f"SN{n['cp']}", charger_model_id=charger.id
        )
        s.add_all([sr, ir])
        s.flush()
        s.add(
            ClosurePack(
                ref=f"CP-2026-{n['cp']:05d}",
                installation_id=ins.id,
                lead_id=ld.id,
                survey_report_id=sr.id,
                installation_report_id=ir.id,
                compiled_by_id=manager.id,
                status="submitted",
                submitted_to_oem_at=submitted,
            )
        )
        s.flush()

    # Leads (received local time)
    l1 = lead(tata, blr, ist(2026, 11, 15, 23, 30), "survey_scheduled")  # Sun 23:30 = 18:00Z Sun
    l2 = lead(tata, blr, ist(2026, 11, 16, 0, 30), "installed")  # Mon 00:30 = Sun 19:00Z
    l3 = lead(mg, mum, ist(2026, 11, 18, 10), "installation_scheduled")
    l4 = lead(tata, mum, ist(2026, 11, 2, 11), "installed")  # Mon
    l5 = lead(tata, blr, ist(2026, 11, 2, 11), "installed")  # Mon
    l6 = lead(mg, blr, ist(2026, 11, 2, 9), "installed")  # Mon
    l7 = lead(tata, blr, ist(2026, 11, 9, 10), "surveyed")
    l8 = lead(mg, mum, ist(2026, 9, 15, 10), "closed")
    lead(tata, blr, ist(2026, 11, 20, 10), "cancelled")  # l9
    l10 = lead(tata, blr, ist(2026, 10, 26, 10), "installed")  # Mon
    l11 = lead(tata, blr, ist(2026, 11, 2, 9), "installed")  # Mon
    l12 = lead(mg, blr, ist(2026, 10, 27, 10), "installed")  # Tue

    # Surveys (completed local time)
    survey(l1, None)
    s2 = survey(l2, ist(2026, 11, 17, 10))
    s3 = survey(l3, ist(2026, 11, 19, 10))
    s4 = survey(l4, ist(2026, 11, 3, 10))
    s5 = survey(l5, ist(2026, 11, 2, 10))
    s6 = survey(l6, ist(2026, 11, 3, 10))
    survey(l7, ist(2026, 11, 15, 23, 50))  # Sunday late: last week
    s8 = survey(l8, ist(2026, 9, 20, 10))
    s10 = survey(l10, ist(2026, 10, 28, 10))
    s11 = survey(l11, ist(2026, 11, 3, 10))
    s12 = survey(l12, ist(2026, 10, 29, 10))

    # Installations (completed local time)
    inst(l2, s2, "completed", "standard", ist(2026, 11, 19, 14))
    inst(l3, s3, "planned", None, None)
    inst(l4, s4, "report_submitted", "standard", ist(2026, 11, 11, 16))
    inst(l5, s5, "completed", "premium", ist(2026, 11, 11, 12))
    i6 = inst(l6, s6, "closed", "standard", ist(2026, 11, 7, 10))
    i8 = inst(l8, s8, "closed", "standard", ist(2026, 10, 5, 10))
    inst(l10, s10, "completed", "standard", ist(2026, 11, 10, 0, 15))  # = 11-09 18:45Z
    inst(l11, s11, "completed", "standard", ist(2026, 11, 7, 15))
    i12 = inst(l12, s12, "closed", "standard", ist(2026, 11, 1, 0, 30))  # = 10-31 19:00Z

    # Closure packs (submitted local time)
    pack(l8, s8, i8, ist(2026, 10, 10, 10))  # last month
    pack(l12, s12, i12, ist(2026, 11, 16, 0, 10))  # Mon 00:10 = Sun 18:40Z -> this week
    pack(l6, s6, i6, ist(2026, 11, 12, 10))  # last week

    return KpiWorld(
        tata_id=tata.id,
        mg_id=mg.id,
        blr_id=blr.id,
        mum_id=mum.id,
        manager=actor_of(manager),
        mg_viewer=actor_of(make_user(s, "oem_viewer", oem=mg)),
        tata_viewer=actor_of(make_user(s, "oem_viewer", oem=tata)),
        field_engineer=actor_of(make_user(s, "field_engineer")),
        procurement=actor_of(make_user(s, "procurement")),
    )


@pytest.fixture
def world(engine: Engine) -> KpiWorld:
    with session_scope(engine) as s:
        return build_kpi_world(s)


def test_sla_rule_skips_sundays_and_state_holidays() -> None:
    # Fri 2026-10-02 is Gandhi Jayanti (national). Lead Thu 10-01 -> Mon 10-05:
    # 10-02 holiday, 10-03 Sat counts, 10-04 Sunday, 10-05 Mon -> 2 business days.
    assert sla_met(date(2026, 10, 1), date(2026, 10, 5), 2, "KA")
    assert not sla_met(date(2026, 10, 1), date(2026, 10, 5), 1, "KA")
    # Tue 2026-11-10 is a Maharashtra holiday (Bali Pratipada) but not a Karnataka one.
    assert sla_met(date(2026, 11, 2), date(2026, 11, 11), 7, "MH")
    assert not sla_met(date(2026, 11, 2), date(2026, 11, 11), 7, "KA")
    assert compliance_rate(5, 7) == Decimal("71.43")
    assert compliance_rate(0, 0) is None


@settings(max_examples=200, deadline=None)
@given(
    a=st.dates(date(2025, 6, 1), date(2027, 6, 1)),
    b=st.dates(date(2025, 6, 1), date(2027, 6, 1)),
    subdiv=st.sampled_from([None, "KA", "MH", "DL"]),
)
def test_business_day_index_matches_calendar(a: date, b: date, subdiv: str | None) -> None:
    # The index spans 2026 only; pairs outside fall back to the calendar function.
    index = BusinessDayIndex(subdiv, date(2026, 1, 1), date(2026, 12, 31))
    assert index.between(a, b) == business_days_between(a, b, subdiv)


def test_rate_card_uses_rate_in_force_on_the_date() -> None:
    oem = uuid.uuid4()
    card = RateCard(
        [
            (oem, "standard", date(2026, 11, 10), Decimal("13000")),
            (oem, "standard", date(2020, 1, 1), Decimal("12000")),
        ]
    )
    assert card.price(oem, "standard", date(2026, 11, 9)) == Decimal("12000.00")
    assert card.price(oem, "standard", date(2026, 11, 10)) == Decimal("13000.00")
    assert card.price(oem, "standard", date(2019, 12, 31)) is None
    assert card.price(oem, "premium", date(2026, 11, 10)) is None
    assert card.price(oem, None, date(2026, 11, 10)) is None


def test_overview_counts_match_hand_computation(engine: Engine, world: KpiWorld) -> None:
    with session_scope(engine, readonly=True) as s:
        ov = overview(s, world.manager, today=TODAY)
    assert ov.week_start == date(2026, 11, 16) and ov.month_start == date(2026, 11, 1)
    # Leads: this week (11-16..22) L2 (Mon 00:30 local, Sun 19:00Z), L3, L9 = 3;
    # last week L1 (Sun 23:30 local), L7 = 2; November L1 L2 L3 L4 L5 L6 L7 L9 L11 = 9;
    # October L10 L12 = 2 (L8 is September).
    assert ov.leads_received == PeriodCounts(3, 2, 9, 2)
    # Surveys: this week S2 S3 = 2; last week S7 (Sun 23:50 local) = 1;
    # November S2 S3 S4 S5 S6 S7 S11 = 7; October S10 S12 = 2.
    assert ov.surveys_completed == PeriodCounts(2, 1, 7, 2)
    # Installations: this week I2 = 1; last week I4 I5 I10 (11-10 00:15 local) = 3;
    # November I12 (11-01 00:30 local = 10-31 19:00Z) I11 I6 I10 I4 I5 I2 = 7; October I8 = 1.
    assert ov.installations_completed == PeriodCounts(1, 3, 7, 1)
    # Packs: this week CP12 (Mon 00:10 local) = 1; last week CP6 = 1; November 2; October 1.
    assert ov.closure_packs_submitted == PeriodCounts(1, 1, 2, 1)


def test_overview_sla_revenue_and_average(engine: Engine, world: KpiWorld) -> None:
    with session_scope(engine, readonly=True) as s:
        ov = overview(s, world.manager, today=TODAY)
    mg, tata = ov.by_oem  # ordered by OEM code: MG, TATA
    assert (mg.oem_code, tata.oem_code) == ("MG", "TATA")
    # TATA (target 7 business days), business days after received up to completed:
    #  I11 11-02 -> 11-07 (KA): 3,4,5,6,7 = 5 met
    #  I10 10-26 -> 11-10 (KA): 27..31 = 5, 11-02..07 = 6, 09, 10 -> 13 missed
    #  I4  11-02 -> 11-11 (MH): 3..7 = 5, 09 = 6, 10 is an MH holiday, 11 -> 7 met
    #  I5  11-02 -> 11-11 (KA): same dates, 11-10 is a working day in KA -> 8 missed
    #  I2  11-16 -> 11-19 (KA): 17, 18, 19 = 3 met                      => 3 / 5 = 60.00 %
    assert (tata.installations_completed, tata.sla_met) == (5, 3)
    assert tata.sla_compliance_rate == Decimal("60.00")
    # MG (target 5): I12 10-27 -> 11-01: 28..31 = 4 met; I6 11-02 -> 11-07 = 5 met => 100 %
    assert (mg.installations_completed, mg.sla_met) == (2, 2)
    assert mg.sla_compliance_rate == Decimal("100.00")
    # All: 5 met of 7 = 71.428.. -> 71.43 %
    assert (ov.installations_this_month, ov.sla_met_this_month) == (7, 5)
    assert ov.sla_compliance_rate == Decimal("71.43")
    # Revenue TATA: I11 standard on 11-07 = 12,000 (old rate); I10 standard completed
    # 11-10 00:15 local (11-09 in UTC) = 13,000 (new rate, local date); I4 standard 11-11 =
    # 13,000; I5 premium = 20,000; I2 standard 11-19 = 13,000 -> 71,000.
    assert tata.total_revenue == Decimal("71000.00")
    # MG: I12 + I6 standard = 2 x 10,000 = 20,000.
    assert mg.total_revenue == Decimal("20000.00")
    assert ov.total_revenue == Decimal("91000.00")
    assert tata.unpriced_installations == 0 and mg.unpriced_installations == 0
    # Average calendar days TATA: 5 + 15 + 9 + 9 + 3 = 41 / 5 = 8.2; MG: 5 + 5 = 10 / 2 = 5.0
    assert tata.average_installation_time_days == Decimal("8.2")
    assert mg.average_installation_time_days == Decimal("5.0")


def test_overview_backlog_and_trend(engine: Engine, world: KpiWorld) -> None:
    with session_scope(engine, readonly=True) as s:
        ov = overview(s, world.manager, today=TODAY)
    backlog = {(b.entity, b.status): b.count for b in ov.backlog}
    # Open leads: L1 survey_scheduled, L7 surveyed, L3 installation_scheduled,
    # L2 L4 L5 L6 L10 L11 L12 installed; L8 closed and L9 cancelled are excluded.
    # Open installations: I3 planned; I2 I5 I10 I11 completed; I4 report_submitted.
    assert backlog == {
        ("lead", "survey_scheduled"): 1,
        ("lead", "surveyed"): 1,
        ("lead", "installation_scheduled"): 1,
        ("lead", "installed"): 7,
        ("installation", "planned"): 1,
        ("installation", "completed"): 4,
        ("installation", "report_submitted"): 1,
    }
    # Trend: 12 months (Dec 2025 .. Nov 2026) x 2 OEMs; only Oct (MG: I8 10,000) and Nov.
    assert len(ov.trend) == 24
    assert ov.trend[0].month == date(2025, 12, 1) and ov.trend[-1].month == date(2026, 11, 1)
    nonzero = {
        (p.month, p.oem_code): (p.installations_completed, p.revenue)
        for p in ov.trend
        if p.installations_completed
    }
    assert nonzero == {
        (date(2026, 10, 1), "MG"): (1, Decimal("10000.00")),
        (date(2026, 11, 1), "MG"): (2, Decimal("20000.00")),
        (date(2026, 11, 1), "TATA"): (5, Decimal("71000.00")),
    }


def test_oem_viewer_sees_only_own_oem(engine: Engine, world: KpiWorld) -> None:
    with session_scope(engine, readonly=True) as s:
        # An attempt to look at TATA is overridden by the viewer's own OEM (MG).
        ov = overview(s, world.mg_viewer, today=TODAY, oem_id=world.tata_id)
        opts = filter_options(s, world.mg_viewer)
    assert ov.oem_id == world.mg_id
    assert [f.oem_code for f in ov.by_oem] == ["MG"]
    assert {p.oem_code for p in ov.trend} == {"MG"}
    # MG leads: this week L3; last week none; November L3 L6; October L12.
    assert ov.leads_received == PeriodCounts(1, 0, 2, 1)
    assert ov.total_revenue == Decimal("20000.00")
    # MG backlog: L3 installation_scheduled, L6 L12 installed; I3 planned.
    assert {(b.entity, b.status): b.count for b in ov.backlog} == {
        ("lead", "installation_scheduled"): 1,
        ("lead", "installed"): 2,
        ("installation", "planned"): 1,
    }
    assert [o.id for o in opts.oems] == [world.mg_id] and opts.oem_fixed


def test_zone_filter(engine: Engine, world: KpiWorld) -> None:
    with session_scope(engine, readonly=True) as s:
        ov = overview(s, world.manager, today=TODAY, zone_id=world.mum_id)
    # Mumbai: leads L3 (MG, this week), L4 (TATA, November 2), L8 (September);
    # November completions: only I4 (TATA, met thanks to the MH holiday, 13,000).
    assert ov.leads_received == PeriodCounts(1, 0, 2, 0)
    tata = next(f for f in ov.by_oem if f.oem_code == "TATA")
    assert (tata.installations_completed, tata.sla_met) == (1, 1)
    assert tata.total_revenue == Decimal("13000.00")
    assert ov.total_revenue == Decimal("13000.00")


def test_sql_and_pandas_agree(engine: Engine, world: KpiWorld) -> None:
    with session_scope(engine, readonly=True) as s:
        for actor, kw in (
            (world.manager, {}),
            (world.manager, {"zone_id": world.blr_id}),
            (world.manager, {"oem_id": world.tata_id}),
            (world.tata_viewer, {}),
        ):
            for today in (TODAY, date(2026, 11, 1), date(2026, 10, 5)):
                assert overview(s, actor, today=today, **kw) == overview_pandas(
                    s, actor, today=today, **kw
                )


@pytest.mark.parametrize("role", ["field_engineer", "procurement"])
def test_permission_refused(engine: Engine, world: KpiWorld, role: str) -> None:
    actor = getattr(world, role)
    with session_scope(engine, readonly=True) as s:
        with pytest.raises(PermissionDenied):
            overview(s, actor, today=TODAY)
        with pytest.raises(PermissionDenied):
            overview_pandas(s, actor, today=TODAY)
        with pytest.raises(PermissionDenied):
            filter_options(s, actor)


def test_empty_database_gives_zeros(engine: Engine) -> None:
    with session_scope(engine) as s:
        actor = actor_of(make_user(s, "manager"))
    with session_scope(engine, readonly=True) as s:
        ov = overview(s, actor, today=TODAY)
        assert ov == overview_pandas(s, actor, today=TODAY)
    assert ov.leads_received == PeriodCounts(0, 0, 0, 0)
    assert ov.by_oem == () and ov.backlog == () and ov.trend == ()
    assert ov.sla_compliance_rate is None and ov.total_revenue == Decimal("0.00")


def test_bench_smoke_prints_json_with_equal_figures(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "overview_bench.py"),
            "--sizes",
            "0.02",
            "--repeat",
            "1",
            "--db",
            "sqlite",
            "--workdir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    (run,) = doc["results"]
    assert run["db"] == "sqlite" and run["size"] == 0.02
    assert run["rows"]["lead"] > 0 and run["rows"]["installation"] > 0
    assert run["sql_ms"] > 0 and run["pandas_ms"] > 0
    assert run["ratio"] == pytest.approx(run["pandas_ms"] / run["sql_ms"], rel=0.01)
    assert run["figures_equal"] is True


def test_installation_without_rate_is_counted_but_unpriced(engine: Engine, world: KpiWorld) -> None:
    with session_scope(engine) as s:
        # TATA has no "basic" rate: one more TATA completion this month adds to the count
        # and the SLA denominator but not to revenue.
        ld = Lead(
            ref="LEAD-2026-09999",
            oem_id=world.tata_id,
            oem_lead_ref="X1",
            customer_name="No Rate",
            phone="+919876543210",
            address="2 MG Road",
            city="Bengaluru",
            pincode="560001",
            zone_id=world.blr_id,
            received_at=ist(2026, 11, 16, 10),
            status="installed",
        )
        s.add(ld)
        s.flush()
        sv = Survey(
            ref="SUR-2026-09999",
            lead_id=ld.id,
            survey_date=date(2026, 11, 17),
            time_slot="morning",
            status="reviewed_approved",
            completed_at=ist(2026, 11, 17, 10),
        )
        s.add(sv)
        s.flush()
        s.add(
            Installation(
                ref="INS-2026-09999",
                survey_id=sv.id,
                lead_id=ld.id,
                status="completed",
                install_level="basic",
                completed_at=ist(2026, 11, 18, 10),
            )
        )
    with session_scope(engine, readonly=True) as s:
        ov = overview(s, world.manager, today=TODAY)
        assert ov == overview_pandas(s, world.manager, today=TODAY)
    tata = next(f for f in ov.by_oem if f.oem_code == "TATA")
    # 5 + 1 completions; the new one took 2 business days (17, 18) -> met: 4 / 6 = 66.67 %
    assert (tata.installations_completed, tata.sla_met) == (6, 4)
    assert tata.sla_compliance_rate == Decimal("66.67")
    assert tata.unpriced_installations == 1
    assert tata.total_revenue == Decimal("71000.00")
    nov_tata = next(p for p in ov.trend if p.month == date(2026, 11, 1) and p.oem_code == "TATA")
    assert (nov_tata.installations_completed, nov_tata.revenue) == (6, Decimal("71000.00"))
