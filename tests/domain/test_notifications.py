"""SLA-at-risk notifications (business-day deadlines, idempotency) and the inbox."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from db.engine import session_scope
from domain.accounts.models import AuditEvent, Oem, Zone
from domain.errors import NotFound, PermissionDenied, ValidationError
from domain.leads.models import Lead
from domain.notifications.models import Notification
from domain.notifications.queries import inbox, unread_count
from domain.notifications.service import mark_read, notify_sla_at_risk
from tests.factories import actor_of, make_oem, make_user, make_zone

# Gandhi Jayanti, Friday 2026-10-02, is a national holiday; Sundays are not business days.
MONDAY = date(2026, 10, 5)
TUESDAY = date(2026, 10, 6)


def _ist(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    """An IST wall-clock time as an aware UTC datetime (IST = UTC+05:30)."""
    return datetime(y, m, d, hh, mm, tzinfo=UTC) - timedelta(hours=5, minutes=30)


def _lead(
    s: Session, oem: Oem, zone: Zone, ref: str, received_at: datetime, status: str = "new"
) -> uuid.UUID:
    lead = Lead(
        ref=ref,
        oem_id=oem.id,
        oem_lead_ref=f"OEM-{ref}",
        customer_name=f"Customer {ref[-2:]}",
        phone="+919812345678",
        address="12 MG Road",
        city="Bengaluru",
        pincode="560001",
        zone_id=zone.id,
        received_at=received_at,
        status=status,
    )
    s.add(lead)
    s.flush()
    return lead.id


@pytest.fixture
def leads(engine: Engine) -> dict[str, uuid.UUID]:
    """Hand-built leads around Monday 2026-10-05 for an OEM with a 7-business-day target."""
    with session_scope(engine) as s:
        zone = make_zone(s)
        oem7 = make_oem(s, code="TATA", sla_install_days=7)
        oem10 = make_oem(s, code="MG", sla_install_days=10)
        ids = {
            # Sat 26 Sep: 28,29,30 Sep, 1,3,5,6 Oct -> deadline Tue 6 Oct (tomorrow)
            "tomorrow": _lead(s, oem7, zone, "LEAD-2026-00001", _ist(2026, 9, 26)),
            # Mon 28 Sep: 29,30 Sep, 1 Oct, (2 Oct holiday), 3,5,6,7 Oct -> Wed 7 Oct;
            # without the holiday it would be Tue 6 Oct and at risk on Monday.
            "holiday_shifted": _lead(s, oem7, zone, "LEAD-2026-00002", _ist(2026, 9, 28)),
            # received today by an OEM with a 10-day target -> due in 10 business days
            "ten_days": _lead(s, oem10, zone, "LEAD-2026-00003", _ist(2026, 10, 5)),
            # installed / closed / cancelled leads are never at risk, however old
            "installed": _lead(s, oem7, zone, "LEAD-2026-00004", _ist(2026, 8, 1), "installed"),
            "closed": _lead(s, oem7, zone, "LEAD-2026-00005", _ist(2026, 8, 1), "closed"),
            "cancelled": _lead(s, oem7, zone, "LEAD-2026-00006", _ist(2026, 8, 1), "cancelled"),
            # open and long breached (Sat 1 Aug: 3-8, 10 Aug -> Mon 10 Aug)
            "breached": _lead(
                s, oem7, zone, "LEAD-2026-00007", _ist(2026, 8, 1), "installation_scheduled"
            ),
            # 25 Sep 19:00 UTC is 26 Sep 00:30 IST: the local date counts -> deadline 6 Oct
            "late_night": _lead(
                s, oem7, zone, "LEAD-2026-00008", datetime(2026, 9, 25, 19, 0, tzinfo=UTC)
            ),
        }
    return ids


def _notifications(engine: Engine) -> dict[str, SimpleNamespace]:
    """Every notification as plain data, by entity id."""
    cols = [c.key for c in Notification.__table__.columns]
    with session_scope(engine, readonly=True) as s:
        rows = s.execute(select(Notification)).scalars().all()
        return {n.entity_id: SimpleNamespace(**{c: getattr(n, c) for c in cols}) for n in rows}


def test_ist_helper() -> None:
    assert _ist(2026, 10, 5, 10, 0) == datetime(2026, 10, 5, 4, 30, tzinfo=UTC)


def test_notifies_leads_due_by_next_business_day(engine: Engine, leads) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        created = notify_sla_at_risk(s, today=MONDAY)
    assert created == 3
    by_lead = _notifications(engine)
    expected = {
        str(leads["tomorrow"]): date(2026, 10, 6),
        str(leads["late_night"]): date(2026, 10, 6),
        str(leads["breached"]): date(2026, 8, 10),
    }
    assert {k: v.dedupe_key for k, v in by_lead.items()} == {
        k: f"sla_at_risk:{k}:{d.isoformat()}" for k, d in expected.items()
    }
    n = by_lead[str(leads["tomorrow"])]
    assert n.kind == "sla_at_risk"
    assert n.recipient_role == "central_ops" and n.recipient_user_id is None
    assert n.entity_type == "lead"
    assert "LEAD-2026-00001" in n.subject and "06 Oct 2026" in n.subject
    assert n.subject.startswith("SLA at risk")
    # due at the end of Tue 6 Oct, local time = 18:30 UTC
    assert n.due_at == datetime(2026, 10, 6, 18, 30, tzinfo=UTC)
    assert n.read_at is None
    breached = by_lead[str(leads["breached"])]
    assert breached.subject.startswith("SLA breached") and "10 Aug 2026" in breached.subject
    with session_scope(engine, readonly=True) as s:
        ev = s.execute(
            select(AuditEvent).where(AuditEvent.action == "notification.sla_at_risk")
        ).scalar_one()
        assert ev.after["created"] == 3 and ev.actor_username == "system"


def test_second_run_creates_nothing(engine: Engine, leads) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        assert notify_sla_at_risk(s, today=MONDAY) == 3
    with session_scope(engine) as s:
        assert notify_sla_at_risk(s, today=MONDAY) == 0
    with session_scope(engine, readonly=True) as s:
        assert s.execute(select(func.count()).select_from(Notification)).scalar_one() == 3
        # no audit event for a run that created nothing
        assert (
            s.execute(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "notification.sla_at_risk")
            ).scalar_one()
            == 1
        )


def test_holiday_shifts_the_deadline(engine: Engine, leads) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        notify_sla_at_risk(s, today=MONDAY)
    assert str(leads["holiday_shifted"]) not in _notifications(engine)
    # one business day later the shifted deadline (Wed 7 Oct) is tomorrow
    with session_scope(engine) as s:
        assert notify_sla_at_risk(s, today=TUESDAY) == 1
    n = _notifications(engine)[str(leads["holiday_shifted"])]
    assert n.dedupe_key.endswith(":2026-10-07")
    assert "LEAD-2026-00002" in n.subject and "07 Oct 2026" in n.subject
    for key in ("ten_days", "installed", "closed", "cancelled"):
        assert str(leads[key]) not in _notifications(engine)


def test_horizon_zero_only_due_today_or_overdue(engine: Engine, leads) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        assert notify_sla_at_risk(s, today=MONDAY, horizon_business_days=0) == 1
    assert set(_notifications(engine)) == {str(leads["breached"])}
    with session_scope(engine) as s, pytest.raises(ValidationError):
        notify_sla_at_risk(s, today=MONDAY, horizon_business_days=-1)


def test_status_change_stops_alerts(engine: Engine, leads) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        s.get(Lead, leads["tomorrow"]).status = "installed"  # type: ignore[union-attr]
        s.get(Lead, leads["late_night"]).status = "cancelled"  # type: ignore[union-attr]
    with session_scope(engine) as s:
        assert notify_sla_at_risk(s, today=MONDAY) == 1
    assert set(_notifications(engine)) == {str(leads["breached"])}


def test_inbox_and_mark_read(engine: Engine, leads) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        notify_sla_at_risk(s, today=MONDAY)
        ops = actor_of(make_user(s, "central_ops", username="ops1"))
        ops2 = actor_of(make_user(s, "central_ops", username="ops2"))
        fe = actor_of(make_user(s, "field_engineer", username="fe1"))
        s.add(
            Notification(
                kind="reminder",
                recipient_user_id=fe.user_id,
                subject="Submit your daily log",
                dedupe_key="reminder:test",
            )
        )
    with session_scope(engine, readonly=True) as s:
        ops_box = inbox(s, ops)
        fe_box = inbox(s, fe)
        assert unread_count(s, ops) == 3
    assert {n.kind for n in ops_box} == {"sla_at_risk"} and len(ops_box) == 3
    assert [n.subject for n in fe_box] == ["Submit your daily log"]
    # ordered by due date within the batch: the breached lead first
    assert ops_box[0].entity_id == str(leads["breached"])

    target = ops_box[0].id
    with session_scope(engine) as s:
        dto = mark_read(s, ops, notification_id=target)
    assert dto.is_read and dto.read_at is not None
    with session_scope(engine, readonly=True) as s:
        # role-addressed: read for the whole role
        assert target not in {n.id for n in inbox(s, ops2, unread_only=True)}
        assert len(inbox(s, ops2, unread_only=True)) == 2
        assert len(inbox(s, ops2)) == 3
        assert len(inbox(s, ops, limit=1)) == 1
        ev = s.execute(
            select(AuditEvent).where(AuditEvent.action == "notification.mark_read")
        ).scalar_one()
        assert ev.entity_id == str(target) and ev.actor_username == "ops1"

    # not the recipient -> NotFound; unknown id -> NotFound
    with session_scope(engine) as s, pytest.raises(NotFound):
        mark_read(s, fe, notification_id=ops_box[1].id)
    with session_scope(engine) as s, pytest.raises(NotFound):
        mark_read(s, ops, notification_id=uuid.uuid4())
    # marking again changes nothing
    with session_scope(engine) as s:
        again = mark_read(s, ops2, notification_id=target)
    assert again.read_at == dto.read_at


def test_inbox_requires_permission(engine: Engine) -> None:
    from domain.actor import Actor

    stranger = Actor(user_id=uuid.uuid4(), username="x", role="nobody")
    with session_scope(engine, readonly=True) as s, pytest.raises(PermissionDenied):
        inbox(s, stranger)
