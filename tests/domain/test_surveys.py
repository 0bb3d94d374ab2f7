"""Survey commands and queries on SQLite and PostgreSQL: lifecycle, lead status, validation,
booking rules, roles and OEM/team isolation, audit."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from db.engine import session_scope
from domain.accounts.models import AuditEvent, TeamUnavailability
from domain.calendar import local_date
from domain.errors import Conflict, NotFound, PermissionDenied, TransitionError, ValidationError
from domain.leads.models import Lead
from domain.procurement.models import Material
from domain.surveys import queries
from domain.surveys.models import Survey, SurveyReport, SurveyReportLine
from domain.surveys.service import (
    cancel_survey,
    record_survey_report,
    reschedule_survey,
    review_survey,
    schedule_survey,
    submit_survey,
)
from tests.factories import actor_of, make_oem, make_team, make_user, make_zone

TODAY = local_date(datetime.now(UTC))
DAY = TODAY + timedelta(days=3)


def _lead(s: Any, oem_id: uuid.UUID, zone_id: uuid.UUID, n: int, status: str = "new") -> Lead:
    lead = Lead(
        ref=f"LEAD-2026-{n:05d}",
        oem_id=oem_id,
        oem_lead_ref=f"X-{n}",
        customer_name=f"Customer {n}",
        phone=f"+9198450{n:05d}",
        address=f"{n} MG Road",
        city="Bengaluru",
        pincode="560001",
        zone_id=zone_id,
        received_at=datetime(2026, 11, 1, 5, 0, tzinfo=UTC) + timedelta(hours=n),
        status=status,
    )
    s.add(lead)
    s.flush()
    return lead


def _material(s: Any, sku: str, category: str, unit: str = "piece", active: bool = True) -> Any:
    m = Material(
        name=f"Item {sku}", sku=sku, category=category, unit=unit, active=active, description=""
    )
    s.add(m)
    s.flush()
    return m.id


@pytest.fixture
def w(engine: Engine) -> dict[str, Any]:
    """Zones BLR/HYD, OEMs TATA/MG, teams BLR-T1/BLR-T2/HYD-T1, users of every role, leads
    (two TATA + one MG in BLR, one TATA in HYD), materials (two chargers, cable, mounting)."""
    with session_scope(engine) as s:
        blr = make_zone(s)
        hyd = make_zone(s, "HYD", "Hyderabad", "TELANGANA", ("HYDERABAD",), "TG")
        tata = make_oem(s, "TATA", "Tata Motors")
        mg = make_oem(s, "MG", "MG Motor India")
        t1 = make_team(s, blr, "BLR-T1")
        t2 = make_team(s, blr, "BLR-T2")
        h1 = make_team(s, hyd, "HYD-T1")
        out = {
            "engine": engine,
            "blr": blr.id,
            "hyd": hyd.id,
            "tata": tata.id,
            "mg": mg.id,
            "t1": t1.id,
            "t2": t2.id,
            "h1": h1.id,
            "ops": actor_of(make_user(s, "central_ops", "ops")),
            "admin": actor_of(make_user(s, "admin", "boss")),
            "proc": actor_of(make_user(s, "procurement", "buyer")),
            "fe1": actor_of(make_user(s, "field_engineer", "fe1", zone=blr, team=t1)),
            "fe2": actor_of(make_user(s, "field_engineer", "fe2", zone=blr, team=t2)),
            "tata_viewer": actor_of(make_user(s, "oem_viewer", "tv", oem=tata)),
            "mg_viewer": actor_of(make_user(s, "oem_viewer", "mv", oem=mg)),
            "lead1": _lead(s, tata.id, blr.id, 1).id,
            "lead2": _lead(s, tata.id, blr.id, 2, "contacted").id,
            "lead_mg": _lead(s, mg.id, blr.id, 3).id,
            "lead_hyd": _lead(s, tata.id, hyd.id, 4).id,
            "charger": _material(s, "CH-7", "charger"),
            "charger2": _material(s, "CH-22", "charger"),
            "cable": _material(s, "CAB-6", "cable", "meter"),
            "mount": _material(s, "MNT-1", "mounting"),
        }
    return out


def _schedule(w: dict, lead: str = "lead1", team: str = "t1", **kw: Any) -> Any:
    args = {"survey_date": DAY, "time_slot": "09-12"}
    args.update(kw)
    with session_scope(w["engine"]) as s:
        return schedule_survey(s, w["ops"], lead_id=w[lead], team_id=w[team], **args)


def _report_args(w: dict, **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "site_type": "independent_house",
        "parking": "covered",
        "meter_distance_m": Decimal("12.5"),
        "sanctioned_load_kw": Decimal("7"),
        "earthing_ok": True,
        "recommended_charger_id": w["charger"],
        "cable_length_m": "15",
        "load_enhancement_needed": False,
        "notes": "Meter in the porch",
        "lines": [(w["cable"], 15), (w["mount"], 1)],
    }
    args.update(overrides)
    return args


def _record(w: dict, survey_id: uuid.UUID, actor: str = "fe1", **overrides: Any) -> Any:
    with session_scope(w["engine"]) as s:
        return record_survey_report(
            s, w[actor], survey_id=survey_id, **_report_args(w, **overrides)
        )


def _run(w: dict, fn: Callable[..., Any], actor: str, **kw: Any) -> Any:
    with session_scope(w["engine"]) as s:
        return fn(s, w[actor], **kw)


def _lead_status(w: dict, lead: str) -> str:
    with session_scope(w["engine"], readonly=True) as s:
        return s.get(Lead, w[lead]).status


def _survey_state(w: dict, survey_id: uuid.UUID) -> tuple:
    with session_scope(w["engine"], readonly=True) as s:
        sv = s.get(Survey, survey_id)
        lead = s.get(Lead, sv.lead_id)
        reports = s.execute(
            select(func.count(SurveyReport.id)).where(SurveyReport.survey_id == survey_id)
        ).scalar_one()
        return (sv.status, sv.team_id, sv.survey_date, sv.time_slot, lead.status, reports)


def _audits(w: dict, action: str, entity_id: uuid.UUID) -> int:
    with session_scope(w["engine"], readonly=True) as s:
        return s.execute(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action == action, AuditEvent.entity_id == str(entity_id)
            )
        ).scalar_one()


# --- happy path ---------------------------------------------------------------------------------
def test_full_happy_path_moves_survey_and_lead(w: dict) -> None:
    sv = _schedule(w)
    assert sv.ref.startswith(f"SUR-{DAY.year}-") and sv.status == "scheduled"
    assert _lead_status(w, "lead1") == "survey_scheduled"

    done = _record(w, sv.id)
    assert done.status == "completed" and done.completed_at is not None
    assert _lead_status(w, "lead1") == "survey_scheduled"

    sub = _run(w, submit_survey, "fe1", survey_id=sv.id)
    assert sub.status == "submitted" and sub.submitted_at is not None

    ok = _run(w, review_survey, "ops", survey_id=sv.id, approve=True, notes="")
    assert ok.status == "reviewed_approved"
    assert ok.reviewer_id == w["ops"].user_id and ok.reviewed_at is not None
    assert _lead_status(w, "lead1") == "surveyed"

    with session_scope(w["engine"], readonly=True) as s:
        detail = queries.get_survey(s, w["ops"], sv.id)
    assert detail.lead_ref == "LEAD-2026-00001" and detail.customer_name == "Customer 1"
    assert detail.address == "1 MG Road" and detail.team_code == "BLR-T1"
    assert detail.reviewer_username == "ops"
    report = detail.report
    assert report is not None
    assert report.meter_distance_m == Decimal("12.50")
    assert report.sanctioned_load_kw == Decimal("7.00")
    assert report.cable_length_m == Decimal("15.00")
    assert report.recommended_charger_name == "Item CH-7"
    assert {(ln.sku, ln.material_name, ln.quantity) for ln in report.lines} == {
        ("CAB-6", "Item CAB-6", 15),
        ("MNT-1", "Item MNT-1", 1),
    }
    for action in ("survey.schedule", "survey.record_report", "survey.submit", "survey.review"):
        assert _audits(w, action, sv.id) == 1, action


def test_recording_again_replaces_report_and_lines(w: dict) -> None:
    sv = _schedule(w)
    first = _record(w, sv.id)
    second = _record(w, sv.id, lines=[(w["cable"], 20)], parking="open")
    assert second.completed_at == first.completed_at
    with session_scope(w["engine"], readonly=True) as s:
        assert s.execute(select(func.count(SurveyReport.id))).scalar_one() == 1
        lines = s.execute(select(SurveyReportLine.material_id, SurveyReportLine.quantity)).all()
        assert [tuple(r) for r in lines] == [(w["cable"], 20)]
        assert s.execute(select(SurveyReport.parking)).scalar_one() == "open"
    assert _audits(w, "survey.record_report", sv.id) == 2


def test_rejection_returns_lead_to_contacted_and_allows_new_survey(w: dict) -> None:
    sv = _schedule(w)
    _record(w, sv.id)
    _run(w, submit_survey, "fe1", survey_id=sv.id)
    with pytest.raises(ValidationError) as exc:
        _run(w, review_survey, "ops", survey_id=sv.id, approve=False, notes="  ")
    assert "notes" in exc.value.errors
    assert _survey_state(w, sv.id)[0] == "submitted"

    rej = _run(w, review_survey, "ops", survey_id=sv.id, approve=False, notes="Photos blurry")
    assert rej.status == "reviewed_rejected" and rej.review_notes == "Photos blurry"
    assert _lead_status(w, "lead1") == "contacted"
    with session_scope(w["engine"], readonly=True) as s:
        waiting = {x.id for x in queries.leads_awaiting_survey(s, w["ops"])}
    assert w["lead1"] in waiting

    again = _schedule(w, survey_date=DAY + timedelta(days=1))
    assert again.ref != sv.ref and again.status == "scheduled"
    assert _lead_status(w, "lead1") == "survey_scheduled"


def test_cancel_returns_lead_to_contacted(w: dict) -> None:
    sv = _schedule(w)
    with pytest.raises(ValidationError) as exc:
        _run(w, cancel_survey, "ops", survey_id=sv.id, reason=" ")
    assert "reason" in exc.value.errors
    out = _run(w, cancel_survey, "ops", survey_id=sv.id, reason="Customer travelling")
    assert out.status == "cancelled"
    assert out.cancel_reason == "Customer travelling"
    assert _lead_status(w, "lead1") == "contacted"
    assert _audits(w, "survey.cancel", sv.id) == 1
    # the slot is free again
    other = _schedule(w, lead="lead2")
    assert other.status == "scheduled"


def test_reschedule_moves_slot_and_keeps_ref(w: dict) -> None:
    sv = _schedule(w)
    blocker = _schedule(w, lead="lead2", team="t2", time_slot="12-15")
    with pytest.raises(Conflict) as exc:
        _run(
            w,
            reschedule_survey,
            "ops",
            survey_id=sv.id,
            team_id=w["t2"],
            survey_date=DAY,
            time_slot="12-15",
        )
    assert str(exc.value) == (
        f"team BLR-T2 already has a job on {DAY.isoformat()} 12-15 (survey {blocker.ref})"
    )
    # same slot as itself is not a clash
    moved = _run(
        w,
        reschedule_survey,
        "ops",
        survey_id=sv.id,
        team_id=w["t2"],
        survey_date=DAY + timedelta(days=1),
        time_slot="09-12",
        reason="Customer asked",
    )
    assert moved.ref == sv.ref
    assert (moved.team_id, moved.survey_date, moved.time_slot) == (
        w["t2"],
        DAY + timedelta(days=1),
        "09-12",
    )
    assert _audits(w, "survey.reschedule", sv.id) == 1


# --- illegal transitions ------------------------------------------------------------------------
def _to_state(w: dict, state: str) -> uuid.UUID:
    sv = _schedule(w)
    if state == "scheduled":
        return sv.id
    if state == "cancelled":
        _run(w, cancel_survey, "ops", survey_id=sv.id, reason="x")
        return sv.id
    _record(w, sv.id)
    if state == "completed":
        return sv.id
    _run(w, submit_survey, "fe1", survey_id=sv.id)
    if state == "submitted":
        return sv.id
    _run(
        w,
        review_survey,
        "ops",
        survey_id=sv.id,
        approve=state == "reviewed_approved",
        notes="n",
    )
    return sv.id


_ACTIONS: dict[str, Callable[[dict, uuid.UUID], Any]] = {
    "record": lambda w, sid: _record(w, sid),
    "submit": lambda w, sid: _run(w, submit_survey, "fe1", survey_id=sid),
    "approve": lambda w, sid: _run(
        w, review_survey, "ops", survey_id=sid, approve=True, notes="ok"
    ),
    "reject": lambda w, sid: _run(
        w, review_survey, "ops", survey_id=sid, approve=False, notes="no"
    ),
    "cancel": lambda w, sid: _run(w, cancel_survey, "ops", survey_id=sid, reason="r"),
    "reschedule": lambda w, sid: _run(
        w,
        reschedule_survey,
        "ops",
        survey_id=sid,
        team_id=w["t2"],
        survey_date=DAY,
        time_slot="15-18",
    ),
}
_LEGAL = {
    "scheduled": {"record", "cancel", "reschedule"},
    "completed": {"record", "submit", "cancel"},
    "submitted": {"approve", "reject", "cancel"},
    "reviewed_approved": set(),
    "reviewed_rejected": set(),
    "cancelled": set(),
}
_ILLEGAL = [
    (state, action) for state, legal in _LEGAL.items() for action in _ACTIONS if action not in legal
]


@pytest.mark.parametrize(("state", "action"), _ILLEGAL)
def test_illegal_transition_raises_and_changes_nothing(w: dict, state: str, action: str) -> None:
    sid = _to_state(w, state)
    before = _survey_state(w, sid)
    with session_scope(w["engine"], readonly=True) as s:
        audits_before = s.execute(select(func.count(AuditEvent.id))).scalar_one()
    with pytest.raises(TransitionError) as exc:
        _ACTIONS[action](w, sid)
    assert state in str(exc.value)
    assert _survey_state(w, sid) == before
    with session_scope(w["engine"], readonly=True) as s:
        assert s.execute(select(func.count(AuditEvent.id))).scalar_one() == audits_before


@pytest.mark.parametrize(("state", "action"), [(s, a) for s, ls in _LEGAL.items() for a in ls])
def test_legal_transitions_succeed(w: dict, state: str, action: str) -> None:
    sid = _to_state(w, state)
    out = _ACTIONS[action](w, sid)
    expected = {
        "record": "completed",
        "submit": "submitted",
        "approve": "reviewed_approved",
        "reject": "reviewed_rejected",
        "cancel": "cancelled",
        "reschedule": "scheduled",
    }[action]
    assert out.status == expected


def test_schedule_refused_for_closed_or_busy_lead(w: dict) -> None:
    _schedule(w)
    with pytest.raises(TransitionError, match="survey_scheduled"):
        _schedule(w, team="t2")
    with session_scope(w["engine"]) as s:
        s.get(Lead, w["lead2"]).status = "cancelled"
    with pytest.raises(TransitionError, match="cancelled"):
        _schedule(w, lead="lead2", team="t2")


# --- validation ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"meter_distance_m": Decimal("-1")}, "meter_distance_m", "negative"),
        ({"sanctioned_load_kw": 0}, "sanctioned_load_kw", "greater than 0"),
        ({"sanctioned_load_kw": "abc"}, "sanctioned_load_kw", "not a number"),
        ({"cable_length_m": -0.5}, "cable_length_m", "negative"),
        ({"site_type": "castle"}, "site_type", "not one of"),
        ({"parking": "roof"}, "parking", "not one of"),
        ({"recommended_charger_id": None}, "recommended_charger_id", "choose"),
        ({"recommended_charger_id": uuid.uuid4()}, "recommended_charger_id", "not found"),
    ],
)
def test_report_validation_names_field(w: dict, overrides: dict, field: str, words: str) -> None:
    sv = _schedule(w)
    with pytest.raises(ValidationError) as exc:
        _record(w, sv.id, **overrides)
    assert words in exc.value.errors[field]
    assert _survey_state(w, sv.id)[0] == "scheduled"
    assert _survey_state(w, sv.id)[5] == 0


def test_non_charger_as_charger_refused(w: dict) -> None:
    sv = _schedule(w)
    with pytest.raises(ValidationError) as exc:
        _record(w, sv.id, recommended_charger_id=w["cable"])
    assert "not a charger" in exc.value.errors["recommended_charger_id"]


def test_line_validation(w: dict) -> None:
    sv = _schedule(w)
    with pytest.raises(ValidationError) as exc:
        _record(
            w,
            sv.id,
            lines=[
                (w["cable"], 10),
                (w["cable"], 5),
                (w["mount"], 0),
                (uuid.uuid4(), 1),
                (w["charger"], 1.5),
            ],
        )
    errors = exc.value.errors
    assert "already on line 1" in errors["lines[2].material_id"]
    assert "greater than 0" in errors["lines[3].quantity"]
    assert "not found" in errors["lines[4].material_id"]
    assert "whole number" in errors["lines[5].quantity"]
    assert "lines[1].material_id" not in errors
    assert _survey_state(w, sv.id)[5] == 0


def test_schedule_validation(w: dict) -> None:
    with pytest.raises(ValidationError) as exc:
        _schedule(w, survey_date=TODAY - timedelta(days=1), time_slot="07-09")
    assert "in the past" in exc.value.errors["survey_date"]
    assert "07-09" in exc.value.errors["time_slot"]
    assert _lead_status(w, "lead1") == "new"


# --- booking rules ------------------------------------------------------------------------------
def test_team_of_other_zone_refused(w: dict) -> None:
    with pytest.raises(ValidationError) as exc:
        _schedule(w, team="h1")
    assert "zone" in exc.value.errors["team_id"]
    assert _lead_status(w, "lead1") == "new"


def test_unavailable_team_refused(w: dict) -> None:
    with session_scope(w["engine"]) as s:
        s.add(
            TeamUnavailability(
                team_id=w["t1"], from_date=DAY, to_date=DAY + timedelta(days=1), reason="leave"
            )
        )
    with pytest.raises(ValidationError) as exc:
        _schedule(w)
    assert "leave" in exc.value.errors["team_id"]
    # the day after the leave is fine
    assert _schedule(w, survey_date=DAY + timedelta(days=2)).status == "scheduled"


def test_inactive_team_refused(w: dict) -> None:
    from domain.accounts.models import FieldTeam

    with session_scope(w["engine"]) as s:
        s.get(FieldTeam, w["t1"]).active = False
    with pytest.raises(ValidationError) as exc:
        _schedule(w)
    assert "inactive" in exc.value.errors["team_id"]


def test_double_booked_slot_refused(w: dict) -> None:
    first = _schedule(w)
    with pytest.raises(Conflict) as exc:
        _schedule(w, lead="lead2")
    assert f"(survey {first.ref})" in str(exc.value)
    assert _lead_status(w, "lead2") == "contacted"
    # another slot or another team is fine
    assert _schedule(w, lead="lead2", time_slot="12-15").status == "scheduled"
    assert _schedule(w, lead="lead_mg", team="t2").status == "scheduled"


# --- roles and isolation ------------------------------------------------------------------------
def test_field_engineer_of_other_team_refused(w: dict) -> None:
    sv = _schedule(w)
    with pytest.raises(PermissionDenied):
        _record(w, sv.id, actor="fe2")
    _record(w, sv.id, actor="fe1")
    with pytest.raises(PermissionDenied):
        _run(w, submit_survey, "fe2", survey_id=sv.id)
    assert _survey_state(w, sv.id)[0] == "completed"
    with pytest.raises(PermissionDenied):
        _run(w, review_survey, "fe1", survey_id=sv.id, approve=True, notes="")


def test_procurement_and_viewer_cannot_schedule(w: dict) -> None:
    for who in ("proc", "tata_viewer", "fe1"):
        with session_scope(w["engine"]) as s, pytest.raises(PermissionDenied):
            schedule_survey(
                s, w[who], lead_id=w["lead1"], team_id=w["t1"], survey_date=DAY, time_slot="09-12"
            )
    assert _lead_status(w, "lead1") == "new"


def test_oem_viewer_sees_only_own_oem(w: dict) -> None:
    tata_sv = _schedule(w)
    mg_sv = _schedule(w, lead="lead_mg", team="t2")
    with session_scope(w["engine"], readonly=True) as s:
        page = queries.list_surveys(s, w["tata_viewer"])
        assert [r.ref for r in page.rows] == [tata_sv.ref] and page.total == 1
        assert queries.get_survey(s, w["tata_viewer"], tata_sv.id).survey.ref == tata_sv.ref
        with pytest.raises(NotFound):
            queries.get_survey(s, w["tata_viewer"], mg_sv.id)
        assert [r.ref for r in queries.list_surveys(s, w["mg_viewer"]).rows] == [mg_sv.ref]
        with pytest.raises(PermissionDenied):
            queries.leads_awaiting_survey(s, w["tata_viewer"])
    with session_scope(w["engine"]) as s, pytest.raises(PermissionDenied):
        cancel_survey(s, w["tata_viewer"], survey_id=tata_sv.id, reason="x")


def test_field_engineer_lists_own_team_only(w: dict) -> None:
    mine = _schedule(w)
    theirs = _schedule(w, lead="lead2", team="t2")
    with session_scope(w["engine"], readonly=True) as s:
        assert [r.ref for r in queries.list_surveys(s, w["fe1"]).rows] == [mine.ref]
        with pytest.raises(NotFound):
            queries.get_survey(s, w["fe1"], theirs.id)


# --- queries ------------------------------------------------------------------------------------
def test_list_filters_and_pagination(w: dict) -> None:
    a = _schedule(w)
    b = _schedule(w, lead="lead2", team="t2", survey_date=DAY + timedelta(days=2))
    c = _schedule(w, lead="lead_hyd", team="h1")
    _record(w, a.id)
    with session_scope(w["engine"], readonly=True) as s:
        ops = w["ops"]
        assert queries.list_surveys(s, ops).total == 3
        assert [r.ref for r in queries.list_surveys(s, ops, status="completed").rows] == [a.ref]
        assert [r.ref for r in queries.list_surveys(s, ops, team_id=w["t2"]).rows] == [b.ref]
        assert [r.ref for r in queries.list_surveys(s, ops, zone_id=w["hyd"]).rows] == [c.ref]
        late = queries.list_surveys(s, ops, date_from=DAY + timedelta(days=1))
        assert [r.ref for r in late.rows] == [b.ref]
        early = queries.list_surveys(s, ops, date_to=DAY)
        assert {r.ref for r in early.rows} == {a.ref, c.ref}
        p1 = queries.list_surveys(s, ops, page_size=2)
        p2 = queries.list_surveys(s, ops, page=2, page_size=2)
        assert p1.pages == 2 and len(p1.rows) == 2 and len(p2.rows) == 1
        assert p1.rows[0].ref == b.ref  # latest date first
        assert not {r.ref for r in p1.rows} & {r.ref for r in p2.rows}
        assert list(p1.to_frame().columns)[:3] == ["id", "ref", "lead_ref"]
        with pytest.raises(ValidationError) as exc:
            queries.list_surveys(s, ops, status="done")
        assert "status" in exc.value.errors
        with pytest.raises(ValidationError) as exc:
            queries.list_surveys(s, ops, date_from=DAY, date_to=TODAY)
        assert "date_from" in exc.value.errors


def test_leads_awaiting_and_options(w: dict) -> None:
    _schedule(w)
    with session_scope(w["engine"]) as s:
        s.add(
            Material(
                name="Old charger", sku="CH-OLD", category="charger", unit="piece", active=False
            )
        )
    with session_scope(w["engine"], readonly=True) as s:
        waiting = queries.leads_awaiting_survey(s, w["ops"])
        assert [x.ref for x in waiting] == ["LEAD-2026-00002", "LEAD-2026-00003", "LEAD-2026-00004"]
        blr_only = queries.leads_awaiting_survey(s, w["ops"], zone_id=w["blr"])
        assert "LEAD-2026-00004" not in {x.ref for x in blr_only}
        assert {c.sku for c in queries.charger_options(s)} == {"CH-7", "CH-22"}
        assert {m.sku for m in queries.material_options(s)} == {"CH-7", "CH-22", "CAB-6", "MNT-1"}


def test_schedule_refuses_unknown_lead(w: dict) -> None:
    with session_scope(w["engine"]) as s, pytest.raises(NotFound):
        schedule_survey(
            s, w["ops"], lead_id=uuid.uuid4(), team_id=w["t1"], survey_date=DAY, time_slot="09-12"
        )


def test_audit_rows_carry_actor_and_lead_status(w: dict) -> None:
    sv = _schedule(w)
    with session_scope(w["engine"], readonly=True) as s:
        ev = s.execute(
            select(AuditEvent).where(
                AuditEvent.action == "survey.schedule", AuditEvent.entity_id == str(sv.id)
            )
        ).scalar_one()
        assert ev.actor_username == "ops"
        assert ev.before == {"lead_ref": "LEAD-2026-00001", "lead_status": "new"}
        assert ev.after["lead_status"] == "survey_scheduled"
        assert ev.after["time_slot"] == "09-12"


def test_concurrent_bookings_of_one_team_slot_let_one_through(w: dict) -> None:
    """6 planners booking 6 different leads into the same team/date/slot at once end with
    exactly one survey: the team row lock queues them (the pre-check then names the winner) and
    the team_slot_booking unique key backs it."""
    import threading

    with session_scope(w["engine"]) as s:
        leads = [_lead(s, w["tata"], w["blr"], 100 + i).id for i in range(6)]
    barrier = threading.Barrier(len(leads))
    outcomes: list[str] = []

    def book(lead_id: uuid.UUID) -> None:
        barrier.wait()
        try:
            with session_scope(w["engine"]) as s:
                schedule_survey(
                    s,
                    w["ops"],
                    lead_id=lead_id,
                    team_id=w["t1"],
                    survey_date=DAY,
                    time_slot="09-12",
                )
            outcomes.append("ok")
        except Conflict as e:
            outcomes.append("taken" if "already has a job" in str(e) else str(e))

    threads = [threading.Thread(target=book, args=(lead_id,)) for lead_id in leads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["ok"] + ["taken"] * 5
    with session_scope(w["engine"], readonly=True) as s:
        booked = s.execute(
            select(func.count(Survey.id)).where(
                Survey.team_id == w["t1"], Survey.survey_date == DAY, Survey.status == "scheduled"
            )
        ).scalar_one()
        assert booked == 1


def test_surveyed_lead_with_only_rejected_survey_can_be_rescheduled(w: dict) -> None:
    """Older data keeps a lead ``surveyed`` after a rejection; it still awaits a survey."""
    rejected = _to_state(w, "reviewed_rejected")
    with session_scope(w["engine"]) as s:
        s.get(Lead, w["lead1"]).status = "surveyed"
    with session_scope(w["engine"], readonly=True) as s:
        assert w["lead1"] in {x.id for x in queries.leads_awaiting_survey(s, w["ops"])}
    again = _schedule(w, survey_date=DAY + timedelta(days=1))
    assert again.status == "scheduled" and again.id != rejected
    # once a survey is approved, the surveyed lead is no longer open
    _record(w, again.id)
    _run(w, submit_survey, "fe1", survey_id=again.id)
    _run(w, review_survey, "ops", survey_id=again.id, approve=True, notes="")
    with session_scope(w["engine"], readonly=True) as s:
        assert w["lead1"] not in {x.id for x in queries.leads_awaiting_survey(s, w["ops"])}
    with pytest.raises(TransitionError, match="surveyed"):
        _schedule(w, survey_date=DAY + timedelta(days=2))


def test_team_busy_with_installation_refused(w: dict) -> None:
    from domain.installations.models import Installation, InstallationAssignment

    approved = _to_state(w, "reviewed_approved")
    with session_scope(w["engine"]) as s:
        inst = Installation(
            ref="INS-2026-00001", survey_id=approved, lead_id=w["lead1"], status="planned"
        )
        s.add(inst)
        s.flush()
        s.add(
            InstallationAssignment(
                installation_id=inst.id,
                team_id=w["t1"],
                work_date=DAY + timedelta(days=1),
                time_slot="12-15",
                assigned_at=datetime.now(UTC),
            )
        )
    with pytest.raises(Conflict) as exc:
        _schedule(w, lead="lead2", survey_date=DAY + timedelta(days=1), time_slot="12-15")
    assert "(installation INS-2026-00001)" in str(exc.value)
    assert _lead_status(w, "lead2") == "contacted"


def test_database_allows_one_scheduled_survey_per_team_slot(w: dict) -> None:
    """The partial unique index is the backstop behind the command's own check."""
    from sqlalchemy.exc import IntegrityError

    from domain.surveys.models import Survey

    sv = _schedule(w)
    with pytest.raises(IntegrityError), session_scope(w["engine"]) as s:
        s.add(
            Survey(
                ref="SUR-2026-99999",
                lead_id=sv.lead_id,
                team_id=sv.team_id,
                survey_date=sv.survey_date,
                time_slot=sv.time_slot,
                status="scheduled",
            )
        )
        s.flush()
    # a cancelled survey does not hold the slot
    with session_scope(w["engine"]) as s:
        s.add(
            Survey(
                ref="SUR-2026-99998",
                lead_id=sv.lead_id,
                team_id=sv.team_id,
                survey_date=sv.survey_date,
                time_slot=sv.time_slot,
                status="cancelled",
            )
        )


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def test_survey_photos_are_stored_by_content_with_random_names(w: dict, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from domain.surveys.models import SurveyMedia
    from domain.surveys.service import add_survey_photo

    sv = _schedule(w)
    photo = _run(
        w,
        add_survey_photo,
        "fe1",
        survey_id=sv.id,
        data=_png(),
        filename="../../meter board.png",
        data_dir=tmp_path,
    )
    stored = (tmp_path / photo.file_path).resolve()
    assert stored.is_file() and tmp_path.resolve() in stored.parents
    assert photo.content_type == "image/png" and photo.caption == "../../meter board.png"
    assert "meter" not in photo.file_path  # random name, not the declared one
    with pytest.raises(ValidationError) as exc:
        _run(
            w,
            add_survey_photo,
            "fe1",
            survey_id=sv.id,
            data=b"MZ\x90\x00" + b"\x00" * 64,
            filename="site.jpg",
            data_dir=tmp_path,
        )
    assert "file" in exc.value.errors
    with pytest.raises(PermissionDenied):
        _run(
            w,
            add_survey_photo,
            "fe2",
            survey_id=sv.id,
            data=_png(),
            filename="x.png",
            data_dir=tmp_path,
        )
    with session_scope(w["engine"], readonly=True) as s:
        rows = s.scalars(select(SurveyMedia).where(SurveyMedia.survey_id == sv.id)).all()
        assert [r.sha256 for r in rows] == [photo.sha256]
    assert _audits(w, "survey.photo_add", photo.id) == 1
