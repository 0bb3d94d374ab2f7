"""Dispatch board page (AppTest) on a temporary SQLite database: the board renders the week's
jobs and the unassigned ones, a planner books through the suggestion form, marks a team
unavailable and reassigns the affected job in one click; an oem_viewer only reads."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

import domain.models  # noqa: F401
from db.engine import session_scope
from domain.accounts.models import Oem, Zone
from domain.installations import dispatch, scheduling
from domain.installations.models import Installation, InstallationAssignment
from tests.domain.test_scheduling import WORK, World, build_world, make_installation, new_job

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "dispatch_board.py")
WEEK = date(2026, 11, 23)


@pytest.fixture
def world(app_engine: Engine) -> dict:
    w = build_world(app_engine)
    booked = new_job(w, customer="Booked Customer")
    waiting = new_job(w, customer="Waiting Customer")
    later = new_job(w, customer="Unscheduled Customer")
    with session_scope(app_engine) as s:
        dto = scheduling.book(
            s, w.planner, installation_id=booked, work_date=WORK, time_slot="09-12", team_id=w.t1
        )
        refs = {
            i.id: i.ref
            for i in s.scalars(select(Installation).where(Installation.id.in_([waiting, later])))
        }
    return {
        "w": w,
        "booked_ref": dto.installation_ref,
        "waiting": waiting,
        "waiting_ref": refs[waiting],
        "later_ref": refs[later],
    }


def _open(w: World, actor) -> AppTest:  # type: ignore[no-untyped-def]
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["actor"] = actor
    at.run()
    at.date_input(key="dispatch_week").set_value(WEEK).run()
    return at


def _table(at: AppTest, column: str) -> pd.DataFrame:
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with column {column!r}")


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_board_renders_week_and_unassigned(world: dict) -> None:
    at = _open(world["w"], world["w"].planner)
    assert not at.exception
    assert [t.value for t in at.title] == ["Dispatch board"]
    assert any("Week of 23 Nov 2026" in h.value for h in at.subheader)
    jobs = _table(at, "Team")
    assert list(jobs["Installation"]) == [world["booked_ref"]]
    assert list(jobs["Team"]) == ["BLR-T1"]
    assert list(jobs["Customer"]) == ["Booked Customer"]
    unassigned = _table(at, "Appointment")
    assert set(unassigned["Installation"]) == {world["waiting_ref"], world["later_ref"]}
    assert _metric(at, "Teams") == "3"  # the Bengaluru teams only
    assert _metric(at, "Jobs this week") == "1"
    assert _metric(at, "Unassigned open jobs") == "2"
    # another week: the job is not on it, unscheduled ones still are
    at.date_input(key="dispatch_week").set_value(date(2026, 11, 30)).run()
    assert not at.exception
    assert _metric(at, "Jobs this week") == "0"
    assert any("No team has a job" in i.value for i in at.info)


def test_planner_books_from_suggestions(world: dict) -> None:
    w = world["w"]
    at = _open(w, w.planner)
    at.selectbox(key="dispatch_book_inst").select(world["waiting_ref"])
    at.date_input(key="dispatch_book_date").set_value(WORK)
    at.selectbox(key="dispatch_book_slot").select("09-12")
    at.button(key="dispatch_suggest_submit").click().run()
    assert not at.exception
    options = at.selectbox(key="dispatch_book_team").options
    # T1 is busy in that slot; T2 (skilled, load 0) first, T3 (no 7.2 kW skill) after
    assert options[0].startswith("BLR-T2 · load 0")
    assert not any(o.startswith("BLR-T1") for o in options)
    at.button(key="dispatch_book_submit").click().run()
    assert not at.exception
    assert any(
        f"{world['waiting_ref']} booked for BLR-T2 on 25 Nov 2026 09-12." in s.value
        for s in at.success
    )
    jobs = _table(at, "Team")
    assert set(jobs["Installation"]) == {world["booked_ref"], world["waiting_ref"]}
    with session_scope(w.engine, readonly=True) as s:
        inst = s.get(Installation, world["waiting"])
        assert (inst.scheduled_date, inst.time_slot) == (WORK, "09-12")


def test_double_booking_shows_error(world: dict) -> None:
    w = world["w"]
    at = _open(w, w.planner)
    at.selectbox(key="dispatch_book_inst").select(world["waiting_ref"])
    at.date_input(key="dispatch_book_date").set_value(WORK)
    at.button(key="dispatch_suggest_submit").click().run()
    # meanwhile another planner gives T2 that slot
    other = new_job(w)
    with session_scope(w.engine) as s:
        scheduling.book(
            s, w.planner, installation_id=other, work_date=WORK, time_slot="09-12", team_id=w.t2
        )
    at.button(key="dispatch_book_submit").click().run()
    assert not at.exception
    assert any("BLR-T2 already has a job on 2026-11-25 09-12" in e.value for e in at.error)


def test_mark_unavailable_then_one_click_reassign(world: dict) -> None:
    w = world["w"]
    at = _open(w, w.planner)
    at.selectbox(key="dispatch_unavail_team").select("BLR-T1 - Team BLR-T1")
    at.date_input(key="dispatch_unavail_from").set_value(WORK)
    at.date_input(key="dispatch_unavail_to").set_value(WORK)
    at.text_input(key="dispatch_unavail_reason").input("vehicle breakdown")
    at.button(key="dispatch_unavail_submit").click().run()
    assert not at.exception
    assert any("1 job(s) affected" in s.value for s in at.success)
    text = " ".join(m.value for m in at.markdown)
    assert world["booked_ref"] in text and "vehicle breakdown" in text
    buttons = [b for b in at.button if b.label.startswith("Reassign to")]
    assert [b.label for b in buttons] == ["Reassign to BLR-T2"]
    buttons[0].click().run()
    assert not at.exception
    assert any("reassigned to BLR-T2 (emergency backup)" in s.value for s in at.success)
    assert any("No job left to reassign" in c.value for c in at.caption)
    jobs = _table(at, "Team")
    assert list(zip(jobs["Team"], jobs["Role"], strict=True)) == [("BLR-T2", "emergency_backup")]
    with session_scope(w.engine, readonly=True) as s:
        rows = s.scalars(
            select(InstallationAssignment).order_by(InstallationAssignment.assigned_at)
        ).all()
        assert [(r.team_id, r.released_at is None) for r in rows] == [(w.t1, False), (w.t2, True)]
        assert rows[0].reason == "BLR-T1 - Team BLR-T1 unavailable: vehicle breakdown"


@pytest.mark.parametrize("who", ["viewer", "procurement"])
def test_read_only_roles_see_no_forms(world: dict, who: str) -> None:
    w = world["w"]
    at = _open(w, getattr(w, who))
    assert not at.exception
    assert any("Read-only" in c.value for c in at.caption)
    assert not [b for b in at.button if b.label in ("Book", "Suggest teams", "Move")]
    # the viewer's OEM owns this job, so it sees it; procurement sees every OEM
    assert list(_table(at, "Team")["Installation"]) == [world["booked_ref"]]
    assert _metric(at, "Unassigned open jobs") == "2"


def test_affected_job_can_be_rescheduled_instead(world: dict) -> None:
    w = world["w"]
    at = _open(w, w.planner)
    at.selectbox(key="dispatch_unavail_team").select("BLR-T1 - Team BLR-T1")
    at.date_input(key="dispatch_unavail_from").set_value(WORK)
    at.date_input(key="dispatch_unavail_to").set_value(WORK)
    at.text_input(key="dispatch_unavail_reason").input("leave")
    at.button(key="dispatch_unavail_submit").click().run()
    resched = [b for b in at.button if b.label == "Reschedule"]
    assert len(resched) == 1
    resched[0].click().run()
    assert not at.exception
    assert any(f"{world['booked_ref']} set to rescheduled" in s.value for s in at.success)
    assert _metric(at, "Jobs this week") == "0"
    unassigned = _table(at, "Appointment")
    assert world["booked_ref"] in set(unassigned["Installation"])
    with session_scope(w.engine, readonly=True) as s:
        inst = s.scalars(select(Installation).where(Installation.ref == world["booked_ref"])).one()
        assert inst.status == "rescheduled"
        assert (
            s.scalars(
                select(InstallationAssignment.released_at).where(
                    InstallationAssignment.installation_id == inst.id
                )
            ).one()
            is not None
        )


def test_planner_sets_a_standby_backup_team(world: dict) -> None:
    """The Move tab keeps a standby backup team on a booked job (it holds no slot)."""
    w = world["w"]
    at = _open(w, w.planner)
    job_label = at.selectbox(key="dispatch_standby_job").options[0]
    team_label = next(
        o for o in at.selectbox(key="dispatch_standby_team").options if o.startswith("BLR-T2")
    )
    at.selectbox(key="dispatch_standby_job").select(job_label)
    at.selectbox(key="dispatch_standby_team").select(team_label)
    at.button(key="dispatch_standby_submit").click().run()
    assert not at.exception
    assert any("standby backup" in s.value for s in at.success)
    ref = job_label.split(" · ")[0]
    assert ref == world["booked_ref"]
    with session_scope(w.engine, readonly=True) as s:
        inst = s.scalars(select(Installation).where(Installation.ref == ref)).one()
        assert inst.standby_team_id == w.t2


# ------------------------------------------------------------------ week board and grid


@pytest.fixture
def busy_week(world: dict) -> dict:
    """On top of ``world``: a material_pending job of BLR-T2 on Thu 26 Nov 12-15, a Delhi job
    of DEL-T1 on Fri 27 Nov 15-18, and BLR-T3 unavailable on Thu 26 and Fri 27 Nov."""
    w = world["w"]
    pending = new_job(w, status="material_pending", customer="Pending Customer")
    with session_scope(w.engine) as s:
        pending_ref = scheduling.book(
            s,
            w.planner,
            installation_id=pending,
            work_date=date(2026, 11, 26),
            time_slot="12-15",
            team_id=w.t2,
        ).installation_ref
        delhi = make_installation(
            s, s.get(Zone, w.other_zone_id), s.get(Oem, w.oem_id), customer="Delhi Customer"
        )
        s.flush()
        delhi_ref = scheduling.book(
            s,
            w.admin,
            installation_id=delhi.id,
            work_date=date(2026, 11, 27),
            time_slot="15-18",
            team_id=w.t_other,
        ).installation_ref
        scheduling.mark_team_unavailable(
            s,
            w.planner,
            team_id=w.t_ac3,
            from_date=date(2026, 11, 26),
            to_date=date(2026, 11, 27),
            reason="annual leave",
        )
    return {**world, "pending_ref": pending_ref, "delhi_ref": delhi_ref}


def _chart(at: AppTest) -> dict:
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.spec)


def _status_traces(spec: dict) -> dict[str, list[str]]:
    """Status trace name -> the installation refs drawn in it."""
    return {
        t["name"]: list(t["text"]) for t in spec["data"] if t["name"] in dispatch.STATUS_COLOURS
    }


def test_week_board_chart_one_trace_per_status_with_unavailable_and_off_days(
    busy_week: dict,
) -> None:
    w = busy_week["w"]
    at = _open(w, w.planner)
    assert not at.exception
    spec = _chart(at)
    # one bar trace per status present this week (Bengaluru, the planner's zone)
    assert _status_traces(spec) == {
        "planned": [busy_week["booked_ref"]],
        "material_pending": [busy_week["pending_ref"]],
    }
    planned = next(t for t in spec["data"] if t["name"] == "planned")
    # Wed 25 Nov 09-12 = day 2, slot 0 of 3 slots a day; the bar fills exactly one slot
    assert (list(planned["y"]), list(planned["base"]), list(planned["x"])) == (
        ["BLR-T1 (BLR)"],
        [6],
        [1],
    )
    assert planned["marker"]["color"] == dispatch.STATUS_COLOURS["planned"]
    assert "customdata" in planned and "%{customdata[0]}" in planned["hovertemplate"]
    assert list(planned["customdata"][0]) == [
        busy_week["booked_ref"],
        "Booked Customer",
        planned["customdata"][0][2],
        "planned",
        "Wed 25 Nov",
        "09-12",
    ]
    # BLR-T3 unavailable Thu-Fri: one grey bar per day, the reason in the hover
    away = next(t for t in spec["data"] if t["name"] == "Team unavailable")
    assert list(away["y"]) == ["BLR-T3 (BLR)", "BLR-T3 (BLR)"]
    assert list(away["base"]) == [9, 12] and list(away["x"]) == [3, 3]
    assert away["customdata"][0][0] == "annual leave"
    # Tue 24 Nov (holiday) and Sunday shaded for each of the three Bengaluru rows
    off = sorted((s["x0"], s["y0"]) for s in spec["layout"]["shapes"] if s["type"] == "rect")
    assert off == sorted((x, y - 0.5) for x in (3, 18) for y in (0, 1, 2))
    # one row per team with its zone code; height grows with the number of teams
    assert spec["layout"]["yaxis"]["categoryarray"] == [
        "BLR-T1 (BLR)",
        "BLR-T2 (BLR)",
        "BLR-T3 (BLR)",
    ]
    assert spec["layout"]["xaxis"]["ticktext"][:3] == ["Mon 23 Nov", "Tue 24 Nov", "Wed 25 Nov"]
    assert 28 * 3 <= spec["layout"]["height"] - 110 <= 34 * 3


def test_week_grid_shows_refs_by_team_and_slot(busy_week: dict) -> None:
    w = busy_week["w"]
    at = _open(w, w.planner)
    grid = _table(at, "Team (zone)").set_index("Team (zone)")
    assert list(grid.index) == ["BLR-T1 (BLR)", "BLR-T2 (BLR)", "BLR-T3 (BLR)"]
    assert len(grid.columns) == 7 * 3
    assert grid.loc["BLR-T1 (BLR)", "Wed 25 Nov 09-12"] == busy_week["booked_ref"]
    assert grid.loc["BLR-T2 (BLR)", "Thu 26 Nov 12-15"] == busy_week["pending_ref"]
    assert grid.loc["BLR-T3 (BLR)", "Thu 26 Nov 09-12"] == "unavailable"
    assert grid.loc["BLR-T2 (BLR)", "Tue 24 Nov 12-15"] == "off"
    assert grid.loc["BLR-T1 (BLR)", "Wed 25 Nov 12-15"] == ""
    refs = {v for v in grid.to_numpy().ravel() if v.startswith("INS-")}
    assert refs == {busy_week["booked_ref"], busy_week["pending_ref"]}


def test_zone_and_week_filters_change_board_and_grid(busy_week: dict) -> None:
    w = busy_week["w"]
    at = _open(w, w.planner)
    at.selectbox(key="dispatch_zone").select("All zones").run()
    assert not at.exception
    grid = _table(at, "Team (zone)").set_index("Team (zone)")
    assert "DEL-T1 (DEL)" in grid.index
    assert grid.loc["DEL-T1 (DEL)", "Fri 27 Nov 15-18"] == busy_week["delhi_ref"]
    assert _status_traces(_chart(at))["planned"] == [
        busy_week["booked_ref"],
        busy_week["delhi_ref"],
    ]

    delhi = next(o for o in at.selectbox(key="dispatch_zone").options if o.startswith("DEL"))
    at.selectbox(key="dispatch_zone").select(delhi).run()
    grid = _table(at, "Team (zone)").set_index("Team (zone)")
    assert list(grid.index) == ["DEL-T1 (DEL)"]
    assert _status_traces(_chart(at)) == {"planned": [busy_week["delhi_ref"]]}
    assert _metric(at, "Jobs this week") == "1"

    # next week: no job, so no status trace and no ref in the grid (teams still listed)
    at.date_input(key="dispatch_week").set_value(date(2026, 11, 30)).run()
    assert not at.exception
    assert _status_traces(_chart(at)) == {}
    grid = _table(at, "Team (zone)")
    assert not any(str(v).startswith("INS-") for v in grid.to_numpy().ravel())
    assert "Mon 30 Nov 09-12" in grid.columns
