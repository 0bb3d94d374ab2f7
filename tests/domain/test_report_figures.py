"""Weekly/monthly report figures against a hand-computed fixture, on SQLite and PostgreSQL.

Local zone Asia/Kolkata (UTC+05:30). OEM TATA: installation SLA 3 business days; rates
standard 10,000 until 2026-10-03 and 11,000 from 2026-10-04, premium 20,000. Holidays
(``holidays`` package, KA and MH alike here): 2026-09-14 Ganesh Chaturthi, 2026-10-02 Gandhi
Jayanti. Business days = Monday-Saturday minus those.

Week W = Mon 2026-09-28 .. Sun 2026-10-04: it crosses from September into October.

TATA leads (received, local):
  L1 BLR Tue 09-29 10:00   L2 BLR Wed 09-30 10:00   L3 MUM Thu 10-01 10:00
  L4 BLR Sun 10-04 23:30 (= 18:00Z Sunday: week W, not the next week)
  L5 BLR Mon 10-05 00:30 (= 19:00Z *Sunday* 10-04 in UTC, but local Monday: next week)
  L6 MUM Thu 09-10 10:00   L7 BLR Mon 09-21 10:00   L8 MUM Mon 10-12 10:00
Surveys completed: S1 09-30, S2 10-01, S3 10-03, S4 10-06, S6 09-12, S7 09-23, S8 10-13.
Installations completed (level; business days received -> completed; calendar days):
  I1 (L1) Mon 10-05 standard 11,000; (09-29,10-05] = 30,1,3,5 = 4 > 3 breach; 6 days
  I2 (L2) Mon 10-05 premium  20,000; (09-30,10-05] = 1,3,5 = 3 met (holiday 10-02 inside the
     window: without it 4 = breach); 5 days
  I3 (L3) Wed 10-07 standard 11,000; (10-01,10-07] = 3,5,6,7 = 4 breach; 6 days
  I6 (L6) Mon 09-14 standard 10,000; (09-10,09-14] = 11,12 = 2 met (14th a holiday); 4 days
  I7 (L7) Sat 10-03 standard 10,000 (old rate, in force on 10-03); 10 business days breach;
     12 days
  I8 (L8) Wed 10-14 no level (unpriced); 2 met; 2 days
Closure packs submitted: P6 (I6) 09-29, P2 (I2) Sun 10-04 23:30, P1 (I1) 10-06.
Another OEM (MG) has a lead, survey, installation and pack in week W: never counted for TATA.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from db.engine import session_scope
from domain.accounts.models import OemRate
from domain.installations.models import Installation, InstallationReport
from domain.leads.models import Lead
from domain.procurement.models import Material
from domain.reporting.figures import period_figures
from domain.reporting.models import ClosurePack
from domain.surveys.models import Survey, SurveyReport
from tests.factories import actor_of, make_oem, make_user, make_zone

IST = timezone(timedelta(hours=5, minutes=30))
WEEK_W = date(2026, 9, 28)


def ist(y: int, m: int, d: int, hh: int = 12, mm: int = 0) -> datetime:
    """Aware UTC datetime for a local (IST) wall-clock time."""
    return datetime(y, m, d, hh, mm, tzinfo=IST).astimezone(UTC)


@dataclass(frozen=True)
class ReportWorld:
    tata_id: uuid.UUID
    mg_id: uuid.UUID
    reporter: object
    reporter2: object
    manager: object
    tata_viewer: object
    mg_viewer: object
    field_engineer: object
    admin: object


class _Builder:
    def __init__(self, s: Session, compiler_id: uuid.UUID, charger_id: uuid.UUID) -> None:
        self.s = s
        self.compiler_id = compiler_id
        self.charger_id = charger_id
        self.n = {"lead": 0, "survey": 0, "inst": 0, "cp": 0}

    def lead(self, oem, zone, received: datetime, name: str | None = None) -> Lead:  # type: ignore[no-untyped-def]
        self.n["lead"] += 1
        k = self.n["lead"]
        row = Lead(
            ref=f"LEAD-2026-{k:05d}",
            oem_id=oem.id,
            oem_lead_ref=f"R{k}",
            customer_name=name or f"Customer {k}",
            phone="+919876543210",
            address="1 MG Road",
            city=zone.name,
            pincode="560001",
            zone_id=zone.id,
            received_at=received,
            status="new",
        )
        self.s.add(row)
        self.s.flush()
        return row

    def survey(self, ld: Lead, completed: datetime) -> Survey:
        self.n["survey"] += 1
        row = Survey(
            ref=f"SUR-2026-{self.n['survey']:05d}",
            lead_id=ld.id,
            survey_date=completed.date(),
            time_slot="morning",
            status="reviewed_approved",
            completed_at=completed,
        )
        self.s.add(row)
        self.s.flush()
        return row

    def inst(self, ld: Lead, sv: Survey, level: str | None, done: datetime) -> Installation:
        self.n["inst"] += 1
        row = Installation(
            ref=f"INS-2026-{self.n['inst']:05d}",
            survey_id=sv.id,
            lead_id=ld.id,
            status="completed",
            install_level=level,
            completed_at=done,
        )
        self.s.add(row)
        self.s.flush()
        return row

    def pack(self, ld: Lead, sv: Survey, ins: Installation, submitted: datetime) -> None:
        self.n["cp"] += 1
        k = self.n["cp"]
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
            installation_id=ins.id, charger_serial=f"SN{k}", charger_model_id=self.charger_id
        )
        self.s.add_all([sr, ir])
        self.s.flush()
        self.s.add(
            ClosurePack(
                ref=f"CP-2026-{k:05d}",
                installation_id=ins.id,
                lead_id=ld.id,
                survey_report_id=sr.id,
                installation_report_id=ir.id,
                compiled_by_id=self.compiler_id,
                status="submitted",
                submitted_to_oem_at=submitted,
            )
        )
        self.s.flush()


def build_report_world(s: Session) -> ReportWorld:
    """The fixture of the module docstring."""
    blr = make_zone(s)  # KA
    mum = make_zone(
        s, code="MUM", name="Mumbai", state="MAHARASHTRA", districts=("MUMBAI",), subdiv="MH"
    )
    tata = make_oem(
        s,
        sla_install_days=3,
        rates={"standard": "10000.00", "premium": "20000.00"},
        rates_from=date(2020, 1, 1),
    )
    s.add(
        OemRate(
            oem_id=tata.id,
            install_level="standard",
            price=Decimal("11000.00"),
            valid_from=date(2026, 10, 4),
        )
    )
    mg = make_oem(s, code="MG", name="MG Motor", sla_install_days=5, rates={"standard": "9000"})
    charger = Material(name="7.2kW AC charger", sku="CHG-72", category="charger", unit="piece")
    s.add(charger)
    reporter = make_user(s, "oem_reporting", username="reporter")
    reporter2 = make_user(s, "oem_reporting", username="reporter2")
    manager = make_user(s, "manager", username="boss")
    admin = make_user(s, "admin", username="root")
    tata_viewer = make_user(s, "oem_viewer", username="tata-viewer", oem=tata)
    mg_viewer = make_user(s, "oem_viewer", username="mg-viewer", oem=mg)
    fe = make_user(s, "central_ops", username="ops")
    s.flush()
    b = _Builder(s, reporter.id, charger.id)

    l1 = b.lead(tata, blr, ist(2026, 9, 29, 10), "Asha Rao")
    l2 = b.lead(tata, blr, ist(2026, 9, 30, 10), "Vikram Iyer")
    l3 = b.lead(tata, mum, ist(2026, 10, 1, 10), "Priya Deshmukh")
    l4 = b.lead(tata, blr, ist(2026, 10, 4, 23, 30))
    b.lead(tata, blr, ist(2026, 10, 5, 0, 30))  # L5
    l6 = b.lead(tata, mum, ist(2026, 9, 10, 10))
    l7 = b.lead(tata, blr, ist(2026, 9, 21, 10), "Kiran Shetty")
    l8 = b.lead(tata, mum, ist(2026, 10, 12, 10))

    s1 = b.survey(l1, ist(2026, 9, 30, 15))
    s2 = b.survey(l2, ist(2026, 10, 1, 9))
    s3 = b.survey(l3, ist(2026, 10, 3, 11))
    b.survey(l4, ist(2026, 10, 6, 11))  # S4
    s6 = b.survey(l6, ist(2026, 9, 12, 10))
    s7 = b.survey(l7, ist(2026, 9, 23, 10))
    s8 = b.survey(l8, ist(2026, 10, 13, 10))

    i1 = b.inst(l1, s1, "standard", ist(2026, 10, 5, 12))
    i2 = b.inst(l2, s2, "premium", ist(2026, 10, 5, 16))
    b.inst(l3, s3, "standard", ist(2026, 10, 7, 10))  # I3
    i6 = b.inst(l6, s6, "standard", ist(2026, 9, 14, 10))
    b.inst(l7, s7, "standard", ist(2026, 10, 3, 9))  # I7
    b.inst(l8, s8, None, ist(2026, 10, 14, 10))  # I8

    b.pack(l6, s6, i6, ist(2026, 9, 29, 11))
    b.pack(l2, s2, i2, ist(2026, 10, 4, 23, 30))
    b.pack(l1, s1, i1, ist(2026, 10, 6, 11))

    # MG: everything in week W / October, never counted for TATA
    m1 = b.lead(mg, blr, ist(2026, 9, 29, 10))
    ms = b.survey(m1, ist(2026, 9, 30, 10))
    mi = b.inst(m1, ms, "standard", ist(2026, 10, 2, 10))
    b.pack(m1, ms, mi, ist(2026, 10, 3, 10))
    s.flush()
    return ReportWorld(
        tata_id=tata.id,
        mg_id=mg.id,
        reporter=actor_of(reporter),
        reporter2=actor_of(reporter2),
        manager=actor_of(manager),
        tata_viewer=actor_of(tata_viewer),
        mg_viewer=actor_of(mg_viewer),
        field_engineer=actor_of(fe),
        admin=actor_of(admin),
    )


def _zones(fig) -> dict[str, tuple]:  # type: ignore[no-untyped-def]
    return {
        z.zone_code: (
            z.leads_received,
            z.surveys_completed,
            z.installations_completed,
            z.closure_packs_submitted,
            z.sla_met,
            z.total_revenue,
        )
        for z in fig.zones
    }


def test_week_crossing_the_month_end(engine: Engine) -> None:
    with session_scope(engine) as s:
        w = build_report_world(s)
    with session_scope(engine, readonly=True) as s:
        fig = period_figures(
            s, oem_id=w.tata_id, period_start=WEEK_W, period_end=WEEK_W + timedelta(days=7)
        )
    # leads: L1, L2 (September), L3, L4 (October; L4 Sunday 23:30 local); not L5 (Monday 00:30
    # local although Sunday in UTC)
    assert fig.leads_received == 4
    assert fig.surveys_completed == 3  # S1 09-30, S2 10-01, S3 10-03
    assert fig.installations_completed == 1  # I7 Saturday 10-03 (I1, I2 on Monday 10-05)
    assert fig.closure_packs_submitted == 2  # P6 09-29, P2 Sunday 10-04 23:30
    # per zone (leads, surveys, installations, packs, SLA met, revenue):
    # BLR: L1 L2 L4 / S1 S2 / I7 (breach, 10,000) / P2;  MUM: L3 / S3 / - / P6
    assert _zones(fig) == {
        "BLR": (3, 2, 1, 1, 0, "10000.00"),
        "MUM": (1, 1, 0, 1, 0, "0.00"),
    }


def test_the_following_week_gets_the_monday_0030_lead(engine: Engine) -> None:
    with session_scope(engine) as s:
        w = build_report_world(s)
    with session_scope(engine, readonly=True) as s:
        nxt = WEEK_W + timedelta(days=7)
        fig = period_figures(
            s, oem_id=w.tata_id, period_start=nxt, period_end=nxt + timedelta(days=7)
        )
    # week 10-05..10-11: L5 only; S4 10-06; I1, I2 (10-05), I3 (10-07); P1 10-06
    assert (
        fig.leads_received,
        fig.surveys_completed,
        fig.installations_completed,
        fig.closure_packs_submitted,
    ) == (1, 1, 3, 1)


def test_october_monthly_figures(engine: Engine) -> None:
    with session_scope(engine) as s:
        w = build_report_world(s)
    with session_scope(engine, readonly=True) as s:
        fig = period_figures(
            s, oem_id=w.tata_id, period_start=date(2026, 10, 1), period_end=date(2026, 11, 1)
        )
    assert fig.leads_received == 4  # L3, L4, L5, L8
    assert fig.surveys_completed == 4  # S2, S3, S4, S8
    assert fig.installations_completed == 5  # I1, I2, I3, I7, I8
    assert fig.closure_packs_submitted == 2  # P2, P1
    # I1 11,000 + I2 20,000 + I3 11,000 + I7 10,000 (rate of 10-03) ; I8 unpriced
    assert fig.total_revenue == Decimal("52000.00")
    assert fig.unpriced_installations == 1
    # (6 + 5 + 6 + 12 + 2) / 5 = 6.2 days
    assert fig.average_installation_time_days == Decimal("6.2")
    # met: I2 (3 days thanks to the 10-02 holiday) and I8 -> 2 / 5
    assert fig.sla_met == 2
    assert fig.sla_compliance_rate == Decimal("40.00")
    assert [(b.installation_ref, b.business_days) for b in fig.breaches] == [
        ("INS-2026-00001", 4),
        ("INS-2026-00003", 4),
        ("INS-2026-00005", 10),
    ]
    assert fig.breaches[0].customer_name == "Asha Rao"
    assert fig.breaches[0].received_on == "2026-09-29"
    assert fig.breaches[0].completed_on == "2026-10-05"
    assert fig.breaches[0].target_days == 3
    # BLR: L4 L5 / S2 S4 / I1 I2 I7 / P2 P1 / met I2 / 41,000; MUM: L3 L8 / S3 S8 / I3 I8 /
    # - / met I8 / 11,000
    assert _zones(fig) == {
        "BLR": (2, 2, 3, 2, 1, "41000.00"),
        "MUM": (2, 2, 2, 0, 1, "11000.00"),
    }


def test_september_monthly_figures(engine: Engine) -> None:
    with session_scope(engine) as s:
        w = build_report_world(s)
    with session_scope(engine, readonly=True) as s:
        fig = period_figures(
            s, oem_id=w.tata_id, period_start=date(2026, 9, 1), period_end=date(2026, 10, 1)
        )
    # leads L1 L2 L6 L7; surveys S1 S6 S7; installation I6; pack P6
    assert (
        fig.leads_received,
        fig.surveys_completed,
        fig.installations_completed,
        fig.closure_packs_submitted,
    ) == (4, 3, 1, 1)
    assert fig.total_revenue == Decimal("10000.00")
    assert fig.average_installation_time_days == Decimal("4.0")
    assert fig.sla_compliance_rate == Decimal("100.00")
    assert fig.breaches == ()


def test_other_oem_is_separate_and_empty_period_has_no_rates(engine: Engine) -> None:
    with session_scope(engine) as s:
        w = build_report_world(s)
    with session_scope(engine, readonly=True) as s:
        mg = period_figures(
            s, oem_id=w.mg_id, period_start=WEEK_W, period_end=WEEK_W + timedelta(days=7)
        )
        empty = period_figures(
            s, oem_id=w.tata_id, period_start=date(2026, 8, 1), period_end=date(2026, 9, 1)
        )
    assert (
        mg.leads_received,
        mg.surveys_completed,
        mg.installations_completed,
        mg.closure_packs_submitted,
    ) == (1, 1, 1, 1)
    assert mg.total_revenue == Decimal("9000.00")
    assert empty.installations_completed == 0
    assert empty.sla_compliance_rate is None and empty.average_installation_time_days is None
    assert empty.total_revenue == Decimal("0.00") and empty.zones == ()


def test_sla_figures_come_from_the_calendar_table_inside_a_write_transaction(
    engine: Engine,
) -> None:
    """A compile runs inside a write transaction: the calendar is filled in it and kept, and
    the business days are the table's (a tampered row changes the breach once the ordinals
    stored on the rows are re-keyed from it)."""
    from sqlalchemy import func, select, update

    from domain.business_calendar import BusinessDay, backfill_business_days

    with session_scope(engine) as s:
        w = build_report_world(s)
    october = {"period_start": date(2026, 10, 1), "period_end": date(2026, 11, 1)}
    with session_scope(engine) as s:
        s.execute(select(func.count()).select_from(BusinessDay)).scalar_one()  # in a txn now
        fig = period_figures(s, oem_id=w.tata_id, **october)
    assert [(b.installation_ref, b.business_days) for b in fig.breaches] == [
        ("INS-2026-00001", 4),
        ("INS-2026-00003", 4),
        ("INS-2026-00005", 10),
    ]
    with session_scope(engine, readonly=True) as s:
        kept = s.execute(select(func.count()).select_from(BusinessDay)).scalar_one()
    assert kept == 3 * 365  # '', KA, MH: the whole of 2026
    # Make Mon 10-05 a holiday in Karnataka (BLR): I1 (09-29 -> 10-05) now takes 3: met.
    with session_scope(engine) as s:
        s.execute(
            update(BusinessDay)
            .where(BusinessDay.subdiv == "KA", BusinessDay.day >= date(2026, 10, 5))
            .values(ordinal=BusinessDay.ordinal - 1)
        )
        backfill_business_days(s)
    with session_scope(engine, readonly=True) as s:
        again = period_figures(s, oem_id=w.tata_id, **october)
    assert [b.installation_ref for b in again.breaches] == ["INS-2026-00003", "INS-2026-00005"]
    assert again.sla_met == 3
