"""Month closure (seed 003): folder creation, pre-closure checklist, lifecycle, permissions.

Runs on SQLite and PostgreSQL. Today is after October 2026 (the suite runs from 2026-11-21),
so October is over and may be closed; the world's month under test is TATA's October 2026.

World (``build_month_world``), local times (Asia/Kolkata):

* A: TATA, completed Sat 10 Oct, ``report_submitted``, report + submitted pack, its charger
  allocation delivered; team BLR-T1 assigned that day.
* B: TATA, completed Wed 21 Oct, ``completed``, no report, no pack; a cable allocation
  ``dispatched`` and a breaker allocation ``allocated``; BLR-T1 assigned that day.
* C: TATA, completed Thu 22 Oct, ``report_submitted``, report, pack only ``compiled``.
* D: TATA, completed 5 Nov (another month).
* E: MG (another OEM), completed 15 Oct, no report.
* BLR-T1 logged every Monday-Saturday of October except 2 Oct (Gandhi Jayanti) and 20 Oct
  (Dussehra, a Karnataka holiday) -- which need no log -- and 15 Oct, which is missing.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.settings import get_settings
from domain.accounts.models import AuditEvent
from domain.errors import NotFound, PermissionDenied, TransitionError, ValidationError
from domain.installations.models import (
    Installation,
    InstallationAssignment,
    InstallationReport,
    TeamDailyLog,
)
from domain.installations.service import transition
from domain.leads.models import Lead
from domain.procurement.models import Material, MaterialAllocation, MaterialStock
from domain.reporting.models import ClosurePack, MonthlyReport
from domain.reporting.months import (
    MonthLocked,
    checklist,
    close_month,
    ensure_month,
    fresh_figures,
    get_month,
    list_months,
    mark_invoiced,
    month_history,
    open_month,
    reopen_month,
    require_month_open,
    return_to_open,
    set_evidence_url,
    start_review,
    validate_evidence_url,
)
from domain.surveys.models import Survey, SurveyReport
from tests.factories import actor_of, make_oem, make_team, make_user, make_zone

IST = timezone(timedelta(hours=5, minutes=30))
OCT = date(2026, 10, 1)
NOV = date(2026, 11, 1)
EVIDENCE = "https://files.chargeops.example.in/tata/2026-10/"


def ist(y: int, m: int, d: int, hh: int = 12, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=IST).astimezone(UTC)


@dataclass(frozen=True)
class MonthWorld:
    tata_id: uuid.UUID
    mg_id: uuid.UUID
    zone_id: uuid.UUID
    team1_id: uuid.UUID
    team2_id: uuid.UUID
    charger_id: uuid.UUID
    cable_id: uuid.UUID
    breaker_id: uuid.UUID
    a_id: uuid.UUID
    b_id: uuid.UUID
    c_id: uuid.UUID
    d_id: uuid.UUID
    e_id: uuid.UUID
    refs: dict[str, str]
    pack_a_id: uuid.UUID
    pack_c_id: uuid.UUID
    alloc_a_delivered: uuid.UUID
    alloc_b_dispatched: uuid.UUID
    alloc_b_allocated: uuid.UUID
    admin: object
    manager: object
    reporting: object
    ops: object
    engineer: object
    procurement: object
    viewer: object


def build_month_world(s: Session) -> MonthWorld:
    zone = make_zone(s)
    tata = make_oem(s)
    mg = make_oem(s, code="MG", name="MG Motor", rates={"standard": "10000"})
    t1 = make_team(s, zone, "BLR-T1")
    t2 = make_team(s, zone, "BLR-T2")
    admin = make_user(s, "admin")
    manager = make_user(s, "manager")
    reporting = make_user(s, "oem_reporting")
    ops = make_user(s, "central_ops")
    engineer = make_user(s, "field_engineer", team=t1)
    procurement = make_user(s, "procurement")
    viewer = make_user(s, "oem_viewer", oem=tata)
    charger = Material(
        name="7.2kW AC charger",
        sku="CHG-72",
        category="charger",
        unit="piece",
        power_kw=Decimal("7.2"),
    )
    cable = Material(name="Cable 6 sq mm", sku="CBL-6", category="cable", unit="meter")
    breaker = Material(name="MCB 32A", sku="MCB-32", category="electrical", unit="piece")
    s.add_all([charger, cable, breaker])
    s.flush()
    for m in (charger, cable, breaker):
        s.add(MaterialStock(material_id=m.id, zone_id=zone.id, quantity_available=50))
    s.flush()
    n = {"i": 0}
    refs: dict[str, str] = {}

    def job(key: str, oem, completed: datetime, status: str, *, report: bool):  # type: ignore[no-untyped-def]
        n["i"] += 1
        i = n["i"]
        lead = Lead(
            ref=f"LEAD-2026-{i:05d}",
            oem_id=oem.id,
            oem_lead_ref=f"R{i}",
            customer_name=f"Customer {key}",
            phone="+919876543210",
            address="1 MG Road",
            city="Bengaluru",
            pincode="560001",
            zone_id=zone.id,
            received_at=completed - timedelta(days=6),
            status="installed",
        )
        s.add(lead)
        s.flush()
        survey = Survey(
            ref=f"SUR-2026-{i:05d}",
            lead_id=lead.id,
            team_id=t1.id,
            survey_date=(completed - timedelta(days=4)).date(),
            time_slot="09-12",
            status="reviewed_approved",
            completed_at=completed - timedelta(days=4),
        )
        s.add(survey)
        s.flush()
        sr = SurveyReport(
            survey_id=survey.id,
            site_type="independent_house",
            parking="covered",
            meter_distance_m=Decimal("5"),
            sanctioned_load_kw=Decimal("7"),
            earthing_ok=True,
            cable_length_m=Decimal("8"),
            recommended_charger_id=charger.id,
        )
        s.add(sr)
        inst = Installation(
            ref=f"INS-2026-{i:05d}",
            survey_id=survey.id,
            lead_id=lead.id,
            status=status,
            scheduled_date=local(completed),
            time_slot="09-12",
            material_ready=True,
            customer_confirmed=True,
            install_level="standard",
            completed_at=completed,
        )
        s.add(inst)
        s.flush()
        s.add(
            InstallationAssignment(
                installation_id=inst.id,
                team_id=t1.id,
                work_date=local(completed),
                time_slot="09-12",
                assigned_at=completed - timedelta(days=3),
            )
        )
        ir = None
        if report:
            ir = InstallationReport(
                installation_id=inst.id,
                charger_serial=f"SN-{key}-{i}",
                charger_model_id=charger.id,
                submitted_at=completed,
            )
            s.add(ir)
        s.flush()
        refs[key] = inst.ref
        return lead, sr, inst, ir

    def pack(lead, sr, inst, ir, status: str, submitted: datetime | None) -> uuid.UUID:  # type: ignore[no-untyped-def]
        cp = ClosurePack(
            ref=f"CP-2026-{inst.ref[-5:]}",
            installation_id=inst.id,
            lead_id=lead.id,
            survey_report_id=sr.id,
            installation_report_id=ir.id,
            compiled_by_id=reporting.id,
            status=status,
            submitted_to_oem_at=submitted,
            compiled_at=submitted or inst.completed_at,
        )
        s.add(cp)
        s.flush()
        return cp.id

    def alloc(inst, material, status: str, at: datetime) -> uuid.UUID:  # type: ignore[no-untyped-def]
        a = MaterialAllocation(
            installation_id=inst.id,
            material_id=material.id,
            zone_id=zone.id,
            quantity=1,
            allocated_by_id=procurement.id,
            status=status,
            allocated_at=at - timedelta(days=2),
            dispatched_at=at - timedelta(days=1) if status in ("dispatched", "delivered") else None,
            delivered_at=at if status == "delivered" else None,
        )
        s.add(a)
        s.flush()
        return a.id

    la, sra, ia, ira = job("A", tata, ist(2026, 10, 10, 15), "report_submitted", report=True)
    _, _, ib, _ = job("B", tata, ist(2026, 10, 21, 16), "completed", report=False)
    lc, src, ic, irc = job("C", tata, ist(2026, 10, 22, 11), "report_submitted", report=True)
    _, _, i_d, _ = job("D", tata, ist(2026, 11, 5, 11), "completed", report=False)
    _, _, ie, _ = job("E", mg, ist(2026, 10, 15, 11), "completed", report=False)
    pack_a = pack(la, sra, ia, ira, "submitted", ist(2026, 10, 12, 10))
    pack_c = pack(lc, src, ic, irc, "compiled", None)
    a_del = alloc(ia, charger, "delivered", ist(2026, 10, 9))
    b_dis = alloc(ib, cable, "dispatched", ist(2026, 10, 20))
    b_all = alloc(ib, breaker, "allocated", ist(2026, 10, 20))
    day = OCT
    while day < NOV:
        if day.weekday() != 6 and day not in (
            date(2026, 10, 2),
            date(2026, 10, 15),
            date(2026, 10, 20),
        ):
            s.add(TeamDailyLog(team_id=t1.id, log_date=day, day_type="productive", jobs_done=1))
        day += timedelta(days=1)
    s.flush()
    return MonthWorld(
        tata_id=tata.id,
        mg_id=mg.id,
        zone_id=zone.id,
        team1_id=t1.id,
        team2_id=t2.id,
        charger_id=charger.id,
        cable_id=cable.id,
        breaker_id=breaker.id,
        a_id=ia.id,
        b_id=ib.id,
        c_id=ic.id,
        d_id=i_d.id,
        e_id=ie.id,
        refs=refs,
        pack_a_id=pack_a,
        pack_c_id=pack_c,
        alloc_a_delivered=a_del,
        alloc_b_dispatched=b_dis,
        alloc_b_allocated=b_all,
        admin=actor_of(admin),
        manager=actor_of(manager),
        reporting=actor_of(reporting),
        ops=actor_of(ops),
        engineer=actor_of(engineer),
        procurement=actor_of(procurement),
        viewer=actor_of(viewer),
    )


def local(moment: datetime) -> date:
    return moment.astimezone(IST).date()


def store_figures(s: Session, oem_id: uuid.UUID, month: date) -> None:
    """What ``compile_monthly`` stores, without its PDF: the fresh figures, compiled now."""
    row = ensure_month(s, oem_id=oem_id, month=month)
    for name, value in fresh_figures(s, oem_id=oem_id, month=month).items():
        setattr(row, name, value)
    row.compiled_at = datetime.now(UTC)
    s.flush()


def close_october_with_exceptions(engine: Engine, w: MonthWorld) -> None:
    """TATA October: folder, review, closed by the manager with a reason (items failing)."""
    with session_scope(engine) as s:
        open_month(s, w.manager, oem_id=w.tata_id, month=OCT)
        start_review(s, w.manager, oem_id=w.tata_id, month=OCT)
        close_month(s, w.manager, oem_id=w.tata_id, month=OCT, reason="B billed next month")


@pytest.fixture
def world(engine: Engine) -> MonthWorld:
    with session_scope(engine) as s:
        return build_month_world(s)


def _items(engine: Engine, w: MonthWorld, actor=None):  # type: ignore[no-untyped-def]
    with session_scope(engine, readonly=True) as s:
        cl = checklist(s, actor or w.reporting, oem_id=w.tata_id, month=OCT)
    return cl, {i.key: i for i in cl.items}


# --------------------------------------------------------------------------- folder


def test_completing_an_installation_opens_the_month_folder(
    engine: Engine, world: MonthWorld
) -> None:
    # An in-progress job of TATA completed now opens TATA's folder for the current month.
    with session_scope(engine) as s:
        inst = s.get(Installation, world.d_id)
        assert inst is not None
        inst.status, inst.completed_at = "in_progress", None
    now_month = datetime.now(IST).date().replace(day=1)
    with session_scope(engine, readonly=True) as s:
        assert get_month(s, world.reporting, oem_id=world.tata_id, month=now_month) is None
    with session_scope(engine) as s:
        transition(s, world.ops, installation_id=world.d_id, to_status="completed")
    with session_scope(engine, readonly=True) as s:
        folder = get_month(s, world.reporting, oem_id=world.tata_id, month=now_month)
        assert folder is not None
        assert (folder.status, folder.month, folder.total_leads) == ("open", now_month, 0)
        assert folder.compiled_at is None and folder.evidence_url is None
        # Only TATA's folder, and only one.
        assert s.execute(select(func.count()).select_from(MonthlyReport)).scalar_one() == 1
    # A second completion in the same month reuses the folder.
    with session_scope(engine) as s:
        inst = s.get(Installation, world.b_id)
        assert inst is not None
        inst.status, inst.completed_at = "in_progress", None
    with session_scope(engine) as s:
        transition(s, world.ops, installation_id=world.b_id, to_status="completed")
        assert s.execute(select(func.count()).select_from(MonthlyReport)).scalar_one() == 1


def test_list_months_shows_months_with_activity(engine: Engine, world: MonthWorld) -> None:
    with session_scope(engine, readonly=True) as s:
        months = list_months(s, world.reporting, oem_id=world.tata_id)
    # TATA completed A, B, C in October and D in November; no folder exists yet.
    assert [(m.month, m.status, m.installations_completed) for m in months] == [
        (NOV, None, 1),
        (OCT, None, 3),
    ]
    with session_scope(engine) as s:
        dto = open_month(s, world.reporting, oem_id=world.tata_id, month=date(2026, 10, 17))
        assert dto.month == OCT and dto.status == "open"
        again = open_month(s, world.reporting, oem_id=world.tata_id, month=OCT)
        assert again.id == dto.id
    with session_scope(engine, readonly=True) as s:
        months = list_months(s, world.reporting, oem_id=world.tata_id)
        assert [(m.month, m.status) for m in months] == [(NOV, None), (OCT, "open")]
        mg = list_months(s, world.reporting, oem_id=world.mg_id)
        assert [(m.month, m.installations_completed) for m in mg] == [(OCT, 1)]


def test_oem_viewer_and_field_staff_cannot_see_the_folder(
    engine: Engine, world: MonthWorld
) -> None:
    with session_scope(engine) as s:
        open_month(s, world.reporting, oem_id=world.tata_id, month=OCT)
    for actor in (world.viewer, world.engineer, world.procurement):
        with session_scope(engine, readonly=True) as s:
            for call in (list_months, month_history):
                kwargs = {"oem_id": world.tata_id}
                if call is month_history:
                    kwargs["month"] = OCT  # type: ignore[assignment]
                with pytest.raises(PermissionDenied):
                    call(s, actor, **kwargs)  # type: ignore[operator]
            with pytest.raises(PermissionDenied):
                checklist(s, actor, oem_id=world.tata_id, month=OCT)
            with pytest.raises(PermissionDenied):
                get_month(s, actor, oem_id=world.mg_id, month=OCT)


# --------------------------------------------------------------------------- checklist


def test_checklist_lists_each_failing_item_with_its_refs(engine: Engine, world: MonthWorld) -> None:
    with session_scope(engine) as s:
        open_month(s, world.reporting, oem_id=world.tata_id, month=OCT)
    cl, items = _items(engine, world)
    r = world.refs
    assert [i.key for i in cl.items] == [
        "installation_reports",
        "closure_packs",
        "allocations",
        "daily_logs",
        "figures",
        "evidence",
    ]
    assert not cl.passed
    # B has no report; D (November) and E (MG) are not in TATA's October.
    assert items["installation_reports"].offending == (r["B"],)
    assert items["installation_reports"].detail == "2 of 3 installations have a report"
    # C's pack is only compiled; B has none; A's is submitted.
    assert items["closure_packs"].offending == (r["B"], r["C"])
    # B's cable is dispatched and its breaker allocated; A's charger is delivered.
    assert items["allocations"].offending == (
        f"{r['B']}: CBL-6 (dispatched)",
        f"{r['B']}: MCB-32 (allocated)",
    )
    # 15 Oct missing; 2 Oct (Gandhi Jayanti), 20 Oct (Dussehra, KA) and Sundays need no log.
    assert items["daily_logs"].offending == ("BLR-T1 2026-10-15",)
    assert items["figures"].detail == "the monthly report has not been compiled yet"
    assert not items["evidence"].passed


def test_checklist_passes_once_the_data_is_complete(engine: Engine, world: MonthWorld) -> None:
    with session_scope(engine) as s:
        open_month(s, world.reporting, oem_id=world.tata_id, month=OCT)
        s.add(
            InstallationReport(
                installation_id=world.b_id,
                charger_serial="SN-B-FIXED",
                charger_model_id=world.charger_id,
            )
        )
        s.flush()
        for pack in s.scalars(select(ClosurePack)):
            pack.status, pack.submitted_to_oem_at = "submitted", ist(2026, 10, 28, 10)
        b = s.get(Installation, world.b_id)
        assert b is not None
        ib = s.execute(
            select(InstallationReport).where(InstallationReport.installation_id == world.b_id)
        ).scalar_one()
        lead_b = s.get(Lead, b.lead_id)
        sr_b = s.execute(
            select(SurveyReport).join(Survey).where(Survey.lead_id == b.lead_id)
        ).scalar_one()
        s.add(
            ClosurePack(
                ref="CP-2026-99999",
                installation_id=b.id,
                lead_id=lead_b.id,  # type: ignore[union-attr]
                survey_report_id=sr_b.id,
                installation_report_id=ib.id,
                compiled_by_id=world.reporting.user_id,  # type: ignore[attr-defined]
                status="accepted",
                submitted_to_oem_at=ist(2026, 10, 29, 10),
            )
        )
        for a in s.scalars(select(MaterialAllocation)):
            a.status = "delivered" if a.status == "dispatched" else "returned"
        s.add(
            TeamDailyLog(
                team_id=world.team1_id,
                log_date=date(2026, 10, 15),
                day_type="non_productive",
                jobs_done=0,
            )
        )
        s.flush()
        store_figures(s, world.tata_id, OCT)
        set_evidence_url(s, world.reporting, oem_id=world.tata_id, month=OCT, evidence_url=EVIDENCE)
    cl, items = _items(engine, world)
    assert [(i.key, i.passed) for i in cl.items if not i.passed] == []
    assert items["figures"].detail == "stored figures equal the recompute"
    # Closing with every item passing needs no manager and no reason.
    with session_scope(engine) as s:
        start_review(s, world.reporting, oem_id=world.tata_id, month=OCT)
        dto = close_month(s, world.reporting, oem_id=world.tata_id, month=OCT)
    assert (dto.status, dto.closure_reason, dto.closed_by) == (
        "closed",
        None,
        world.reporting.username,  # type: ignore[attr-defined]
    )


def test_figures_item_fails_when_the_data_changed_after_compiling(
    engine: Engine, world: MonthWorld
) -> None:
    with session_scope(engine) as s:
        store_figures(s, world.tata_id, OCT)
    _, items = _items(engine, world)
    assert items["figures"].passed
    with session_scope(engine) as s:
        row = s.execute(select(MonthlyReport)).scalar_one()
        leads = row.total_leads
        # A late lead received on 31 Oct 23:30 local (= 18:00 UTC, still October locally).
        s.add(
            Lead(
                ref="LEAD-2026-00999",
                oem_id=world.tata_id,
                oem_lead_ref="LATE",
                customer_name="Late Lead",
                phone="+919876543210",
                address="2 MG Road",
                city="Bengaluru",
                pincode="560001",
                zone_id=world.zone_id,
                received_at=ist(2026, 10, 31, 23, 30),
                status="new",
            )
        )
    _, items = _items(engine, world)
    assert not items["figures"].passed
    assert items["figures"].offending == (f"total_leads: stored {leads}, now {leads + 1}",)


def test_figures_reconcile_with_compile_monthly(
    engine: Engine, world: MonthWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from domain.reporting.reports import compile_monthly

    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        with session_scope(engine) as s:
            open_month(s, world.reporting, oem_id=world.tata_id, month=OCT)
        with session_scope(engine) as s:
            compile_monthly(s, world.reporting, oem_id=world.tata_id, month=OCT)
        _, items = _items(engine, world)
        assert items["figures"].passed, items["figures"].offending
        with session_scope(engine, readonly=True) as s:
            row = s.execute(select(MonthlyReport)).scalar_one()
            # Three TATA installations completed in October (A, B, C), each at 12,000.
            assert (row.installations_completed, row.total_revenue) == (3, Decimal("36000.00"))
    finally:
        get_settings.cache_clear()


# --------------------------------------------------------------------------- lifecycle


def test_close_with_failing_items_needs_a_manager_and_a_reason(
    engine: Engine, world: MonthWorld
) -> None:
    with session_scope(engine) as s:
        open_month(s, world.reporting, oem_id=world.tata_id, month=OCT)
        start_review(s, world.reporting, oem_id=world.tata_id, month=OCT)
    with session_scope(engine) as s, pytest.raises(PermissionDenied, match="only a manager"):
        close_month(s, world.reporting, oem_id=world.tata_id, month=OCT, reason="urgent")
    with session_scope(engine) as s, pytest.raises(ValidationError) as err:
        close_month(s, world.manager, oem_id=world.tata_id, month=OCT, reason="   ")
    assert "reason" in err.value.errors
    with session_scope(engine, readonly=True) as s:
        assert get_month(s, world.manager, oem_id=world.tata_id, month=OCT).status == "in_review"  # type: ignore[union-attr]
    with session_scope(engine) as s:
        dto = close_month(
            s, world.manager, oem_id=world.tata_id, month=OCT, reason="B billed next month"
        )
    assert dto.status == "closed" and dto.locked
    assert dto.closure_reason == "B billed next month"
    assert dto.closed_by == world.manager.username  # type: ignore[attr-defined]
    with session_scope(engine, readonly=True) as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "month.close")).scalar_one()
        assert event.after["with_exceptions"] is True
        assert event.after["failing"]["installation_reports"] == [world.refs["B"]]
        assert event.after["failing"]["daily_logs"] == ["BLR-T1 2026-10-15"]
        history = month_history(s, world.manager, oem_id=world.tata_id, month=OCT)
    assert [h.action for h in history] == ["month.create", "month.start_review", "month.close"]


def test_lifecycle_edges_and_who_may_move_them(engine: Engine, world: MonthWorld) -> None:
    w = world
    with session_scope(engine) as s:
        open_month(s, w.reporting, oem_id=w.tata_id, month=OCT)
    # open: cannot close, invoice or reopen.
    for call, actor, kwargs in (
        (close_month, w.manager, {"reason": "x"}),
        (mark_invoiced, w.manager, {}),
        (reopen_month, w.admin, {"reason": "x"}),
        (return_to_open, w.reporting, {"reason": "x"}),
    ):
        with session_scope(engine) as s, pytest.raises(TransitionError):
            call(s, actor, oem_id=w.tata_id, month=OCT, **kwargs)  # type: ignore[operator]
    with session_scope(engine) as s, pytest.raises(PermissionDenied):
        start_review(s, w.ops, oem_id=w.tata_id, month=OCT)
    with session_scope(engine) as s:
        start_review(s, w.reporting, oem_id=w.tata_id, month=OCT)
    with session_scope(engine) as s, pytest.raises(ValidationError):
        return_to_open(s, w.reporting, oem_id=w.tata_id, month=OCT, reason="")
    with session_scope(engine) as s:
        assert (
            return_to_open(
                s, w.reporting, oem_id=w.tata_id, month=OCT, reason="logs missing"
            ).status
            == "open"
        )
        start_review(s, w.reporting, oem_id=w.tata_id, month=OCT)
        close_month(s, w.manager, oem_id=w.tata_id, month=OCT, reason="accepted gaps")
    # closed: only an admin reopens, with a reason; invoicing needs a manager.
    with session_scope(engine) as s, pytest.raises(PermissionDenied):
        reopen_month(s, w.manager, oem_id=w.tata_id, month=OCT, reason="typo")
    with session_scope(engine) as s, pytest.raises(ValidationError):
        reopen_month(s, w.admin, oem_id=w.tata_id, month=OCT, reason=" ")
    with session_scope(engine) as s, pytest.raises(PermissionDenied):
        mark_invoiced(s, w.reporting, oem_id=w.tata_id, month=OCT)
    with session_scope(engine) as s:
        dto = reopen_month(s, w.admin, oem_id=w.tata_id, month=OCT, reason="wrong serial on A")
        assert (dto.status, dto.closed_at, dto.closure_reason) == ("open", None, None)
        start_review(s, w.reporting, oem_id=w.tata_id, month=OCT)
        close_month(s, w.manager, oem_id=w.tata_id, month=OCT, reason="accepted gaps")
        assert mark_invoiced(s, w.manager, oem_id=w.tata_id, month=OCT).status == "invoiced"
    # invoiced is final.
    for call, actor, kwargs in (
        (reopen_month, w.admin, {"reason": "x"}),
        (start_review, w.admin, {}),
        (mark_invoiced, w.admin, {}),
    ):
        with session_scope(engine) as s, pytest.raises(TransitionError):
            call(s, actor, oem_id=w.tata_id, month=OCT, **kwargs)  # type: ignore[operator]
    with session_scope(engine, readonly=True) as s:
        actions = [h.action for h in month_history(s, w.admin, oem_id=w.tata_id, month=OCT)]
        reopen = s.execute(
            select(AuditEvent.before, AuditEvent.after).where(AuditEvent.action == "month.reopen")
        ).one()
    assert actions == [
        "month.create",
        "month.start_review",
        "month.return_to_open",
        "month.start_review",
        "month.close",
        "month.reopen",
        "month.start_review",
        "month.close",
        "month.invoice",
    ]
    assert reopen.after["reason"] == "wrong serial on A"
    assert reopen.before["status"] == "closed" and reopen.before["closed_at"]


def test_the_current_month_cannot_be_closed_yet(engine: Engine, world: MonthWorld) -> None:
    this_month = datetime.now(IST).date().replace(day=1)
    with session_scope(engine) as s:
        open_month(s, world.manager, oem_id=world.tata_id, month=this_month)
        start_review(s, world.manager, oem_id=world.tata_id, month=this_month)
    with session_scope(engine) as s, pytest.raises(TransitionError, match="not over yet"):
        close_month(s, world.manager, oem_id=world.tata_id, month=this_month, reason="early")


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        (EVIDENCE, True),
        ("HTTPS://Files.example.in/x", True),
        ("http://files.example.in/x", False),
        ("https://", False),
        ("https:///path-only", False),
        ("ftp://files.example.in/x", False),
        ("javascript:alert(1)", False),
        ("files.example.in/x", False),
        ("https://files.example.in/a b", False),
        ("https://[::1", False),
        ("https://x.example.in/" + "a" * 500, False),
    ],
)
def test_evidence_url_must_be_https_with_a_host(url: str, ok: bool) -> None:
    if ok:
        assert validate_evidence_url(url) == url
    else:
        with pytest.raises(ValidationError) as err:
            validate_evidence_url(url)
        assert list(err.value.errors) == ["evidence_url"]


def test_evidence_link_is_stored_validated_and_locked(engine: Engine, world: MonthWorld) -> None:
    with session_scope(engine) as s:
        open_month(s, world.reporting, oem_id=world.tata_id, month=OCT)
    with session_scope(engine) as s, pytest.raises(ValidationError) as err:
        set_evidence_url(
            s, world.reporting, oem_id=world.tata_id, month=OCT, evidence_url="http://x.in/"
        )
    assert "evidence_url" in err.value.errors
    with session_scope(engine) as s:
        dto = set_evidence_url(
            s, world.reporting, oem_id=world.tata_id, month=OCT, evidence_url=f"  {EVIDENCE} "
        )
    assert dto.evidence_url == EVIDENCE
    _, items = _items(engine, world)
    assert items["evidence"].passed
    with session_scope(engine) as s, pytest.raises(PermissionDenied):
        set_evidence_url(s, world.ops, oem_id=world.tata_id, month=OCT, evidence_url=EVIDENCE)
    with session_scope(engine) as s:
        start_review(s, world.manager, oem_id=world.tata_id, month=OCT)
        close_month(s, world.manager, oem_id=world.tata_id, month=OCT, reason="gaps")
    with session_scope(engine) as s, pytest.raises(MonthLocked):
        set_evidence_url(s, world.manager, oem_id=world.tata_id, month=OCT, evidence_url=None)
    with session_scope(engine, readonly=True) as s:
        assert s.execute(select(MonthlyReport.evidence_url)).scalar_one() == EVIDENCE


def test_commands_on_a_missing_folder_or_oem(engine: Engine, world: MonthWorld) -> None:
    with session_scope(engine) as s, pytest.raises(NotFound):
        start_review(s, world.manager, oem_id=world.tata_id, month=date(2025, 1, 1))
    with session_scope(engine, readonly=True) as s, pytest.raises(NotFound):
        checklist(s, world.manager, oem_id=world.tata_id, month=date(2025, 1, 1))
    with session_scope(engine, readonly=True) as s, pytest.raises(NotFound):
        list_months(s, world.manager, oem_id=uuid.uuid4())


def test_require_month_open_names_the_oem_and_month(engine: Engine, world: MonthWorld) -> None:
    close_october_with_exceptions(engine, world)
    with session_scope(engine, readonly=True) as s:
        with pytest.raises(MonthLocked) as err:
            require_month_open(s, oem_id=world.tata_id, day=date(2026, 10, 31))
        assert "TATA October 2026 is closed" in str(err.value)
        assert (err.value.oem_code, err.value.month) == ("TATA", OCT)
        # 31 Oct 20:00 UTC is 1 Nov local: November is open.
        require_month_open(s, oem_id=world.tata_id, day=datetime(2026, 10, 31, 20, 0, tzinfo=UTC))
        with pytest.raises(MonthLocked):
            require_month_open(
                s, oem_id=world.tata_id, day=datetime(2026, 10, 31, 18, 0, tzinfo=UTC)
            )
        require_month_open(s, oem_id=world.mg_id, day=date(2026, 10, 31))  # MG is open


# --------------------------------------------------------------------------- concurrency


def test_two_first_activities_create_one_folder(engine: Engine, world: MonthWorld) -> None:
    barrier = threading.Barrier(6)
    ids: list[uuid.UUID] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with session_scope(engine) as s:
                barrier.wait(timeout=10)
                ids.append(ensure_month(s, oem_id=world.tata_id, month=date(2026, 9, 9)).id)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(ids) == 6 and len(set(ids)) == 1
    with session_scope(engine, readonly=True) as s:
        assert s.execute(select(func.count()).select_from(MonthlyReport)).scalar_one() == 1


def test_close_waits_for_a_change_in_flight_and_sees_it(engine: Engine, world: MonthWorld) -> None:
    """A change that passed the lock check holds the folder row (FOR SHARE); a concurrent close
    waits for it to commit, then computes the checklist with the change in it. (On SQLite the
    close waits on the writer lock that ``BEGIN IMMEDIATE`` gives the change.)"""
    with session_scope(engine) as s:
        open_month(s, world.manager, oem_id=world.tata_id, month=OCT)
        start_review(s, world.manager, oem_id=world.tata_id, month=OCT)
    checked = threading.Event()
    release = threading.Event()
    closed_at: list[float] = []
    committed_at: list[float] = []
    errors: list[BaseException] = []

    def change() -> None:
        try:
            with session_scope(engine) as s:
                s.add(
                    InstallationReport(
                        installation_id=world.b_id,
                        charger_serial="SN-B-RACE",
                        charger_model_id=world.charger_id,
                    )
                )
                require_month_open(s, oem_id=world.tata_id, day=date(2026, 10, 21))
                s.flush()
                checked.set()
                release.wait(10)
            committed_at.append(time.monotonic())
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    def close() -> None:
        try:
            checked.wait(10)
            with session_scope(engine) as s:
                close_month(s, world.manager, oem_id=world.tata_id, month=OCT, reason="gaps")
            closed_at.append(time.monotonic())
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    t1 = threading.Thread(target=change)
    t2 = threading.Thread(target=close)
    t1.start()
    t2.start()
    checked.wait(10)
    time.sleep(0.5)
    assert closed_at == []  # the close is blocked on the change's share lock
    release.set()
    t1.join(20)
    t2.join(20)
    assert errors == []
    assert committed_at and closed_at and committed_at[0] <= closed_at[0]
    with session_scope(engine, readonly=True) as s:
        after = s.execute(
            select(AuditEvent.after).where(AuditEvent.action == "month.close")
        ).scalar_one()
    # B's report committed first, so the close saw it: the reports item passed.
    assert "installation_reports" not in after["failing"]
    assert "closure_packs" in after["failing"]
