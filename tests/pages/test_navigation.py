"""The app shell: role navigation table, login gate, logout and cookie-key refusal (AppTest).

The entry script runs from a temporary copy of the app tree whose Overview and Leads pages
are stubs, so the shell is tested on its own; Admin and My account are the real pages.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from streamlit.testing.v1 import AppTest

import domain.models  # noqa: F401
from app.auth import COOKIE_KEY_REFUSAL
from app.nav import (
    ACCOUNT,
    DASHBOARDS,
    OEM_REPORTING,
    OPERATIONS,
    PAGES,
    SECTIONS,
    STOCK,
    SYSTEM,
    landing_file_for,
    menu_for,
    page_files_for,
    pages_for,
)
from db.engine import session_scope
from db.settings import get_settings
from domain.accounts.models import AppUser, AuditEvent
from domain.accounts.service import LOGIN_FAILED_MESSAGE
from domain.actor import ROLES, Actor
from domain.permissions import PERMISSIONS
from tests.factories import TEST_PASSWORD, make_oem, make_team, make_user, make_zone

PROJECT = Path(__file__).resolve().parents[2]

EXPECTED = {
    "admin": [
        "overview",
        "kpis",
        "my_jobs",
        "leads",
        "surveys",
        "installations",
        "dispatch_board",
        "service_calls",
        "stock",
        "allocations",
        "procurement_requests",
        "materials",
        "vendors",
        "closure_packs",
        "reports",
        "month_closure",
        "admin",
        "audit_log",
        "scheduler",
        "notifications",
        "account",
    ],
    "manager": [
        "overview",
        "kpis",
        "leads",
        "surveys",
        "installations",
        "dispatch_board",
        "service_calls",
        "stock",
        "allocations",
        "procurement_requests",
        "materials",
        "vendors",
        "closure_packs",
        "reports",
        "month_closure",
        "audit_log",
        "notifications",
        "account",
    ],
    "central_ops": [
        "overview",
        "kpis",
        "my_jobs",
        "leads",
        "surveys",
        "installations",
        "dispatch_board",
        "service_calls",
        "stock",
        "allocations",
        "procurement_requests",
        "materials",
        "notifications",
        "account",
    ],
    "field_engineer": [
        "my_jobs",
        "leads",
        "surveys",
        "installations",
        "service_calls",
        "notifications",
        "account",
    ],
    "procurement": [
        "leads",
        "installations",
        "service_calls",
        "stock",
        "allocations",
        "procurement_requests",
        "materials",
        "vendors",
        "notifications",
        "account",
    ],
    "oem_reporting": [
        "overview",
        "kpis",
        "leads",
        "surveys",
        "installations",
        "service_calls",
        "closure_packs",
        "reports",
        "month_closure",
        "notifications",
        "account",
    ],
    "oem_viewer": [
        "overview",
        "kpis",
        "leads",
        "surveys",
        "installations",
        "closure_packs",
        "reports",
        "notifications",
        "account",
    ],
}


@pytest.mark.parametrize("role", ROLES)
def test_page_files_for_every_role(role: str) -> None:
    assert page_files_for(role) == [f"pages/{p}.py" for p in EXPECTED[role]]


def test_page_table_titles_and_unknown_role() -> None:
    assert {p.file: p.title for p in PAGES} == {
        "pages/overview.py": "Overview",
        "pages/kpis.py": "KPIs",
        "pages/my_jobs.py": "My jobs",
        "pages/leads.py": "Leads",
        "pages/surveys.py": "Surveys",
        "pages/installations.py": "Installations",
        "pages/dispatch_board.py": "Dispatch board",
        "pages/service_calls.py": "Service calls",
        "pages/stock.py": "Stock",
        "pages/allocations.py": "Allocations",
        "pages/procurement_requests.py": "Procurement requests",
        "pages/materials.py": "Materials",
        "pages/vendors.py": "Vendors",
        "pages/closure_packs.py": "Closure packs",
        "pages/reports.py": "Reports",
        "pages/month_closure.py": "Month closure",
        "pages/notifications.py": "Notifications",
        "pages/admin.py": "Admin",
        "pages/audit_log.py": "Audit log",
        "pages/scheduler.py": "Scheduler",
        "pages/account.py": "My account",
    }
    with pytest.raises(ValueError):
        page_files_for("superuser")


@pytest.mark.parametrize("role", ROLES)
def test_landing_page_per_role(role: str) -> None:
    """Procurement lands on Stock; every other role on its first menu page."""
    expected = "pages/stock.py" if role == "procurement" else f"pages/{EXPECTED[role][0]}.py"
    assert landing_file_for(role) == expected
    flags = [p._default for pages in pages_for(role).values() for p in pages]
    assert flags.count(True) == 1
    assert page_files_for(role)[flags.index(True)] == expected


SECTION_OF = {
    "overview": DASHBOARDS,
    "kpis": DASHBOARDS,
    "my_jobs": OPERATIONS,
    "leads": OPERATIONS,
    "surveys": OPERATIONS,
    "installations": OPERATIONS,
    "dispatch_board": OPERATIONS,
    "service_calls": OPERATIONS,
    "stock": STOCK,
    "allocations": STOCK,
    "procurement_requests": STOCK,
    "materials": STOCK,
    "vendors": STOCK,
    "closure_packs": OEM_REPORTING,
    "reports": OEM_REPORTING,
    "month_closure": OEM_REPORTING,
    "admin": SYSTEM,
    "audit_log": SYSTEM,
    "scheduler": SYSTEM,
    "notifications": ACCOUNT,
    "account": ACCOUNT,
}


@pytest.mark.parametrize("role", ROLES)
def test_menu_sections_per_role(role: str) -> None:
    """``st.navigation`` gets a dict section -> pages: every page of the role once, in menu
    order, sections in ``SECTIONS`` order, none empty."""
    menu = menu_for(role)
    assert list(menu) == [sec for sec in SECTIONS if sec in menu]
    got = {sec: [Path(spec.file).stem for spec in specs] for sec, specs in menu.items()}
    want: dict[str, list[str]] = {}
    for name in EXPECTED[role]:
        want.setdefault(SECTION_OF[name], []).append(name)
    assert got == want
    assert [name for names in got.values() for name in names] == EXPECTED[role]
    pages = pages_for(role)
    assert list(pages) == list(menu)
    assert {sec: len(p) for sec, p in pages.items()} == {sec: len(s) for sec, s in menu.items()}


def test_page_table_groups_sections_and_matches_permissions() -> None:
    """A section's pages are contiguous in ``PAGES`` and sections come in ``SECTIONS`` order;
    no section is titled like a page (a menu link is found by its exact text); the
    audit log is shown to exactly the roles that may read it."""
    order = [spec.section for spec in PAGES]
    collapsed = [sec for i, sec in enumerate(order) if i == 0 or order[i - 1] != sec]
    assert collapsed == list(SECTIONS)
    assert {Path(spec.file).stem: spec.section for spec in PAGES} == SECTION_OF
    titles = {spec.title for spec in PAGES}
    assert not titles & set(SECTIONS)
    audit_page = next(spec for spec in PAGES if spec.file == "pages/audit_log.py")
    assert audit_page.roles == PERMISSIONS["audit.read"]
    admin_page = next(spec for spec in PAGES if spec.file == "pages/admin.py")
    assert admin_page.roles == PERMISSIONS["user.list"]


# ------------------------------------------------------------------------------------------
# AppTest of the entry script


@pytest.fixture
def app_db(app_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    eng = app_engine
    with session_scope(eng) as s:
        zone = make_zone(s)
        oem = make_oem(s)
        team = make_team(s, zone)
        make_user(s, role="admin", username="root")
        make_user(s, role="field_engineer", username="fe", team=team, zone=zone)
        make_user(s, role="oem_viewer", username="viewer", oem=oem)
    monkeypatch.setenv("DEMO_MODE", "true")
    monkeypatch.delenv("COOKIE_KEY", raising=False)
    get_settings.cache_clear()
    yield eng
    get_settings.cache_clear()


@pytest.fixture
def main_script(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "site"
    (root / "app").mkdir(parents=True)
    (root / "pages").mkdir()
    shutil.copy(PROJECT / "app" / "main.py", root / "app" / "main.py")
    # Every menu page is a stub titled "<Title> stub", except the shell's own pages.
    real = ("admin", "audit_log", "account")
    for spec in PAGES:
        name = Path(spec.file).stem
        if name not in real:
            (root / "pages" / f"{name}.py").write_text(
                f"import streamlit as st\n\nst.title({spec.title + ' stub'!r})\n"
            )
    for name in real:
        shutil.copy(PROJECT / "pages" / f"{name}.py", root / "pages" / f"{name}.py")
    saved = list(sys.path)
    yield root / "app" / "main.py"
    sys.path[:] = saved


def _login(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    return at.button(key="login_submit").click().run()


def _registered_files(at: AppTest) -> set[str]:
    return {
        Path(str(info["script_path"])).stem
        for info in at._registered_pages.values()
        if info.get("script_path")
    }


def _row(eng: Engine, username: str) -> AppUser:
    with session_scope(eng) as s:
        return s.execute(select(AppUser).where(AppUser.username == username)).scalar_one()


def test_without_actor_the_login_form_is_shown(app_db: Engine, main_script: Path) -> None:
    at = AppTest.from_file(str(main_script), default_timeout=30).run()
    assert not at.exception
    assert at.text_input(key="login_username").label == "Username"
    assert at.text_input(key="login_password").label == "Password"
    assert "actor" not in at.session_state
    assert not any("stub" in t.value for t in at.title)
    assert not _registered_files(at) & {"overview", "leads", "admin", "account"}
    if importlib.util.find_spec("db.reference") is not None:  # written by another helper
        from db.reference import DEMO_USERS

        assert [e.label for e in at.expander] == ["Demo logins"]
        shown = at.dataframe[0].value
        assert list(shown["username"]) == [u.username for u in DEMO_USERS]


def test_no_demo_hint_outside_demo_mode(
    app_db: Engine, main_script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEMO_MODE", "false")
    monkeypatch.setenv("COOKIE_KEY", "a-real-secret-for-this-test-only-123456")
    get_settings.cache_clear()
    at = AppTest.from_file(str(main_script), default_timeout=30).run()
    assert not at.exception
    assert at.text_input(key="login_username")
    assert len(at.expander) == 0 and len(at.dataframe) == 0


@pytest.mark.parametrize(
    ("username", "role"), [("root", "admin"), ("fe", "field_engineer"), ("viewer", "oem_viewer")]
)
def test_login_shows_the_roles_pages(
    app_db: Engine, main_script: Path, username: str, role: str
) -> None:
    at = AppTest.from_file(str(main_script), default_timeout=30).run()
    _login(at, f"  {username.upper()} ", TEST_PASSWORD)
    assert not at.exception
    actor = at.session_state["actor"]
    assert isinstance(actor, Actor) and actor.role == role and actor.username == username
    assert at.session_state["authentication_status"] is True
    assert at.session_state["username"] == username
    assert _registered_files(at) == set(EXPECTED[role])
    default = next(p.title for p in PAGES if Path(p.file).stem == EXPECTED[role][0]) + " stub"
    assert [t.value for t in at.title] == [default]
    assert any(role.replace("_", " ") in c.value for c in at.sidebar.caption)
    assert _row(app_db, username).last_login_at is not None
    # the session stays logged in on the next run
    at.run()
    assert at.session_state["actor"] == actor
    assert [t.value for t in at.title] == [default]


def test_admin_can_open_admin_page_after_login(app_db: Engine, main_script: Path) -> None:
    at = AppTest.from_file(str(main_script), default_timeout=30).run()
    _login(at, "root", TEST_PASSWORD)
    at.switch_page("../pages/admin.py").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Admin"]
    assert set(at.dataframe[0].value["username"]) == {"root", "fe", "viewer"}


def test_admin_reads_own_login_in_the_audit_log(app_db: Engine, main_script: Path) -> None:
    at = AppTest.from_file(str(main_script), default_timeout=30).run()
    _login(at, "root", TEST_PASSWORD)
    at.switch_page("../pages/audit_log.py").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Audit log"]
    table = at.dataframe[0].value
    assert (table["Action"][0], table["Actor"][0]) == ("auth.login_succeeded", "root")


def test_audit_trail_of_one_user_from_the_admin_page(app_db: Engine, main_script: Path) -> None:
    at = AppTest.from_file(str(main_script), default_timeout=30).run()
    _login(at, "root", TEST_PASSWORD)
    at.switch_page("../pages/admin.py").run()
    at.selectbox(key="admin_selected_user").select("fe").run()
    at.button(key="admin_unlock").click().run()
    at.text_input(key="admin_edit_full_name").input("Fe Renamed")
    at.button(key="admin_edit_submit").click().run()
    assert not at.error
    at.button(key="admin_audit_trail").click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Audit log"]
    fe_id = str(_row(app_db, "fe").id)
    assert at.text_input(key="audit_f_search").value == fe_id
    table = at.dataframe[0].value
    assert list(table["Action"]) == ["user.update", "user.unlock"]  # not root's login
    assert set(table["Entity id"]) == {fe_id}
    assert '"full_name": "Fe Renamed"' in table["After"][0]


def test_wrong_password_shows_error_and_counts(app_db: Engine, main_script: Path) -> None:
    at = AppTest.from_file(str(main_script), default_timeout=30).run()
    _login(at, "root", "not-the-password")
    assert not at.exception
    assert [e.value for e in at.error] == [LOGIN_FAILED_MESSAGE]
    assert "actor" not in at.session_state
    assert at.text_input(key="login_username")  # the form is still there
    assert _row(app_db, "root").failed_login_count == 1
    _login(at, "nobody", TEST_PASSWORD)
    assert [e.value for e in at.error] == [LOGIN_FAILED_MESSAGE]
    with session_scope(app_db) as s:
        n = s.execute(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "auth.login_failed")
        ).scalar_one()
    assert n == 2


def test_locked_account_is_refused_with_right_password(app_db: Engine, main_script: Path) -> None:
    at = AppTest.from_file(str(main_script), default_timeout=30).run()
    for _ in range(5):
        _login(at, "fe", "wrong-password!")
    assert _row(app_db, "fe").locked_until is not None
    _login(at, "fe", TEST_PASSWORD)
    assert [e.value for e in at.error] == [LOGIN_FAILED_MESSAGE]
    assert "actor" not in at.session_state
    assert _row(app_db, "fe").failed_login_count == 6


def test_logout_in_one_click(app_db: Engine, main_script: Path) -> None:
    at = AppTest.from_file(str(main_script), default_timeout=30).run()
    _login(at, "root", TEST_PASSWORD)
    assert "actor" in at.session_state
    at.sidebar.button(key="logout_button").click().run()
    assert not at.exception
    assert "actor" not in at.session_state
    assert at.session_state["authentication_status"] is None
    assert at.session_state["username"] is None
    assert at.text_input(key="login_username")
    with session_scope(app_db) as s:
        actions = list(s.execute(select(AuditEvent.action)).scalars())
    assert "auth.logout" in actions


def test_deactivated_user_is_logged_out_on_next_run(app_db: Engine, main_script: Path) -> None:
    at = AppTest.from_file(str(main_script), default_timeout=30).run()
    _login(at, "fe", TEST_PASSWORD)
    assert "actor" in at.session_state
    with session_scope(app_db) as s:
        s.execute(select(AppUser).where(AppUser.username == "fe")).scalar_one().active = False
    at.run()
    assert "actor" not in at.session_state
    assert at.text_input(key="login_username")


def test_default_cookie_key_refused_outside_demo_mode(
    app_db: Engine, main_script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEMO_MODE", "false")
    get_settings.cache_clear()
    at = AppTest.from_file(str(main_script), default_timeout=30).run()
    assert [e.value for e in at.error] == [COOKIE_KEY_REFUSAL]
    assert len(at.text_input) == 0

    monkeypatch.setenv("COOKIE_KEY", "a-real-secret-for-this-test-only-123456")
    get_settings.cache_clear()
    at = AppTest.from_file(str(main_script), default_timeout=30).run()
    assert not at.error
    assert at.text_input(key="login_username")

    # a secrets file value wins too
    monkeypatch.delenv("COOKIE_KEY")
    get_settings.cache_clear()
    at = AppTest.from_file(str(main_script), default_timeout=30)
    at.secrets["cookie_key"] = "from-secrets-file-0123456789"
    at.run()
    assert not at.error
    assert at.text_input(key="login_username")


@pytest.fixture
def cookie_for(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Pretend the browser sent a valid signed login cookie for a username."""
    from streamlit_authenticator.models.cookie_model import CookieModel

    def set_user(username: str) -> None:
        monkeypatch.setattr("app.auth._login_cookie_present", lambda settings: True)
        monkeypatch.setattr(
            CookieModel,
            "get_cookie",
            lambda self: {"username": username, "exp_date": 4102444800.0},
        )

    return set_user


def test_reload_with_valid_cookie_stays_logged_in(
    app_db: Engine, main_script: Path, cookie_for
) -> None:  # type: ignore[no-untyped-def]
    cookie_for("root")
    at = AppTest.from_file(str(main_script), default_timeout=30).run()
    assert not at.exception
    assert at.session_state["actor"].username == "root"
    assert at.session_state["actor"].role == "admin"
    assert [t.value for t in at.title] == ["Overview stub"]


@pytest.mark.parametrize("change", ["inactive", "locked"])
def test_cookie_of_inactive_or_locked_user_does_not_reauthenticate(
    app_db: Engine, main_script: Path, cookie_for, change: str
) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from db.types import utcnow

    with session_scope(app_db) as s:
        u = s.execute(select(AppUser).where(AppUser.username == "root")).scalar_one()
        if change == "inactive":
            u.active = False
        else:
            u.locked_until = utcnow() + timedelta(minutes=10)
    cookie_for("root")
    at = AppTest.from_file(str(main_script), default_timeout=30).run()
    assert not at.exception
    assert "actor" not in at.session_state
    assert at.text_input(key="login_username")


# --------------------------------------------------------------------------------------------
# issue 6: a password change forces a new login everywhere else


def test_password_change_logs_out_the_users_other_sessions(
    app_db: Engine, main_script: Path
) -> None:
    here = AppTest.from_file(str(main_script), default_timeout=30).run()
    _login(here, "fe", TEST_PASSWORD)
    elsewhere = AppTest.from_file(str(main_script), default_timeout=30).run()
    _login(elsewhere, "fe", TEST_PASSWORD)
    other_user = AppTest.from_file(str(main_script), default_timeout=30).run()
    _login(other_user, "root", TEST_PASSWORD)
    assert all("actor" in at.session_state for at in (here, elsewhere, other_user))

    here.switch_page("../pages/account.py").run()
    here.text_input(key="account_current_password").input(TEST_PASSWORD)
    here.text_input(key="account_new_password").input("Kaveri-river-2026")
    here.text_input(key="account_repeat_password").input("Kaveri-river-2026")
    here.button(key="account_change_submit").click().run()
    assert not here.exception
    assert [s.value for s in here.success] == ["Password changed."]
    assert _row(app_db, "fe").session_version == 1

    elsewhere.run()  # the other browser of the same user: logged out, login form again
    assert "actor" not in elsewhere.session_state
    assert elsewhere.text_input(key="login_username")
    here.run()  # the session that made the change stays logged in
    assert here.session_state["actor"].username == "fe"
    other_user.run()  # nobody else is affected
    assert other_user.session_state["actor"].username == "root"
    # the old password is gone, the new one works
    _login(elsewhere, "fe", TEST_PASSWORD)
    assert "actor" not in elsewhere.session_state
    _login(elsewhere, "fe", "Kaveri-river-2026")
    assert elsewhere.session_state["actor"].username == "fe"


def test_admin_reset_logs_the_user_out(app_db: Engine, main_script: Path) -> None:
    from domain.accounts import service as accounts
    from tests.factories import actor_of

    fe = AppTest.from_file(str(main_script), default_timeout=30).run()
    _login(fe, "fe", TEST_PASSWORD)
    fe_id = _row(app_db, "fe").id
    with session_scope(app_db) as s:
        root = s.execute(select(AppUser).where(AppUser.username == "root")).scalar_one()
        accounts.reset_password(s, actor_of(root), user_id=fe_id, new_password="Kaveri-river-2026")
    fe.run()
    assert "actor" not in fe.session_state
    assert fe.text_input(key="login_username")


def test_cookie_from_before_a_password_change_does_not_reauthenticate(
    app_db: Engine, main_script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit_authenticator.models.cookie_model import CookieModel

    from app.auth import SESSION_VERSION_CLAIM

    def cookie(version: int | None) -> None:
        token = {"username": "root", "exp_date": 4102444800.0}
        if version is not None:
            token[SESSION_VERSION_CLAIM] = version
        monkeypatch.setattr("app.auth._login_cookie_present", lambda settings: True)
        monkeypatch.setattr(CookieModel, "get_cookie", lambda self: dict(token))

    cookie(0)
    at = AppTest.from_file(str(main_script), default_timeout=30).run()
    assert at.session_state["actor"].username == "root"

    with session_scope(app_db) as s:
        s.execute(
            select(AppUser).where(AppUser.username == "root")
        ).scalar_one().session_version = 1
    for stale in (0, None):  # an old cookie, and one written before versions existed
        cookie(stale)
        at = AppTest.from_file(str(main_script), default_timeout=30).run()
        assert not at.exception
        assert "actor" not in at.session_state
        assert at.text_input(key="login_username")
    cookie(1)
    at = AppTest.from_file(str(main_script), default_timeout=30).run()
    assert at.session_state["actor"].username == "root"


def test_cookie_token_carries_the_session_version() -> None:
    import jwt
    from streamlit_authenticator.models.cookie_model import CookieModel

    from app.auth import SESSION_VERSION_CLAIM, SESSION_VERSION_KEY, _encode_cookie_token

    assert CookieModel._token_encode is _encode_cookie_token
    model = CookieModel.__new__(CookieModel)
    model.cookie_key, model.exp_date = "k" * 32, 4102444800.0
    import streamlit as st

    st.session_state["username"] = "fe"
    st.session_state[SESSION_VERSION_KEY] = 3
    try:
        claims = jwt.decode(model._token_encode(), "k" * 32, algorithms=["HS256"])
    finally:
        del st.session_state["username"], st.session_state[SESSION_VERSION_KEY]
    assert claims == {"username": "fe", "exp_date": 4102444800.0, SESSION_VERSION_CLAIM: 3}


def test_a_temporary_password_opens_only_my_account_until_it_is_changed(
    app_db: Engine, main_script: Path
) -> None:
    """An admin reset leaves a temporary password: after login the menu is My account only
    (no other page can be opened); the user's own change brings the whole menu back."""
    from domain.accounts import service as accounts
    from tests.factories import actor_of

    fe_id = _row(app_db, "fe").id
    with session_scope(app_db) as s:
        root = s.execute(select(AppUser).where(AppUser.username == "root")).scalar_one()
        accounts.reset_password(s, actor_of(root), user_id=fe_id, new_password="Kaveri-river-2026")
    at = AppTest.from_file(str(main_script), default_timeout=30).run()
    _login(at, "fe", "Kaveri-river-2026")
    assert not at.exception
    assert at.session_state["actor"].username == "fe"
    assert _registered_files(at) == {"account"}
    assert [t.value for t in at.title] == ["My account"]
    assert any("administrator set your password" in w.value for w in at.warning)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("../pages/my_jobs.py")  # not registered: it cannot run

    at.text_input(key="account_current_password").input("Kaveri-river-2026")
    at.text_input(key="account_new_password").input("Hampi-ruins-2026")
    at.text_input(key="account_repeat_password").input("Hampi-ruins-2026")
    at.button(key="account_change_submit").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Password changed. All your pages are open again."]
    assert not at.warning
    assert {"account", "my_jobs", "leads"} <= _registered_files(at)
    assert _row(app_db, "fe").must_change_password is False
    assert at.session_state["actor"].username == "fe"  # still logged in
    at.switch_page("../pages/my_jobs.py").run()
    assert [t.value for t in at.title] == ["My jobs stub"]
