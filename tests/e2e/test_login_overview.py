"""Journey in a real browser: a demo manager logs in and sees the Overview with charts."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e


def _login(page, app_url: str, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(app_url)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name=re.compile(r"log ?in", re.I)).click()


def test_manager_logs_in_and_sees_overview_charts(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    from db.reference import DEMO_USERS

    manager = next(u for u in DEMO_USERS if u.role == "manager")
    _login(page, app_url, manager.username, manager.password)
    page.get_by_role("heading", name=re.compile("Overview")).first.wait_for()
    # plotly charts render as .js-plotly-plot elements with SVG inside
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    assert page.locator(".js-plotly-plot").count() >= 2
    page.screenshot(path=str(ARTIFACTS / "overview-manager.png"), full_page=True)
    # the navigation offers the manager's pages but not Admin
    nav = page.locator('[data-testid="stSidebarNav"]')
    assert nav.get_by_text("Leads").count() >= 1
    assert nav.get_by_text("Admin").count() == 0


def test_wrong_password_is_refused(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    _login(page, app_url, "manager", "definitely-wrong-password")
    page.get_by_text(re.compile("Invalid username or password", re.I)).first.wait_for()
    assert page.locator(".js-plotly-plot").count() == 0
