"""Service calls (seed 002) on SQLite and PostgreSQL: tickets, visits, times, roles, audit."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import Engine, select

from db.engine import session_scope
from db.types import utcnow
from domain.accounts.models import AuditEvent, FieldTeam, Oem, TeamUnavailability, Zone
from domain.calendar import local_date
from domain.errors import Conflict, NotFound, PermissionDenied, TransitionError, ValidationError
from domain.installations.models import Installation, InstallationAssignment
from domain.leads.models import Lead
from domain.service import queries
from domain.service.models import ServiceTicket, ServiceVisit
from domain.service.service import (
    book_visit,
    cancel_visit,
    close_ticket,
    complete_visit,
    open_ticket,
    record_invoice,
    resolve_ticket,
    update_ticket,
)
from domain.surveys.models import Survey
from tests.factories import actor_of, make_oem, make_team, make_user, make_zone

TODAY = local_date(utcnow())
SLOT = "09-12"


def days(n: int) -> date:
    """TODAY shifted by ``n`` days (negative = past)."""
    return TODAY + timedelta(days=n)


def make_installed(
    s,  # type: ignore[no-untyped-def]
    oem: Oem,
    zone: Zone,
    team: FieldTeam,
    n: int,
    *,
    status: str = "closed",
    completed_days_ago: int = 60,
) -> Installation:
    """A lead, an approved survey and an installation row (status ``status``)."""
    lead = Lead(
        ref=f"LEAD-2026-9{n:04d}",
        oem_id=oem.id,
        oem_lead_ref=f"SVC-T-{n}",
        customer_name=f"Customer {n}",
        phone=f"+9198450{n:05d}",
        address=f"{n} MG Road",
        city="Bengaluru",
        pincode="560001",
        zone_id=zone.id,
        received_at=datetime.now(UTC) - timedelta(days=120),
        status="closed" if status == "closed" else "installed",
        source="manual",
    )
    s.add(lead)
    s.flush()
    survey = Survey(
        ref=f"SUR-2026-9{n:04d}",
        lead_id=lead.id,
        team_id=team.id,
        survey_date=days(-100),
        time_slot=SLOT,
        status="reviewed_approved",
    )
    s.add(survey)
    s.flush()
    completed = None
    if status in ("completed", "report_submitted", "closed"):
        completed = datetime.combine(days(-completed_days_ago), time(6, 0), tzinfo=UTC)
    inst = Installation(
        ref=f"INS-2026-9{n:04d}",
        survey_id=survey.id,
        lead_id=lead.id,
        status=status,
        install_level="standard",
        completed_at=completed,
    )
    s.add(inst)
    s.flush()
    return inst


@pytest.fixture
def world(engine: Engine) -> dict:
    with session_scope(engine) as s:
        zone = make_zone(s)
        other_zone = make_zone(
            s, code="CHN", name="Chennai", state="TAMIL NADU", districts=("CHENNAI",), subdiv="TN"
        )
        oem = make_oem(s)
        t1 = make_team(s, zone, "BLR-T1")
        t2 = make_team(s, zone, "BLR-T2")
        t3 = make_team(s, zone, "BLR-T3")
        chn = make_team(s, other_zone, "CHN-T1")
        off = make_team(s, zone, "BLR-OFF")
        off.active = False
        s.add(
            TeamUnavailability(
                team_id=t3.id, from_date=days(3), to_date=days(5), reason="vehicle breakdown"
            )
        )
        installed = [make_installed(s, oem, zone, t1, i) for i in range(1, 4)]
        planned = make_installed(s, oem, zone, t1, 9, status="planned")
        s.flush()
        return {
            "engine": engine,
            "zone_id": zone.id,
            "t1": t1.id,
            "t2": t2.id,
            "t3": t3.id,
            "chn": chn.id,
            "off": off.id,
            "inst": [i.id for i in installed],
            "inst_refs": [i.ref for i in installed],
            "planned": planned.id,
            "lead_phone": "+919845000001",
            "admin": actor_of(make_user(s, "admin", "svc-admin")),
            "ops": actor_of(make_user(s, "central_ops", "svc-ops")),
            "manager": actor_of(make_user(s, "manager", "svc-manager")),
            "procurement": actor_of(make_user(s, "procurement", "svc-proc")),
            "viewer": actor_of(make_user(s, "oem_viewer", "svc-viewer", oem=oem)),
            "eng1": actor_of(make_user(s, "field_engineer", "svc-eng1", zone=zone, team=t1)),
            "eng2": actor_of(make_user(s, "field_engineer", "svc-eng2", zone=zone, team=t2)),
        }


def _open(w: dict, idx: int = 0, **overrides):  # type: ignore[no-untyped-def]
    values = {
        "installation_id": w["inst"][idx],
        "contact": "Asha Rao",
        "contact_phone": "98450 11111",
        "fault_reported_date": days(-5),
        "nature_of_fault": "Charger shows earth fault",
        "equipment_details": "7.2kW wallbox, serial X1",
        "maintenance": False,
        "notes": None,
    }
    values.update(overrides)
    with session_scope(w["engine"]) as s:
        return open_ticket(s, w["ops"], **values)


def _book(w: dict, ticket_id, day: date, team: str = "t1", slot: str = SLOT, actor="ops"):  # type: ignore[no-untyped-def]
    with session_scope(w["engine"]) as s:
        return book_visit(
            s, w[actor], ticket_id=ticket_id, visit_date=day, time_slot=slot, team_id=w[team]
        )


def test_open_ticket_stores_normalised_values(world: dict) -> None:
    t = _open(world, maintenance=True, notes="  call before coming ")
    assert t.ref.startswith(f"SVC-{TODAY.year}-")
    assert t.contact_phone == "+919845011111"
    assert t.status == "open"
    assert t.maintenance is True
    assert t.notes == "call before coming"
    assert t.install_level == "standard"  # from the installation
    assert t.fault_reported_date == days(-5)
    with session_scope(world["engine"]) as s:
        inst = s.get(Installation, world["inst"][0])
        assert t.lead_id == inst.lead_id
        assert t.installation_id == inst.id
    # blank phone: the customer's phone from the lead
    t2 = _open(world, 1, contact_phone="")
    assert t2.contact_phone == "+919845000002"
    assert t2.ref != t.ref


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"fault_reported_date": days(1)}, "fault_reported_date", "in the future"),
        ({"fault_reported_date": days(-90)}, "fault_reported_date", "before installation"),
        ({"fault_reported_date": "31/02/2026"}, "fault_reported_date", "not a date"),
        ({"contact_phone": "12345"}, "contact_phone", "not a valid Indian"),
        ({"contact": "  "}, "contact", "required"),
        ({"nature_of_fault": ""}, "nature_of_fault", "describe"),
        ({"install_level": "gold"}, "install_level", "not one of"),
    ],
)
def test_open_ticket_validation_names_the_field(
    world: dict, overrides: dict, field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as err:
        _open(world, **overrides)
    assert field in err.value.errors
    assert words in err.value.errors[field]
    with session_scope(world["engine"]) as s:
        assert s.execute(select(ServiceTicket.id)).first() is None


def test_open_ticket_needs_an_installed_charger(world: dict) -> None:
    with pytest.raises(ValidationError) as err, session_scope(world["engine"]) as s:
        open_ticket(
            s,
            world["ops"],
            installation_id=world["planned"],
            contact="A",
            contact_phone="9845011111",
            fault_reported_date=days(-1),
            nature_of_fault="x",
            equipment_details=None,
            maintenance=False,
            notes=None,
        )
    assert "is planned" in err.value.errors["installation_id"]
    with pytest.raises(NotFound):
        _open(world, installation_id=uuid.uuid4())


def test_happy_path_with_times_by_hand(world: dict) -> None:
    w = world
    # Ticket A: fault 5 days ago, visit today (response 5), resolved today (resolution 5).
    a = _open(w, 0, fault_reported_date=days(-5))
    va = _book(w, a.id, days(0))
    assert va.status == "booked" and va.team_id == w["t1"]
    with session_scope(w["engine"]) as s:
        assert s.get(ServiceTicket, a.id).status == "scheduled"
    with session_scope(w["engine"]) as s:
        done = complete_visit(s, w["eng1"], visit_id=va.id, notes="replaced RCCB")
    assert done.status == "completed" and done.completed_at is not None
    assert done.notes == "replaced RCCB"
    with session_scope(w["engine"]) as s:
        res = resolve_ticket(
            s, w["ops"], ticket_id=a.id, resolved_date=days(0), customer_satisfied=True
        )
    assert res.status == "resolved" and res.customer_satisfied is True
    with session_scope(w["engine"]) as s:
        inv = record_invoice(s, w["manager"], ticket_id=a.id, received_date=days(0))
        assert inv.invoice_received_date == days(0) and inv.invoice_authorised_date is None
        inv = record_invoice(s, w["manager"], ticket_id=a.id, authorised_date=days(0))
        assert inv.invoice_authorised_date == days(0)
    with session_scope(w["engine"]) as s:
        closed = close_ticket(s, w["ops"], ticket_id=a.id)
    assert closed.status == "closed"

    # Ticket B: fault 10 days ago, a cancelled visit, then one booked in 2 days (response 12).
    b = _open(w, 1, fault_reported_date=days(-10), maintenance=True)
    vb0 = _book(w, b.id, days(1))
    with session_scope(w["engine"]) as s:
        cancel_visit(s, w["ops"], visit_id=vb0.id, reason="customer away")
        assert s.get(ServiceTicket, b.id).status == "open"
    _book(w, b.id, days(2), team="t2")

    # Ticket C: fault 20 days ago, a completed visit 17 days ago (response 3) and resolved
    # 13 days ago (resolution 7): past rows written directly, as history.
    c = _open(w, 2, fault_reported_date=days(-20))
    with session_scope(w["engine"]) as s:
        s.add(
            ServiceVisit(
                service_ticket_id=c.id,
                visit_date=days(-17),
                time_slot=SLOT,
                team_id=w["t2"],
                status="completed",
                completed_at=utcnow() - timedelta(days=17),
            )
        )
        s.flush()
        resolve_ticket(
            s, w["ops"], ticket_id=c.id, resolved_date=days(-13), customer_satisfied=None
        )

    # Ticket D: no visit yet.
    d = _open(w, 0, fault_reported_date=days(-1), nature_of_fault="Annual maintenance")

    with session_scope(w["engine"], readonly=True) as s:
        times = queries.service_times(s, w["admin"])
        page = queries.list_tickets(s, w["admin"])
        detail = queries.get_ticket(s, w["admin"], b.id)
        only_old = queries.service_times(s, w["admin"], date_to=days(-15))
        maint = queries.list_tickets(s, w["admin"], maintenance=True)
        resolved = queries.list_tickets(s, w["admin"], status="resolved")
    assert (times.tickets, times.responded, times.resolved) == (4, 3, 2)
    assert times.avg_response_days == round((5 + 12 + 3) / 3, 2)  # 6.67
    assert times.avg_resolution_days == (5 + 7) / 2
    assert (only_old.tickets, only_old.avg_response_days, only_old.avg_resolution_days) == (
        1,
        3.0,
        7.0,
    )
    by_ref = {r.ref: r for r in page.rows}
    assert page.total == 4
    assert (by_ref[a.ref].response_days, by_ref[a.ref].resolution_days) == (5, 5)
    assert (by_ref[b.ref].response_days, by_ref[b.ref].resolution_days) == (12, None)
    assert by_ref[b.ref].first_visit_date == days(2)
    assert (by_ref[c.ref].response_days, by_ref[c.ref].resolution_days) == (3, 7)
    assert [r.ref for r in page.rows] == [d.ref, a.ref, b.ref, c.ref]  # latest fault first
    assert by_ref[d.ref].response_days is None and by_ref[d.ref].first_visit_date is None
    assert [r.ref for r in maint.rows] == [b.ref]
    assert [r.ref for r in resolved.rows] == [c.ref]
    assert detail.installation_ref == w["inst_refs"][1]
    assert detail.customer_name == "Customer 2"
    assert [v.status for v in detail.visits] == ["cancelled", "booked"]
    assert [v.team_code for v in detail.visits] == ["BLR-T1", "BLR-T2"]
    assert detail.response_days == 12 and detail.resolution_days is None


def test_resolve_and_invoice_validation(world: dict) -> None:
    t = _open(world, fault_reported_date=days(-5))
    with pytest.raises(ValidationError) as err, session_scope(world["engine"]) as s:
        resolve_ticket(
            s, world["ops"], ticket_id=t.id, resolved_date=days(-6), customer_satisfied=True
        )
    assert "before the fault was reported" in err.value.errors["resolved_date"]
    with pytest.raises(ValidationError) as err, session_scope(world["engine"]) as s:
        resolve_ticket(
            s, world["ops"], ticket_id=t.id, resolved_date=days(1), customer_satisfied=True
        )
    assert "in the future" in err.value.errors["resolved_date"]
    with pytest.raises(ValidationError) as err, session_scope(world["engine"]) as s:
        record_invoice(s, world["ops"], ticket_id=t.id, authorised_date=days(0))
    assert "received before it is authorised" in err.value.errors["authorised_date"]
    with pytest.raises(ValidationError) as err, session_scope(world["engine"]) as s:
        record_invoice(
            s, world["ops"], ticket_id=t.id, received_date=days(-1), authorised_date=days(-2)
        )
    assert "before the invoice was received" in err.value.errors["authorised_date"]
    with pytest.raises(ValidationError) as err, session_scope(world["engine"]) as s:
        record_invoice(s, world["ops"], ticket_id=t.id, received_date=days(1))
    assert "in the future" in err.value.errors["received_date"]
    with pytest.raises(ValidationError), session_scope(world["engine"]) as s:
        record_invoice(s, world["ops"], ticket_id=t.id)
    # a booked visit blocks resolving; closing needs resolved
    v = _book(world, t.id, days(1))
    eng = world["engine"]
    with (
        pytest.raises(TransitionError, match="complete or cancel it first"),
        session_scope(eng) as s,
    ):
        resolve_ticket(
            s, world["ops"], ticket_id=t.id, resolved_date=days(0), customer_satisfied=True
        )
    with pytest.raises(TransitionError, match="only a resolved ticket"), session_scope(eng) as s:
        close_ticket(s, world["ops"], ticket_id=t.id)
    with (
        pytest.raises(TransitionError, match="cannot be completed before"),
        session_scope(eng) as s,
    ):
        complete_visit(s, world["ops"], visit_id=v.id, notes=None)
    with session_scope(world["engine"], readonly=True) as s:
        row = s.get(ServiceTicket, t.id)
        assert (row.status, row.resolved_date, row.invoice_received_date) == (
            "scheduled",
            None,
            None,
        )


def test_book_visit_validation(world: dict) -> None:
    t = _open(world)
    cases = [
        ({"visit_date": days(-1)}, "visit_date", "in the past"),
        ({"time_slot": "08-09"}, "time_slot", "not a time slot"),
        ({"team": "chn"}, "team_id", "customer's zone"),
        ({"team": "off"}, "team_id", "inactive"),
        ({"team": "t3", "visit_date": days(4)}, "team_id", "vehicle breakdown"),
    ]
    for args, field, words in cases:
        kwargs = {"visit_date": days(1), "team": "t1", "time_slot": SLOT, **args}
        with pytest.raises(ValidationError) as err:
            _book(world, t.id, kwargs["visit_date"], team=kwargs["team"], slot=kwargs["time_slot"])
        assert words in err.value.errors[field], (args, err.value.errors)
    # the unavailable team is fine outside its leave
    assert _book(world, t.id, days(6), team="t3").status == "booked"


def test_double_booking_refused(world: dict) -> None:
    w = world
    a = _open(w, 0)
    b = _open(w, 1)
    _book(w, a.id, days(1))
    with pytest.raises(Conflict) as err:
        _book(w, b.id, days(1))
    assert str(err.value) == (
        f"team BLR-T1 already has a job on {days(1).isoformat()} {SLOT} (service visit for {a.ref})"
    )
    # another slot or another team is fine
    assert _book(w, b.id, days(1), slot="12-15").status == "booked"
    assert _book(w, b.id, days(1), team="t2").status == "booked"

    # an active installation assignment blocks the slot; a released one does not
    with session_scope(w["engine"]) as s:
        s.add_all(
            [
                InstallationAssignment(
                    installation_id=w["inst"][2],
                    team_id=w["t1"],
                    work_date=days(2),
                    time_slot=SLOT,
                    assigned_at=utcnow(),
                ),
                InstallationAssignment(
                    installation_id=w["inst"][2],
                    team_id=w["t1"],
                    work_date=days(2),
                    time_slot="15-18",
                    assigned_at=utcnow(),
                    released_at=utcnow(),
                ),
            ]
        )
    with pytest.raises(Conflict) as err:
        _book(w, b.id, days(2))
    assert f"(installation {w['inst_refs'][2]})" in str(err.value)
    assert _book(w, b.id, days(2), slot="15-18").status == "booked"
    # a cancelled visit frees its slot
    with session_scope(w["engine"]) as s:
        first = s.execute(
            select(ServiceVisit.id).where(
                ServiceVisit.service_ticket_id == a.id, ServiceVisit.visit_date == days(1)
            )
        ).scalar_one()
        cancel_visit(s, w["ops"], visit_id=first, reason="rain")
    assert _book(w, b.id, days(1)).status == "booked"


def test_roles_and_team_scope(world: dict) -> None:
    w = world
    with pytest.raises(PermissionDenied), session_scope(w["engine"]) as s:
        open_ticket(
            s,
            w["procurement"],
            installation_id=w["inst"][0],
            contact="A",
            contact_phone="9845011111",
            fault_reported_date=days(-1),
            nature_of_fault="x",
            equipment_details=None,
            maintenance=False,
            notes=None,
        )
    t1_ticket = _open(w, 0)
    t2_ticket = _open(w, 1)
    v1 = _book(w, t1_ticket.id, days(0), team="t1")
    v2 = _book(w, t2_ticket.id, days(0), team="t2")
    with session_scope(w["engine"], readonly=True) as s:
        for call in (
            lambda: queries.list_tickets(s, w["viewer"]),
            lambda: queries.get_ticket(s, w["viewer"], t1_ticket.id),
            lambda: queries.service_times(s, w["viewer"]),
        ):
            with pytest.raises(PermissionDenied):
                call()
        mine = queries.list_tickets(s, w["eng1"])
        assert [r.ref for r in mine.rows] == [t1_ticket.ref]
        assert queries.service_times(s, w["eng1"]).tickets == 1
        with pytest.raises(NotFound):
            queries.get_ticket(s, w["eng1"], t2_ticket.id)
    with pytest.raises(PermissionDenied), session_scope(w["engine"]) as s:
        complete_visit(s, w["eng1"], visit_id=v2.id, notes="not mine")
    with pytest.raises(PermissionDenied), session_scope(w["engine"]) as s:
        update_ticket(s, w["eng1"], ticket_id=t2_ticket.id, notes="not mine")
    with pytest.raises(PermissionDenied), session_scope(w["engine"]) as s:
        book_visit(
            s,
            w["eng1"],
            ticket_id=t1_ticket.id,
            visit_date=days(1),
            time_slot=SLOT,
            team_id=w["t1"],
        )
    with pytest.raises(PermissionDenied), session_scope(w["engine"]) as s:
        record_invoice(s, w["eng1"], ticket_id=t1_ticket.id, received_date=days(0))
    # own team: allowed
    with session_scope(w["engine"]) as s:
        upd = update_ticket(
            s,
            w["eng1"],
            ticket_id=t1_ticket.id,
            notes="fixed loose lug",
            equipment_details="",
            nature_of_fault="Loose lug at MCB",
        )
        complete_visit(s, w["eng1"], visit_id=v1.id, notes="done")
        resolve_ticket(
            s, w["eng1"], ticket_id=t1_ticket.id, resolved_date=days(0), customer_satisfied=False
        )
    assert (upd.notes, upd.equipment_details, upd.nature_of_fault) == (
        "fixed loose lug",
        None,
        "Loose lug at MCB",
    )
    with pytest.raises(PermissionDenied), session_scope(w["engine"]) as s:
        close_ticket(s, w["eng1"], ticket_id=t1_ticket.id)
    # a cancelled visit of the team gives no right on the ticket
    v3 = _book(w, t2_ticket.id, days(1), team="t1")
    with session_scope(w["engine"]) as s:
        cancel_visit(s, w["ops"], visit_id=v3.id, reason="wrong team")
    with pytest.raises(PermissionDenied), session_scope(w["engine"]) as s:
        update_ticket(s, w["eng1"], ticket_id=t2_ticket.id, notes="not mine either")
    with session_scope(w["engine"], readonly=True) as s:
        row = s.get(ServiceTicket, t2_ticket.id)
        assert row.notes is None
        assert s.get(ServiceVisit, v2.id).status == "booked"


def test_every_change_is_audited(world: dict) -> None:
    w = world
    t = _open(w, 0, fault_reported_date=days(-3))
    v = _book(w, t.id, days(0))
    with session_scope(w["engine"]) as s:
        update_ticket(s, w["ops"], ticket_id=t.id, notes="bring spare RCCB")
        complete_visit(s, w["eng1"], visit_id=v.id, notes="ok")
        resolve_ticket(s, w["ops"], ticket_id=t.id, resolved_date=days(0), customer_satisfied=True)
        record_invoice(s, w["ops"], ticket_id=t.id, received_date=days(0), authorised_date=days(0))
        close_ticket(s, w["ops"], ticket_id=t.id)
    v2 = _book(w, _open(w, 1).id, days(1))
    with session_scope(w["engine"]) as s:
        cancel_visit(s, w["ops"], visit_id=v2.id, reason="duplicate")
    with session_scope(w["engine"], readonly=True) as s:
        events = s.execute(
            select(AuditEvent.action, AuditEvent.actor_username, AuditEvent.entity_id).order_by(
                AuditEvent.created_at
            )
        ).all()
    actions = [e.action for e in events]
    assert sorted(actions) == sorted(
        [
            "service_ticket.open",
            "service_visit.book",
            "service_ticket.update",
            "service_visit.complete",
            "service_ticket.resolve",
            "service_ticket.invoice",
            "service_ticket.close",
            "service_ticket.open",
            "service_visit.book",
            "service_visit.cancel",
        ]
    )
    by_action = {e.action: e for e in events}
    assert by_action["service_visit.complete"].actor_username == "svc-eng1"
    assert by_action["service_ticket.close"].entity_id == str(t.id)
    assert by_action["service_visit.cancel"].entity_id == str(v2.id)


def test_lifecycle_guards(world: dict) -> None:
    w = world
    t = _open(w)
    with session_scope(w["engine"]) as s:
        resolve_ticket(s, w["ops"], ticket_id=t.id, resolved_date=days(0), customer_satisfied=None)
    with pytest.raises(TransitionError):
        _book(w, t.id, days(1))
    with pytest.raises(TransitionError), session_scope(w["engine"]) as s:
        update_ticket(s, w["ops"], ticket_id=t.id, notes="late")
    other = _open(w, 1)
    with pytest.raises(ValidationError), session_scope(w["engine"]) as s:
        update_ticket(s, w["ops"], ticket_id=other.id)
    with pytest.raises(NotFound), session_scope(w["engine"]) as s:
        complete_visit(s, w["ops"], visit_id=uuid.uuid4(), notes=None)
    with session_scope(w["engine"], readonly=True) as s:
        found = queries.find_ticket_id(s, w["ops"], t.ref.lower())
        options = queries.list_installed(s, w["ops"], search="customer 2")
        with pytest.raises(ValidationError):
            queries.list_tickets(s, w["ops"], status="bogus")
    assert found == t.id
    assert [o.ref for o in options] == [w["inst_refs"][1]]


# ------------------------------------------------------------------ cancel a ticket


def test_cancel_ticket_cancels_booked_visits_and_frees_their_slots(world: dict) -> None:
    from domain.service.service import cancel_ticket
    from domain.slots import TeamSlotBooking

    w = world
    t = _open(w, 0)
    v1 = _book(w, t.id, days(1))
    v2 = _book(w, t.id, days(2), team="t2", slot="15-18")
    other = _open(w, 1)
    with pytest.raises(Conflict):
        _book(w, other.id, days(1))
    with session_scope(w["engine"]) as s:
        dto = cancel_ticket(s, w["ops"], ticket_id=t.id, reason="  Customer   reset the RCCB ")
    assert dto.status == "cancelled"
    assert dto.cancel_reason == "Customer reset the RCCB"
    assert dto.cancelled_at is not None and dto.cancelled_at <= utcnow()
    with session_scope(w["engine"], readonly=True) as s:
        visits = {v.id: v for v in s.scalars(select(ServiceVisit))}
        assert visits[v1.id].status == visits[v2.id].status == "cancelled"
        assert visits[v1.id].notes == "cancelled: ticket cancelled: Customer reset the RCCB"
        assert s.scalars(select(TeamSlotBooking)).all() == []
        event = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "service_ticket.cancel")
        ).one()
        assert event.entity_id == str(t.id)
        assert event.before["status"] == "scheduled"
        assert sorted(event.after["cancelled_visits"]) == sorted([str(v1.id), str(v2.id)])
    # the slot is free again, and the cancelled ticket takes no more visits or edits
    assert _book(w, other.id, days(1)).status == "booked"
    with pytest.raises(TransitionError, match="cancelled"):
        _book(w, t.id, days(3))


def test_cancel_ticket_keeps_completed_visits(world: dict) -> None:
    from domain.service.service import cancel_ticket

    w = world
    t = _open(w, 0)
    done = _book(w, t.id, TODAY)
    with session_scope(w["engine"]) as s:
        complete_visit(s, w["ops"], visit_id=done.id)
    with session_scope(w["engine"]) as s:
        assert cancel_ticket(s, w["admin"], ticket_id=t.id, reason="duplicate").status == (
            "cancelled"
        )
    with session_scope(w["engine"], readonly=True) as s:
        assert s.get(ServiceVisit, done.id).status == "completed"


@pytest.mark.parametrize("state", ["resolved", "closed", "cancelled"])
def test_cancel_ticket_refused_after_resolution(world: dict, state: str) -> None:
    from domain.service.service import cancel_ticket

    w = world
    t = _open(w, 0)
    with session_scope(w["engine"]) as s:
        resolve_ticket(s, w["ops"], ticket_id=t.id, resolved_date=TODAY, customer_satisfied=True)
        if state == "closed":
            close_ticket(s, w["ops"], ticket_id=t.id)
        if state == "cancelled":
            s.get(ServiceTicket, t.id).status = "cancelled"
    with pytest.raises(TransitionError) as err, session_scope(w["engine"]) as s:
        cancel_ticket(s, w["ops"], ticket_id=t.id, reason="too late")
    assert f"ticket {t.ref} is {state}" in str(err.value)
    with session_scope(w["engine"], readonly=True) as s:
        row = s.get(ServiceTicket, t.id)
        assert (row.status, row.cancel_reason, row.cancelled_at) == (state, None, None)


def test_cancel_ticket_needs_a_reason_and_the_permission(world: dict) -> None:
    from domain.service.service import cancel_ticket, may_cancel_ticket

    w = world
    t = _open(w, 0)
    _book(w, t.id, days(1))
    for reason, words in (("   ", "required"), ("x" * 301, "longer than 300")):
        with pytest.raises(ValidationError) as err, session_scope(w["engine"]) as s:
            cancel_ticket(s, w["ops"], ticket_id=t.id, reason=reason)
        assert words in err.value.errors["reason"]
    for role in ("eng1", "manager", "procurement", "viewer"):
        assert not may_cancel_ticket(w[role], "open")
        with pytest.raises(PermissionDenied), session_scope(w["engine"]) as s:
            cancel_ticket(s, w[role], ticket_id=t.id, reason="no")
    assert may_cancel_ticket(w["ops"], "scheduled") and not may_cancel_ticket(w["ops"], "resolved")
    with pytest.raises(NotFound), session_scope(w["engine"]) as s:
        cancel_ticket(s, w["ops"], ticket_id=uuid.uuid4(), reason="gone")
    with session_scope(w["engine"], readonly=True) as s:
        assert s.get(ServiceTicket, t.id).status == "scheduled"
        assert s.scalars(select(ServiceVisit.status)).all() == ["booked"]
