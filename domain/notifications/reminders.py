"""Confirmation-call reminders (issue 3 item 4, seed 001 "Track pre-installation customer
confirmation"): the day before a job, every unconfirmed open installation raises a
``confirmation_call_due`` notification for central ops.

Which jobs are "tomorrow" (local dates, zone ``Asia/Kolkata`` by default):

* the installations scheduled for ``today + 1``;
* when ``today + 1`` is a Sunday (no business day: the Saturday run is the last one before the
  week starts), also those scheduled for the Monday after (``today + 2``), so Monday's jobs are
  called on Saturday. Public holidays are not skipped: the rule is calendar days, which is what
  planners expect ("call the day before").

A job scheduled for Monday is therefore a candidate on Saturday and again on Sunday; the
``dedupe_key`` ``confirmation_call_due:<installation_id>:<scheduled_date>`` makes the second
run create nothing. A job rescheduled to another date gets a new key and a new reminder.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.types import utcnow
from domain import audit
from domain.actor import SYSTEM
from domain.calendar import local_zone
from domain.installations.models import Installation
from domain.leads.models import Lead
from domain.notifications.service import insert_notifications

#: Installation statuses still waiting for the customer's confirmation call.
OPEN_UNCONFIRMED_STATUSES = ("planned", "material_pending", "material_ready")
CONFIRMATION_RECIPIENT_ROLE = "central_ops"
#: Local time of day by which the call should be made (the reminder's ``due_at``).
CALL_DUE_LOCAL_TIME = time(18, 0)


@dataclass(frozen=True)
class ConfirmationCallCandidate:
    """One open, unconfirmed installation scheduled for a target date, with contact data."""

    installation_id: uuid.UUID
    ref: str
    lead_ref: str
    customer_name: str
    phone: str
    address: str
    city: str
    pincode: str
    scheduled_date: date
    time_slot: str | None


def confirmation_call_dates(today: date) -> tuple[date, ...]:
    """Scheduled dates whose customers are called on local date ``today``.

    ``(today + 1,)``, or ``(Sunday, Monday)`` when ``today + 1`` is a Sunday (i.e. on
    Saturdays).
    """
    tomorrow = today + timedelta(days=1)
    if tomorrow.weekday() == 6:  # Sunday: Monday's customers are called on Saturday too
        return (tomorrow, tomorrow + timedelta(days=1))
    return (tomorrow,)


def confirmation_calls_due(session: Session, *, today: date) -> list[ConfirmationCallCandidate]:
    """Installations needing a confirmation call on local date ``today``.

    Installations whose ``scheduled_date`` is one of ``confirmation_call_dates(today)``, whose
    ``customer_confirmed`` is False and whose status is ``planned``, ``material_pending`` or
    ``material_ready`` (filtered in SQL on the indexed ``scheduled_date``).

    Returns:
        Candidates ordered by scheduled date, time slot and installation ref.
    """
    rows = session.execute(
        select(
            Installation.id,
            Installation.ref,
            Installation.scheduled_date,
            Installation.time_slot,
            Lead.ref.label("lead_ref"),
            Lead.customer_name,
            Lead.phone,
            Lead.address,
            Lead.city,
            Lead.pincode,
        )
        .join(Lead, Lead.id == Installation.lead_id)
        .where(
            Installation.scheduled_date.in_(confirmation_call_dates(today)),
            Installation.customer_confirmed.is_(False),
            Installation.status.in_(OPEN_UNCONFIRMED_STATUSES),
        )
        .order_by(Installation.scheduled_date, Installation.time_slot, Installation.ref)
    ).all()
    return [
        ConfirmationCallCandidate(
            installation_id=r.id,
            ref=r.ref,
            lead_ref=r.lead_ref,
            customer_name=r.customer_name,
            phone=r.phone,
            address=r.address,
            city=r.city,
            pincode=r.pincode,
            scheduled_date=r.scheduled_date,
            time_slot=r.time_slot,
        )
        for r in rows
    ]


def confirmation_dedupe_key(installation_id: uuid.UUID, scheduled_date: date) -> str:
    """``confirmation_call_due:<installation_id>:<scheduled date ISO>`` — one reminder per
    installation and scheduled date."""
    return f"confirmation_call_due:{installation_id}:{scheduled_date.isoformat()}"


def call_due_at(today: date) -> datetime:
    """The UTC instant of 18:00 local time on ``today`` (when the call should be done by)."""
    return datetime.combine(today, CALL_DUE_LOCAL_TIME, tzinfo=local_zone()).astimezone(UTC)


def _row(c: ConfirmationCallCandidate, due_at: datetime, now: datetime) -> dict[str, Any]:
    slot = f"slot {c.time_slot}" if c.time_slot else "no slot set"
    subject = (
        f"Confirmation call due: {c.ref} {c.customer_name}, {c.scheduled_date:%a %d %b %Y} {slot}"
    )
    body = (
        f"Call {c.customer_name} on {c.phone} to confirm installation {c.ref} (lead "
        f"{c.lead_ref}) on {c.scheduled_date:%a %d %b %Y}, {slot}. Address: {c.address}, "
        f"{c.city} {c.pincode}. Record the outcome on the installation."
    )
    return {
        "id": uuid.uuid4(),
        "created_at": now,
        "kind": "confirmation_call_due",
        "recipient_user_id": None,
        "recipient_role": CONFIRMATION_RECIPIENT_ROLE,
        "subject": subject[:200],
        "body": body,
        "entity_type": "installation",
        "entity_id": str(c.installation_id),
        "due_at": due_at,
        "read_at": None,
        "sent_at": None,
        "dedupe_key": confirmation_dedupe_key(c.installation_id, c.scheduled_date),
    }


def notify_confirmation_calls_due(session: Session, *, today: date) -> int:
    """Remind central ops to call the customers of tomorrow's unconfirmed installations.

    For every installation from ``confirmation_calls_due(session, today=today)`` (scheduled
    for ``today + 1``, plus Monday when that is a Sunday; not ``customer_confirmed``; status
    ``planned | material_pending | material_ready``) creates ONE notification: kind
    ``confirmation_call_due``, role ``central_ops``, subject with the installation ref, customer
    name, date and time slot, body with phone and address, entity ``installation``,
    ``due_at`` = 18:00 local on ``today`` (as UTC), keyed
    ``confirmation_call_due:<installation_id>:<scheduled_date>`` (inserted with ON CONFLICT
    DO NOTHING, so running it again, even concurrently, creates nothing new). Writes one
    ``notification.confirmation_call_due`` audit event (actor SYSTEM) when it created any.
    Never commits.

    Args:
        today: the local date the job runs for.

    Returns:
        Number of notifications created by this call.
    """
    candidates = confirmation_calls_due(session, today=today)
    now = utcnow()
    due_at = call_due_at(today)
    created = insert_notifications(session, [_row(c, due_at, now) for c in candidates])
    session.flush()
    if created:
        audit.record(
            session,
            SYSTEM,
            "notification.confirmation_call_due",
            entity_type="notification",
            after={
                "today": today,
                "scheduled_dates": list(confirmation_call_dates(today)),
                "due": len(candidates),
                "created": created,
            },
        )
        session.flush()
    return created
