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
from app.nav import PAGES, page_files_for
from db.engine import session_scope
from db.settings import get_settings
from domain.accounts.models import AppUser, AuditEvent
from domain.accounts.service import LOGIN_FAILED_MESSAGE
from domain.actor import ROLES, Actor
from tests.factories import TEST_PASSWORD, make_oem, make_team, make_user, make_zone

PROJECT = Path(__file__).resolve().parents[2]

EXPECTED = {
    "admin": [
        "overview",
        "my_jobs",
        "leads",
        "surveys",
        "installations",
        "dispatch_board",
        "service_calls",
        "notifications",
        "admin",
        "account",
    ],
    "manager": [
        "overview",
        "leads",
        "surveys",
        "installations",
        "dispatch_board",
        "service_calls",
        "notifications",
        "account",
    ],
    "central_ops": [
        "overview",
        "my_jobs",
        "leads",
        "surveys",
        "installations",
        "dispatch_board",
        "service_calls",
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
    "procurement": ["leads", "installations", "service_calls", "notifications", "account"],
    "oem_reporting": [
        "overview",
        "leads",
        "surveys",
        "installations",
        "service_calls",
        "notifications",
        "account",
    ],
    "oem_viewer": ["overview", "leads", "surveys", "installations", "notifications", "account"],
}


@pytest.mark.parametrize("role", ROLES)
def test_page_files_for_every_role(role: str) -> None:
    assert page_files_for(role) == [f"pages/{p}.py" for p in EXPECTED[role]]


def test_page_table_titles_and_unknown_role() -> None:
    assert {p.file: p.title for p in PAGES} == {
        "pages/overview.py": "Overview",
        "pages/my_jobs.py": "My jobs",
        "pages/leads.py": "Leads",
        "pages/surveys.py": "Surveys",
        "pages/installations.py": "Installations",
        "pages/dispatch_board.py": "Dispatch board",
        "pages/service_calls.py": "Service calls",
        "pages/notifications.py": "Notifications",
        "pages/admin.py": "Admin",
        "pages/account.py": "My account",
    }
    with pytest.raises(ValueError):
        page_files_for("superuser")


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
    for spec in PAGES:
        name = Path(spec.file).stem
        if name not in ("admin", "account"):
            (root / "pages" / f"{name}.py").write_text(
                f"import streamlit as st\n\nst.title({spec.title + ' stub'!r})\n"
            )
    for name in ("admin", "account"):
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
