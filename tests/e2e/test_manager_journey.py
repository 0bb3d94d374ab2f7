"""Journey in a real browser (issue 6, manager): the manager lands on the Overview, opens the
KPIs, reads the headline figures, and exports the SLA-by-OEM table as CSV.

The downloaded CSV is read back and compared with the same dashboard computed by the domain
(``domain.kpi.dashboards.dashboard``, the page's default filters: the last 12 local months)
on the e2e database, figure by figure; the SLA-breaches metric on the page must match too.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    click_single,
    db_session,
    demo_user,
    login,
    open_page,
    settle,
    snapshot,
)

pytestmark = pytest.mark.e2e


def _expected_dashboard(database_url: str):  # type: ignore[no-untyped-def]
    """The KPIs of the page's default filters, as the domain computes them."""
    from db.types import utcnow
    from domain.actor import Actor
    from domain.calendar import add_months, local_date, month_start
    from domain.kpi.dashboards import dashboard

    today = local_date(utcnow())
    this_month = month_start(today)
    with db_session(database_url, readonly=True) as s:
        return dashboard(
            s,
            Actor(user_id=None, username="e2e-manager", role="manager"),
            from_month=add_months(this_month, -11),
            to_month=this_month,
            oem_id=None,
            zone_id=None,
            today=today,
        )


def test_manager_reads_kpis_and_exports_csv(page, app_url: str, e2e_database: str) -> None:  # type: ignore[no-untyped-def]
    manager = demo_user(role="manager")
    login(page, app_url, manager.username, manager.password)
    page.get_by_role("heading", name="Overview", exact=True, level=1).wait_for(timeout=60_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    settle(page)
    snapshot(page, "manager-overview", tour="overview")

    open_page(page, "KPIs")
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    expected = _expected_dashboard(e2e_database)
    assert expected.sla_by_oem, "the demo data has installations completed in the last year"
    breaches = page.get_by_test_id("stMetric").filter(has_text="SLA breaches")
    expect(breaches).to_contain_text(str(expected.breach_count))

    button = page.get_by_role("button", name="Download SLA by OEM (CSV)")
    with page.expect_download() as info:
        click_single(page, button)
    download = info.value
    period = f"{expected.from_month:%Y-%m}_{expected.to_month:%Y-%m}"
    assert download.suggested_filename == f"kpi_sla_by_oem_{period}.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    got = {
        r["OEM"]: (int(r["Installations"]), int(r["Within SLA"]), int(r["Breached"])) for r in rows
    }
    want = {
        g.key: (g.installations_completed, g.sla_met, g.sla_breached) for g in expected.sla_by_oem
    }
    assert got == want
    assert sum(b for _, _, b in got.values()) == expected.breach_count
    snapshot(page, "manager-kpis", tour="kpis")
