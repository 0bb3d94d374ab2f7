"""Confirmation-call reminders (issue 3 item 4) on SQLite and PostgreSQL: the day before a job,
open unconfirmed installations raise one ``confirmation_call_due`` notification for central
ops; Saturday's run also covers Monday; running again creates nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, func, select

from db.engine import session_scope
from domain.accounts.models import AuditEvent
from domain.installations.models import Installation
from domain.leads.models import Lead
from domain.notifications.models import Notification
from domain.notifications.reminders import (
    confirmation_call_dates,
    confirmation_calls_due,
    notify_confirmation_calls_due,
)
from tests.domain.test_installations import InstWorld, add_installation, build_world

WEDNESDAY = date(2026, 11, 25)
THURSDAY = date(2026, 11, 26)
FRIDAY = date(2026, 11, 27)
SATURDAY = date(2026, 11, 28)
SUNDAY = date(2026, 11, 29)
MONDAY = date(2026, 11, 30)
TUESDAY = date(2026, 12, 1)
ACTION = "notification.confirmation_call_due"


@pytest.fixture
def world(engine: Engine) -> InstWorld:
    with session_scope(engine) as s:
        return build_world(s)


def _add(engine: Engine, w: InstWorld, **kw: object) -> uuid.UUID:
    kw.setdefault("customer_confirmed", False)
    kw.setdefault("material_ready", False)
    with session_scope(engine) as s:
        return add_installation(s, w, **kw)  # type: ignore[arg-type]


def _notifications(engine: Engine) -> dict[str, Notification]:
    """Notifications by entity id (detached, attributes loaded)."""
    with session_scope(engine, readonly=True) as s:
        rows = s.execute(select(Notification)).scalars().all()
        s.expunge_all()
    return {n.entity_id or "": n for n in rows}


def _audit_events(engine: Engine) -> list[AuditEvent]:
    with session_scope(engine, readonly=True) as s:
        rows = list(s.execute(select(AuditEvent).where(AuditEvent.action == ACTION)).scalars())
        s.expunge_all()
    return rows


def _run(engine: Engine, today: date) -> int:
    with session_scope(engine) as s:
        return notify_confirmation_calls_due(s, today=today)


def test_call_dates_rule() -> None:
    assert confirmation_call_dates(WEDNESDAY) == (THURSDAY,)
    assert confirmation_call_dates(FRIDAY) == (SATURDAY,)
    # Saturday: tomorrow is Sunday, so Monday's customers are called too
    assert confirmation_call_dates(SATURDAY) == (SUNDAY, MONDAY)
    assert confirmation_call_dates(SUNDAY) == (MONDAY,)
    # across a year end
    assert confirmation_call_dates(date(2026, 12, 31)) == (date(2027, 1, 1),)


def test_tomorrows_open_unconfirmed_jobs_are_notified(engine: Engine, world: InstWorld) -> None:
    due = {
        status: _add(engine, world, status=status, scheduled_date=THURSDAY, customer=f"C {status}")
        for status in ("planned", "material_pending", "material_ready")
    }
    not_due = [
        # customer already confirmed
        _add(engine, world, scheduled_date=THURSDAY, customer_confirmed=True),
        # closed or later states, even if the flag was never set
        _add(engine, world, status="cancelled", scheduled_date=THURSDAY),
        _add(engine, world, status="rescheduled", scheduled_date=THURSDAY),
        _add(engine, world, status="in_progress", scheduled_date=THURSDAY),
        # day after tomorrow, today, yesterday
        _add(engine, world, scheduled_date=FRIDAY),
        _add(engine, world, scheduled_date=WEDNESDAY),
        _add(engine, world, scheduled_date=date(2026, 11, 24)),
    ]
    with session_scope(engine, readonly=True) as s:
        listed = confirmation_calls_due(s, today=WEDNESDAY)
    assert {c.installation_id for c in listed} == set(due.values())

    assert _run(engine, WEDNESDAY) == 3
    by_inst = _notifications(engine)
    assert set(by_inst) == {str(i) for i in due.values()}
    assert not {str(i) for i in not_due} & set(by_inst)

    inst_id = due["planned"]
    with session_scope(engine, readonly=True) as s:
        inst = s.get(Installation, inst_id)
        assert inst is not None
        lead = s.get(Lead, inst.lead_id)
        assert lead is not None
        ref, phone, address = inst.ref, lead.phone, lead.address
    n = by_inst[str(inst_id)]
    assert n.kind == "confirmation_call_due"
    assert n.recipient_role == "central_ops" and n.recipient_user_id is None
    assert n.entity_type == "installation"
    assert n.dedupe_key == f"confirmation_call_due:{inst_id}:2026-11-26"
    assert ref in n.subject and "C planned" in n.subject and "09-12" in n.subject
    assert "26 Nov 2026" in n.subject
    assert phone in n.body and address in n.body
    # 18:00 Asia/Kolkata on the run day = 12:30 UTC
    assert n.due_at == datetime(2026, 11, 25, 12, 30, tzinfo=UTC)
    assert n.read_at is None and n.sent_at is None

    events = _audit_events(engine)
    assert len(events) == 1
    assert events[0].actor_username == "system"
    assert events[0].after is not None
    assert events[0].after["created"] == 3 and events[0].after["today"] == "2026-11-25"


def test_second_run_creates_nothing(engine: Engine, world: InstWorld) -> None:
    _add(engine, world, scheduled_date=THURSDAY)
    _add(engine, world, scheduled_date=THURSDAY, status="material_pending")
    assert _run(engine, WEDNESDAY) == 2
    assert _run(engine, WEDNESDAY) == 0
    with session_scope(engine, readonly=True) as s:
        assert s.execute(select(func.count()).select_from(Notification)).scalar_one() == 2
    # no audit event for a run that created nothing
    assert len(_audit_events(engine)) == 1


def test_nothing_due_creates_nothing_and_no_audit(engine: Engine, world: InstWorld) -> None:
    _add(engine, world, scheduled_date=THURSDAY, customer_confirmed=True)
    assert _run(engine, WEDNESDAY) == 0
    assert _notifications(engine) == {}
    assert _audit_events(engine) == []


def test_saturday_run_covers_sunday_and_monday(engine: Engine, world: InstWorld) -> None:
    sunday = _add(engine, world, scheduled_date=SUNDAY)
    monday = _add(engine, world, scheduled_date=MONDAY, time_slot="15-18")
    tuesday = _add(engine, world, scheduled_date=TUESDAY)
    assert _run(engine, SATURDAY) == 2
    by_inst = _notifications(engine)
    assert set(by_inst) == {str(sunday), str(monday)}
    assert by_inst[str(monday)].dedupe_key == f"confirmation_call_due:{monday}:2026-11-30"
    assert "30 Nov 2026" in by_inst[str(monday)].subject
    assert "15-18" in by_inst[str(monday)].subject
    # Sunday's run looks at Monday again: already reminded, nothing new
    assert _run(engine, SUNDAY) == 0
    # Monday's run reaches Tuesday
    assert _run(engine, MONDAY) == 1
    assert str(tuesday) in _notifications(engine)


def test_rescheduled_job_gets_a_new_reminder(engine: Engine, world: InstWorld) -> None:
    inst_id = _add(engine, world, scheduled_date=THURSDAY)
    assert _run(engine, WEDNESDAY) == 1
    with session_scope(engine) as s:
        inst = s.get(Installation, inst_id)
        assert inst is not None
        inst.scheduled_date = SATURDAY
    assert _run(engine, FRIDAY) == 1
    with session_scope(engine, readonly=True) as s:
        keys = set(s.execute(select(Notification.dedupe_key)).scalars())
    assert keys == {
        f"confirmation_call_due:{inst_id}:2026-11-26",
        f"confirmation_call_due:{inst_id}:2026-11-28",
    }
