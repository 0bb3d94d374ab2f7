"""Audit log page (AppTest) on a temporary SQLite database: who may read it, filters, paging,
the event detail with hostile text shown literally, and the CSV export button."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

import domain.models  # noqa: F401
from db.engine import session_scope
from domain.accounts import service as svc
from domain.accounts.models import AuditEvent
from tests.factories import actor_of, make_user

PROJECT = Path(__file__).resolve().parents[2]
AUDIT_PAGE = str(PROJECT / "pages" / "audit_log.py")
HOSTILE = "<script>alert(1)</script> **bold**"
BASE = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 11:30 on 2 March in Asia/Kolkata


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(svc, "PASSWORD_HASH_ROUNDS", 4)


@pytest.fixture
def db(app_engine: Engine) -> dict:
    with session_scope(app_engine) as s:
        admin = make_user(s, role="admin", username="root")
        manager = make_user(s, role="manager", username="meera")
        ops = make_user(s, role="central_ops", username="ops")
        # 60 lead events by "planner.one" on 1 March (local), one a minute
        for i in range(60):
            s.add(
                AuditEvent(
                    created_at=BASE - timedelta(days=1, minutes=i),
                    actor_username="planner.one",
                    action="lead.create",
                    entity_type="lead",
                    entity_id=f"LEAD-2026-{i:05d}",
                    after={"customer_name": f"Customer {i}"},
                )
            )
        # an unlock by root on 2 March, and a failed login typed by anyone on 3 March
        s.add(
            AuditEvent(
                created_at=BASE,
                actor_id=admin.id,
                actor_username="root",
                action="user.unlock",
                entity_type="app_user",
                entity_id=str(ops.id),
                before={"failed_login_count": 5},
                after={"failed_login_count": 0, "note": HOSTILE},
            )
        )
        s.add(
            AuditEvent(
                created_at=BASE + timedelta(days=1),
                actor_username=HOSTILE,
                action="auth.login_failed",
                entity_type="app_user",
                after={"reason": "unknown_user", "username": HOSTILE},
            )
        )
        return {
            "engine": app_engine,
            "admin": actor_of(admin),
            "manager": actor_of(manager),
            "ops": actor_of(ops),
            "ops_id": str(ops.id),
        }


def _page(actor) -> AppTest:  # type: ignore[no-untyped-def]
    at = AppTest.from_file(AUDIT_PAGE, default_timeout=30)
    at.session_state["actor"] = actor
    return at.run()


def _apply(at: AppTest, **values) -> AppTest:  # type: ignore[no-untyped-def]
    for key, value in values.items():
        widget = at.get("text_input") + at.get("selectbox") + at.get("date_input")
        element = next(w for w in widget if w.key == f"audit_f_{key}")
        element.set_value(value)
    return at.button(key="audit_f_submit").click().run()


def _table(at: AppTest):  # type: ignore[no-untyped-def]
    return at.dataframe[0].value


def test_admin_sees_newest_first_with_paging(db: dict) -> None:
    at = _page(db["admin"])
    assert not at.exception
    assert [t.value for t in at.title] == ["Audit log"]
    assert at.caption[0].value == "Events 1–50 of 62 (newest first)"
    table = _table(at)
    assert list(table.columns) == [
        "When",
        "Actor",
        "Action",
        "Entity",
        "Entity id",
        "Before",
        "After",
    ]
    assert list(table["Action"][:3]) == ["auth.login_failed", "user.unlock", "lead.create"]
    assert table["When"][1] == "02 Mar 2026 11:30:00"  # local time
    assert table["Before"][1] == '{"failed_login_count": 5}'
    assert table["Entity id"][2] == "LEAD-2026-00000"

    at.number_input(key="audit_page").set_value(2).run()
    assert at.caption[0].value == "Events 51–62 of 62 (newest first)"
    assert list(_table(at)["Entity id"])[-1] == "LEAD-2026-00059"
    # a new filter starts again on page 1
    _apply(at, actor="PLANNER")
    assert at.caption[0].value == "Events 1–50 of 60 (newest first)"


def test_filters(db: dict) -> None:
    at = _page(db["admin"])
    options = at.selectbox(key="audit_f_action").options
    assert options == [
        "All",
        "auth.* (all)",
        "lead.* (all)",
        "user.* (all)",
        "auth.login_failed",
        "lead.create",
        "user.unlock",
    ]
    assert at.selectbox(key="audit_f_type").options == ["All", "app_user", "lead"]

    _apply(at, action="user.* (all)")
    assert list(_table(at)["Action"]) == ["user.unlock"]
    _apply(at, action="auth.login_failed")
    assert list(_table(at)["Action"]) == ["auth.login_failed"]
    _apply(at, action="All", type="app_user")
    assert len(_table(at)) == 2
    _apply(at, type="All", search=db["ops_id"][:8])  # a part of the user's id
    assert list(_table(at)["Action"]) == ["user.unlock"]
    _apply(at, search="customer 42")  # text inside "after"
    assert list(_table(at)["Entity id"]) == ["LEAD-2026-00042"]
    _apply(at, search="", **{"from": date(2026, 3, 2), "to": date(2026, 3, 2)})
    assert list(_table(at)["Action"]) == ["user.unlock"]
    _apply(at, **{"from": date(2026, 3, 4), "to": None})
    assert at.info[0].value == "No audit events match these filters."
    assert len(at.dataframe) == 0
    _apply(at, **{"from": date(2026, 3, 3), "to": date(2026, 3, 1)})
    assert "start date is after the end date" in at.error[0].value
    assert len(at.dataframe) == 0


def test_detail_shows_hostile_text_literally(db: dict) -> None:
    at = _page(db["admin"])
    detail = at.selectbox(key="audit_detail")
    assert len(detail.options) == 50  # the events of this page, labelled
    assert detail.index == 0
    assert detail.options[0] == "1. 03 Mar 2026 11:30:00 · auth.login_failed"
    header = at.markdown[0].value  # nothing else is written above it
    html = MarkdownIt("commonmark").render(header)
    assert "<script" not in html and "<strong>bold</strong>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; **bold**" in html
    assert [j.value for j in at.json] == [
        '{"reason": "unknown_user", "username": "<script>alert(1)</script> **bold**"}'
    ]
    assert HOSTILE in list(_table(at)["Actor"])  # a table cell is plain text

    assert detail.options[1] == "2. 02 Mar 2026 11:30:00 · user.unlock"
    at.selectbox(key="audit_detail").select_index(1).run()
    assert "user.unlock" in at.markdown[0].value.replace("\\", "")
    assert len(at.json) == 2  # before and after
    assert '"failed_login_count": 5' in at.json[0].value

    # a filter that leaves other events: the detail follows to the first of them
    _apply(at, action="lead.create")
    assert (
        at.selectbox(key="audit_detail")
        .format_func(at.selectbox(key="audit_detail").value)
        .endswith("· lead.create")
    )
    assert "lead.create" in at.markdown[0].value.replace("\\", "")
    assert '"customer_name": "Customer 0"' in at.json[0].value


def test_csv_export_button(db: dict) -> None:
    at = _page(db["admin"])
    (button,) = [b for b in at.get("download_button") if b.key == "audit_csv"]
    assert button.proto.label == "Download CSV (the newest 62 matching events)"
    assert button.proto.deferred_file_id  # built on click, from the same filters
    assert button.proto.ignore_rerun


def test_manager_may_read(db: dict) -> None:
    at = _page(db["manager"])
    assert not at.exception and not at.error
    assert at.caption[0].value == "Events 1–50 of 62 (newest first)"


def test_other_roles_are_refused(db: dict) -> None:
    at = _page(db["ops"])  # central_ops: no audit.read
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Only administrators and managers can read the audit log."
    ]
    assert len(at.dataframe) == 0 and len(at.json) == 0 and len(at.text_input) == 0


def test_needs_login(db: dict) -> None:
    at = AppTest.from_file(AUDIT_PAGE, default_timeout=30).run()
    assert [e.value for e in at.error] == ["Please log in."]
    assert len(at.dataframe) == 0
