"""One shared team-slot table (issue 3): surveys, installation assignments and service visits
of one team never share a date and slot, enforced by ``team_slot_booking``'s unique key on
SQLite and PostgreSQL, also for concurrent planners (real threads on PostgreSQL)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import domain.models  # noqa: F401
from db.engine import session_scope
from db.types import utcnow
from domain.accounts.models import Oem, Zone
from domain.actor import Actor
from domain.calendar import local_date
from domain.errors import Conflict
from domain.installations import scheduling
from domain.installations.service import transition
from domain.leads.models import Lead
from domain.refs import next_refs
from domain.service import service as svc
from domain.service.models import ServiceTicket
from domain.slots import (
    TeamSlotBooking,
    claim_team_slot,
    expected_team_slot_bookings,
    rebuild_team_slot_bookings,
    release_team_slot,
)
from domain.surveys.service import cancel_survey, reschedule_survey, schedule_survey
from tests.domain.test_scheduling import make_installation, make_skilled_team
from tests.factories import actor_of, make_oem, make_user, make_zone
from tests.integration.test_migrations import empty_db_url  # noqa: F401  (fixture)

DAY = local_date(utcnow()) + timedelta(days=4)
SLOT = "12-15"
KINDS = ("survey", "installation", "service_visit")


@dataclass
class W:
    engine: Engine
    zone_id: uuid.UUID
    oem_id: uuid.UUID
    t1: uuid.UUID
    t2: uuid.UUID
    planner: Actor
    n: int = 0


@pytest.fixture
def w(engine: Engine) -> W:
    with session_scope(engine) as s:
        zone = make_zone(s)
        oem = make_oem(s)
        t1 = make_skilled_team(s, zone, "BLR-T1", ["7.2kW AC"])
        t2 = make_skilled_team(s, zone, "BLR-T2", ["7.2kW AC"])
        planner = actor_of(make_user(s, "central_ops", "slots-planner", zone=zone))
        next_refs(s, "SUR", 900, DAY.year)  # factory surveys use low SUR refs
        return W(engine, zone.id, oem.id, t1.id, t2.id, planner)


def _lead(s: Session, w: W) -> Lead:
    w.n += 1
    lead = Lead(
        ref=f"LEAD-2026-8{w.n:04d}",
        oem_id=w.oem_id,
        oem_lead_ref=f"SLOT-{w.n}-{uuid.uuid4().hex[:6]}",
        customer_name=f"Customer {w.n}",
        phone=f"+9198451{w.n:05d}",
        address="12 MG Road",
        city="Bengaluru",
        pincode="560001",
        zone_id=w.zone_id,
        received_at=utcnow() - timedelta(days=2),
        status="new",
    )
    s.add(lead)
    s.flush()
    return lead


def _job(w: W, kind: str) -> uuid.UUID:
    """A job of ``kind`` ready to be booked: a new lead, a planned installation, an open
    ticket on an installed charger."""
    with session_scope(w.engine) as s:
        if kind == "survey":
            return _lead(s, w).id
        zone, oem = s.get(Zone, w.zone_id), s.get(Oem, w.oem_id)
        if kind == "installation":
            return make_installation(s, zone, oem).id
        inst = make_installation(s, zone, oem, status="closed")
        ticket = ServiceTicket(
            ref=f"SVC-2026-8{inst.ref[-4:]}",
            installation_id=inst.id,
            lead_id=inst.lead_id,
            contact="Asha Rao",
            fault_reported_date=local_date(utcnow()),
            nature_of_fault="Charger shows earth fault",
            status="open",
        )
        s.add(ticket)
        s.flush()
        return ticket.id


def _book_in(s: Session, w: W, kind: str, job: uuid.UUID, team: uuid.UUID, day: date, slot: str):  # type: ignore[no-untyped-def]
    if kind == "survey":
        return schedule_survey(
            s, w.planner, lead_id=job, team_id=team, survey_date=day, time_slot=slot
        )
    if kind == "installation":
        return scheduling.book(
            s, w.planner, installation_id=job, work_date=day, time_slot=slot, team_id=team
        )
    return svc.book_visit(s, w.planner, ticket_id=job, visit_date=day, time_slot=slot, team_id=team)


def _book(w: W, kind: str, job: uuid.UUID, team: uuid.UUID | None = None, **kw):  # type: ignore[no-untyped-def]
    day, slot = kw.get("day", DAY), kw.get("slot", SLOT)
    with session_scope(w.engine) as s:
        return _book_in(s, w, kind, job, team or w.t1, day, slot)


def _ref_of(w: W, kind: str, job: uuid.UUID) -> str:
    """The ref the Conflict message names for a booked job."""
    from domain.installations.models import Installation
    from domain.surveys.models import Survey

    with session_scope(w.engine, readonly=True) as s:
        if kind == "survey":
            ref = s.scalars(select(Survey.ref).where(Survey.lead_id == job)).one()
            return f"survey {ref}"
        if kind == "installation":
            return f"installation {s.get(Installation, job).ref}"
        return f"service visit for {s.get(ServiceTicket, job).ref}"


def _bookings(w: W) -> list[tuple[uuid.UUID, date, str, str]]:
    with session_scope(w.engine, readonly=True) as s:
        rows = s.execute(
            select(
                TeamSlotBooking.team_id,
                TeamSlotBooking.slot_date,
                TeamSlotBooking.time_slot,
                TeamSlotBooking.kind,
            ).order_by(TeamSlotBooking.slot_date, TeamSlotBooking.time_slot)
        ).all()
        assert set(_rows_with_job(s)) == expected_team_slot_bookings(s)
        return [tuple(r) for r in rows]


def _rows_with_job(s: Session) -> list[tuple]:
    return [
        (
            r.team_id,
            r.slot_date,
            r.time_slot,
            r.kind,
            r.survey_id or r.installation_assignment_id or r.service_visit_id,
        )
        for r in s.scalars(select(TeamSlotBooking))
    ]


# ------------------------------------------------------------------ cross-kind clashes


@pytest.mark.parametrize(("first", "second"), [(a, b) for a in KINDS for b in KINDS if a != b])
def test_second_kind_in_a_taken_slot_is_a_conflict(w: W, first: str, second: str) -> None:
    job1, job2 = _job(w, first), _job(w, second)
    _book(w, first, job1)
    with pytest.raises(Conflict) as e:
        _book(w, second, job2)
    assert str(e.value) == (
        f"team BLR-T1 already has a job on {DAY.isoformat()} {SLOT} ({_ref_of(w, first, job1)})"
    )
    assert _bookings(w) == [(w.t1, DAY, SLOT, first)]
    # the refused job is free to take another slot or another team
    _book(w, second, job2, slot="15-18")
    assert len(_bookings(w)) == 2


def test_database_refuses_without_the_pre_check(w: W, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the code checks switched off, the unique key alone refuses the second job."""
    import domain.service.service as service_module
    import domain.surveys.service as survey_module

    monkeypatch.setattr(service_module, "team_slot_clash", lambda *a, **k: None)
    monkeypatch.setattr(survey_module, "require_slot_free", lambda *a, **k: None)
    inst = _job(w, "installation")
    _book(w, "installation", inst)
    ticket, lead = _job(w, "service_visit"), _job(w, "survey")
    for kind, job in (("service_visit", ticket), ("survey", lead)):
        with pytest.raises(Conflict) as e:
            _book(w, kind, job)
        assert f"({_ref_of(w, 'installation', inst)})" in str(e.value)
    assert _bookings(w) == [(w.t1, DAY, SLOT, "installation")]
    with session_scope(w.engine, readonly=True) as s:
        assert s.get(ServiceTicket, ticket).status == "open"  # nothing of the booking kept
        assert s.get(Lead, lead).status == "new"


def test_claim_and_release_helpers(w: W) -> None:
    lead = _job(w, "survey")
    sv = _book(w, "survey", lead)
    with session_scope(w.engine) as s, pytest.raises(ValueError):
        claim_team_slot(s, team_id=w.t1, day=DAY, slot=SLOT)
    inst = _job(w, "installation")
    with session_scope(w.engine) as s:
        from domain.installations.models import InstallationAssignment

        a = InstallationAssignment(
            installation_id=inst, team_id=w.t1, work_date=DAY, time_slot=SLOT, assigned_at=utcnow()
        )
        s.add(a)
        s.flush()
        with pytest.raises(Conflict, match=rf"\(survey {sv.ref}\)"):
            claim_team_slot(s, team_id=w.t1, day=DAY, slot=SLOT, assignment_id=a.id)
        # the refusal rolled back only the SAVEPOINT: the session is usable
        claim_team_slot(s, team_id=w.t2, day=DAY, slot=SLOT, assignment_id=a.id)
        assert release_team_slot(s, survey_id=sv.id) == 1
        assert release_team_slot(s, survey_id=sv.id) == 0
        s.rollback()
    assert _bookings(w) == [(w.t1, DAY, SLOT, "survey")]


# ------------------------------------------------------------------ releasing frees the slot


def _cancel_survey(s: Session, w: W, job: uuid.UUID) -> None:
    from domain.surveys.models import Survey

    sid = s.scalars(select(Survey.id).where(Survey.lead_id == job)).one()
    cancel_survey(s, w.planner, survey_id=sid, reason="customer away")


def _unassign(s: Session, w: W, job: uuid.UUID) -> None:
    scheduling.unassign(s, w.planner, installation_id=job, reason="team on training")


def _cancel_installation(s: Session, w: W, job: uuid.UUID) -> None:
    transition(s, w.planner, installation_id=job, to_status="cancelled", reason="withdrew")


def _reschedule_installation(s: Session, w: W, job: uuid.UUID) -> None:
    transition(s, w.planner, installation_id=job, to_status="rescheduled", reason="rain")


def _cancel_visit(s: Session, w: W, job: uuid.UUID) -> None:
    from domain.service.models import ServiceVisit

    vid = s.scalars(select(ServiceVisit.id).where(ServiceVisit.service_ticket_id == job)).one()
    svc.cancel_visit(s, w.planner, visit_id=vid, reason="customer away")


def _cancel_ticket(s: Session, w: W, job: uuid.UUID) -> None:
    svc.cancel_ticket(s, w.planner, ticket_id=job, reason="fixed itself")


RELEASES: list[tuple[str, Callable[[Session, W, uuid.UUID], None], str]] = [
    ("survey", _cancel_survey, "installation"),
    ("installation", _unassign, "survey"),
    ("installation", _cancel_installation, "service_visit"),
    ("installation", _reschedule_installation, "survey"),
    ("service_visit", _cancel_visit, "installation"),
    ("service_visit", _cancel_ticket, "survey"),
]


@pytest.mark.parametrize(
    ("kind", "release", "then"), RELEASES, ids=[r[1].__name__.strip("_") for r in RELEASES]
)
def test_releasing_frees_the_slot(
    w: W, kind: str, release: Callable[[Session, W, uuid.UUID], None], then: str
) -> None:
    job, other = _job(w, kind), _job(w, then)
    _book(w, kind, job)
    with pytest.raises(Conflict):
        _book(w, then, other)
    with session_scope(w.engine) as s:
        release(s, w, job)
    assert _bookings(w) == []
    _book(w, then, other)
    assert _bookings(w) == [(w.t1, DAY, SLOT, then)]


def test_moving_a_survey_frees_its_old_slot(w: W) -> None:
    lead, inst = _job(w, "survey"), _job(w, "installation")
    sv = _book(w, "survey", lead)
    with session_scope(w.engine) as s:
        reschedule_survey(
            s, w.planner, survey_id=sv.id, team_id=w.t2, survey_date=DAY, time_slot="09-12"
        )
    assert _bookings(w) == [(w.t2, DAY, "09-12", "survey")]
    _book(w, "installation", inst)  # the old slot is free
    # the new slot is held
    with pytest.raises(Conflict, match=rf"\(survey {sv.ref}\)"):
        _book(w, "service_visit", _job(w, "service_visit"), team=w.t2, slot="09-12")


def test_moving_an_installation_frees_its_old_slot(w: W) -> None:
    inst, ticket = _job(w, "installation"), _job(w, "service_visit")
    _book(w, "installation", inst)
    with session_scope(w.engine) as s:
        scheduling.move(s, w.planner, installation_id=inst, work_date=DAY, time_slot="15-18")
    assert _bookings(w) == [(w.t1, DAY, "15-18", "installation")]
    _book(w, "service_visit", ticket)  # the old slot is free
    # an emergency reassignment moves the slot to the backup team
    with session_scope(w.engine) as s:
        scheduling.reassign_emergency(
            s, w.planner, installation_id=inst, backup_team_id=w.t2, reason="van broke down"
        )
    assert sorted(_bookings(w), key=lambda r: r[3]) == [
        (w.t2, DAY, "15-18", "installation"),
        (w.t1, DAY, SLOT, "service_visit"),
    ]
    _book(w, "survey", _job(w, "survey"), slot="15-18")  # T1's 15-18 is free again


def test_emergency_backup_busy_with_a_survey_is_a_conflict(w: W) -> None:
    inst, lead = _job(w, "installation"), _job(w, "survey")
    _book(w, "installation", inst)
    sv = _book(w, "survey", lead, team=w.t2)
    with session_scope(w.engine) as s, pytest.raises(Conflict, match=rf"\(survey {sv.ref}\)"):
        scheduling.reassign_emergency(
            s, w.planner, installation_id=inst, backup_team_id=w.t2, reason="van broke down"
        )
    # T1 keeps the job
    assert sorted(_bookings(w), key=lambda r: r[3]) == [
        (w.t1, DAY, SLOT, "installation"),
        (w.t2, DAY, SLOT, "survey"),
    ]


# ------------------------------------------------------------------ concurrency (PostgreSQL)


def test_eight_planners_three_kinds_one_slot_exactly_one_wins(w: W) -> None:
    """Real threads, each its own transaction, booking different kinds of job into the same
    team/date/slot at once: the unique key of team_slot_booking lets exactly one through.
    On PostgreSQL the writers really overlap; on SQLite ``BEGIN IMMEDIATE`` queues them."""
    kinds = [KINDS[i % 3] for i in range(8)]
    jobs = [(k, _job(w, k)) for k in kinds]
    barrier = threading.Barrier(len(jobs))
    results: list[object] = []
    lock = threading.Lock()

    def worker(kind: str, job: uuid.UUID) -> None:
        try:
            with session_scope(w.engine) as s:
                barrier.wait(timeout=30)
                out: object = (kind, _book_in(s, w, kind, job, w.t1, DAY, SLOT))
        except Exception as exc:  # collected and asserted below
            out = exc
        with lock:
            results.append(out)

    threads = [threading.Thread(target=worker, args=j) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 8
    wins = [r for r in results if isinstance(r, tuple)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1, results
    assert len(conflicts) == 7, results
    assert all(
        f"BLR-T1 already has a job on {DAY.isoformat()} {SLOT} (" in str(c) for c in conflicts
    )
    assert _bookings(w) == [(w.t1, DAY, SLOT, wins[0][0])]


# ------------------------------------------------------------------ rebuild after a bulk load


def test_rebuild_after_demo_seed_matches_the_source_tables(engine: Engine) -> None:
    from db.seed import seed_all

    counts = seed_all(engine, seed=11, scale=0.05, today=date(2026, 11, 21))
    with session_scope(engine, readonly=True) as s:
        expected = expected_team_slot_bookings(s)
        stored = set(_rows_with_job(s))
    assert len(expected) > 100  # surveys, installations and visits of the demo history
    assert {k for *_, k, _ in expected} == set(KINDS)
    # every job that holds a slot has its row: the demo history has no cross-kind clash
    assert stored == expected
    assert counts["team_slot_booking"] == len(expected)
    with session_scope(engine) as s:
        assert rebuild_team_slot_bookings(s) == len(expected)
        assert set(_rows_with_job(s)) == expected


# ------------------------------------------------------------------ migration 0003 backfill


def test_migration_0003_backfills_the_jobs_holding_a_slot(empty_db_url: str) -> None:  # noqa: F811
    """Jobs of every kind (some not holding a slot, one cross-kind clash) written directly,
    the schema taken down to 0002 (no bookings table) with them in it, then up to head: 0003
    gives one booking per holding job, the clash keeps the installation. (The rows are
    written at head: today's models do not fit an older schema.)"""
    from sqlalchemy import insert

    from db.engine import make_engine
    from db.migrate import downgrade, upgrade
    from domain.installations.models import InstallationAssignment
    from domain.service.models import ServiceVisit
    from domain.surveys.models import Survey

    upgrade(empty_db_url)
    eng = make_engine(empty_db_url)
    try:
        with session_scope(eng) as s:
            zone, oem = make_zone(s), make_oem(s)
            t1 = make_skilled_team(s, zone, "BLR-T1", ["7.2kW AC"])
            t2 = make_skilled_team(s, zone, "BLR-T2", ["7.2kW AC"])
            inst = make_installation(s, zone, oem, status="closed")
            lead2 = make_installation(s, zone, oem).lead_id
            now = utcnow()
            live = InstallationAssignment(
                installation_id=inst.id,
                team_id=t1.id,
                work_date=DAY,
                time_slot=SLOT,
                assigned_at=now,
            )
            gone = InstallationAssignment(
                installation_id=inst.id,
                team_id=t1.id,
                work_date=DAY,
                time_slot="09-12",
                assigned_at=now,
                released_at=now,
            )
            surveys = [
                Survey(
                    ref=f"SUR-2026-7000{i}",
                    lead_id=lead2,
                    team_id=t2.id,
                    survey_date=DAY,
                    time_slot=slot,
                    status=status,
                )
                for i, (slot, status) in enumerate(
                    [("09-12", "reviewed_approved"), ("12-15", "cancelled"), ("15-18", "scheduled")]
                )
            ]
            clash = Survey(
                ref="SUR-2026-70009",
                lead_id=lead2,
                team_id=t1.id,
                survey_date=DAY,
                time_slot=SLOT,
                status="completed",
            )
            s.add_all([live, gone, *surveys, clash])
            s.flush()
            ticket_id = uuid.uuid4()
            s.execute(
                insert(ServiceTicket.__table__).values(
                    id=ticket_id,
                    ref="SVC-2026-70001",
                    installation_id=inst.id,
                    lead_id=inst.lead_id,
                    contact="Asha",
                    fault_reported_date=DAY,
                    nature_of_fault="trips",
                    status="scheduled",
                    maintenance=False,
                    created_at=now,
                    updated_at=now,
                )
            )
            visits = [
                ServiceVisit(
                    service_ticket_id=ticket_id,
                    visit_date=DAY + timedelta(days=1),
                    time_slot=SLOT,
                    team_id=t1.id,
                    status=status,
                )
                for status in ("booked",)
            ] + [
                ServiceVisit(
                    service_ticket_id=ticket_id,
                    visit_date=DAY + timedelta(days=1),
                    time_slot="15-18",
                    team_id=t1.id,
                    status="cancelled",
                )
            ]
            s.add_all(visits)
            s.flush()
            expected = {
                (t1.id, DAY, SLOT, "installation", live.id),
                (t2.id, DAY, "09-12", "survey", surveys[0].id),
                (t2.id, DAY, "15-18", "survey", surveys[2].id),
                (t1.id, DAY + timedelta(days=1), SLOT, "service_visit", visits[0].id),
            }
        eng.dispose()
        downgrade(empty_db_url, "0002")
        upgrade(empty_db_url)
        with session_scope(eng, readonly=True) as s:
            assert set(_rows_with_job(s)) == expected
            assert {r.id for r in s.scalars(select(TeamSlotBooking))} == {e[4] for e in expected}
        downgrade(empty_db_url, "0002")
        upgrade(empty_db_url)
    finally:
        eng.dispose()
