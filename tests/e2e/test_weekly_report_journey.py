"""Journey in a real browser (issue 6, reporting): reporting staff queue the compile of an
OEM's weekly report on the Reports page, the sidecar compiles it, and they open it, check its
figures, submit it to the OEM and download its PDF; then they look at the Month closure.

The sidecar does not run in the e2e suite, so the test plays it: ``run_pending`` of
``domain.reporting.queue`` runs in a subprocess on the e2e database and ``DATA_DIR`` (where
the app reads the PDF from), then the page is reloaded. The (OEM, week) is one without a
weekly report yet (the latest finished week first), so every run compiles a fresh report.
The closure-pack half of the reporting role is ``test_closure_pack_journey.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    ROOT,
    choose,
    click,
    click_single,
    db_session,
    demo_user,
    flash,
    login,
    open_page,
    set_date,
    settle,
    single_text,
    snapshot,
    widget,
)

pytestmark = pytest.mark.e2e

SIDECAR = (
    "from db import make_engine\n"
    "from db.settings import get_settings\n"
    "from domain.reporting.queue import run_pending\n"
    "print(run_pending(make_engine(get_settings().database_url)))\n"
)


@dataclass(frozen=True)
class Plan:
    oem_id: uuid.UUID
    oem_code: str
    oem_label: str  # as the page lists it: "CODE - Name"
    week: date  # Monday
    default_week: date  # the form's default (the last finished week)


def _plan(database_url: str) -> Plan:
    from sqlalchemy import select

    from db.types import utcnow
    from domain.actor import Actor
    from domain.calendar import local_date, week_start
    from domain.reporting.models import ReportRequest, WeeklyReport
    from domain.reporting.reports import visible_oems

    last = week_start(local_date(utcnow())) - timedelta(days=7)
    actor = Actor(user_id=None, username="e2e-reporting", role="oem_reporting")
    with db_session(database_url, readonly=True) as s:
        taken = set(s.execute(select(WeeklyReport.oem_id, WeeklyReport.week_start)).all())
        taken |= set(
            s.execute(
                select(ReportRequest.oem_id, ReportRequest.period_start).where(
                    ReportRequest.report_type == "weekly"
                )
            ).all()
        )
        for back in range(20):
            week = last - timedelta(days=7 * back)
            for oem_id, label in visible_oems(s, actor):
                if (oem_id, week) not in taken:
                    return Plan(oem_id, label.split(" - ")[0], label, week, last)
    pytest.fail("every OEM has a weekly report for the last 20 weeks")


def _report(database_url: str, plan: Plan):  # type: ignore[no-untyped-def]
    """The compiled weekly report as the domain lists it (None before the compile)."""
    from domain.actor import Actor
    from domain.reporting.reports import list_reports

    actor = Actor(user_id=None, username="e2e-reporting", role="oem_reporting")
    with db_session(database_url, readonly=True) as s:
        items = list_reports(
            s, actor, report_type="weekly", oem_id=plan.oem_id, period_from=plan.week
        )
        return next((r for r in items if r.period_start == plan.week), None)


def _requests(database_url: str, plan: Plan) -> list[str]:
    from sqlalchemy import select

    from domain.reporting.models import ReportRequest

    with db_session(database_url, readonly=True) as s:
        return list(
            s.scalars(
                select(ReportRequest.status).where(
                    ReportRequest.report_type == "weekly",
                    ReportRequest.oem_id == plan.oem_id,
                    ReportRequest.period_start == plan.week,
                )
            )
        )


def play_sidecar(database_url: str, data_dir: Path) -> str:
    """Compile the queued report requests as the sidecar would (same database and DATA_DIR
    as the app); returns its summary line."""
    env = {**os.environ, "DATABASE_URL": database_url, "DATA_DIR": str(data_dir)}
    out = subprocess.run(
        [sys.executable, "-c", SIDECAR], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return out.stdout.decode().strip()


def test_reporting_queues_compiles_and_submits_weekly_report(
    page,  # type: ignore[no-untyped-def]
    app_url: str,
    e2e_database: str,
    e2e_data_dir: Path,
) -> None:
    plan = _plan(e2e_database)
    reporting = demo_user(role="oem_reporting")
    login(page, app_url, reporting.username, reporting.password)
    page.locator('[data-testid="stSidebarNav"]').wait_for(timeout=60_000)
    open_page(page, "Reports")

    # 1. queue the compile (the page only queues it)
    choose(page, "rep_weekly_req_oem", plan.oem_label)
    if plan.week != plan.default_week:
        set_date(page, "rep_weekly_req_day", plan.week + timedelta(days=2))  # any day of it
    click(page, "rep_weekly_req_submit")
    flash(page, f"Queued: weekly report {plan.oem_code} from {plan.week:%d %b %Y}.")
    assert _requests(e2e_database, plan) == ["queued"]
    assert _report(e2e_database, plan) is None

    # 2. the sidecar compiles it; a reload shows the report
    summary = play_sidecar(e2e_database, e2e_data_dir)
    assert summary.startswith("compiled ") and "failed 0" in summary, summary
    assert _requests(e2e_database, plan) == ["done"]
    report = _report(e2e_database, plan)
    assert report is not None and report.submitted_at is None
    page.reload()
    page.get_by_role("heading", name="Reports", exact=True, level=1).wait_for(timeout=60_000)
    settle(page)
    choose(
        page,
        "rep_weekly_pick",
        f"{plan.oem_code} · {report.period_label} · v{report.version}",
        then_settle=True,
    )
    # after the rerun the previous render's metrics can linger in the DOM for a moment: read
    # each metric once the app is idle and it is there once
    for label, value in (
        ("Leads received", report.total_leads),
        ("Installations completed", report.installations_completed),
    ):
        shown = single_text(page, '[data-testid="stMetric"]', label)
        assert str(value) in shown.split(), (label, value, shown)

    # 3. submit it to the OEM, download the PDF (after a rerun the old tab panel can linger
    # in the DOM for a moment: wait until the button is there once)
    expect(widget(page, "rep_weekly_submit").get_by_role("button")).to_have_count(1)
    click(page, "rep_weekly_submit")
    flash(page, "Submitted to the OEM.")
    submitted = _report(e2e_database, plan)
    assert submitted is not None and submitted.submitted_at is not None
    expect(widget(page, "rep_weekly_pdf").get_by_role("button")).to_have_count(1)
    with page.expect_download() as info:
        click_single(page, widget(page, "rep_weekly_pdf").get_by_role("button"))
    pdf = Path(info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    snapshot(page, "reporting-weekly-submitted", tour="reports")

    # 4. the month folders
    open_page(page, "Month closure")
    snapshot(page, "reporting-month-closure", tour="month_closure")
