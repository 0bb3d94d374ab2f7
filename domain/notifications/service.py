"""notifications commands: the SLA-at-risk alert job and marking a notification read.

Jobs create notifications idempotently: every notification has a unique ``dedupe_key`` and is
inserted with ``INSERT ... ON CONFLICT (dedupe_key) DO NOTHING`` (PostgreSQL and SQLite), so a
job that runs twice, or on two sidecars at once, creates each notification once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.types import utcnow
from domain import audit
from domain.accounts.models import Oem, Zone
from domain.actor import SYSTEM, Actor
from domain.calendar import add_business_days, local_date, local_midnight_utc
from domain.errors import NotFound, ValidationError
from domain.leads.models import Lead
from domain.notifications.models import Notification
from domain.notifications.queries import NotificationDTO, addressed_to, to_dto
from domain.permissions import require

#: Lead statuses after which the installation SLA no longer applies.
CLOSED_LEAD_STATUSES = ("installed", "closed", "cancelled")
SLA_RECIPIENT_ROLE = "central_ops"


@dataclass(frozen=True)
class SlaCandidate:
    """One open lead with its installation SLA deadline (local date)."""

    lead_id: uuid.UUID
    ref: str
    customer_name: str
    oem_code: str
    received_on: date
    target_days: int
    deadline: date


def sla_install_deadline(received_on: date, target_days: int, subdiv: str | None) -> date:
    """Installation SLA deadline: ``target_days`` business days after the local received date.

    Business days are Monday-Saturday minus Indian public holidays of the zone's state
    (DESIGN.md "Definitions"; ``domain.calendar.add_business_days``).
    """
    return add_business_days(received_on, target_days, subdiv)


def open_leads_at_risk(
    session: Session, *, today: date, horizon_business_days: int = 1
) -> list[SlaCandidate]:
    """Open leads whose installation deadline is at most ``horizon_business_days`` business days
    after ``today`` (local date), including those already past their deadline.

    Every lead not ``installed/closed/cancelled`` is a candidate however old (a breached lead is
    still at risk); the status filter runs in SQL (indexed), the business-day deadline per lead
    in Python (memoised per received date, target and state).

    Returns:
        Candidates ordered by deadline, then lead ref.
    """
    rows = session.execute(
        select(
            Lead.id,
            Lead.ref,
            Lead.customer_name,
            Lead.received_at,
            Oem.code,
            Oem.sla_install_days,
            Zone.holiday_subdiv,
        )
        .join(Oem, Oem.id == Lead.oem_id)
        .join(Zone, Zone.id == Lead.zone_id)
        .where(Lead.status.not_in(CLOSED_LEAD_STATUSES))
    ).all()
    horizon_by_subdiv: dict[str | None, date] = {}
    deadlines: dict[tuple[date, int, str | None], date] = {}
    out: list[SlaCandidate] = []
    for r in rows:
        subdiv = r.holiday_subdiv
        if subdiv not in horizon_by_subdiv:
            horizon_by_subdiv[subdiv] = add_business_days(today, horizon_business_days, subdiv)
        received_on = local_date(r.received_at)
        key = (received_on, r.sla_install_days, subdiv)
        if key not in deadlines:
            deadlines[key] = sla_install_deadline(received_on, r.sla_install_days, subdiv)
        deadline = deadlines[key]
        if deadline <= horizon_by_subdiv[subdiv]:
            out.append(
                SlaCandidate(
                    lead_id=r.id,
                    ref=r.ref,
                    customer_name=r.customer_name,
                    oem_code=r.code,
                    received_on=received_on,
                    target_days=r.sla_install_days,
                    deadline=deadline,
                )
            )
    out.sort(key=lambda c: (c.deadline, c.ref))
    return out


def sla_dedupe_key(lead_id: uuid.UUID, deadline: date) -> str:
    """``sla_at_risk:<lead_id>:<deadline ISO>`` — one alert per lead and deadline."""
    return f"sla_at_risk:{lead_id}:{deadline.isoformat()}"


def _sla_row(c: SlaCandidate, today: date, now: Any) -> dict[str, Any]:
    overdue = c.deadline < today
    when = f"{c.deadline:%d %b %Y}"
    subject = (
        f"SLA breached: {c.ref} installation was due {when}"
        if overdue
        else f"SLA at risk: {c.ref} installation due {when}"
    )
    body = (
        f"Lead {c.ref} ({c.customer_name}, OEM {c.oem_code}) was received on "
        f"{c.received_on:%d %b %Y}; the OEM's installation target is {c.target_days} business "
        f"days, so the installation is due by {when}."
        + (" The deadline has passed." if overdue else " Schedule or escalate it now.")
    )
    return {
        "id": uuid.uuid4(),
        "created_at": now,
        "kind": "sla_at_risk",
        "recipient_user_id": None,
        "recipient_role": SLA_RECIPIENT_ROLE,
        "subject": subject[:200],
        "body": body,
        "entity_type": "lead",
        "entity_id": str(c.lead_id),
        # due at the end of the deadline's local day
        "due_at": local_midnight_utc(c.deadline + timedelta(days=1)),
        "read_at": None,
        "sent_at": None,
        "dedupe_key": sla_dedupe_key(c.lead_id, c.deadline),
    }


def insert_notifications(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert notification rows, skipping any whose ``dedupe_key`` already exists.

    Args:
        rows: dicts of ``notification`` columns (``id``, ``created_at`` and ``dedupe_key``
            included).

    Returns:
        How many rows were inserted (duplicates, even concurrent ones, are not counted).
    """
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    ins = (postgresql if dialect == "postgresql" else sqlite).insert(Notification)
    stmt = ins.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(Notification.id)
    created = 0
    for i in range(0, len(rows), 500):
        created += len(session.execute(stmt, rows[i : i + 500]).all())
    return created


def notify_sla_at_risk(session: Session, *, today: date, horizon_business_days: int = 1) -> int:
    """Alert central ops about open leads whose installation SLA is at risk or breached.

    For every lead not ``installed/closed/cancelled`` whose installation deadline
    (``add_business_days(local received date, oem.sla_install_days, zone.holiday_subdiv)``) is
    on or before ``add_business_days(today, horizon_business_days)``, creates ONE notification
    (kind ``sla_at_risk``, role ``central_ops``, subject with the lead ref and deadline, entity
    ``lead``, ``due_at`` = end of the deadline's local day) keyed
    ``sla_at_risk:<lead_id>:<deadline>``, so running it again creates nothing new. Writes one
    ``notification.sla_at_risk`` audit event (actor SYSTEM) when it created any.

    Args:
        today: the local date the job runs for.
        horizon_business_days: business days of look-ahead (0 = due today or overdue).

    Returns:
        Number of notifications created by this call.

    Raises:
        ValidationError: negative horizon.
    """
    if horizon_business_days < 0:
        raise ValidationError({"horizon_business_days": "must be 0 or more"})
    candidates = open_leads_at_risk(
        session, today=today, horizon_business_days=horizon_business_days
    )
    now = utcnow()
    created = insert_notifications(session, [_sla_row(c, today, now) for c in candidates])
    session.flush()
    if created:
        audit.record(
            session,
            SYSTEM,
            "notification.sla_at_risk",
            entity_type="notification",
            after={
                "today": today,
                "horizon_business_days": horizon_business_days,
                "at_risk": len(candidates),
                "created": created,
            },
        )
        session.flush()
    return created


def mark_read(session: Session, actor: Actor, *, notification_id: uuid.UUID) -> NotificationDTO:
    """Mark a notification addressed to the actor (by user or by role) as read.

    Role-addressed notifications are shared by the role: reading marks it read for the role.
    Marking an already-read notification again changes nothing and writes no audit event.

    Raises:
        PermissionDenied: without ``notification.read``.
        NotFound: no such notification, or it is not addressed to the actor.
    """
    require(actor, "notification.read")
    n = session.execute(
        select(Notification).where(Notification.id == notification_id, addressed_to(actor))
    ).scalar_one_or_none()
    if n is None:
        raise NotFound("notification not found")
    if n.read_at is None:
        n.read_at = utcnow()
        session.flush()
        audit.record(
            session,
            actor,
            "notification.mark_read",
            entity_type="notification",
            entity_id=n.id,
            before={"read_at": None},
            after={"read_at": n.read_at},
        )
        session.flush()
    return to_dto(n)
