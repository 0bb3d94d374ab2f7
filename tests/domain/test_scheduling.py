"""Scheduling (issue 3 item 3): book / move / unassign on SQLite and PostgreSQL, the DB-enforced
one-job-per-team-slot rule under 8 concurrent planners, and who may book."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import domain.models  # noqa: F401
from db.engine import session_scope
from domain.accounts.models import AuditEvent, FieldTeam, Oem, TeamUnavailability, Zone
from domain.actor import Actor
from domain.errors import Conflict, NotFound, PermissionDenied, ValidationError
from domain.installations import scheduling
from domain.installations.models import Installation, InstallationAssignment
from domain.leads.models import Lead
from domain.procurement.models import Material
from domain.surveys.models import Survey, SurveyReport
from tests.factories import actor_of, make_oem, make_team, make_user, make_zone

WORK = date(2026, 11, 25)  # a Wednesday (Guru Nanak's birthday, 24 Nov, is a holiday)
RECEIVED = datetime(2026, 11, 20, 4, 30, tzinfo=UTC)  # Friday 20 Nov, 10:00 IST

_counter = {"n": 0}


def make_installation(
    s: Session,
    zone: Zone,
    oem: Oem,
    *,
    charger_type: str | None = "7.2kW AC",
    status: str = "planned",
    received_at: datetime = RECEIVED,
    recommended_power_kw: str | None = None,
    customer: str = "Asha Rao",
) -> Installation:
    """A lead, an approved survey (optionally with a report recommending a charger of
    ``recommended_power_kw``) and its installation."""
    _counter["n"] += 1
    n = _counter["n"]
    lead = Lead(
        ref=f"LEAD-2026-{n:05d}",
        oem_id=oem.id,
        oem_lead_ref=f"T-{n}-{uuid.uuid4().hex[:4]}",
        customer_name=customer,
        phone=f"+9198450{n:05d}",
        address="12 MG Road",
        city="Bengaluru",
        pincode="560001",
        zone_id=zone.id,
        requested_charger_type=charger_type,
        received_at=received_at,
        status="installation_scheduled",
    )
    s.add(lead)
    s.flush()
    survey = Survey(
        ref=f"SUR-2026-{n:05d}",
        lead_id=lead.id,
        survey_date=date(2026, 11, 21),
        time_slot="09-12",
        status="reviewed_approved",
    )
    s.add(survey)
    s.flush()
    if recommended_power_kw is not None:
        charger = Material(
            name=f"Charger {recommended_power_kw} kW",
            sku=f"CHG-{n}",
            category="charger",
            unit="piece",
            power_kw=Decimal(recommended_power_kw),
        )
        s.add(charger)
        s.flush()
        s.add(
            SurveyReport(
                survey_id=survey.id,
                site_type="independent_house",
                parking="covered",
                meter_distance_m=Decimal("8"),
                sanctioned_load_kw=Decimal("10"),
                earthing_ok=True,
                recommended_charger_id=charger.id,
                cable_length_m=Decimal("10"),
            )
        )
    inst = Installation(
        ref=f"INS-2026-{n:05d}", survey_id=survey.id, lead_id=lead.id, status=status
    )
    s.add(inst)
    s.flush()
    return inst


def make_skilled_team(
    s: Session, zone: Zone, code: str, skills: list[str], *, active: bool = True
) -> FieldTeam:
    t = make_team(s, zone, code)
    t.skills = skills
    t.active = active
    s.flush()
    return t


@dataclass
class World:
    engine: Engine
    zone_id: uuid.UUID
    other_zone_id: uuid.UUID
    oem_id: uuid.UUID
    t1: uuid.UUID
    t2: uuid.UUID
    t_ac3: uuid.UUID
    t_other: uuid.UUID
    planner: Actor
    admin: Actor
    procurement: Actor
    engineer: Actor
    viewer: Actor


def build_world(engine: Engine) -> World:
    with session_scope(engine) as s:
        blr = make_zone(s)
        dl = make_zone(s, "DEL", "Delhi", "DELHI", ("NEW DELHI",), "DL")
        oem = make_oem(s)
        t1 = make_skilled_team(s, blr, "BLR-T1", ["7.2kW AC", "3.3kW AC"])
        t2 = make_skilled_team(s, blr, "BLR-T2", ["7.2kW AC"])
        t3 = make_skilled_team(s, blr, "BLR-T3", ["3.3kW AC"])
        td = make_skilled_team(s, dl, "DEL-T1", ["7.2kW AC"])
        return World(
            engine=engine,
            zone_id=blr.id,
            other_zone_id=dl.id,
            oem_id=oem.id,
            t1=t1.id,
            t2=t2.id,
            t_ac3=t3.id,
            t_other=td.id,
            planner=actor_of(make_user(s, "central_ops", "planner", zone=blr)),
            admin=actor_of(make_user(s, "admin", "boss")),
            procurement=actor_of(make_user(s, "procurement", "buyer")),
            engineer=actor_of(make_user(s, "field_engineer", "eng", team=t1)),
            viewer=actor_of(make_user(s, "oem_viewer", "tataview", oem=oem)),
        )


def new_job(w: World, **kw) -> uuid.UUID:  # type: ignore[no-untyped-def]
    with session_scope(w.engine) as s:
        return make_installation(s, s.get(Zone, w.zone_id), s.get(Oem, w.oem_id), **kw).id


@pytest.fixture
def world(engine: Engine) -> World:
    return build_world(engine)


def _book(w: World, inst_id: uuid.UUID, team_id: uuid.UUID, **kw):  # type: ignore[no-untyped-def]
    args = {"work_date": WORK, "time_slot": "09-12", **kw}
    with session_scope(w.engine) as s:
        return scheduling.book(s, w.planner, installation_id=inst_id, team_id=team_id, **args)


def _active(w: World, inst_id: uuid.UUID) -> list[uuid.UUID]:
    """Ids of the installation's active assignments."""
    with session_scope(w.engine, readonly=True) as s:
        return list(
            s.scalars(
                select(InstallationAssignment.id).where(
                    InstallationAssignment.installation_id == inst_id,
                    InstallationAssignment.released_at.is_(None),
                )
            )
        )


# --------------------------------------------------------------------------- book


def test_book_happy_path_sets_schedule_and_audits(world: World) -> None:
    inst_id = new_job(world)
    dto = _book(world, inst_id, world.t1)
    assert (dto.team_code, dto.role, dto.work_date, dto.time_slot) == (
        "BLR-T1",
        "primary",
        WORK,
        "09-12",
    )
    assert dto.released_at is None and dto.installation_ref.startswith("INS-2026-")
    with session_scope(world.engine, readonly=True) as s:
        inst = s.get(Installation, inst_id)
        assert (inst.scheduled_date, inst.time_slot, inst.status) == (WORK, "09-12", "planned")
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "installation.assign")
        ).all()
        assert len(events) == 1
        assert events[0].entity_id == str(inst_id)
        assert events[0].after["assignment"]["team_id"] == str(world.t1)
        assert events[0].actor_username == "planner"


def test_bad_slot_and_unknown_team_are_field_errors(world: World) -> None:
    inst_id = new_job(world)
    with pytest.raises(ValidationError) as e:
        _book(world, inst_id, world.t1, time_slot="08-10")
    assert "time_slot" in e.value.errors and "09-12" in e.value.errors["time_slot"]
    with pytest.raises(ValidationError) as e:
        _book(world, inst_id, uuid.uuid4())
    assert e.value.errors == {"team_id": "no such field team"}
    with pytest.raises(ValidationError) as e:
        _book(world, inst_id, world.t1, role="helper")
    assert "role" in e.value.errors
    with pytest.raises(ValidationError) as e:
        _book(world, inst_id, world.t1, work_date=date(2026, 11, 20))
    assert e.value.errors == {"work_date": "2026-11-20 is in the past"}
    with pytest.raises(NotFound):
        _book(world, uuid.uuid4(), world.t1)
    assert _active(world, inst_id) == []


def test_inactive_and_unavailable_team_refused(world: World) -> None:
    inst_id = new_job(world)
    with session_scope(world.engine) as s:
        s.add(
            TeamUnavailability(
                team_id=world.t1,
                from_date=date(2026, 11, 24),
                to_date=date(2026, 11, 26),
                reason="vehicle breakdown",
            )
        )
        s.get(FieldTeam, world.t2).active = False
    with pytest.raises(ValidationError) as e:
        _book(world, inst_id, world.t1)
    assert "vehicle breakdown" in e.value.errors["team_id"]
    assert "2026-11-25" in e.value.errors["team_id"]
    with pytest.raises(ValidationError) as e:
        _book(world, inst_id, world.t2)
    assert "inactive" in e.value.errors["team_id"]
    # the day after the leave, T1 can work
    assert _book(world, inst_id, world.t1, work_date=date(2026, 11, 27)).team_code == "BLR-T1"


def test_wrong_zone_refused_unless_overridden(world: World) -> None:
    inst_id = new_job(world)
    with pytest.raises(ValidationError) as e:
        _book(world, inst_id, world.t_other)
    assert "another zone" in e.value.errors["team_id"]
    assert _active(world, inst_id) == []
    dto = _book(world, inst_id, world.t_other, allow_mismatch=True)
    assert dto.team_code == "DEL-T1"


def test_skill_from_lead_or_survey_report(world: World) -> None:
    # requested type on the lead
    inst_id = new_job(world, charger_type="7.2kW AC")
    with pytest.raises(ValidationError) as e:
        _book(world, inst_id, world.t_ac3)
    assert "not skilled for 7.2kW AC" in e.value.errors["team_id"]
    # no type on the lead: the survey recommended an 11 kW charger -> "11kW AC"
    inst2 = new_job(world, charger_type=None, recommended_power_kw="11.0")
    with pytest.raises(ValidationError) as e:
        _book(world, inst2, world.t1)
    assert "11kW AC" in e.value.errors["team_id"]
    # nothing known: any team of the zone
    inst3 = new_job(world, charger_type=None)
    assert _book(world, inst3, world.t_ac3).team_code == "BLR-T3"


@pytest.mark.parametrize("status", ["in_progress", "completed", "closed", "cancelled"])
def test_closed_installations_cannot_be_booked(world: World, status: str) -> None:
    inst_id = new_job(world, status=status)
    with pytest.raises(ValidationError) as e:
        _book(world, inst_id, world.t1)
    assert status in e.value.errors["installation_id"]


def test_slot_taken_is_a_conflict_and_changes_nothing(world: World) -> None:
    a = new_job(world)
    b = new_job(world)
    _book(world, a, world.t1)
    with session_scope(world.engine, readonly=True) as s:
        a_ref = s.get(Installation, a).ref
    with pytest.raises(Conflict) as e:
        _book(world, b, world.t1)
    assert (
        str(e.value) == f"team BLR-T1 already has a job on 2026-11-25 09-12 (installation {a_ref})"
    )
    assert _active(world, b) == []
    with session_scope(world.engine, readonly=True) as s:
        assert s.get(Installation, b).scheduled_date is None
    # another slot of the same team is fine
    assert _book(world, b, world.t1, time_slot="12-15").time_slot == "12-15"


def test_move_releases_previous_and_frees_slot(world: World) -> None:
    a = new_job(world)
    b = new_job(world)
    first = _book(world, a, world.t1)
    with session_scope(world.engine) as s:
        moved = scheduling.move(
            s,
            world.planner,
            installation_id=a,
            work_date=date(2026, 11, 26),
            time_slot="15-18",
            team_id=world.t2,
        )
    assert (moved.team_code, moved.work_date, moved.time_slot) == (
        "BLR-T2",
        date(2026, 11, 26),
        "15-18",
    )
    with session_scope(world.engine, readonly=True) as s:
        old = s.get(InstallationAssignment, first.id)
        assert old.released_at is not None and old.reason == "moved"
        inst = s.get(Installation, a)
        assert (inst.scheduled_date, inst.time_slot) == (date(2026, 11, 26), "15-18")
    assert _active(world, a) == [moved.id]
    # T1's old slot is free again
    assert _book(world, b, world.t1).team_code == "BLR-T1"
    with session_scope(world.engine) as s, pytest.raises(ValidationError):
        scheduling.move(
            s,
            world.planner,
            installation_id=a,
            work_date=date(2026, 11, 26),
            time_slot="15-18",
        )


def test_unassign_keeps_appointment(world: World) -> None:
    a = new_job(world)
    _book(world, a, world.t1)
    with session_scope(world.engine) as s, pytest.raises(ValidationError) as e:
        scheduling.unassign(s, world.planner, installation_id=a, reason="  ")
    assert "reason" in e.value.errors
    with session_scope(world.engine) as s:
        released = scheduling.unassign(s, world.planner, installation_id=a, reason="customer away")
    assert released.released_at is not None and released.reason == "customer away"
    assert _active(world, a) == []
    with session_scope(world.engine, readonly=True) as s:
        assert s.get(Installation, a).scheduled_date == WORK
        assert (
            s.scalar(select(func.count()).where(AuditEvent.action == "installation.unassign")) == 1
        )
    with session_scope(world.engine) as s, pytest.raises(ValidationError):
        scheduling.unassign(s, world.planner, installation_id=a, reason="again")


@pytest.mark.parametrize("who", ["procurement", "engineer", "viewer"])
def test_only_planners_can_book(world: World, who: str) -> None:
    inst_id = new_job(world)
    actor = getattr(world, who)
    with session_scope(world.engine) as s, pytest.raises(PermissionDenied):
        scheduling.book(
            s, actor, installation_id=inst_id, work_date=WORK, time_slot="09-12", team_id=world.t1
        )
    with session_scope(world.engine) as s, pytest.raises(PermissionDenied):
        scheduling.suggest_teams(
            s, actor, installation_id=inst_id, work_date=WORK, time_slot="09-12"
        )
    assert _active(world, inst_id) == []
    # an admin may
    with session_scope(world.engine) as s:
        dto = scheduling.book(
            s,
            world.admin,
            installation_id=inst_id,
            work_date=WORK,
            time_slot="09-12",
            team_id=world.t1,
        )
    assert dto.team_code == "BLR-T1"


def test_eight_planners_same_team_slot_exactly_one_wins(world: World) -> None:
    """Real threads, each its own transaction: the partial unique index decides (on SQLite
    the writers queue on BEGIN IMMEDIATE, and the same index refuses all but one)."""
    jobs = [new_job(world) for _ in range(8)]
    barrier = threading.Barrier(8)
    results: list[object] = []
    lock = threading.Lock()

    def worker(inst_id: uuid.UUID) -> None:
        try:
            with session_scope(world.engine) as s:
                barrier.wait(timeout=30)
                out: object = scheduling.book(
                    s,
                    world.planner,
                    installation_id=inst_id,
                    work_date=WORK,
                    time_slot="12-15",
                    team_id=world.t2,
                )
        except Exception as exc:  # collected and asserted below
            out = exc
        with lock:
            results.append(out)

    threads = [threading.Thread(target=worker, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    wins = [r for r in results if isinstance(r, scheduling.AssignmentDTO)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(results) == 8
    assert len(wins) == 1, results
    assert len(conflicts) == 7, results
    assert all("BLR-T2 already has a job on 2026-11-25 12-15" in str(c) for c in conflicts)
    with session_scope(world.engine, readonly=True) as s:
        active = s.scalars(
            select(InstallationAssignment).where(
                InstallationAssignment.team_id == world.t2,
                InstallationAssignment.released_at.is_(None),
            )
        ).all()
        assert [a.installation_id for a in active] == [wins[0].installation_id]
        scheduled = s.scalar(
            select(func.count()).where(
                Installation.id.in_(jobs), Installation.scheduled_date.is_not(None)
            )
        )
        assert scheduled == 1


def test_dispatch_bench_smoke(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Tiny run of bench/dispatch_bench.py (SQLite): JSON shape, both implementations agree, and
    the set-based paths issue far fewer statements than the per-team baselines."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "dispatch_bench.py"
    spec = importlib.util.spec_from_file_location("dispatch_bench", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    doc = bench.main(
        ["--db", "sqlite", "--history", "40", "--zones", "1", "--jobs", "24", "--teams", "6"]
        + ["--sample", "6", "--repeat", "1", "--workdir", str(tmp_path)]
    )
    assert doc["all_results_equal"] is True
    (r,) = doc["results"]
    assert r["rows"]["field_team"] == 12
    assert r["suggest"]["jobs"] == 24
    assert r["suggest"]["set_queries_per_job"] <= 3
    assert r["suggest"]["naive_queries_per_job"] > 3 * r["suggest"]["set_queries_per_job"]
    # board: teams+jobs, unavailability, unassigned (constant, whatever the size)
    assert r["board"]["teams"] <= 6 and r["board"]["queries"] <= 4
    assert r["board"]["naive_queries"] > r["board"]["queries"]
