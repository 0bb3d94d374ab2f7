"""Journey in a real browser (issue 3): a planner books a job on the dispatch board, marks the
team unavailable that day, and hands the job to the suggested backup team in one click.

The job, date, slot and teams are chosen by querying the e2e database with the domain queries
before the browser is driven, so the test follows the seeded demo data instead of hard-coding
it. The database is checked after each command: the booking exists, the first assignment is
released with the planner's reason kept, and the backup holds an ``emergency_backup`` row.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from tests.e2e.conftest import (
    choose,
    click_single,
    login,
    open_page,
    open_tab,
    set_date,
    settle,
    snapshot,
    widget,
)

pytestmark = pytest.mark.e2e

UNAVAILABLE_REASON = "Vehicle breakdown (e2e)"


@dataclass(frozen=True)
class Plan:
    """What the journey books: one unassigned open job, a future date/slot, two teams."""

    zone_label: str
    monday: date
    installation_id: uuid.UUID
    installation_ref: str
    work_date: date
    time_slot: str
    primary_code: str
    primary_label: str
    primary_id: uuid.UUID
    backup_code: str
    backup_id: uuid.UUID


def _find_plan(session, actor, earliest: date) -> Plan | None:  # type: ignore[no-untyped-def]
    """The first unassigned open job (zones by code, next weeks) with a free date/slot on or
    after ``earliest`` in the shown week for which at least two teams are eligible (same zone,
    skilled): the best one is booked, the next one is the backup the page will suggest."""
    from domain.accounts import queries as account_queries
    from domain.calendar import week_start
    from domain.installations import dispatch, scheduling
    from domain.scheduling import time_slots

    zones = account_queries.list_zones(session)
    for week in range(5):
        monday = week_start(earliest) + timedelta(days=7 * week)
        days = [monday + timedelta(days=i) for i in range(7)]
        for zone in zones:
            board = dispatch.board(session, actor, week_start=monday, zone_id=zone.id)
            teams = {t.id: t for t in account_queries.list_teams(session, zone.id)}
            for job in board.unassigned:
                preferred = [job.scheduled_date] if job.scheduled_date in days else []
                for day in [*preferred, *days]:
                    if day < earliest:
                        continue
                    for slot in time_slots():
                        eligible = scheduling.suggest_teams(
                            session,
                            actor,
                            installation_id=job.installation_id,
                            work_date=day,
                            time_slot=slot,
                            limit=0,
                            eligible_only=True,
                        )
                        if len(eligible) < 2 or eligible[0].team_id not in teams:
                            continue
                        primary, backup = eligible[0], eligible[1]
                        return Plan(
                            zone_label=zone.label,
                            monday=monday,
                            installation_id=job.installation_id,
                            installation_ref=job.installation_ref,
                            work_date=day,
                            time_slot=slot,
                            primary_code=primary.team_code,
                            primary_label=teams[primary.team_id].label,
                            primary_id=primary.team_id,
                            backup_code=backup.team_code,
                            backup_id=backup.team_id,
                        )
    return None


def _plan_journey(database_url: str) -> Plan:
    """Pick the journey's job from the e2e database (admin actor, domain queries): the demo
    seed leaves every zone unassigned open jobs dated in the coming weeks (db/demo.py
    ``_pipeline``), so one of them is booked; no job is freed first."""
    from db import make_engine, session_scope
    from db.types import utcnow
    from domain.actor import Actor
    from domain.calendar import local_date

    admin = Actor(user_id=None, username="e2e-admin", role="admin")
    # tomorrow (local) at the earliest: the job stays in the future even across midnight
    earliest = local_date(utcnow()) + timedelta(days=1)
    engine = make_engine(database_url)
    try:
        with session_scope(engine, readonly=True) as s:
            plan = _find_plan(s, admin, earliest)
    finally:
        engine.dispose()
    if plan is None:
        pytest.fail("the e2e demo data has no unassigned open job two teams of its zone can take")
    return plan


def _assignments(database_url: str, installation_id: uuid.UUID) -> list[dict]:
    """Every assignment row of the installation (oldest first) as plain dicts."""
    from sqlalchemy import select

    from db import make_engine, session_scope
    from domain.installations.models import InstallationAssignment

    engine = make_engine(database_url)
    try:
        with session_scope(engine, readonly=True) as s:
            rows = s.scalars(
                select(InstallationAssignment)
                .where(InstallationAssignment.installation_id == installation_id)
                .order_by(InstallationAssignment.assigned_at)
            ).all()
            return [
                {
                    "team_id": a.team_id,
                    "role": a.role,
                    "work_date": a.work_date,
                    "time_slot": a.time_slot,
                    "released_at": a.released_at,
                    "reason": a.reason,
                }
                for a in rows
            ]
    finally:
        engine.dispose()


def _unavailability(database_url: str, team_id: uuid.UUID) -> list[tuple[date, date, str]]:
    """The team's unavailability periods as ``(from_date, to_date, reason)``."""
    from sqlalchemy import select

    from db import make_engine, session_scope
    from domain.accounts.models import TeamUnavailability

    engine = make_engine(database_url)
    try:
        with session_scope(engine, readonly=True) as s:
            rows = s.execute(
                select(
                    TeamUnavailability.from_date,
                    TeamUnavailability.to_date,
                    TeamUnavailability.reason,
                ).where(TeamUnavailability.team_id == team_id)
            ).all()
            return [tuple(r) for r in rows]
    finally:
        engine.dispose()


def test_planner_books_marks_team_unavailable_and_reassigns_to_backup(
    page,  # type: ignore[no-untyped-def]
    app_url: str,
    e2e_database: str,
) -> None:
    from db.reference import DEMO_USERS

    plan = _plan_journey(e2e_database)
    slot_day = f"{plan.work_date:%d %b %Y}"
    planner = next(u for u in DEMO_USERS if u.role == "central_ops")

    login(page, app_url, planner.username, planner.password)
    open_page(page, "Dispatch board")

    # the zone and week that hold the unassigned job
    choose(page, "dispatch_zone", plan.zone_label)
    settle(page)
    set_date(page, "dispatch_week", plan.monday)
    page.get_by_text(f"Week of {plan.monday:%d %b %Y}").wait_for()
    settle(page)

    # Book: installation, date and slot -> suggested teams -> book the best team
    open_tab(page, "Book")
    choose(page, "dispatch_book_inst", plan.installation_ref)
    set_date(page, "dispatch_book_date", plan.work_date)
    choose(page, "dispatch_book_slot", plan.time_slot)
    click_single(page, widget(page, "dispatch_suggest_submit").get_by_role("button"))
    page.get_by_text(f"{plan.installation_ref} on {plan.work_date:%a %d %b %Y}").wait_for()
    settle(page)
    choose(page, "dispatch_book_team", f"{plan.primary_code} ·")
    click_single(page, widget(page, "dispatch_book_submit").get_by_role("button"))
    booked = f"{plan.installation_ref} booked for {plan.primary_code} on {slot_day}"
    page.get_by_text(f"{booked} {plan.time_slot}.").wait_for()
    settle(page)
    rows = _assignments(e2e_database, plan.installation_id)
    active = [r for r in rows if r["released_at"] is None]
    assert [(r["team_id"], r["role"], r["work_date"], r["time_slot"]) for r in active] == [
        (plan.primary_id, "primary", plan.work_date, plan.time_slot)
    ]

    # Team unavailable that day: the job is listed with a one-click backup
    open_tab(page, "Team unavailable")
    choose(page, "dispatch_unavail_team", plan.primary_label)
    set_date(page, "dispatch_unavail_from", plan.work_date)
    set_date(page, "dispatch_unavail_to", plan.work_date)
    widget(page, "dispatch_unavail_reason").locator("input").fill(UNAVAILABLE_REASON)
    click_single(page, widget(page, "dispatch_unavail_submit").get_by_role("button"))
    settle(page)
    open_tab(page, "Team unavailable")
    page.get_by_text(re.compile(rf"{re.escape(plan.primary_label)} marked unavailable")).wait_for()
    off = _unavailability(e2e_database, plan.primary_id)
    assert (plan.work_date, plan.work_date, UNAVAILABLE_REASON) in off
    page.get_by_text(f"Affected jobs of {plan.primary_label}").wait_for()
    job_line = f"{plan.installation_ref} · "
    page.get_by_text(re.compile(rf"^{re.escape(job_line)}.*{plan.time_slot}")).first.wait_for()
    reassign = widget(page, f"dispatch_reassign_{plan.installation_id}").get_by_role("button")
    assert reassign.inner_text().strip() == f"Reassign to {plan.backup_code}"

    click_single(page, reassign)
    page.get_by_text(
        f"{plan.installation_ref} reassigned to {plan.backup_code} (emergency backup)."
    ).wait_for()
    settle(page)

    # the database: first team released with the reason kept, the backup holds the slot
    rows = _assignments(e2e_database, plan.installation_id)
    booked_rows = [
        r
        for r in rows
        if (r["team_id"], r["role"], r["work_date"], r["time_slot"])
        == (plan.primary_id, "primary", plan.work_date, plan.time_slot)
    ]
    first = booked_rows[-1]  # the journey's booking (rows are oldest first)
    assert first["released_at"] is not None
    assert UNAVAILABLE_REASON in (first["reason"] or "")
    active = [r for r in rows if r["released_at"] is None]
    assert len(active) == 1
    assert (active[0]["team_id"], active[0]["role"]) == (plan.backup_id, "emergency_backup")
    assert (active[0]["work_date"], active[0]["time_slot"]) == (plan.work_date, plan.time_slot)
    assert UNAVAILABLE_REASON in (active[0]["reason"] or "")

    # the page: the job left the affected list, and the board lists it under the backup team
    open_tab(page, "Team unavailable")
    page.get_by_text(f"Affected jobs of {plan.primary_label}").wait_for()
    assert page.locator(f".st-key-dispatch_reassign_{plan.installation_id}").count() == 0
    open_tab(page, "Move / unassign")
    choose(page, "dispatch_move_job", f"{plan.installation_ref} · {plan.backup_code} ·")
    snapshot(page, "dispatch-journey", tour="dispatch_board")
