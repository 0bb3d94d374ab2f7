"""Journey in a real browser (issue 6, admin): the admin creates a user on the Admin page and
corrects its name and phone; the new user, in a second browser, mistypes the password until
the account locks (then even the right password is refused); the admin sees it locked and
unlocks it, the user logs in, the admin locks the account by hand (the user's session ends)
and unlocks it, and the admin deactivates the account, which logs the user out and keeps them
out. Last, the admin opens the user's audit trail, reads the edit's before and
after, and downloads the trail as CSV.

The username is new on every run. The database is checked after each step (the user row and
the admin's audited actions).
"""

from __future__ import annotations

import csv
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    choose,
    click,
    click_single,
    db_session,
    demo_user,
    fill,
    flash,
    login,
    open_page,
    open_tab,
    settle,
    snapshot,
    widget,
)

pytestmark = pytest.mark.e2e

PASSWORD = "Depot-Ledger-2026!"
OWN_PASSWORD = "Godown-Count-2026?"  # the user's own, replacing the admin's
REFUSED = re.compile("Invalid username or password", re.I)


def _profile(database_url: str, username: str) -> tuple[str, str | None, str]:
    """(full_name, phone, id as text) of the user."""
    from sqlalchemy import select

    from domain.accounts.models import AppUser

    with db_session(database_url, readonly=True) as s:
        row = s.execute(
            select(AppUser.full_name, AppUser.phone, AppUser.id).where(AppUser.username == username)
        ).one()
        return row.full_name, row.phone, str(row.id)


def _user(database_url: str, username: str) -> tuple[bool, int, object]:
    """(active, failed_login_count, locked_until) of the user."""
    from sqlalchemy import select

    from domain.accounts.models import AppUser

    with db_session(database_url, readonly=True) as s:
        row = s.execute(
            select(AppUser.active, AppUser.failed_login_count, AppUser.locked_until).where(
                AppUser.username == username
            )
        ).one()
        return row.active, row.failed_login_count, row.locked_until


def _admin_actions(database_url: str, username: str) -> list[str]:
    """Audited ``user.*`` actions on the user, oldest first."""
    from sqlalchemy import select

    from domain.accounts.models import AppUser, AuditEvent

    with db_session(database_url, readonly=True) as s:
        user_id = s.execute(select(AppUser.id).where(AppUser.username == username)).scalar_one()
        return list(
            s.scalars(
                select(AuditEvent.action)
                .where(
                    AuditEvent.entity_id.in_((str(user_id), user_id.hex)),
                    AuditEvent.action.like("user.%"),
                )
                .order_by(AuditEvent.created_at)
            )
        )


def _refused(other, app_url: str, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    login(other, app_url, username, password)
    other.get_by_text(REFUSED).first.wait_for()
    settle(other)
    assert other.locator('[data-testid="stSidebarNav"]').count() == 0


def _metric(page, label: str):  # type: ignore[no-untyped-def]
    return page.get_by_test_id("stMetric").filter(has_text=label)


def test_admin_creates_user_sees_lockout_unlocks_and_deactivates(
    page,  # type: ignore[no-untyped-def]
    app_url: str,
    e2e_database: str,
    chromium_path: str,
) -> None:
    from db.settings import get_settings

    attempts = get_settings().lockout_attempts
    username = f"e2e_{uuid.uuid4().hex[:8]}"
    admin = demo_user(role="admin")
    login(page, app_url, admin.username, admin.password)
    open_page(page, "Admin")

    # 1. create the user
    open_tab(page, "Create user")
    fill(page, "admin_new_username", username)
    fill(page, "admin_new_full_name", "Kiran E2E")
    fill(page, "admin_new_email", f"{username}@example.com")
    choose(page, "admin_new_role", "procurement")
    fill(page, "admin_new_password", PASSWORD)
    click(page, "admin_create_submit")
    open_tab(page, "Create user")
    flash(page, f"User '{username}' created (procurement).")
    assert _user(e2e_database, username) == (True, 0, None)

    # 1b. correct the name and add a phone (the new user is already the managed one)
    open_tab(page, "Manage user")
    expect(widget(page, "admin_edit_full_name").locator("input")).to_have_value("Kiran E2E")
    fill(page, "admin_edit_full_name", "Kiran Kumar")
    fill(page, "admin_edit_phone", "98450 12345")
    click(page, "admin_edit_submit")
    flash(page, f"'{username}' updated.")
    full_name, phone, user_id = _profile(e2e_database, username)
    assert (full_name, phone) == ("Kiran Kumar", "+919845012345")
    expect(widget(page, "admin_edit_phone").locator("input")).to_have_value("+919845012345")

    # 2. the new user mistypes the password until the account locks, in a second browser
    browser = page.context.browser
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        other = context.new_page()
        other.set_default_timeout(30_000)
        for _ in range(attempts):
            _refused(other, app_url, username, "not-the-password-1")
        active, failures, locked_until = _user(e2e_database, username)
        assert (active, failures) == (True, attempts) and locked_until is not None
        _refused(other, app_url, username, PASSWORD)  # locked: the right password too
        _, failures, still_locked = _user(e2e_database, username)
        assert failures >= attempts and still_locked is not None

        # 3. the admin reloads the page (the login cookie keeps the session), sees the lock
        # and unlocks the account
        page.reload()
        page.get_by_role("heading", name="Admin", exact=True, level=1).wait_for(timeout=60_000)
        settle(page)
        # the login cookie is read in a second run: wait until its re-render has settled
        expect(page.get_by_role("tab", name="Manage user", exact=True)).to_have_count(
            1, timeout=30_000
        )
        settle(page)
        open_tab(page, "Manage user")
        choose(page, "admin_selected_user", username, then_settle=True)
        expect(_metric(page, "Failed logins")).to_contain_text(str(failures))
        expect(_metric(page, "Locked until")).not_to_contain_text("—")
        snapshot(page, "admin-user-locked")
        click(page, "admin_unlock")
        flash(page, f"'{username}' unlocked.")
        expect(_metric(page, "Locked until")).to_contain_text("—")
        assert _user(e2e_database, username) == (True, 0, None)

        # 4. the user logs in now (procurement lands on Stock)
        login(other, app_url, username, PASSWORD)
        # 4a. the admin chose that password: the user must replace it before anything else
        other.get_by_role("heading", name="My account", exact=True, level=1).wait_for(
            timeout=60_000
        )
        settle(other)
        forced = other.get_by_test_id("stAlert").filter(
            has_text="An administrator set your password"
        )
        expect(forced).to_have_count(1)
        assert other.get_by_test_id("stSidebarNav").get_by_text("Stock", exact=True).count() == 0
        fill(other, "account_current_password", PASSWORD)
        fill(other, "account_new_password", OWN_PASSWORD)
        fill(other, "account_repeat_password", OWN_PASSWORD)
        click(other, "account_change_submit")
        flash(other, "Password changed. All your pages are open again.")
        open_page(other, "Stock")

        # 4b. the admin locks the account by hand (lost phone): the user's open session ends
        # and even the right password is refused, until the admin unlocks it again
        open_tab(page, "Manage user")
        fill(page, "admin_lock_reason", "Lost phone")
        click(page, "admin_lock_submit")
        flash(page, f"'{username}' locked.")
        expect(_metric(page, "Locked until")).not_to_contain_text("—")
        assert _user(e2e_database, username)[2] is not None
        other.reload()
        other.get_by_label("Username", exact=True).wait_for(timeout=60_000)
        _refused(other, app_url, username, OWN_PASSWORD)
        open_tab(page, "Manage user")
        click(page, "admin_unlock")
        flash(page, f"'{username}' unlocked.")
        login(other, app_url, username, OWN_PASSWORD)  # an unlock keeps the user's password
        other.get_by_role("heading", name="Stock", exact=True, level=1).wait_for(timeout=60_000)
        settle(other)

        # 5. the admin deactivates the account: the user is out and stays out
        open_tab(page, "Manage user")
        click(page, "admin_deactivate")
        flash(page, f"'{username}' deactivated.")
        expect(_metric(page, "Status")).to_contain_text("Inactive")
        assert _user(e2e_database, username)[0] is False
        other.reload()
        other.get_by_label("Username", exact=True).wait_for(timeout=60_000)
        assert other.locator('[data-testid="stSidebarNav"]').count() == 0
        _refused(other, app_url, username, OWN_PASSWORD)
    finally:
        context.close()
    assert _admin_actions(e2e_database, username) == [
        "user.create",
        "user.update",
        "user.unlock",
        "user.change_own_password",
        "user.lock",
        "user.unlock",
        "user.deactivate",
    ]
    snapshot(page, "admin-user-deactivated", tour="admin")

    # 6. the user's audit trail: the edit's before and after, and the CSV of the trail
    open_tab(page, "Manage user")
    click(page, "admin_audit_trail")
    page.get_by_role("heading", name="Audit log", exact=True, level=1).wait_for()
    settle(page)
    expect(widget(page, "audit_f_search").locator("input")).to_have_value(user_id)
    choose(page, "audit_f_action", "user.update")
    click(page, "audit_f_submit")
    page.get_by_text("Events 1–1 of 1 (newest first)").wait_for()
    detail = page.get_by_test_id("stMarkdown").filter(has_text=f"user.update by {admin.username}")
    expect(detail).to_have_count(1)
    expect(detail).to_contain_text(user_id)
    shown = page.get_by_test_id("stJson")
    expect(shown).to_have_count(2)
    expect(shown.nth(0)).to_contain_text("Kiran E2E")  # before
    expect(shown.nth(1)).to_contain_text("Kiran Kumar")  # after
    expect(shown.nth(1)).to_contain_text("+919845012345")
    snapshot(page, "admin-audit-log", tour="audit_log")
    with page.expect_download() as download:
        click_single(page, widget(page, "audit_csv").get_by_role("button"))
    path = download.value.path()
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["action"], r["actor"], r["entity_id"]) for r in rows] == [
        ("user.update", admin.username, user_id)
    ]
    assert '"full_name": "Kiran Kumar"' in rows[0]["after"]
