"""Installations page (AppTest) on a temporary SQLite file database: list and filters, detail
with timeline, lifecycle buttons, guard messages, confirmation call, reschedule/cancel forms,
create from an approved survey, and what oem_viewer / field engineer are offered."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

import domain.models  # noqa: F401
from db.engine import session_scope
from domain.installations.models import Installation, InstallationStatusChange
from domain.installations.service import create_installation, transition
from tests.domain.test_installations import (
    InstWorld,
    add_approved_survey,
    add_installation,
    assign_team,
    build_world,
    today,
)

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "installations.py")


@pytest.fixture
def world(app_engine: Engine) -> dict:
    with session_scope(app_engine) as s:
        w = build_world(s)
        free_survey = add_approved_survey(s, w, customer="Meera Free")
        survey_id = add_approved_survey(s, w, customer="Kiran Timeline")
        pending = add_installation(
            s, w, status="material_pending", material_ready=False, customer="Pending Pooja"
        )
        blocked = add_installation(
            s, w, status="material_ready", material_ready=False, customer="Blocked Bala"
        )
        fe_job = add_installation(s, w, status="confirmed", customer="Field Farhan")
        assign_team(s, fe_job, w.team1_id)
        mg_job = add_installation(s, w, status="planned", oem_id=w.mg_id, customer="Mg Mohan")
    with session_scope(app_engine) as s:
        timeline = create_installation(
            s, w.ops, survey_id=survey_id, scheduled_date=today() + timedelta(days=3)
        )
        transition(s, w.ops, installation_id=timeline.id, to_status="material_pending")
    return {
        "engine": app_engine,
        "w": w,
        "free_survey": free_survey,
        "timeline": timeline,
        "pending": pending,
        "blocked": blocked,
        "fe_job": fe_job,
        "mg_job": mg_job,
    }


def _open(actor) -> AppTest:  # type: ignore[no-untyped-def]
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["actor"] = actor
    return at.run()


def _table(at: AppTest):  # type: ignore[no-untyped-def]
    for df in at.dataframe:
        if "Customer confirmed" in df.value.columns:
            return df.value
    raise AssertionError("no installations table rendered")


def _ref(engine: Engine, iid: uuid.UUID) -> str:
    with session_scope(engine, readonly=True) as s:
        return s.execute(select(Installation.ref).where(Installation.id == iid)).scalar_one()


def _status(engine: Engine, iid: uuid.UUID) -> str:
    with session_scope(engine, readonly=True) as s:
        return s.execute(select(Installation.status).where(Installation.id == iid)).scalar_one()


def _detail(world: dict, actor, iid: uuid.UUID) -> AppTest:  # type: ignore[no-untyped-def]
    at = _open(actor)
    at.selectbox(key="inst_detail_ref").select(_ref(world["engine"], iid)).run()
    assert not at.exception
    return at


def test_planner_sees_all_and_filters(world: dict) -> None:
    w: InstWorld = world["w"]
    at = _open(w.ops)
    assert not at.exception
    assert [t.value for t in at.title] == ["Installations"]
    table = _table(at)
    assert len(table) == 5
    assert set(table["OEM"]) == {"TATA", "MG"}
    assert "id" not in table.columns
    assert any("of 5" in c.value for c in at.caption)
    at.selectbox(key="inst_f_status").select("material_pending")
    at.button(key="inst_f_submit").click().run()
    assert not at.exception
    assert set(_table(at)["Customer"]) == {"Pending Pooja", "Kiran Timeline"}
    at.selectbox(key="inst_f_status").select("All")
    at.text_input(key="inst_f_search").input("farhan")
    at.button(key="inst_f_submit").click().run()
    filtered = _table(at)
    assert list(filtered["Customer"]) == ["Field Farhan"] and list(filtered["Team"]) == ["BLR-T1"]


def test_detail_shows_timeline_and_moves_on(world: dict) -> None:
    w: InstWorld = world["w"]
    iid = world["timeline"].id
    at = _detail(world, w.ops, iid)
    text = " ".join(m.value for m in at.markdown)
    assert "Kiran Timeline" in text and "material_pending" in text and "SUR-" in text
    timeline = next(d.value for d in at.dataframe if "Reason / notes" in d.value.columns)
    assert list(timeline["To"]) == ["planned", "material_pending"]
    assert list(timeline["By"]) == ["planner", "planner"]
    labels = {b.label for b in at.button}
    assert "Mark material ready" in labels and "Close installation" not in labels
    at.button(key="inst_to_material_ready").click().run()
    assert not at.exception
    assert any(f"{world['timeline'].ref} is now material_ready." in s.value for s in at.success)
    assert _status(world["engine"], iid) == "material_ready"


def test_blocked_guard_is_explained(world: dict) -> None:
    w: InstWorld = world["w"]
    at = _detail(world, w.ops, world["blocked"])
    captions = " ".join(c.value for c in at.caption)
    assert "material not ready" in captions
    assert not any(b.label == "Confirm job" for b in at.button)


def test_confirmation_call_form(world: dict) -> None:
    w: InstWorld = world["w"]
    iid = world["pending"]
    at = _detail(world, w.ops, iid)
    at.radio(key="inst_call_outcome").set_value("confirmed")
    at.text_input(key="inst_call_notes").input("all set for the visit")
    at.button(key="inst_call_submit").click().run()
    assert not at.exception
    assert any("customer confirmed: yes" in s.value for s in at.success)
    with session_scope(world["engine"], readonly=True) as s:
        assert s.get(Installation, iid).customer_confirmed is True  # type: ignore[union-attr]
    timeline = next(d.value for d in at.dataframe if "Reason / notes" in d.value.columns)
    assert list(timeline["Call outcome"]) == ["confirmed"]
    assert list(timeline["Reason / notes"]) == ["all set for the visit"]


def test_cancel_needs_a_reason(world: dict) -> None:
    w: InstWorld = world["w"]
    iid = world["pending"]
    at = _detail(world, w.ops, iid)
    at.button(key="inst_cancel_submit").click().run()
    assert not at.exception
    assert any("a reason is required" in e.value for e in at.error)
    assert _status(world["engine"], iid) == "material_pending"
    at.text_input(key="inst_cancel_reason").input("customer moved away")
    at.button(key="inst_cancel_submit").click().run()
    assert not at.exception
    assert any("cancelled." in s.value for s in at.success)
    assert _status(world["engine"], iid) == "cancelled"


def test_reschedule_form_with_new_date(world: dict) -> None:
    w: InstWorld = world["w"]
    iid = world["pending"]
    new_day = today() + timedelta(days=6)
    at = _detail(world, w.ops, iid)
    at.text_input(key="inst_resched_reason").input("customer travelling")
    at.date_input(key="inst_resched_date").set_value(new_day)
    at.selectbox(key="inst_resched_slot").select("15-18")
    at.button(key="inst_resched_submit").click().run()
    assert not at.exception
    assert any("rescheduled; now planned" in s.value for s in at.success)
    with session_scope(world["engine"], readonly=True) as s:
        inst = s.get(Installation, iid)
        assert inst is not None
        assert (inst.status, inst.scheduled_date, inst.time_slot) == ("planned", new_day, "15-18")
        tos = s.scalars(
            select(InstallationStatusChange.to_status).where(
                InstallationStatusChange.installation_id == iid
            )
        ).all()
        assert sorted(tos) == ["planned", "rescheduled"]


def test_create_from_approved_survey(world: dict) -> None:
    w: InstWorld = world["w"]
    at = _open(w.ops)
    options = at.selectbox(key="inst_new_survey").options
    assert len(options) == 1 and "Meera Free" in options[0]
    at.date_input(key="inst_new_date").set_value(today() + timedelta(days=2))
    at.selectbox(key="inst_new_slot").select("09-12")
    at.button(key="inst_create_submit").click().run()
    assert not at.exception
    assert any("created (planned)" in s.value for s in at.success)
    with session_scope(world["engine"], readonly=True) as s:
        inst = s.execute(
            select(Installation).where(Installation.survey_id == world["free_survey"])
        ).scalar_one()
        assert inst.time_slot == "09-12"
    assert any("No approved survey is waiting" in i.value for i in at.info)


def test_oem_viewer_reads_only_own_oem_without_actions(world: dict) -> None:
    w: InstWorld = world["w"]
    at = _open(w.mg_viewer)
    assert not at.exception
    table = _table(at)
    assert list(table["Customer"]) == ["Mg Mohan"]
    assert at.selectbox(key="inst_f_oem").options == ["MG Motor India (MG)"]
    assert not any("Create installation" in b.label for b in at.button)
    at.selectbox(key="inst_detail_ref").select(table["Ref"].iloc[0]).run()
    assert not at.exception
    assert any("Mg Mohan" in m.value for m in at.markdown)
    labels = {b.label for b in at.button}
    assert not labels & {"Reschedule", "Cancel installation", "Record call", "Start work"}


def test_field_engineer_sees_own_job_and_starts_work(world: dict) -> None:
    w: InstWorld = world["w"]
    at = _open(w.fe1)
    table = _table(at)
    assert list(table["Customer"]) == ["Field Farhan"]
    at.selectbox(key="inst_detail_ref").select(table["Ref"].iloc[0]).run()
    labels = {b.label for b in at.button}
    assert "Start work" in labels
    assert not labels & {"Reschedule", "Cancel installation", "Record call"}
    at.button(key="inst_to_in_progress").click().run()
    assert not at.exception
    assert _status(world["engine"], world["fe_job"]) == "in_progress"
    other = _open(w.fe2)
    assert any("No installations match" in i.value for i in other.info)
