"""Admin and My account pages (AppTest) on a temporary SQLite database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

import domain.models  # noqa: F401
from db.engine import session_scope
from db.types import utcnow
from domain.accounts import service as svc
from domain.accounts.models import AppUser, AuditEvent
from domain.accounts.passwords import verify_password
from tests.factories import TEST_PASSWORD, actor_of, make_oem, make_team, make_user, make_zone

PROJECT = Path(__file__).resolve().parents[2]
ADMIN_PAGE = str(PROJECT / "pages" / "admin.py")
ACCOUNT_PAGE = str(PROJECT / "pages" / "account.py")


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(svc, "PASSWORD_HASH_ROUNDS", 4)


@pytest.fixture
def db(app_engine: Engine) -> dict:
    eng = app_engine
    with session_scope(eng) as s:
        zone = make_zone(s)
        make_oem(s)
        make_team(s, zone)
        admin = make_user(s, role="admin", username="root")
        ops = make_user(s, role="central_ops", username="ops")
        ops.failed_login_count = 5
        ops.locked_until = utcnow() + timedelta(minutes=10)
        viewer = make_user(s, role="manager", username="meera")
        world = {"engine": eng, "admin": actor_of(admin), "manager": actor_of(viewer)}
    return world


def _row(eng: Engine, username: str) -> AppUser | None:
    with session_scope(eng) as s:
        return s.execute(select(AppUser).where(AppUser.username == username)).scalar_one_or_none()


def _admin_page(world: dict) -> AppTest:
    at = AppTest.from_file(ADMIN_PAGE, default_timeout=30)
    at.session_state["actor"] = world["admin"]
    return at.run()


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_admin_page_renders_users_and_filters(db: dict) -> None:
    at = _admin_page(db)
    assert not at.exception
    assert [t.value for t in at.title] == ["Admin"]
    df = at.dataframe[0].value
    assert list(df["username"]) == ["meera", "ops", "root"]
    assert "password_hash" not in df.columns and "id" not in df.columns
    ops = df[df["username"] == "ops"].iloc[0]
    assert ops["failed_login_count"] == 5 and ops["locked_until"] != ""
    at.selectbox(key="admin_filter_role").select("central_ops").run()
    assert list(at.dataframe[0].value["username"]) == ["ops"]
    at.selectbox(key="admin_filter_role").select("All").run()
    at.selectbox(key="admin_filter_active").select("Inactive").run()
    assert at.dataframe[0].value.empty


def test_create_user_through_the_form(db: dict) -> None:
    at = _admin_page(db)
    at.text_input(key="admin_new_username").input("Priya.S")
    at.text_input(key="admin_new_full_name").input("Priya S")
    at.text_input(key="admin_new_email").input("priya@chargeops.example.in")
    at.text_input(key="admin_new_phone").input("9845012345")
    at.selectbox(key="admin_new_role").select("field_engineer")
    at.selectbox(key="admin_new_team").select("BLR-T1 - Team BLR-T1")
    at.text_input(key="admin_new_password").input("Nandi-hills-77")
    at.button(key="admin_create_submit").click().run()
    assert not at.exception
    assert not at.error
    assert any("priya.s" in s.value for s in at.success)
    assert "priya.s" in list(at.dataframe[0].value["username"])
    row = _row(db["engine"], "priya.s")
    assert row is not None and row.role == "field_engineer" and row.phone == "+919845012345"
    assert row.team_id is not None and verify_password("Nandi-hills-77", row.password_hash)


def test_create_user_errors_are_shown(db: dict) -> None:
    at = _admin_page(db)
    at.text_input(key="admin_new_username").input("x")
    at.text_input(key="admin_new_full_name").input("X")
    at.text_input(key="admin_new_email").input("nope")
    at.selectbox(key="admin_new_role").select("oem_viewer")
    at.text_input(key="admin_new_password").input("short")
    at.button(key="admin_create_submit").click().run()
    assert not at.exception
    msg = at.error[0].value
    for field in ("username", "email", "oem_id", "password"):
        assert field in msg
    assert len(at.dataframe[0].value) == 3

    at.text_input(key="admin_new_username").input("root")
    at.text_input(key="admin_new_email").input("root2@chargeops.example.in")
    at.selectbox(key="admin_new_role").select("manager")
    at.text_input(key="admin_new_password").input("Long-enough-pass-1")
    at.button(key="admin_create_submit").click().run()
    assert "already taken" in at.error[0].value


def test_unlock_deactivate_reactivate_and_reset(db: dict) -> None:
    eng = db["engine"]
    at = _admin_page(db)
    at.selectbox(key="admin_selected_user").select("ops").run()
    assert _metrics(at)["Failed logins"] == "5"
    assert _metrics(at)["Locked until"] != "—"

    at.button(key="admin_unlock").click().run()
    assert not at.exception
    assert _metrics(at)["Failed logins"] == "0" and _metrics(at)["Locked until"] == "—"
    assert _row(eng, "ops").locked_until is None

    at.button(key="admin_deactivate").click().run()
    assert _metrics(at)["Status"] == "Inactive"
    assert _row(eng, "ops").active is False
    at.selectbox(key="admin_filter_active").select("Inactive").run()
    assert list(at.dataframe[0].value["username"]) == ["ops"]

    at.button(key="admin_reactivate").click().run()
    assert _row(eng, "ops").active is True

    at.text_input(key="admin_reset_password").input("Fresh-password-42")
    at.button(key="admin_reset_submit").click().run()
    assert not at.error
    assert verify_password("Fresh-password-42", _row(eng, "ops").password_hash)

    at.selectbox(key="admin_selected_user").select("root").run()
    at.button(key="admin_deactivate").click().run()
    assert "your own account" in at.error[0].value
    assert _row(eng, "root").active is True

    with session_scope(eng) as s:
        actions = sorted(
            s.execute(
                select(AuditEvent.action).where(AuditEvent.actor_username == "root")
            ).scalars()
        )
    assert actions == ["user.deactivate", "user.reactivate", "user.reset_password", "user.unlock"]


def test_non_admin_sees_no_user_admin(db: dict) -> None:
    at = AppTest.from_file(ADMIN_PAGE, default_timeout=30)
    at.session_state["actor"] = db["manager"]
    at.run()
    assert not at.exception
    assert "administrators" in at.error[0].value
    assert len(at.dataframe) == 0


def test_admin_page_needs_login(db: dict) -> None:
    at = AppTest.from_file(ADMIN_PAGE, default_timeout=30).run()
    assert [e.value for e in at.error] == ["Please log in."]
    assert len(at.dataframe) == 0


def test_account_page_changes_own_password(db: dict) -> None:
    at = AppTest.from_file(ACCOUNT_PAGE, default_timeout=30)
    at.session_state["actor"] = db["manager"]
    at.run()
    assert not at.exception
    assert "meera" in at.markdown[0].value

    at.text_input(key="account_current_password").input(TEST_PASSWORD)
    at.text_input(key="account_new_password").input("Brand-new-pass-1")
    at.text_input(key="account_repeat_password").input("Brand-new-pass-2")
    at.button(key="account_change_submit").click().run()
    assert "differ" in at.error[0].value

    at.text_input(key="account_current_password").input("wrong")
    at.text_input(key="account_new_password").input("Brand-new-pass-1")
    at.text_input(key="account_repeat_password").input("Brand-new-pass-1")
    at.button(key="account_change_submit").click().run()
    assert "current_password" in at.error[0].value

    at.text_input(key="account_current_password").input(TEST_PASSWORD)
    at.text_input(key="account_new_password").input("Brand-new-pass-1")
    at.text_input(key="account_repeat_password").input("Brand-new-pass-1")
    at.button(key="account_change_submit").click().run()
    assert not at.error
    assert at.success[0].value == "Password changed."
    assert verify_password("Brand-new-pass-1", _row(db["engine"], "meera").password_hash)
