"""Installation commands and queries on SQLite and PostgreSQL: create from an approved survey
(one per survey, also under concurrency), reschedule/cancel, confirmation call, demo, roles,
lead status, list/detail scoping and the timeline.

The builders at the top (``InstWorld``, ``build_world``, ``add_approved_survey``,
``add_installation``, ``assign_team``, ``add_report``) are reused by the lifecycle and page
tests.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.types import utcnow
from domain.accounts.models import AuditEvent
from domain.actor import Actor
from domain.calendar import local_date
from domain.errors import Conflict, NotFound, PermissionDenied, TransitionError, ValidationError
from domain.installations import queries
from domain.installations.models import (
    Installation,
    InstallationAssignment,
    InstallationReport,
    InstallationStatusChange,
)
from domain.installations.service import (
    cancel,
    create_installation,
    record_customer_confirmation,
    reschedule,
    set_demo_completed,
    transition,
)
from domain.leads.models import Lead
from domain.procurement.models import Material
from domain.surveys.models import Survey, SurveyReport
from tests.factories import actor_of, make_oem, make_team, make_user, make_zone

# --- builders ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstWorld:
    """Ids and actors of a small world: one zone, two OEMs, two teams, a charger model."""

    zone_id: uuid.UUID
    tata_id: uuid.UUID
    mg_id: uuid.UUID
    team1_id: uuid.UUID
    team2_id: uuid.UUID
    charger_id: uuid.UUID
    admin: Actor
    ops: Actor
    fe1: Actor
    fe2: Actor
    procurement: Actor
    tata_viewer: Actor
    mg_viewer: Actor


def today() -> date:
    """Today's local date (Asia/Kolkata)."""
    return local_date(utcnow())


def build_world(s: Session) -> InstWorld:
    """Reference rows and one user per role needed by the installation tests."""
    zone = make_zone(s)
    tata = make_oem(s)
    mg = make_oem(s, code="MG", name="MG Motor India")
    t1 = make_team(s, zone, "BLR-T1")
    t2 = make_team(s, zone, "BLR-T2")
    charger = Material(
        name="Wallbox 7.2kW AC", sku="CHG-72", category="charger", unit="piece", power_kw=7.2
    )
    s.add(charger)
    s.flush()
    return InstWorld(
        zone_id=zone.id,
        tata_id=tata.id,
        mg_id=mg.id,
        team1_id=t1.id,
        team2_id=t2.id,
        charger_id=charger.id,
        admin=actor_of(make_user(s, "admin", "boss")),
        ops=actor_of(make_user(s, "central_ops", "planner")),
        fe1=actor_of(make_user(s, "field_engineer", "fe-one", zone=zone, team=t1)),
        fe2=actor_of(make_user(s, "field_engineer", "fe-two", zone=zone, team=t2)),
        procurement=actor_of(make_user(s, "procurement", "buyer")),
        tata_viewer=actor_of(make_user(s, "oem_viewer", "tata-viewer", oem=tata)),
        mg_viewer=actor_of(make_user(s, "oem_viewer", "mg-viewer", oem=mg)),
    )


_seq = iter(range(1, 1_000_000))


def add_approved_survey(
    s: Session,
    w: InstWorld,
    *,
    oem_id: uuid.UUID | None = None,
    status: str = "reviewed_approved",
    customer: str = "Asha Rao",
    lead_status: str = "surveyed",
) -> uuid.UUID:
    """A lead, a survey in ``status`` (approved by default) and its survey report; the
    survey id."""
    n = next(_seq)
    lead = Lead(
        ref=f"LEAD-2026-{n:05d}",
        oem_id=oem_id or w.tata_id,
        oem_lead_ref=f"OEM-{n}",
        customer_name=customer,
        phone=f"+9198450{n:05d}",
        address="12 MG Road",
        city="Bengaluru",
        pincode="560001",
        zone_id=w.zone_id,
        received_at=datetime(2026, 11, 1, 5, 0, tzinfo=UTC),
        status=lead_status,
        source="manual",
    )
    s.add(lead)
    s.flush()
    survey = Survey(
        ref=f"SUR-2026-{n:05d}",
        lead_id=lead.id,
        team_id=w.team1_id,
        survey_date=date(2026, 11, 10),
        time_slot="09-12",
        status=status,
        completed_at=datetime(2026, 11, 10, 6, 0, tzinfo=UTC),
    )
    s.add(survey)
    s.flush()
    s.add(
        SurveyReport(
            survey_id=survey.id,
            site_type="independent_house",
            parking="covered",
            meter_distance_m=Decimal("12.5"),
            sanctioned_load_kw=Decimal("7.5"),
            earthing_ok=True,
            recommended_charger_id=w.charger_id,
            cable_length_m=Decimal("15"),
        )
    )
    s.flush()
    return survey.id


def add_installation(
    s: Session,
    w: InstWorld,
    *,
    status: str = "planned",
    material_ready: bool = True,
    customer_confirmed: bool = True,
    scheduled_date: date | None = None,
    time_slot: str | None = "09-12",
    oem_id: uuid.UUID | None = None,
    customer: str = "Asha Rao",
) -> uuid.UUID:
    """An installation row put directly in ``status`` (flags as given); its id."""
    survey_id = add_approved_survey(
        s, w, oem_id=oem_id, customer=customer, lead_status="installation_scheduled"
    )
    survey = s.get(Survey, survey_id)
    assert survey is not None
    n = next(_seq)
    inst = Installation(
        ref=f"INS-2026-{n:05d}",
        survey_id=survey_id,
        lead_id=survey.lead_id,
        status=status,
        scheduled_date=scheduled_date or today() + timedelta(days=2),
        time_slot=time_slot,
        material_ready=material_ready,
        customer_confirmed=customer_confirmed,
        completed_at=utcnow() if status in ("completed", "report_submitted", "closed") else None,
    )
    s.add(inst)
    s.flush()
    return inst.id


def assign_team(
    s: Session, installation_id: uuid.UUID, team_id: uuid.UUID, *, slot: str = "09-12"
) -> None:
    """An active primary assignment of ``team_id`` on the installation's date."""
    inst = s.get(Installation, installation_id)
    assert inst is not None
    s.add(
        InstallationAssignment(
            installation_id=installation_id,
            team_id=team_id,
            role="primary",
            work_date=inst.scheduled_date or today(),
            time_slot=slot,
            assigned_at=utcnow(),
        )
    )
    s.flush()


def add_report(
    s: Session, w: InstWorld, installation_id: uuid.UUID, serial: str | None = None
) -> None:
    """An installation report with charger serial and model."""
    s.add(
        InstallationReport(
            installation_id=installation_id,
            charger_serial=serial or f"SN-{uuid.uuid4().hex[:10]}",
            charger_model_id=w.charger_id,
            success=True,
            submitted_at=utcnow(),
        )
    )
    s.flush()


def counts(engine: Engine, installation_id: uuid.UUID) -> tuple[str, int, int]:
    """(status, number of status-change rows, number of audit events) of an installation."""
    with session_scope(engine, readonly=True) as s:
        status = s.execute(
            select(Installation.status).where(Installation.id == installation_id)
        ).scalar_one()
        changes = s.execute(
            select(func.count())
            .select_from(InstallationStatusChange)
            .where(InstallationStatusChange.installation_id == installation_id)
        ).scalar_one()
        audits = s.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    return status, changes, audits


def lead_status_of(engine: Engine, installation_id: uuid.UUID) -> str:
    with session_scope(engine, readonly=True) as s:
        return s.execute(
            select(Lead.status)
            .join(Installation, Installation.lead_id == Lead.id)
            .where(Installation.id == installation_id)
        ).scalar_one()


@pytest.fixture
def world(engine: Engine) -> InstWorld:
    with session_scope(engine) as s:
        return build_world(s)


# --- create ---------------------------------------------------------------------------------


def test_create_from_approved_survey(engine: Engine, world: InstWorld) -> None:
    with session_scope(engine) as s:
        survey_id = add_approved_survey(s, world)
    day = today() + timedelta(days=3)
    with session_scope(engine) as s:
        dto = create_installation(
            s, world.ops, survey_id=survey_id, scheduled_date=day, time_slot="12-15"
        )
    assert dto.status == "planned"
    assert dto.ref == f"INS-{today().year}-00001"
    assert (dto.scheduled_date, dto.time_slot) == (day, "12-15")
    assert dto.material_ready is False and dto.customer_confirmed is False
    with session_scope(engine, readonly=True) as s:
        changes = s.execute(
            select(InstallationStatusChange.from_status, InstallationStatusChange.to_status).where(
                InstallationStatusChange.installation_id == dto.id
            )
        ).all()
        assert [tuple(c) for c in changes] == [(None, "planned")]
        event = s.execute(
            select(AuditEvent).where(AuditEvent.action == "installation.create")
        ).scalar_one()
        assert event.entity_id == str(dto.id) and event.actor_username == "planner"
    assert lead_status_of(engine, dto.id) == "installation_scheduled"


@pytest.mark.parametrize(
    "status", ["scheduled", "completed", "submitted", "reviewed_rejected", "cancelled"]
)
def test_create_refused_unless_survey_approved(
    engine: Engine, world: InstWorld, status: str
) -> None:
    with session_scope(engine) as s:
        survey_id = add_approved_survey(s, world, status=status)
    with (
        pytest.raises(ValidationError, match=f"is {status}; an installation needs"),
        session_scope(engine) as s,
    ):
        create_installation(s, world.ops, survey_id=survey_id)
    with session_scope(engine, readonly=True) as s:
        assert s.execute(select(func.count(Installation.id))).scalar_one() == 0


def test_create_validates_date_and_slot(engine: Engine, world: InstWorld) -> None:
    with session_scope(engine) as s:
        survey_id = add_approved_survey(s, world)
    with pytest.raises(ValidationError) as err, session_scope(engine) as s:
        create_installation(
            s,
            world.ops,
            survey_id=survey_id,
            scheduled_date=today() - timedelta(days=1),
            time_slot="07-09",
        )
    assert set(err.value.errors) == {"scheduled_date", "time_slot"}
    with pytest.raises(ValidationError, match="a date is required"), session_scope(engine) as s:
        create_installation(s, world.ops, survey_id=survey_id, time_slot="09-12")


def test_second_installation_for_survey_is_conflict(engine: Engine, world: InstWorld) -> None:
    with session_scope(engine) as s:
        survey_id = add_approved_survey(s, world)
    with session_scope(engine) as s:
        first = create_installation(s, world.ops, survey_id=survey_id)
    with (
        pytest.raises(Conflict, match=f"already has installation {first.ref}"),
        session_scope(engine) as s,
    ):
        create_installation(s, world.admin, survey_id=survey_id)


def test_concurrent_creates_from_one_survey_exactly_one_wins(
    engine: Engine, world: InstWorld
) -> None:
    with session_scope(engine) as s:
        survey_id = add_approved_survey(s, world)
    n = 8
    barrier = threading.Barrier(n)
    results: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        try:
            with session_scope(engine) as s:
                dto = create_installation(s, world.ops, survey_id=survey_id)
            outcome = f"ok:{dto.ref}"
        except Conflict:
            outcome = "conflict"
        except Exception as exc:  # pragma: no cover - reported by the assertion
            outcome = f"error:{type(exc).__name__}:{exc}"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    oks = [r for r in results if r.startswith("ok:")]
    assert len(results) == n
    assert len(oks) == 1, results
    assert results.count("conflict") == n - 1, results
    with session_scope(engine, readonly=True) as s:
        rows = s.execute(select(Installation.ref).where(Installation.survey_id == survey_id))
        assert [r[0] for r in rows] == [oks[0][3:]]
        # the losers gave their ref numbers back: the winner holds number 1
        assert oks[0].endswith("-00001")


# --- lifecycle through the commands ------------------------------------------------------------


def test_full_happy_path_and_lead_status(engine: Engine, world: InstWorld) -> None:
    with session_scope(engine) as s:
        survey_id = add_approved_survey(s, world)
    with session_scope(engine) as s:
        inst = create_installation(
            s, world.ops, survey_id=survey_id, scheduled_date=today() + timedelta(days=1)
        )
    iid = inst.id
    with session_scope(engine) as s:
        transition(s, world.ops, installation_id=iid, to_status="material_pending")
        dto = transition(s, world.ops, installation_id=iid, to_status="material_ready")
        assert dto.material_ready is True
        transition(s, world.ops, installation_id=iid, to_status="confirmed")
        record_customer_confirmation(
            s, world.ops, installation_id=iid, outcome="confirmed", notes="customer at home"
        )
        assign_team(s, iid, world.team1_id)
    with session_scope(engine) as s:
        transition(s, world.fe1, installation_id=iid, to_status="in_progress")
        done = transition(s, world.fe1, installation_id=iid, to_status="completed")
        set_demo_completed(s, world.fe1, installation_id=iid)
    assert done.completed_at is not None
    assert lead_status_of(engine, iid) == "installed"
    with session_scope(engine) as s:
        add_report(s, world, iid)
        transition(s, world.ops, installation_id=iid, to_status="report_submitted")
        closed = transition(s, world.ops, installation_id=iid, to_status="closed")
    assert closed.closed_at is not None and closed.demo_completed is True
    assert lead_status_of(engine, iid) == "closed"

    with session_scope(engine, readonly=True) as s:
        detail = queries.get_installation(s, world.ops, iid)
    statuses = [e.to_status for e in detail.timeline if e.kind == "status"]
    assert statuses == [
        "planned",
        "material_pending",
        "material_ready",
        "confirmed",
        "in_progress",
        "completed",
        "report_submitted",
        "closed",
    ]
    calls = [e for e in detail.timeline if e.kind == "confirmation_call"]
    assert [(c.outcome, c.by, c.note) for c in calls] == [
        ("confirmed", "planner", "customer at home")
    ]
    by = {e.to_status: e.by for e in detail.timeline if e.kind == "status"}
    assert by["in_progress"] == "fe-one" and by["closed"] == "planner"
    times = [e.at for e in detail.timeline]
    assert times == sorted(times)
    assert detail.allowed_actions == ()
    assert detail.report is not None and detail.report.charger_model == "Wallbox 7.2kW AC"


def test_reschedule_with_new_date_goes_back_to_planned(engine: Engine, world: InstWorld) -> None:
    with session_scope(engine) as s:
        iid = add_installation(s, world, status="confirmed")
        assign_team(s, iid, world.team1_id)
    new_day = today() + timedelta(days=5)
    with session_scope(engine) as s:
        dto = reschedule(
            s,
            world.ops,
            installation_id=iid,
            reason="customer travelling",
            new_date=new_day,
            new_slot="15-18",
        )
    assert (dto.status, dto.scheduled_date, dto.time_slot) == ("planned", new_day, "15-18")
    assert dto.reschedule_reason == "customer travelling"
    assert dto.customer_confirmed is False  # the new date needs a new call
    with session_scope(engine, readonly=True) as s:
        changes = s.execute(
            select(InstallationStatusChange.from_status, InstallationStatusChange.to_status)
            .where(InstallationStatusChange.installation_id == iid)
            .order_by(InstallationStatusChange.created_at)
        ).all()
        assert {tuple(c) for c in changes} == {
            ("confirmed", "rescheduled"),
            ("rescheduled", "planned"),
        }
        released = s.execute(
            select(InstallationAssignment.released_at).where(
                InstallationAssignment.installation_id == iid
            )
        ).scalar_one()
        assert released is not None
        assert (
            s.execute(
                select(func.count()).where(AuditEvent.action == "installation.reschedule")
            ).scalar_one()
            == 1
        )


def test_reschedule_without_date_waits_in_rescheduled(engine: Engine, world: InstWorld) -> None:
    with session_scope(engine) as s:
        iid = add_installation(s, world, status="material_pending")
    with session_scope(engine) as s:
        dto = reschedule(s, world.ops, installation_id=iid, reason="site flooded")
    assert dto.status == "rescheduled" and dto.scheduled_date is None
    with (
        pytest.raises(TransitionError, match="is rescheduled: cannot move to planned, a new"),
        session_scope(engine) as s,
    ):
        transition(s, world.ops, installation_id=iid, to_status="planned")
    with pytest.raises(ValidationError, match="in the past"), session_scope(engine) as s:
        transition(
            s,
            world.ops,
            installation_id=iid,
            to_status="planned",
            new_date=today() - timedelta(days=1),
        )
    with session_scope(engine) as s:
        dto = transition(s, world.ops, installation_id=iid, to_status="planned", new_date=today())
    assert (dto.status, dto.scheduled_date) == ("planned", today())


def test_back_to_planned_keeps_a_date_booked_meanwhile(engine: Engine, world: InstWorld) -> None:
    with session_scope(engine) as s:
        iid = add_installation(s, world, status="confirmed")
    with session_scope(engine) as s:
        reschedule(s, world.ops, installation_id=iid, reason="team on leave")
    booked = today() + timedelta(days=7)
    with session_scope(engine) as s:  # what the dispatch board's booking does
        inst = s.get(Installation, iid)
        assert inst is not None
        inst.scheduled_date, inst.time_slot = booked, "12-15"
    with session_scope(engine) as s:
        dto = transition(s, world.ops, installation_id=iid, to_status="planned")
    assert (dto.status, dto.scheduled_date, dto.time_slot) == ("planned", booked, "12-15")


def test_reschedule_validation_changes_nothing(engine: Engine, world: InstWorld) -> None:
    with session_scope(engine) as s:
        iid = add_installation(s, world, status="planned")
    before = counts(engine, iid)
    with pytest.raises(ValidationError, match="new_slot"), session_scope(engine) as s:
        reschedule(s, world.ops, installation_id=iid, reason="x", new_date=today(), new_slot="bad")
    with pytest.raises(TransitionError, match="a reason is required"), session_scope(engine) as s:
        reschedule(s, world.ops, installation_id=iid, reason="   ")
    with pytest.raises(ValidationError, match="longer than 300"), session_scope(engine) as s:
        reschedule(s, world.ops, installation_id=iid, reason="x" * 301)
    assert counts(engine, iid) == before


def test_cancel_keeps_reason_and_releases_team(engine: Engine, world: InstWorld) -> None:
    with session_scope(engine) as s:
        iid = add_installation(s, world, status="material_ready")
        assign_team(s, iid, world.team1_id)
    with session_scope(engine) as s:
        dto = cancel(s, world.ops, installation_id=iid, reason="customer sold the car")
    assert dto.status == "cancelled" and dto.cancel_reason == "customer sold the car"
    with session_scope(engine, readonly=True) as s:
        assert s.execute(
            select(InstallationAssignment.released_at).where(
                InstallationAssignment.installation_id == iid
            )
        ).scalar_one()
        reason = s.execute(
            select(InstallationStatusChange.reason).where(
                InstallationStatusChange.installation_id == iid,
                InstallationStatusChange.to_status == "cancelled",
            )
        ).scalar_one()
        assert reason == "customer sold the car"
    with (
        pytest.raises(TransitionError, match="is cancelled: a cancelled installation cannot"),
        session_scope(engine) as s,
    ):
        cancel(s, world.ops, installation_id=iid, reason="again")


def test_rescheduling_a_completed_job_reopens_the_lead(engine: Engine, world: InstWorld) -> None:
    with session_scope(engine) as s:
        iid = add_installation(s, world, status="in_progress")
    with session_scope(engine) as s:
        transition(s, world.ops, installation_id=iid, to_status="completed")
    assert lead_status_of(engine, iid) == "installed"
    with session_scope(engine) as s:
        dto = reschedule(s, world.ops, installation_id=iid, reason="charger faulty, redo")
    assert dto.completed_at is None
    assert lead_status_of(engine, iid) == "installation_scheduled"


# --- confirmation call and demo ---------------------------------------------------------------


def test_confirmation_call_outcomes(engine: Engine, world: InstWorld) -> None:
    with session_scope(engine) as s:
        iid = add_installation(s, world, status="material_ready", customer_confirmed=False)
    with session_scope(engine) as s:
        dto = record_customer_confirmation(
            s, world.ops, installation_id=iid, outcome="no_answer", notes="rang twice"
        )
    assert dto.customer_confirmed is False and dto.confirmed_at is None
    with session_scope(engine) as s:
        dto = record_customer_confirmation(s, world.ops, installation_id=iid, outcome="confirmed")
    assert dto.customer_confirmed is True
    assert dto.confirmed_by_id == world.ops.user_id and dto.confirmed_at is not None
    with session_scope(engine) as s:
        dto = record_customer_confirmation(
            s, world.ops, installation_id=iid, outcome="declined", notes="wants next month"
        )
    assert dto.customer_confirmed is False and dto.confirmed_by_id is None
    status, changes, _ = counts(engine, iid)
    assert (status, changes) == ("material_ready", 0)  # calls never change the status
    with session_scope(engine, readonly=True) as s:
        detail = queries.get_installation(s, world.ops, iid)
    assert [(e.outcome, e.note) for e in detail.timeline] == [
        ("no_answer", "rang twice"),
        ("confirmed", None),
        ("declined", "wants next month"),
    ]
    with pytest.raises(ValidationError, match="unknown outcome"), session_scope(engine) as s:
        record_customer_confirmation(s, world.ops, installation_id=iid, outcome="maybe")


def test_confirmation_call_refused_after_work_started(engine: Engine, world: InstWorld) -> None:
    with session_scope(engine) as s:
        iid = add_installation(s, world, status="in_progress")
    with (
        pytest.raises(TransitionError, match="is in_progress: a confirmation call"),
        session_scope(engine) as s,
    ):
        record_customer_confirmation(s, world.ops, installation_id=iid, outcome="confirmed")


def test_demo_tracked_only_on_site_or_after(engine: Engine, world: InstWorld) -> None:
    with session_scope(engine) as s:
        early = add_installation(s, world, status="confirmed")
        late = add_installation(s, world, status="completed")
    with pytest.raises(TransitionError, match="is confirmed: the demo"), session_scope(engine) as s:
        set_demo_completed(s, world.ops, installation_id=early)
    with session_scope(engine) as s:
        assert set_demo_completed(s, world.ops, installation_id=late).demo_completed is True
        assert (
            set_demo_completed(s, world.ops, installation_id=late, done=False).demo_completed
            is False
        )


# --- roles -----------------------------------------------------------------------------------


def test_procurement_cannot_change_installations(engine: Engine, world: InstWorld) -> None:
    with session_scope(engine) as s:
        iid = add_installation(s, world, status="material_pending")
        survey_id = add_approved_survey(s, world)
    before = counts(engine, iid)
    for call in (
        lambda s: create_installation(s, world.procurement, survey_id=survey_id),
        lambda s: transition(s, world.procurement, installation_id=iid, to_status="material_ready"),
        lambda s: reschedule(s, world.procurement, installation_id=iid, reason="x"),
        lambda s: cancel(s, world.procurement, installation_id=iid, reason="x"),
    ):
        with (
            pytest.raises(PermissionDenied, match="role 'procurement' may not"),
            session_scope(engine) as s,
        ):
            call(s)
    assert counts(engine, iid) == before


def test_oem_viewer_reads_own_oem_but_changes_nothing(engine: Engine, world: InstWorld) -> None:
    with session_scope(engine) as s:
        tata_iid = add_installation(s, world, status="material_ready", customer="Tata Cust")
        mg_iid = add_installation(s, world, status="planned", oem_id=world.mg_id)
    with session_scope(engine, readonly=True) as s:
        page = queries.list_installations(s, world.tata_viewer)
        assert [r.id for r in page.rows] == [tata_iid] and page.total == 1
        assert queries.get_installation(s, world.tata_viewer, tata_iid).customer_name == (
            "Tata Cust"
        )
        detail = queries.get_installation(s, world.tata_viewer, tata_iid)
        assert detail.allowed_actions == () and detail.blocked_actions == ()
        with pytest.raises(NotFound):
            queries.get_installation(s, world.tata_viewer, mg_iid)
        # asking for another OEM gives nothing, not the other OEM's rows
        assert queries.list_installations(s, world.tata_viewer, oem_id=world.mg_id).total == 0
    before = counts(engine, tata_iid)
    for call in (
        lambda s: transition(s, world.tata_viewer, installation_id=tata_iid, to_status="confirmed"),
        lambda s: cancel(s, world.tata_viewer, installation_id=tata_iid, reason="x"),
        lambda s: record_customer_confirmation(
            s, world.tata_viewer, installation_id=tata_iid, outcome="confirmed"
        ),
        lambda s: set_demo_completed(s, world.tata_viewer, installation_id=tata_iid),
    ):
        with pytest.raises(PermissionDenied), session_scope(engine) as s:
            call(s)
    assert counts(engine, tata_iid) == before


def test_field_engineer_only_own_team_and_only_on_site_steps(
    engine: Engine, world: InstWorld
) -> None:
    with session_scope(engine) as s:
        iid = add_installation(s, world, status="confirmed")
        assign_team(s, iid, world.team1_id)
    before = counts(engine, iid)
    with (
        pytest.raises(PermissionDenied, match="not assigned to your team"),
        session_scope(engine) as s,
    ):
        transition(s, world.fe2, installation_id=iid, to_status="in_progress")
    with (
        pytest.raises(PermissionDenied, match="not assigned to your team"),
        session_scope(engine) as s,
    ):
        set_demo_completed(s, world.fe2, installation_id=iid)
    with (
        pytest.raises(PermissionDenied, match="may only move a job to"),
        session_scope(engine) as s,
    ):
        transition(s, world.fe1, installation_id=iid, to_status="material_pending")
    with pytest.raises(PermissionDenied), session_scope(engine) as s:
        cancel(s, world.fe1, installation_id=iid, reason="x")
    with (
        pytest.raises(PermissionDenied, match="confirm_call"),
        session_scope(engine) as s,
    ):
        record_customer_confirmation(s, world.fe1, installation_id=iid, outcome="confirmed")
    assert counts(engine, iid) == before
    with session_scope(engine, readonly=True) as s:
        assert queries.list_installations(s, world.fe2).total == 0
        with pytest.raises(NotFound):
            queries.get_installation(s, world.fe2, iid)
        mine = queries.get_installation(s, world.fe1, iid)
        assert mine.allowed_actions == ("in_progress",)
    with session_scope(engine) as s:
        assert (
            transition(s, world.fe1, installation_id=iid, to_status="in_progress").status
            == "in_progress"
        )


def test_released_assignment_is_not_own_team(engine: Engine, world: InstWorld) -> None:
    with session_scope(engine) as s:
        iid = add_installation(s, world, status="confirmed")
        assign_team(s, iid, world.team1_id)
        row = s.execute(
            select(InstallationAssignment).where(InstallationAssignment.installation_id == iid)
        ).scalar_one()
        row.released_at = utcnow()
    with (
        pytest.raises(PermissionDenied, match="not assigned to your team"),
        session_scope(engine) as s,
    ):
        transition(s, world.fe1, installation_id=iid, to_status="in_progress")


# --- queries ---------------------------------------------------------------------------------


def test_list_filters_and_pagination(engine: Engine, world: InstWorld) -> None:
    base = today() + timedelta(days=1)
    with session_scope(engine) as s:
        ids = [
            add_installation(
                s,
                world,
                status="planned",
                scheduled_date=base + timedelta(days=i),
                customer=f"Cust {i}",
            )
            for i in range(5)
        ]
        mg = add_installation(
            s,
            world,
            status="confirmed",
            oem_id=world.mg_id,
            customer="Ravi MG",
            scheduled_date=base + timedelta(days=10),
        )
        assign_team(s, ids[0], world.team2_id)
    with session_scope(engine, readonly=True) as s:
        everything = queries.list_installations(s, world.ops)
        assert everything.total == 6
        assert [r.scheduled_date for r in everything.rows] == sorted(
            (r.scheduled_date for r in everything.rows), reverse=True
        )
        assert queries.list_installations(s, world.ops, status="confirmed").rows[0].id == mg
        assert {
            r.id for r in queries.list_installations(s, world.ops, oem_id=world.mg_id).rows
        } == {mg}
        by_team = queries.list_installations(s, world.ops, team_id=world.team2_id)
        assert [(r.id, r.team_code) for r in by_team.rows] == [(ids[0], "BLR-T2")]
        ranged = queries.list_installations(
            s, world.ops, date_from=base + timedelta(days=1), date_to=base + timedelta(days=2)
        )
        assert {r.id for r in ranged.rows} == {ids[1], ids[2]}
        assert [
            r.customer_name for r in queries.list_installations(s, world.ops, search="ravi").rows
        ] == ["Ravi MG"]
        p1 = queries.list_installations(s, world.ops, page=1, page_size=4)
        p2 = queries.list_installations(s, world.ops, page=2, page_size=4)
        assert (len(p1.rows), len(p2.rows), p1.pages) == (4, 2, 2)
        assert not {r.id for r in p1.rows} & {r.id for r in p2.rows}
        frame = p1.to_frame()
        assert list(frame.columns)[:3] == ["id", "ref", "status"]
        with pytest.raises(ValidationError):
            queries.list_installations(s, world.ops, status="nonsense")


def test_detail_actions_show_blocked_guards(engine: Engine, world: InstWorld) -> None:
    with session_scope(engine) as s:
        iid = add_installation(s, world, status="material_ready", material_ready=False)
    with session_scope(engine, readonly=True) as s:
        detail = queries.get_installation(s, world.ops, iid)
    assert "confirmed" not in detail.allowed_actions
    assert dict(detail.blocked_actions)["confirmed"].endswith("material not ready")
    assert {"rescheduled", "cancelled", "confirmation_call"} <= set(detail.allowed_actions)
    assert detail.survey_ref.startswith("SUR-") and detail.lead_ref.startswith("LEAD-")


def test_approved_surveys_without_installation(engine: Engine, world: InstWorld) -> None:
    with session_scope(engine) as s:
        free = add_approved_survey(s, world)
        add_approved_survey(s, world, status="submitted")
        add_installation(s, world)
    with session_scope(engine, readonly=True) as s:
        found = queries.list_approved_surveys_without_installation(s, world.ops)
        assert [f.survey_id for f in found] == [free]
        with pytest.raises(PermissionDenied):
            queries.list_approved_surveys_without_installation(s, world.tata_viewer)
