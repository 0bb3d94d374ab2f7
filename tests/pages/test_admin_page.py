"""Admin and My account pages (AppTest) on a temporary SQLite database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
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
    at.selectbox(key="admin_filter_active").select("All").run()
    at.selectbox(key="admin_filter_locked").select("Locked out").run()
    assert list(at.dataframe[0].value["username"]) == ["ops"]
    at.selectbox(key="admin_filter_locked").select("Not locked").run()
    assert list(at.dataframe[0].value["username"]) == ["meera", "root"]


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
    # the form is empty for the next user, and the new user is the one being managed
    assert at.text_input(key="admin_new_username").value == ""
    assert at.text_input(key="admin_new_password").value == ""
    assert at.selectbox(key="admin_selected_user").value == "priya.s"
    assert at.text_input(key="admin_edit_full_name").value == "Priya S"
    with session_scope(db["engine"]) as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "user.create")).scalar_one()
    assert event.actor_username == "root" and event.entity_id == str(row.id)
    assert "Nandi-hills-77" not in str(event.after)


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
    at.selectbox(key="admin_filter_locked").select("Locked out").run()
    assert list(at.dataframe[0].value["username"]) == ["ops"]

    at.button(key="admin_unlock").click().run()
    assert not at.exception
    assert [m.value for m in at.success] == ["'ops' unlocked."]
    assert _metrics(at)["Failed logins"] == "0" and _metrics(at)["Locked until"] == "—"
    assert _row(eng, "ops").locked_until is None
    assert at.dataframe[0].value.empty  # nobody is locked out any more
    at.selectbox(key="admin_filter_locked").select("Not locked").run()
    assert len(at.dataframe[0].value) == 3

    at.button(key="admin_deactivate").click().run()
    assert _metrics(at)["Status"] == "Inactive"
    assert _row(eng, "ops").active is False
    assert at.checkbox(key="admin_edit_active").value is False  # the form follows
    at.selectbox(key="admin_filter_active").select("Inactive").run()
    assert list(at.dataframe[0].value["username"]) == ["ops"]

    at.button(key="admin_reactivate").click().run()
    assert _row(eng, "ops").active is True
    assert at.checkbox(key="admin_edit_active").value is True

    at.text_input(key="admin_reset_password").input("Fresh-password-42")
    at.text_input(key="admin_reset_repeat").input("Fresh-password-43")
    at.button(key="admin_reset_submit").click().run()
    assert [e.value for e in at.error] == ["The two passwords differ."]
    assert not verify_password("Fresh-password-42", _row(eng, "ops").password_hash)

    at.text_input(key="admin_reset_password").input("password123456")
    at.text_input(key="admin_reset_repeat").input("password123456")
    at.button(key="admin_reset_submit").click().run()
    assert "too common" in at.error[0].value  # the policy is the domain's

    at.text_input(key="admin_reset_password").input("Fresh-password-42")
    at.text_input(key="admin_reset_repeat").input("Fresh-password-42")
    at.button(key="admin_reset_submit").click().run()
    assert not at.error
    assert [m.value for m in at.success] == ["Password of 'ops' reset; the account is unlocked."]
    row = _row(eng, "ops")
    assert verify_password("Fresh-password-42", row.password_hash) and row.session_version == 1

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


def test_admin_locks_a_user_with_a_reason(db: dict) -> None:
    eng = db["engine"]
    at = _admin_page(db)
    at.selectbox(key="admin_selected_user").select("meera").run()
    assert _metrics(at)["Locked until"] == "—"
    at.button(key="admin_lock_submit").click().run()
    assert "reason" in at.error[0].value  # a lock needs a reason; nothing written
    assert _row(eng, "meera").locked_until is None

    at.text_input(key="admin_lock_reason").input("Lost phone <b>now</b>")
    at.button(key="admin_lock_submit").click().run()
    assert not at.exception and not at.error
    assert [m.value for m in at.success] == ["'meera' locked."]
    row = _row(eng, "meera")
    assert row.locked_until is not None and row.session_version == 1
    assert _metrics(at)["Locked until"] != "—"
    at.selectbox(key="admin_filter_locked").select("Locked out").run()
    assert set(at.dataframe[0].value["username"]) == {"meera", "ops"}
    with session_scope(eng) as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "user.lock")).scalar_one()
        assert event.actor_username == "root" and event.after["reason"] == "Lost phone <b>now</b>"


def test_edit_user_prefills_saves_and_audits(db: dict) -> None:
    eng = db["engine"]
    at = _admin_page(db)
    at.selectbox(key="admin_selected_user").select("meera").run()
    assert at.text_input(key="admin_edit_full_name").value == "Meera"
    assert at.text_input(key="admin_edit_email").value == "meera@chargeops.example.in"
    assert at.selectbox(key="admin_edit_role").value == "manager"
    assert at.selectbox(key="admin_edit_oem").value == "—"
    assert at.checkbox(key="admin_edit_active").value is True

    # an OEM viewer needs an OEM: refused, nothing changes
    at.text_input(key="admin_edit_full_name").input("Meera Rao")
    at.selectbox(key="admin_edit_role").select("oem_viewer")
    at.button(key="admin_edit_submit").click().run()
    assert not at.exception
    assert "OEM viewer" in at.error[0].value
    assert _row(eng, "meera").role == "manager"

    at.selectbox(key="admin_edit_oem").select("TATA - Tata Motors")
    at.text_input(key="admin_edit_phone").input("98450 12345")
    at.button(key="admin_edit_submit").click().run()
    assert not at.error
    assert [m.value for m in at.success] == ["'meera' updated."]
    row = _row(eng, "meera")
    assert (row.full_name, row.role, row.phone) == ("Meera Rao", "oem_viewer", "+919845012345")
    assert row.oem_id is not None and row.session_version == 1  # logged out everywhere
    # the form is reloaded from what was stored (the phone normalised)
    assert at.text_input(key="admin_edit_phone").value == "+919845012345"
    table = at.dataframe[0].value
    assert table[table["username"] == "meera"].iloc[0]["oem"] == "TATA"

    # unticking "Active" deactivates in the same audited update
    at.checkbox(key="admin_edit_active").uncheck()
    at.button(key="admin_edit_submit").click().run()
    assert _row(eng, "meera").active is False
    assert _metrics(at)["Status"] == "Inactive"

    with session_scope(eng) as s:
        events = list(
            s.execute(
                select(AuditEvent)
                .where(AuditEvent.action == "user.update")
                .order_by(AuditEvent.created_at)
            ).scalars()
        )
    assert [e.actor_username for e in events] == ["root", "root"]
    assert events[0].entity_id == str(row.id)
    assert events[0].before["role"] == "manager" and events[0].after["role"] == "oem_viewer"
    assert events[0].before["full_name"] == "Meera" and events[0].after["full_name"] == "Meera Rao"
    assert events[1].before["active"] is True and events[1].after["active"] is False


def test_admin_cannot_change_own_role_or_deactivate_self_by_edit(db: dict) -> None:
    at = _admin_page(db)
    at.selectbox(key="admin_selected_user").select("root").run()
    at.selectbox(key="admin_edit_role").select("manager")
    at.checkbox(key="admin_edit_active").uncheck()
    at.button(key="admin_edit_submit").click().run()
    msg = at.error[0].value
    assert "your own role" in msg and "your own account" in msg
    row = _row(db["engine"], "root")
    assert row.role == "admin" and row.active is True


def test_hostile_full_name_is_shown_literally(db: dict) -> None:
    hostile = "<script>alert(1)</script> **bold**"
    at = _admin_page(db)
    at.selectbox(key="admin_selected_user").select("ops").run()
    at.text_input(key="admin_edit_full_name").input(hostile)
    at.button(key="admin_edit_submit").click().run()
    assert not at.error
    assert _row(db["engine"], "ops").full_name == hostile
    header = next(m.value for m in at.markdown if "central ops" in m.value)
    html = MarkdownIt("commonmark").render(header)
    assert "<script" not in html and "<strong>bold</strong>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; **bold**" in html
    # the table cell is plain text
    table = at.dataframe[0].value
    assert table[table["username"] == "ops"].iloc[0]["full_name"] == hostile
    assert at.text_input(key="admin_edit_full_name").value == hostile


def test_non_admin_sees_no_user_admin(db: dict) -> None:
    at = AppTest.from_file(ADMIN_PAGE, default_timeout=30)
    at.session_state["actor"] = db["manager"]
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Only administrators can manage users."]
    assert len(at.dataframe) == 0 and len(at.text_input) == 0 and len(at.button) == 0


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


@pytest.mark.parametrize("page", ["admin.py", "audit_log.py"])
def test_no_bare_strings_in_the_page_scripts(page: str) -> None:
    """Streamlit's "magic" writes a bare string statement onto the page: only the module
    docstring may be one (and functions' docstrings)."""
    import ast

    tree = ast.parse((PROJECT / "pages" / page).read_text())
    bare = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    ]
    allowed = {tree.body[0].lineno} | {
        f.body[0].lineno
        for f in ast.walk(tree)
        if isinstance(f, ast.FunctionDef) and isinstance(f.body[0], ast.Expr)
    }
    assert set(bare) <= allowed, f"bare strings at lines {sorted(set(bare) - allowed)}"
