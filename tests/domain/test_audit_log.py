"""The audit log reads (domain.audit): filters, paging, choices and the CSV export, on SQLite
and PostgreSQL."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, select

from db.engine import session_scope
from domain import audit
from domain.accounts.models import AuditEvent
from domain.actor import ROLES, Actor
from domain.errors import PermissionDenied, ValidationError
from domain.permissions import PERMISSIONS
from tests.factories import actor_of, make_user

# (UTC time, actor, action, entity type, entity id, after)
EVENTS = [
    (datetime(2026, 3, 1, 18, 29, tzinfo=UTC), "root", "user.create", "app_user", "u-1", None),
    # 18:30 UTC on 1 March is 00:00 on 2 March in Asia/Kolkata
    (datetime(2026, 3, 1, 18, 30, tzinfo=UTC), "root", "user.update", "app_user", "u-1", None),
    (datetime(2026, 3, 2, 9, 0, tzinfo=UTC), "Ops_Lead", "lead.create", "lead", "LEAD-1", None),
    (
        datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
        "=HYPERLINK(1)",
        "auth.login_failed",
        "app_user",
        None,
        {"reason": "unknown_user", "note": "Kiran <b>"},
    ),
    (datetime(2026, 3, 4, 9, 0, tzinfo=UTC), "root", "user_x.odd", "app_user", "u-2", None),
]


@pytest.fixture
def world(engine: Engine) -> dict:
    with session_scope(engine) as s:
        admin = make_user(s, role="admin", username="root")
        manager = make_user(s, role="manager", username="meera")
        for at, who, action, etype, eid, after in EVENTS:
            s.add(
                AuditEvent(
                    created_at=at,
                    actor_username=who,
                    action=action,
                    entity_type=etype,
                    entity_id=eid,
                    before={"n": 1} if action == "user.update" else None,
                    after=after,
                )
            )
        return {"admin": actor_of(admin), "manager": actor_of(manager)}


def _actions(engine: Engine, actor: Actor, **filters) -> list[str]:  # type: ignore[no-untyped-def]
    with session_scope(engine, readonly=True) as s:
        page = audit.list_events_page(s, actor, page_size=500, **filters)
    assert page.total == len(page.rows)
    return [r.action for r in page.rows]


def test_filters(engine: Engine, world: dict) -> None:
    admin = world["admin"]
    everything = _actions(engine, admin)
    assert everything == [
        "user_x.odd",
        "auth.login_failed",
        "lead.create",
        "user.update",
        "user.create",
    ]  # newest first
    assert _actions(engine, admin, actor_username="OPS_") == ["lead.create"]
    assert _actions(engine, admin, actor_username="%") == []  # wildcards are literal
    assert _actions(engine, admin, action="user.update") == ["user.update"]
    # the prefix is literal too: "user_" does not match "user."
    assert _actions(engine, admin, action_prefix="user.") == ["user.update", "user.create"]
    assert _actions(engine, admin, action_prefix="user_") == ["user_x.odd"]
    assert _actions(engine, admin, entity_type="lead") == ["lead.create"]
    assert _actions(engine, admin, entity_id="u-1") == ["user.update", "user.create"]
    assert _actions(engine, admin, search="kiran") == ["auth.login_failed"]  # in the JSON
    assert _actions(engine, admin, search="lead-1") == ["lead.create"]  # the entity id
    # local (IST) dates, both ends inclusive
    assert _actions(engine, admin, date_from=date(2026, 3, 2), date_to=date(2026, 3, 2)) == [
        "lead.create",
        "user.update",
    ]
    assert _actions(engine, admin, date_to=date(2026, 3, 1)) == ["user.create"]
    assert _actions(engine, admin, actor_username="root", date_from=date(2026, 3, 3)) == [
        "user_x.odd"
    ]
    with session_scope(engine) as s, pytest.raises(ValidationError) as caught:
        audit.list_events_page(s, admin, date_from=date(2026, 3, 3), date_to=date(2026, 3, 2))
    assert "date_from" in caught.value.errors


def test_paging(engine: Engine, world: dict) -> None:
    with session_scope(engine, readonly=True) as s:
        first = audit.list_events_page(s, world["manager"], page=1, page_size=2)
        third = audit.list_events_page(s, world["manager"], page=3, page_size=2)
        beyond = audit.list_events_page(s, world["manager"], page=9, page_size=2)
        for bad in ({"page": 0}, {"page_size": 0}, {"page_size": 501}):
            with pytest.raises(ValidationError):
                audit.list_events_page(s, world["manager"], **bad)
    assert (first.total, first.pages) == (5, 3)
    assert [r.action for r in first.rows] == ["user_x.odd", "auth.login_failed"]
    assert [r.action for r in third.rows] == ["user.create"]
    assert beyond.rows == () and beyond.total == 5
    frame = first.to_frame()
    assert list(frame.columns) == [
        "id",
        "at",
        "actor_username",
        "action",
        "entity_type",
        "entity_id",
        "before",
        "after",
    ]


def test_choices(engine: Engine, world: dict) -> None:
    with session_scope(engine, readonly=True) as s:
        choices = audit.audit_filter_choices(s, world["admin"])
    assert choices.actions == (
        "auth.login_failed",
        "lead.create",
        "user.create",
        "user.update",
        "user_x.odd",
    )
    assert choices.entity_types == ("app_user", "lead")
    assert choices.action_prefixes == ("auth.", "lead.", "user.", "user_x.")


def test_csv_export(engine: Engine, world: dict) -> None:
    with session_scope(engine, readonly=True) as s:
        data = audit.events_csv(s, world["admin"], entity_type="app_user")
        capped = audit.events_csv(s, world["admin"], max_rows=2)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == list(audit.CSV_COLUMNS)
    assert [r[2] for r in rows[1:]] == [
        "user_x.odd",
        "auth.login_failed",
        "user.update",
        "user.create",
    ]
    failed = rows[2]
    assert failed[0] == "2026-03-03T14:30:00+05:30"  # local time with its offset
    assert failed[1] == "'=HYPERLINK(1)"  # no formula in a spreadsheet
    assert failed[6] == '{"note": "Kiran <b>", "reason": "unknown_user"}'
    assert rows[3][5] == '{"n": 1}' and rows[3][6] == ""
    assert len(list(csv.reader(io.StringIO(capped.decode("utf-8-sig"))))) == 3


@pytest.mark.parametrize("role", sorted(set(ROLES) - PERMISSIONS["audit.read"]))
def test_only_audit_readers(engine: Engine, world: dict, role: str) -> None:
    outsider = Actor(user_id=uuid.uuid4(), username="outsider", role=role)
    for read in (audit.list_events_page, audit.audit_filter_choices, audit.events_csv):
        with session_scope(engine, readonly=True) as s, pytest.raises(PermissionDenied) as caught:
            read(s, outsider)
        assert caught.value.command == "audit.read"
    with session_scope(engine, readonly=True) as s:
        assert s.execute(select(AuditEvent).limit(1)).first() is not None
