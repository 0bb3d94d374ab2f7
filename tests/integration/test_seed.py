"""Reference and demo data (``db.seed``) on SQLite and PostgreSQL.

A small scale (0.1 -> ~500 leads) keeps these fast; one slow test runs scale 1.0 on SQLite.
"""

from __future__ import annotations

import re
import time as _time
from collections import Counter
from datetime import date, timedelta

import indian_pincode
import phonenumbers
import pytest
from sqlalchemy import Engine, func, select

from db.base import Base
from db.demo import at_local
from db.engine import make_engine, session_scope
from db.reference import DEMO_USERS, LOCALITY_PINCODES, MATERIALS, OEMS, ZONES
from db.seed import seed_all, seed_demo, seed_reference
from domain.accounts.models import AppUser, FieldTeam, Oem, OemRate, RefCounter, Zone, ZoneDistrict
from domain.actor import ROLES
from domain.calendar import business_days_between, local_date
from domain.installations.models import (
    Installation,
    InstallationAssignment,
    InstallationReport,
    InstallationStatusChange,
)
from domain.leads.models import Lead
from domain.procurement.models import (
    ChargerKitLine,
    Material,
    MaterialAllocation,
    MaterialStock,
    ProcurementRequest,
    StockMovement,
    Vendor,
)
from domain.refs import next_ref
from domain.reporting.models import ClosurePack
from domain.service.models import ServiceTicket, ServiceVisit
from domain.surveys.models import Survey, SurveyReport

TODAY = date(2026, 11, 21)
SCALE = 0.1
UPI_RE = re.compile(r"^[a-zA-Z0-9.\-_]{2,256}@[a-zA-Z]{2,64}$")
IFSC_RE = re.compile(r"^[A-Z]{4}0[A-Z0-9]{6}$")


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    """The ``engine`` database with reference data and a small demo history."""
    seed_all(engine, seed=7, scale=SCALE, today=TODAY)
    return engine


def _lead_snapshot(engine: Engine) -> list[tuple[str, str, str, str, str]]:
    with session_scope(engine, readonly=True) as s:
        return [
            (r.ref, r.customer_name, r.pincode, r.status, r.received_at.isoformat())
            for r in s.execute(
                select(
                    Lead.ref, Lead.customer_name, Lead.pincode, Lead.status, Lead.received_at
                ).order_by(Lead.ref)
            )
        ]


# ------------------------------------------------------------------ reference data


def test_reference_data_is_real_and_valid(engine: Engine) -> None:
    with session_scope(engine) as s:
        seed_reference(s)
    with session_scope(engine, readonly=True) as s:
        zones = s.scalars(select(Zone)).all()
        assert len(zones) >= 10
        assert all(z.holiday_subdiv for z in zones)
        districts = s.execute(select(ZoneDistrict.state, ZoneDistrict.district)).all()
        for state, district in districts:
            assert district in indian_pincode.list_districts(state), (state, district)
            assert indian_pincode.get_pincodes(state=state, district=district)
        assert {z.code for z in zones} >= {"DEL", "MUM", "BLR", "CHE", "HYD", "KOL"}

        oems = s.scalars(select(Oem)).all()
        assert len(oems) >= 10
        for o in oems:
            assert 2 <= o.sla_survey_days <= 4 and 5 <= o.sla_install_days <= 10
            assert "site_photo" in o.required_evidence
            levels = s.execute(
                select(OemRate.install_level, func.count())
                .where(OemRate.oem_id == o.id)
                .group_by(OemRate.install_level)
            ).all()
            # every level has a price change (two lines)
            assert dict(levels) == {"basic": 2, "standard": 2, "premium": 2}

        chargers = s.scalars(select(Material).where(Material.category == "charger")).all()
        assert {float(c.power_kw) for c in chargers} == {3.3, 7.2, 11.0}
        assert all(c.unit == "piece" for c in chargers)
        assert (
            s.scalar(select(func.count()).select_from(Material).where(Material.unit == "meter"))
            >= 4
        )
        for c in chargers:
            kit = s.scalar(select(func.count()).where(ChargerKitLine.charger_id == c.id))
            assert kit >= 8

        vendors = s.scalars(select(Vendor)).all()
        assert {v.zone_id for v in vendors} == {z.id for z in zones}
        for v in vendors:
            num = phonenumbers.parse(v.phone)
            assert phonenumbers.is_valid_number(num) and num.country_code == 91, v.phone
            assert v.upi_id or (v.bank_account and v.bank_ifsc)
            if v.upi_id:
                assert UPI_RE.match(v.upi_id), v.upi_id
            if v.bank_account:
                assert re.fullmatch(r"\d{9,18}", v.bank_account), v.bank_account
                assert IFSC_RE.match(v.bank_ifsc or ""), v.bank_ifsc

        teams_per_zone = Counter(s.scalars(select(FieldTeam.zone_id)).all())
        assert set(teams_per_zone) == {z.id for z in zones}
        assert all(2 <= n <= 5 for n in teams_per_zone.values())

        users = s.scalars(select(AppUser)).all()
        assert {u.role for u in users} == set(ROLES)
        viewers = [u for u in users if u.role == "oem_viewer"]
        assert len({u.oem_id for u in viewers}) >= 2
        assert all(u.team_id for u in users if u.role == "field_engineer")
        by_name = {u.username: u for u in users}
        for du in DEMO_USERS:
            assert by_name[du.username].role == du.role
            assert by_name[du.username].password_hash.startswith("$2")


def test_reference_specs_match_package_data() -> None:
    """Pure data check: zone districts exist in indian-pincode, refs are unique."""
    seen = set()
    for z in ZONES:
        for state, district in z.districts:
            assert district in indian_pincode.list_districts(state), (z.code, district)
            assert (state, district) not in seen
            seen.add((state, district))
        assert {d for d, _ in z.localities} <= {d for _, d in z.districts}
        for district, locality in z.localities:
            pin = LOCALITY_PINCODES[(z.code, locality)]
            details = indian_pincode.get_details(pin)
            assert details is not None and district in details["districts"], (locality, pin)
    assert len({o.code for o in OEMS}) == len(OEMS)
    assert len({m.sku for m in MATERIALS}) == len(MATERIALS)


def test_reference_is_idempotent(engine: Engine) -> None:
    with session_scope(engine) as s:
        seed_reference(s)
    with session_scope(engine) as s:
        first = {
            t: s.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables
        }
        seed_reference(s)
    with session_scope(engine, readonly=True) as s:
        again = {
            t: s.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables
        }
    assert first == again
    assert first[Zone.__table__] >= 10


# ------------------------------------------------------------------------- demo


def test_demo_pincodes_belong_to_lead_zone(seeded: Engine) -> None:
    with session_scope(seeded, readonly=True) as s:
        zone_districts: dict[object, set[str]] = {}
        for zone_id, district in s.execute(select(ZoneDistrict.zone_id, ZoneDistrict.district)):
            zone_districts.setdefault(zone_id, set()).add(district)
        leads = s.execute(select(Lead.pincode, Lead.zone_id, Lead.phone, Lead.source)).all()
    assert len(leads) >= 400
    for pin, zone_id, phone, source in leads:
        details = indian_pincode.get_details(pin)
        assert details is not None, pin
        assert set(details["districts"]) & zone_districts[zone_id], pin
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone)), phone
        assert source in ("import", "manual")


def test_demo_is_deterministic(seeded: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    Base.metadata.create_all(other)
    try:
        seed_all(other, seed=7, scale=SCALE, today=TODAY)
        assert _lead_snapshot(seeded) == _lead_snapshot(other)
        with session_scope(other, readonly=True) as s:
            other_ins = s.execute(
                select(Installation.ref, Installation.status).order_by(Installation.ref)
            ).all()
        with session_scope(seeded, readonly=True) as s:
            ins = s.execute(
                select(Installation.ref, Installation.status).order_by(Installation.ref)
            ).all()
        assert [tuple(r) for r in ins] == [tuple(r) for r in other_ins]
        third = make_engine(f"sqlite:///{tmp_path / 'third.db'}")
        Base.metadata.create_all(third)
        seed_all(third, seed=8, scale=SCALE, today=TODAY)
        assert _lead_snapshot(third) != _lead_snapshot(seeded)
        third.dispose()
    finally:
        other.dispose()


def test_demo_is_idempotent(seeded: Engine) -> None:
    with session_scope(seeded, readonly=True) as s:
        before = {
            t.name: s.scalar(select(func.count()).select_from(t))
            for t in Base.metadata.sorted_tables
        }
    again = seed_all(seeded, seed=7, scale=SCALE, today=TODAY)
    assert again == before
    with session_scope(seeded) as s:
        assert seed_demo(s, seed=99, scale=SCALE, today=TODAY) == {}


def test_lifecycle_is_consistent(seeded: Engine) -> None:
    with session_scope(seeded, readonly=True) as s:
        rows = s.execute(
            select(
                Installation.id,
                Installation.status,
                Installation.completed_at,
                Installation.install_level,
                Lead.status,
                InstallationReport.charger_serial,
            )
            .join(Lead, Lead.id == Installation.lead_id)
            .outerjoin(InstallationReport, InstallationReport.installation_id == Installation.id)
        ).all()
        statuses = Counter(r[1] for r in rows)
        for _id, status, completed_at, level, lead_status, serial in rows:
            assert level in ("basic", "standard", "premium")
            if status in ("completed", "report_submitted", "closed"):
                assert completed_at is not None
                assert lead_status in ("installed", "closed")
            if status in ("report_submitted", "closed"):
                assert serial
            if status == "closed":
                assert lead_status == "closed"
            if status == "cancelled":
                assert lead_status == "cancelled"
            if status in (
                "planned",
                "material_pending",
                "material_ready",
                "confirmed",
                "rescheduled",
            ):
                assert lead_status == "installation_scheduled"
        assert statuses["closed"] > statuses["report_submitted"] > 0

        # every installation history starts at planned and ends at the current status
        changes: dict[object, list[tuple[object, str | None, str]]] = {}
        for inst_id, at, frm, to in s.execute(
            select(
                InstallationStatusChange.installation_id,
                InstallationStatusChange.created_at,
                InstallationStatusChange.from_status,
                InstallationStatusChange.to_status,
            ).order_by(InstallationStatusChange.created_at)
        ):
            changes.setdefault(inst_id, []).append((at, frm, to))
        for inst_id, status, *_ in rows:
            hist = changes[inst_id]
            assert hist[0][1] is None and hist[0][2] == "planned"
            assert hist[-1][2] == status
            assert all(a[2] == b[1] for a, b in zip(hist, hist[1:], strict=False))

        # approved survey behind every installation; reports behind submitted surveys
        bad = s.scalar(
            select(func.count())
            .select_from(Installation)
            .join(Survey, Survey.id == Installation.survey_id)
            .where(Survey.status != "reviewed_approved")
        )
        assert bad == 0
        no_report = s.scalar(
            select(func.count())
            .select_from(Survey)
            .outerjoin(SurveyReport, SurveyReport.survey_id == Survey.id)
            .where(Survey.status.in_(("submitted", "reviewed_approved", "reviewed_rejected")))
            .where(SurveyReport.id.is_(None))
        )
        assert no_report == 0

        # open leads: no survey yet for new; contacted only after a rejected/cancelled one
        early = s.scalar(
            select(func.count())
            .select_from(Lead)
            .join(Survey, Survey.lead_id == Lead.id)
            .where(
                (Lead.status == "new")
                | (
                    (Lead.status == "contacted")
                    & Survey.status.not_in(("reviewed_rejected", "cancelled"))
                )
            )
        )
        assert early == 0

        # completed jobs got their material delivered
        undelivered = s.scalar(
            select(func.count())
            .select_from(MaterialAllocation)
            .join(Installation, Installation.id == MaterialAllocation.installation_id)
            .where(Installation.status.in_(("completed", "report_submitted", "closed")))
            .where(MaterialAllocation.status != "delivered")
        )
        assert undelivered == 0

        # closure packs only for reported installations; accepted packs -> submitted_at set
        packs = s.execute(
            select(ClosurePack.status, Installation.status, ClosurePack.submitted_to_oem_at).join(
                Installation, Installation.id == ClosurePack.installation_id
            )
        ).all()
        assert packs
        assert {p[1] for p in packs} <= {"report_submitted", "closed"}
        assert all(p[2] is not None for p in packs if p[0] in ("submitted", "accepted"))
        assert {p[0] for p in packs} >= {"accepted", "submitted"}


def test_stock_equals_ledger_and_no_double_booking(seeded: Engine) -> None:
    with session_scope(seeded, readonly=True) as s:
        ledger = dict(
            s.execute(
                select(
                    StockMovement.material_stock_id, func.sum(StockMovement.quantity_delta)
                ).group_by(StockMovement.material_stock_id)
            ).all()
        )
        stocks = s.execute(select(MaterialStock.id, MaterialStock.quantity_available)).all()
        assert len(stocks) >= 10 * len(MATERIALS)
        for sid, qty in stocks:
            assert qty >= 0
            assert ledger.get(sid, 0) == qty
        kinds = set(s.scalars(select(StockMovement.kind).distinct()))
        assert {"receipt", "allocation"} <= kinds
        # local purchases: every received request is a receipt in the ledger, and only those
        received = set(
            s.scalars(select(ProcurementRequest.id).where(ProcurementRequest.status == "received"))
        )
        linked = set(
            s.scalars(
                select(StockMovement.procurement_request_id).where(
                    StockMovement.procurement_request_id.is_not(None)
                )
            )
        )
        assert received and linked == received

        double = s.execute(
            select(
                InstallationAssignment.team_id,
                InstallationAssignment.work_date,
                InstallationAssignment.time_slot,
            )
            .where(InstallationAssignment.released_at.is_(None))
            .group_by(
                InstallationAssignment.team_id,
                InstallationAssignment.work_date,
                InstallationAssignment.time_slot,
            )
            .having(func.count() > 1)
        ).all()
        assert double == []
        # a team is never booked for a survey and an installation in the same slot
        survey_slots = set(s.execute(select(Survey.team_id, Survey.survey_date, Survey.time_slot)))
        inst_slots = set(
            s.execute(
                select(
                    InstallationAssignment.team_id,
                    InstallationAssignment.work_date,
                    InstallationAssignment.time_slot,
                ).where(InstallationAssignment.released_at.is_(None))
            )
        )
        assert not survey_slots & inst_slots
        serials = s.scalars(select(InstallationReport.charger_serial)).all()
        assert len(serials) == len(set(serials))
        charger_ids = set(s.scalars(select(Material.id).where(Material.category == "charger")))
        assert set(s.scalars(select(InstallationReport.charger_model_id))) <= charger_ids


def test_realistic_mix_over_eighteen_months(seeded: Engine) -> None:
    now = at_local(TODAY, 13 * 60)
    with session_scope(seeded, readonly=True) as s:
        first, last = s.execute(
            select(func.min(Lead.received_at), func.max(Lead.received_at))
        ).one()
        assert TODAY - timedelta(days=560) <= local_date(first) <= TODAY - timedelta(days=500)
        assert TODAY - timedelta(days=3) <= local_date(last) and last <= now
        statuses = Counter(s.scalars(select(Lead.status)))
        total = sum(statuses.values())
        assert 0.03 <= statuses["cancelled"] / total <= 0.11
        open_states = ("new", "contacted", "survey_scheduled", "surveyed", "installation_scheduled")
        assert sum(statuses[k] for k in open_states) > 0
        # upcoming installations in the next two weeks
        upcoming = s.scalar(
            select(func.count())
            .select_from(Installation)
            .where(Installation.scheduled_date > TODAY)
            .where(Installation.scheduled_date <= TODAY + timedelta(days=14))
            .where(Installation.status.not_in(("cancelled",)))
        )
        assert upcoming >= 1
        assert s.scalar(select(func.max(Installation.completed_at))) <= now
        # SLA breaches (installation, business days from lead received to completed)
        rows = s.execute(
            select(
                Lead.received_at,
                Installation.completed_at,
                Oem.sla_install_days,
                Zone.holiday_subdiv,
            )
            .join(Installation, Installation.lead_id == Lead.id)
            .join(Oem, Oem.id == Lead.oem_id)
            .join(Zone, Zone.id == Lead.zone_id)
            .where(Installation.completed_at.is_not(None))
        ).all()
        assert len(rows) >= 300
        breaches = sum(
            business_days_between(local_date(r), local_date(c), sub) > sla
            for r, c, sla, sub in rows
        )
        assert 0.05 <= breaches / len(rows) <= 0.30
        # revenue: the rate in force on the completion date; both old and new prices used
        rates = s.execute(select(OemRate.oem_id, OemRate.install_level, OemRate.valid_from)).all()
        done = s.execute(
            select(Lead.oem_id, Installation.install_level, Installation.completed_at)
            .join(Lead, Lead.id == Installation.lead_id)
            .where(Installation.completed_at.is_not(None))
        ).all()
        used = Counter()
        for oem_id, level, completed in done:
            in_force = max(
                vf
                for o, lv, vf in rates
                if o == oem_id and lv == level and vf <= local_date(completed)
            )
            used[in_force.year >= 2025] += 1
        assert used[True] > 0 and used[False] > 0
        # after-sales
        tickets = s.scalar(select(func.count()).select_from(ServiceTicket))
        visits = s.scalar(select(func.count()).select_from(ServiceVisit))
        assert tickets > 0 and visits > 0


def test_ref_counters_continue_after_demo(seeded: Engine) -> None:
    with session_scope(seeded) as s:
        counters = {(c.prefix, c.year): c.last_value for c in s.scalars(select(RefCounter))}
        assert counters[("LEAD", 2026)] > 0 and counters[("LEAD", 2025)] > 0
        for prefix, model in (("LEAD", Lead), ("INS", Installation), ("SUR", Survey)):
            top = s.scalar(select(func.max(model.ref)).where(model.ref.like(f"{prefix}-2026-%")))
            assert top == f"{prefix}-2026-{counters[(prefix, 2026)]:05d}"
        new = next_ref(s, "LEAD", 2026)
        assert s.scalar(select(func.count()).where(Lead.ref == new)) == 0
        assert new == f"LEAD-2026-{counters[('LEAD', 2026)] + 1:05d}"


@pytest.mark.slow
def test_full_scale_is_fast_on_sqlite(sqlite_engine: Engine) -> None:
    started = _time.perf_counter()
    counts = seed_all(sqlite_engine, seed=42, scale=1.0, today=TODAY)
    elapsed = _time.perf_counter() - started
    assert 4000 <= counts["lead"] <= 6000
    assert counts["installation"] >= 3000
    assert elapsed < 60, elapsed


def test_lead_status_follows_its_latest_survey_like_the_commands(seeded: Engine) -> None:
    """Demo leads obey the survey commands' rules: ``survey_scheduled`` until approval,
    ``surveyed`` after it, back to ``contacted`` after a rejection (see domain.surveys)."""
    from domain.surveys.models import Survey

    with session_scope(seeded, readonly=True) as s:
        latest: dict = {}
        for lead_id, status in s.execute(
            select(Survey.lead_id, Survey.status).order_by(Survey.created_at)
        ):
            latest[lead_id] = status
        lead_status = dict(s.execute(select(Lead.id, Lead.status)).all())
    expected = {
        "scheduled": {"survey_scheduled"},
        "completed": {"survey_scheduled"},
        "submitted": {"survey_scheduled"},
        "reviewed_rejected": {"contacted"},
        "cancelled": {"cancelled", "contacted"},
        "reviewed_approved": {
            "surveyed",
            "installation_scheduled",
            "installed",
            "closed",
            "cancelled",
        },
    }
    wrong = [
        (survey_status, lead_status[lead_id])
        for lead_id, survey_status in latest.items()
        if lead_status[lead_id] not in expected[survey_status]
    ]
    assert wrong == []
    # every branch of the rules is exercised by at least two leads at this scale
    branches = Counter(
        (survey_status, lead_status[lead_id]) for lead_id, survey_status in latest.items()
    )
    for branch in (
        ("scheduled", "survey_scheduled"),
        ("completed", "survey_scheduled"),
        ("submitted", "survey_scheduled"),
        ("reviewed_rejected", "contacted"),
        ("reviewed_approved", "surveyed"),
        ("reviewed_approved", "installation_scheduled"),
        ("reviewed_approved", "installed"),
        ("reviewed_approved", "closed"),
        ("cancelled", "cancelled"),
    ):
        assert branches[branch] >= 2, (branch, branches)


def test_every_zone_has_unassigned_bookable_jobs_in_the_next_three_weeks(seeded: Engine) -> None:
    """The dispatch board's unassigned list is never empty on demo data: at scale 0.1 every
    zone has open, bookable installations dated in the next 3 weeks with no active team."""
    from sqlalchemy import and_, exists

    from domain.installations.scheduling import BOOKABLE_STATUSES

    has_team = exists().where(
        and_(
            InstallationAssignment.installation_id == Installation.id,
            InstallationAssignment.released_at.is_(None),
        )
    )
    with session_scope(seeded, readonly=True) as s:
        zones = set(s.scalars(select(Zone.code)))
        rows = s.execute(
            select(Zone.code, Installation.status, Installation.scheduled_date, Lead.status)
            .join(Lead, Lead.id == Installation.lead_id)
            .join(Zone, Zone.id == Lead.zone_id)
            .where(
                Installation.status.in_(sorted(BOOKABLE_STATUSES)),
                ~has_team,
                Installation.scheduled_date > TODAY,
                Installation.scheduled_date <= TODAY + timedelta(days=21),
            )
        ).all()
    per_zone = Counter(code for code, *_ in rows)
    assert {z: per_zone[z] for z in sorted(zones)} == {
        z: max(1, per_zone[z]) for z in sorted(zones)
    }
    assert all(lead_status == "installation_scheduled" for *_, lead_status in rows)
    # the week after the seed's today alone is not the only one covered
    assert any(d > TODAY + timedelta(days=7) for _, _, d, _ in rows)
