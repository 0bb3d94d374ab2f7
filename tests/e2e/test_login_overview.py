"""Journey in a real browser: a demo manager logs in, sees the Overview with charts, stays
logged in across a reload (cookie), and logs out in one click."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import ARTIFACTS, login

pytestmark = pytest.mark.e2e


def test_manager_logs_in_and_sees_overview_charts(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    from db.reference import DEMO_USERS

    manager = next(u for u in DEMO_USERS if u.role == "manager")
    login(page, app_url, manager.username, manager.password)
    page.get_by_role("heading", name=re.compile("Overview")).first.wait_for(timeout=60_000)
    # plotly charts render as .js-plotly-plot elements with SVG inside
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    assert page.locator(".js-plotly-plot").count() >= 2
    page.screenshot(path=str(ARTIFACTS / "overview-manager.png"), full_page=True)
    # the navigation offers the manager's pages but not Admin
    nav = page.locator('[data-testid="stSidebarNav"]')
    assert nav.get_by_text("Leads").count() >= 1
    assert nav.get_by_text("Admin").count() == 0
    # the login cookie keeps the session across a page reload
    for _ in range(100):
        if any(c["name"] == "chargeops_auth" for c in page.context.cookies()):
            break
        page.wait_for_timeout(100)
    page.reload()
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    assert page.get_by_label("Username", exact=True).count() == 0
    # one click logs out and the login form is back
    page.get_by_role("button", name=re.compile(r"log ?out", re.I)).click()
    page.get_by_label("Username", exact=True).wait_for()
    page.locator(".js-plotly-plot").first.wait_for(state="detached")
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0
    # and the cookie is gone: a reload does not log the manager back in
    for _ in range(100):
        if not any(c["name"] == "chargeops_auth" for c in page.context.cookies()):
            break
        page.wait_for_timeout(100)
    page.reload()
    page.get_by_label("Username", exact=True).wait_for()
    page.wait_for_timeout(1500)
    assert page.locator(".js-plotly-plot").count() == 0


def test_wrong_password_is_refused(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    login(page, app_url, "manager", "definitely-wrong-password")
    page.get_by_text(re.compile("Invalid username or password", re.I)).first.wait_for()
    assert page.locator(".js-plotly-plot").count() == 0
