"""Notifications page (AppTest): inbox for the user and role, unread filter, mark read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

import domain.models  # noqa: F401
from db.engine import session_scope
from domain.notifications.models import Notification
from tests.factories import actor_of, make_user

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "notifications.py")
T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def _note(
    s: Any, key: str, subject: str, *, user: Any = None, role: str | None = None, **kw: Any
) -> Notification:
    n = Notification(
        kind=kw.pop("kind", "reminder"),
        recipient_user_id=user.id if user else None,
        recipient_role=role,
        subject=subject,
        body=kw.pop("body", f"Body of {subject}"),
        dedupe_key=key,
        **kw,
    )
    s.add(n)
    s.flush()
    return n


@pytest.fixture
def world(app_engine: Engine) -> dict[str, Any]:
    with session_scope(app_engine) as s:
        ops = make_user(s, "central_ops", "ops-one")
        other = make_user(s, "central_ops", "ops-two")
        _note(
            s,
            "k1",
            "Call customer for INS-2026-00001",
            user=ops,
            kind="confirmation_call_due",
            created_at=T0,
            due_at=T0 + timedelta(hours=4),
        )
        _note(
            s,
            "k2",
            "SLA at risk: LEAD-2026-00007",
            role="central_ops",
            kind="sla_at_risk",
            created_at=T0 + timedelta(hours=1),
        )
        _note(
            s,
            "k3",
            "Old news",
            role="central_ops",
            created_at=T0 - timedelta(days=2),
            read_at=T0 - timedelta(days=1),
        )
        _note(s, "k4", "For someone else", user=other, created_at=T0)
        _note(s, "k5", "Stock low at BLR", role="procurement", kind="reorder_alert", created_at=T0)
        return {"engine": app_engine, "ops": actor_of(ops)}


def _open(actor: Any) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["actor"] = actor
    return at.run()


def _subjects(at: AppTest) -> list[str]:
    table = next(df.value for df in at.dataframe if "Subject" in df.value.columns)
    return list(table["Subject"])


def test_inbox_shows_own_and_role_notifications(world: dict[str, Any]) -> None:
    at = _open(world["ops"])
    assert not at.exception
    assert [t.value for t in at.title] == ["Notifications"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Unread"] == "2"
    assert _subjects(at) == [
        "SLA at risk: LEAD-2026-00007",
        "Call customer for INS-2026-00001",
        "Old news",
    ]
    text = " ".join(m.value for m in at.markdown)
    assert "For someone else" not in text and "Stock low" not in text
    assert len([b for b in at.button if b.key and b.key.startswith("notif_read_")]) == 2

    at.toggle(key="notif_unread_only").set_value(True).run()
    assert not at.exception
    assert "Old news" not in _subjects(at)
    assert len(_subjects(at)) == 2


def test_mark_one_then_all_read(world: dict[str, Any]) -> None:
    at = _open(world["ops"])
    with session_scope(world["engine"]) as s:
        k1 = s.execute(select(Notification.id).where(Notification.dedupe_key == "k1")).scalar_one()
    at.button(key=f"notif_read_{k1}").click().run()
    assert not at.exception
    assert any("Marked read: Call customer" in x.value for x in at.success)
    assert {m.label: m.value for m in at.metric}["Unread"] == "1"
    with session_scope(world["engine"]) as s:
        assert s.get(Notification, k1).read_at is not None

    at.button(key="notif_mark_all").click().run()
    assert not at.exception
    assert any("1 notification(s) marked as read." in x.value for x in at.success)
    assert {m.label: m.value for m in at.metric}["Unread"] == "0"
    with session_scope(world["engine"]) as s:
        unread = s.execute(
            select(Notification.dedupe_key).where(Notification.read_at.is_(None))
        ).scalars()
        assert set(unread) == {"k4", "k5"}  # not addressed to ops: untouched
    at.toggle(key="notif_unread_only").set_value(True).run()
    assert any("No unread notifications." in i.value for i in at.info)
