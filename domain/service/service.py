"""Service-call commands (seed 002): the ticket says *what*, the visit says *when and who*.

Ticket lifecycle: ``open`` -> ``scheduled`` (a visit is booked) -> ``resolved`` -> ``closed``;
cancelling the last live visit of a scheduled ticket puts it back to ``open``; an ``open`` or
``scheduled`` ticket can be cancelled (``cancel_ticket``, its booked visits with it). A visit is
``booked`` -> ``completed`` or ``cancelled``.

Every command checks its permission first, validates (``ValidationError`` naming the
argument), changes rows, flushes and writes one audit event; it never commits. Field
engineers act only on tickets that have a visit of their own team (``PermissionDenied``).

Team double-booking: a team may hold one job per date and time slot across service visits,
installation assignments and surveys. A booked or completed visit holds a row of the shared
``team_slot_booking`` table (``domain.slots``) whose unique (team, date, slot) key makes the
database refuse a second job, even from a concurrent transaction; booking claims the row,
cancelling a visit (or its ticket) releases it. ``team_slot_clash`` is the friendly pre-check.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.types import utcnow
from domain import audit
from domain.accounts.models import INSTALL_LEVELS, FieldTeam
from domain.actor import Actor
from domain.calendar import local_date
from domain.errors import Conflict, NotFound, PermissionDenied, TransitionError, ValidationError
from domain.fields import FieldError, normalise_phone
from domain.installations.models import Installation
from domain.leads.models import Lead
from domain.permissions import can, require
from domain.refs import next_ref
from domain.scheduling import team_unavailability_reason, validate_slot
from domain.service.dto import TicketDTO, VisitDTO
from domain.service.models import ServiceTicket, ServiceVisit
from domain.slots import claim_team_slot, release_team_slot, slot_clash, slot_conflict_message

__all__ = [
    "INSTALLED_STATUSES",
    "LIVE_TICKET_STATUSES",
    "book_visit",
    "cancel_ticket",
    "cancel_visit",
    "close_ticket",
    "complete_visit",
    "may_cancel_ticket",
    "may_close",
    "open_ticket",
    "record_invoice",
    "resolve_ticket",
    "team_slot_clash",
    "update_ticket",
]

INSTALLED_STATUSES = ("completed", "report_submitted", "closed")
"""Installation statuses with a charger on the wall: a service ticket needs one of these."""

LIVE_TICKET_STATUSES = ("open", "scheduled")
"""Tickets that can still be edited, get visits and be resolved."""

CONTACT_MAX = 120
NATURE_MAX = 200
REASON_MAX = 300


def _today() -> date:
    """Today in the configured local zone (Asia/Kolkata)."""
    return local_date(utcnow())


def _text(value: str | None) -> str:
    return " ".join((value or "").split())


def _optional_text(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


def _as_date(value: Any, field: str, errors: dict[str, str]) -> date | None:
    """``value`` as a date (``date`` or ISO string); records an error and returns None if not."""
    if value is None or value == "":
        errors[field] = "a date is required"
        return None
    if isinstance(value, datetime):
        return local_date(value) if value.tzinfo is not None else value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        errors[field] = f"{value!r} is not a date (YYYY-MM-DD)"
        return None


def _get_ticket(session: Session, ticket_id: uuid.UUID, *, lock: bool = False) -> ServiceTicket:
    stmt = select(ServiceTicket).where(ServiceTicket.id == ticket_id)
    if lock:
        stmt = stmt.with_for_update()
    ticket = session.execute(stmt).scalar_one_or_none()
    if ticket is None:
        raise NotFound("service ticket not found")
    return ticket


def _get_visit(session: Session, visit_id: uuid.UUID) -> ServiceVisit:
    visit = session.get(ServiceVisit, visit_id)
    if visit is None:
        raise NotFound("service visit not found")
    return visit


def _team_visits_ticket(session: Session, ticket_id: uuid.UUID, team_id: uuid.UUID) -> bool:
    """True when the team has a visit of the ticket that is not cancelled."""
    found = session.execute(
        select(ServiceVisit.id)
        .where(
            ServiceVisit.service_ticket_id == ticket_id,
            ServiceVisit.team_id == team_id,
            ServiceVisit.status != "cancelled",
        )
        .limit(1)
    ).first()
    return found is not None


def _require_own_ticket(session: Session, actor: Actor, ticket: ServiceTicket) -> None:
    """Field engineers act only on tickets with a (not cancelled) visit of their team."""
    if actor.role != "field_engineer":
        return
    if actor.team_id is None or not _team_visits_ticket(session, ticket.id, actor.team_id):
        raise PermissionDenied(
            f"ticket {ticket.ref} has no visit of your team; field engineers act only on "
            "their own team's service calls"
        )


def _require_own_visit(actor: Actor, visit: ServiceVisit) -> None:
    if actor.role == "field_engineer" and visit.team_id != actor.team_id:
        raise PermissionDenied(
            "this visit belongs to another team; field engineers act only on their own "
            "team's visits"
        )


def _snapshot(ticket: ServiceTicket, *names: str) -> dict[str, Any]:
    return {n: getattr(ticket, n) for n in names}


def team_slot_clash(
    session: Session,
    team_id: uuid.UUID,
    day: date,
    slot: str,
    *,
    exclude_visit_id: uuid.UUID | None = None,
) -> str | None:
    """What already occupies the team on ``day`` / ``slot``, or None when it is free.

    Looks at service visits that are booked or completed, installation assignments not
    released, and surveys not cancelled (``domain.slots.slot_clash``).

    Returns:
        ``"survey SUR-…"``, ``"installation INS-…"`` or ``"service visit for SVC-…"``.
    """
    return slot_clash(
        session, team_id=team_id, day=day, slot=slot, exclude_visit_id=exclude_visit_id
    )


def open_ticket(
    session: Session,
    actor: Actor,
    *,
    installation_id: uuid.UUID,
    contact: str,
    contact_phone: str | None,
    fault_reported_date: date | str,
    nature_of_fault: str,
    equipment_details: str | None,
    maintenance: bool,
    notes: str | None,
    install_level: str | None = None,
) -> TicketDTO:
    """Open a service ticket (status ``open``) on an installed charger (seed 002).

    The installation must be ``completed``, ``report_submitted`` or ``closed``; the lead
    (customer) is taken from it. ``contact_phone`` is normalised to E.164 (Indian numbers);
    blank means the customer's phone from the lead. ``fault_reported_date`` (a date or
    ``YYYY-MM-DD``) may not be in the future (local date) nor before the installation was
    completed. ``install_level`` defaults to the installation's level. The ref is
    ``SVC-<local year>-NNNNN``. ``maintenance`` True means routine maintenance, False a
    fault repair.

    Raises:
        PermissionDenied: without ``service_ticket.create``.
        NotFound: unknown installation.
        ValidationError: ``{argument: reason}`` for each bad argument (``installation_id``
            when the charger is not installed).
        Conflict: a concurrent insert collided on the ref.
    """
    require(actor, "service_ticket.create")
    inst = session.get(Installation, installation_id)
    if inst is None:
        raise NotFound("installation not found")
    lead = session.get(Lead, inst.lead_id)
    if lead is None:  # pragma: no cover - FK guarantees it
        raise NotFound("lead of the installation not found")
    errors: dict[str, str] = {}
    if inst.status not in INSTALLED_STATUSES:
        errors["installation_id"] = (
            f"installation {inst.ref} is {inst.status}; service calls are for installed "
            f"chargers ({', '.join(INSTALLED_STATUSES)})"
        )
    contact_text = _text(contact)
    if not contact_text:
        errors["contact"] = "a contact name is required"
    elif len(contact_text) > CONTACT_MAX:
        errors["contact"] = f"contact is longer than {CONTACT_MAX} characters"
    phone: str | None = None
    if _text(contact_phone):
        try:
            phone = normalise_phone(contact_phone)
        except FieldError as exc:
            errors["contact_phone"] = str(exc)
    else:
        phone = lead.phone
    fault_date = _as_date(fault_reported_date, "fault_reported_date", errors)
    today = _today()
    if fault_date is not None:
        if fault_date > today:
            errors["fault_reported_date"] = (
                f"{fault_date.isoformat()} is in the future (today is {today.isoformat()})"
            )
        elif inst.completed_at is not None and fault_date < local_date(inst.completed_at):
            errors["fault_reported_date"] = (
                f"{fault_date.isoformat()} is before installation {inst.ref} was completed "
                f"({local_date(inst.completed_at).isoformat()})"
            )
    nature = _text(nature_of_fault)
    if not nature:
        errors["nature_of_fault"] = "describe the fault or the maintenance needed"
    elif len(nature) > NATURE_MAX:
        errors["nature_of_fault"] = f"nature of fault is longer than {NATURE_MAX} characters"
    level = install_level or inst.install_level
    if level is not None and level not in INSTALL_LEVELS:
        errors["install_level"] = f"{level!r} is not one of {', '.join(INSTALL_LEVELS)}"
    if errors:
        raise ValidationError(errors)
    assert fault_date is not None
    ticket = ServiceTicket(
        ref=next_ref(session, "SVC", today.year),
        installation_id=inst.id,
        lead_id=inst.lead_id,
        contact=contact_text,
        contact_phone=phone,
        fault_reported_date=fault_date,
        nature_of_fault=nature,
        equipment_details=_optional_text(equipment_details),
        maintenance=bool(maintenance),
        notes=_optional_text(notes),
        install_level=level,
        status="open",
        created_by_id=actor.user_id,
    )
    try:
        with session.begin_nested():
            session.add(ticket)
            session.flush()
    except IntegrityError as exc:
        raise Conflict("the service ticket could not be saved; please retry") from exc
    dto = TicketDTO.from_row(ticket)
    audit.record(
        session,
        actor,
        "service_ticket.open",
        entity_type="service_ticket",
        entity_id=ticket.id,
        after={
            "ref": dto.ref,
            "installation_id": dto.installation_id,
            "fault_reported_date": dto.fault_reported_date,
            "nature_of_fault": dto.nature_of_fault,
            "maintenance": dto.maintenance,
            "status": dto.status,
        },
    )
    session.flush()
    return dto


def update_ticket(
    session: Session,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    notes: str | None = None,
    equipment_details: str | None = None,
    nature_of_fault: str | None = None,
) -> TicketDTO:
    """Change the notes, equipment details or nature of fault of an open/scheduled ticket.

    An argument left as None keeps the stored value; an empty string clears notes or
    equipment details (the nature of fault cannot be blank). Field engineers may update only
    tickets with a visit of their team.

    Raises:
        PermissionDenied: without ``service_ticket.update``, or another team's ticket.
        NotFound: unknown ticket.
        ValidationError: ``{"nature_of_fault": ...}`` blank or too long; ``{"__all__": ...}``
            when nothing is given.
        TransitionError: the ticket is resolved, closed or cancelled.
    """
    require(actor, "service_ticket.update")
    ticket = _get_ticket(session, ticket_id)
    _require_own_ticket(session, actor, ticket)
    if notes is None and equipment_details is None and nature_of_fault is None:
        raise ValidationError("nothing to update")
    if ticket.status not in LIVE_TICKET_STATUSES:
        raise TransitionError(f"ticket {ticket.ref} is {ticket.status} and cannot be edited")
    changes: dict[str, Any] = {}
    if nature_of_fault is not None:
        nature = _text(nature_of_fault)
        if not nature:
            raise ValidationError({"nature_of_fault": "the nature of fault cannot be blank"})
        if len(nature) > NATURE_MAX:
            raise ValidationError(
                {"nature_of_fault": f"nature of fault is longer than {NATURE_MAX} characters"}
            )
        changes["nature_of_fault"] = nature
    if notes is not None:
        changes["notes"] = _optional_text(notes)
    if equipment_details is not None:
        changes["equipment_details"] = _optional_text(equipment_details)
    before = _snapshot(ticket, *changes)
    for name, value in changes.items():
        setattr(ticket, name, value)
    session.flush()
    audit.record(
        session,
        actor,
        "service_ticket.update",
        entity_type="service_ticket",
        entity_id=ticket.id,
        before=before,
        after={"ref": ticket.ref, **changes},
    )
    session.flush()
    return TicketDTO.from_row(ticket)


def book_visit(
    session: Session,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    visit_date: date | str,
    time_slot: str,
    team_id: uuid.UUID,
) -> VisitDTO:
    """Book a visit of ``team_id`` for a ticket on ``visit_date`` / ``time_slot`` (seed 002).

    Rules: the ticket is ``open`` or ``scheduled`` (an open ticket becomes ``scheduled``); the
    date is today or later (local) and the slot a configured one
    (``domain.scheduling.validate_slot``); the team is active, belongs to the zone of the
    ticket's customer, is not unavailable that day (leave, breakdown) and has no other job in
    that date and slot: no booked/completed service visit, no active installation assignment,
    no survey that is not cancelled. The visit claims the team's slot in ``team_slot_booking``
    (unique team/date/slot), so a concurrent booking of the same slot, of any kind, fails.

    Raises:
        PermissionDenied: without ``service_visit.book``.
        NotFound: unknown ticket or team.
        ValidationError: ``visit_date`` (past/not a date), ``time_slot`` (not a slot),
            ``team_id`` (inactive, other zone, unavailable that day).
        Conflict: the team already has a job in that date and slot (named in the message).
        TransitionError: the ticket is resolved, closed or cancelled.
    """
    require(actor, "service_visit.book")
    ticket = _get_ticket(session, ticket_id, lock=True)
    team = session.execute(
        select(FieldTeam).where(FieldTeam.id == team_id).with_for_update()
    ).scalar_one_or_none()
    if team is None:
        raise NotFound("field team not found")
    if ticket.status not in LIVE_TICKET_STATUSES:
        raise TransitionError(f"ticket {ticket.ref} is {ticket.status}; no visit can be booked")
    errors: dict[str, str] = {}
    day = _as_date(visit_date, "visit_date", errors)
    today = _today()
    if day is not None and day < today:
        errors["visit_date"] = f"{day.isoformat()} is in the past (today is {today.isoformat()})"
    try:
        validate_slot(time_slot, "time_slot")
    except ValidationError as exc:
        errors.update(exc.errors)
    zone_id = session.execute(select(Lead.zone_id).where(Lead.id == ticket.lead_id)).scalar_one()
    if not team.active:
        errors["team_id"] = f"team {team.code} is inactive"
    elif team.zone_id != zone_id:
        errors["team_id"] = f"team {team.code} does not work in the customer's zone"
    if errors:
        raise ValidationError(errors)
    assert day is not None
    reason = team_unavailability_reason(session, team.id, day)
    if reason is not None:
        raise ValidationError({"team_id": reason})
    clash = team_slot_clash(session, team.id, day, time_slot)
    if clash is not None:
        raise Conflict(
            slot_conflict_message(session, team_id=team.id, day=day, slot=time_slot, occupant=clash)
        )
    visit = ServiceVisit(
        service_ticket_id=ticket.id,
        visit_date=day,
        time_slot=time_slot,
        team_id=team.id,
        status="booked",
    )
    before_status = ticket.status
    try:
        with session.begin_nested():
            session.add(visit)
            ticket.status = "scheduled"
            session.flush()
    except IntegrityError as exc:
        raise Conflict("the visit could not be booked; please retry") from exc
    claim_team_slot(session, team_id=team.id, day=day, slot=time_slot, visit_id=visit.id)
    audit.record(
        session,
        actor,
        "service_visit.book",
        entity_type="service_visit",
        entity_id=visit.id,
        before={"ticket_status": before_status},
        after={
            "ticket": ticket.ref,
            "ticket_status": ticket.status,
            "visit_date": day,
            "time_slot": time_slot,
            "team": team.code,
        },
    )
    session.flush()
    return VisitDTO.from_row(visit)


def complete_visit(
    session: Session, actor: Actor, *, visit_id: uuid.UUID, notes: str | None = None
) -> VisitDTO:
    """Mark a booked visit as done (``completed``, ``completed_at`` now) with optional notes.

    The visit date must be today or earlier (local). Field engineers may complete only their
    own team's visits. The ticket stays ``scheduled`` until it is resolved.

    Raises:
        PermissionDenied: without ``service_visit.complete``, or another team's visit.
        NotFound: unknown visit.
        TransitionError: the visit is not booked, or its date is still ahead.
    """
    require(actor, "service_visit.complete")
    visit = _get_visit(session, visit_id)
    _require_own_visit(actor, visit)
    if visit.status != "booked":
        raise TransitionError(f"the visit is {visit.status} and cannot be completed")
    today = _today()
    if visit.visit_date > today:
        raise TransitionError(
            f"the visit is booked for {visit.visit_date.isoformat()}; it cannot be completed "
            "before that day"
        )
    before = {"status": visit.status, "notes": visit.notes}
    visit.status = "completed"
    visit.completed_at = utcnow()
    if _optional_text(notes) is not None:
        visit.notes = _optional_text(notes)
    session.flush()
    audit.record(
        session,
        actor,
        "service_visit.complete",
        entity_type="service_visit",
        entity_id=visit.id,
        before=before,
        after={"status": visit.status, "notes": visit.notes, "completed_at": visit.completed_at},
    )
    session.flush()
    return VisitDTO.from_row(visit)


def cancel_visit(session: Session, actor: Actor, *, visit_id: uuid.UUID, reason: str) -> VisitDTO:
    """Cancel a booked visit with a reason (kept in the visit's notes, max 300 characters).

    The team's slot is released. When no booked or completed visit is left, a ``scheduled``
    ticket goes back to ``open``. Needs the ``service_visit.cancel`` permission (admin,
    central_ops).

    Raises:
        PermissionDenied: without ``service_visit.book``.
        NotFound: unknown visit.
        ValidationError: ``{"reason": ...}`` blank or too long.
        TransitionError: the visit is not booked.
    """
    require(actor, "service_visit.cancel")
    visit = _get_visit(session, visit_id)
    text = _text(reason)
    if not text:
        raise ValidationError({"reason": "a reason is required"})
    if len(text) > REASON_MAX:
        raise ValidationError({"reason": f"reason is longer than {REASON_MAX} characters"})
    if visit.status != "booked":
        raise TransitionError(f"the visit is {visit.status} and cannot be cancelled")
    ticket = _get_ticket(session, visit.service_ticket_id, lock=True)
    before = {"status": visit.status, "ticket_status": ticket.status}
    visit.status = "cancelled"
    visit.notes = f"cancelled: {text}"
    release_team_slot(session, visit_id=visit.id)
    session.flush()
    live = session.execute(
        select(ServiceVisit.id)
        .where(
            ServiceVisit.service_ticket_id == ticket.id,
            ServiceVisit.status.in_(("booked", "completed")),
        )
        .limit(1)
    ).first()
    if live is None and ticket.status == "scheduled":
        ticket.status = "open"
    session.flush()
    audit.record(
        session,
        actor,
        "service_visit.cancel",
        entity_type="service_visit",
        entity_id=visit.id,
        before=before,
        after={"status": visit.status, "reason": text, "ticket_status": ticket.status},
    )
    session.flush()
    return VisitDTO.from_row(visit)


def resolve_ticket(
    session: Session,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    resolved_date: date | str,
    customer_satisfied: bool | None,
) -> TicketDTO:
    """Record the fault as fixed: ``resolved_date`` and customer satisfaction; status
    ``resolved`` (seed 002 "date_resolved", "customer_satisfied").

    ``resolved_date`` must be on or after ``fault_reported_date`` and not in the future
    (local). A ticket with a visit still booked cannot be resolved (complete or cancel it
    first). Field engineers may resolve only tickets with a visit of their team.

    Raises:
        PermissionDenied: without ``service_ticket.update``, or another team's ticket.
        NotFound: unknown ticket.
        ValidationError: ``{"resolved_date": ...}``.
        TransitionError: the ticket is not open/scheduled, or has a booked visit.
    """
    require(actor, "service_ticket.resolve")
    ticket = _get_ticket(session, ticket_id, lock=True)
    _require_own_ticket(session, actor, ticket)
    if ticket.status not in LIVE_TICKET_STATUSES:
        raise TransitionError(f"ticket {ticket.ref} is {ticket.status} and cannot be resolved")
    errors: dict[str, str] = {}
    day = _as_date(resolved_date, "resolved_date", errors)
    today = _today()
    if day is not None:
        if day > today:
            errors["resolved_date"] = (
                f"{day.isoformat()} is in the future (today is {today.isoformat()})"
            )
        elif day < ticket.fault_reported_date:
            errors["resolved_date"] = (
                f"{day.isoformat()} is before the fault was reported "
                f"({ticket.fault_reported_date.isoformat()})"
            )
    if errors:
        raise ValidationError(errors)
    booked = session.execute(
        select(ServiceVisit.visit_date)
        .where(ServiceVisit.service_ticket_id == ticket.id, ServiceVisit.status == "booked")
        .limit(1)
    ).scalar_one_or_none()
    if booked is not None:
        raise TransitionError(
            f"ticket {ticket.ref} has a visit booked on {booked.isoformat()}; complete or "
            "cancel it first"
        )
    before = _snapshot(ticket, "status", "resolved_date", "customer_satisfied")
    ticket.status = "resolved"
    ticket.resolved_date = day
    ticket.customer_satisfied = customer_satisfied
    session.flush()
    audit.record(
        session,
        actor,
        "service_ticket.resolve",
        entity_type="service_ticket",
        entity_id=ticket.id,
        before=before,
        after={
            "ref": ticket.ref,
            "status": ticket.status,
            "resolved_date": day,
            "customer_satisfied": customer_satisfied,
        },
    )
    session.flush()
    return TicketDTO.from_row(ticket)


CANCELLABLE_TICKET_STATUSES = LIVE_TICKET_STATUSES
"""Ticket statuses from which ``cancel_ticket`` is allowed."""


def may_cancel_ticket(actor: Actor, status: str) -> bool:
    """True when ``actor`` may cancel a ticket in ``status`` (``cancel_ticket``'s rule, for
    pages)."""
    return can(actor, "service_ticket.cancel") and status in CANCELLABLE_TICKET_STATUSES


def cancel_ticket(
    session: Session, actor: Actor, *, ticket_id: uuid.UUID, reason: str
) -> TicketDTO:
    """Cancel an ``open`` or ``scheduled`` ticket with a reason (customer withdrew, fixed
    itself...).

    The reason (required, max 300 characters, whitespace collapsed) goes to ``cancel_reason``,
    ``cancelled_at`` is now; every ``booked`` visit of the ticket is cancelled too (notes
    ``cancelled: ticket cancelled: <reason>``) and its team slot released; completed visits
    stay. Audited as ``service_ticket.cancel`` (with the cancelled visit ids).

    Raises:
        PermissionDenied: without ``service_ticket.cancel`` (admin, central_ops).
        NotFound: unknown ticket.
        ValidationError: ``{"reason": ...}`` blank or too long.
        TransitionError: the ticket is resolved, closed or already cancelled (state named).
    """
    require(actor, "service_ticket.cancel")
    ticket = _get_ticket(session, ticket_id, lock=True)
    if ticket.status not in CANCELLABLE_TICKET_STATUSES:
        raise TransitionError(
            f"ticket {ticket.ref} is {ticket.status}; only an open or scheduled ticket can be "
            "cancelled"
        )
    text = _text(reason)
    if not text:
        raise ValidationError({"reason": "a reason is required"})
    if len(text) > REASON_MAX:
        raise ValidationError({"reason": f"reason is longer than {REASON_MAX} characters"})
    visits = session.scalars(
        select(ServiceVisit).where(
            ServiceVisit.service_ticket_id == ticket.id, ServiceVisit.status == "booked"
        )
    ).all()
    before = _snapshot(ticket, "status", "cancel_reason", "cancelled_at")
    for visit in visits:
        visit.status = "cancelled"
        visit.notes = f"cancelled: ticket cancelled: {text}"[:2000]
        release_team_slot(session, visit_id=visit.id)
    ticket.status = "cancelled"
    ticket.cancel_reason = text
    ticket.cancelled_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "service_ticket.cancel",
        entity_type="service_ticket",
        entity_id=ticket.id,
        before=before,
        after={
            "ref": ticket.ref,
            "status": ticket.status,
            "cancel_reason": text,
            "cancelled_at": ticket.cancelled_at,
            "cancelled_visits": [v.id for v in visits],
        },
    )
    session.flush()
    return TicketDTO.from_row(ticket)


def may_close(actor: Actor) -> bool:
    """True when ``actor`` may close resolved tickets (``close_ticket``'s rule, for pages)."""
    return can(actor, "service_ticket.close")


def close_ticket(session: Session, actor: Actor, *, ticket_id: uuid.UUID) -> TicketDTO:
    """Close a resolved ticket (office act: field engineers may not close).

    Raises:
        PermissionDenied: without ``service_ticket.close`` (admin, central_ops).
        NotFound: unknown ticket.
        TransitionError: the ticket is not resolved.
    """
    require(actor, "service_ticket.close")
    ticket = _get_ticket(session, ticket_id, lock=True)
    if ticket.status != "resolved":
        raise TransitionError(
            f"ticket {ticket.ref} is {ticket.status}; only a resolved ticket can be closed"
        )
    ticket.status = "closed"
    session.flush()
    audit.record(
        session,
        actor,
        "service_ticket.close",
        entity_type="service_ticket",
        entity_id=ticket.id,
        before={"status": "resolved"},
        after={"ref": ticket.ref, "status": "closed"},
    )
    session.flush()
    return TicketDTO.from_row(ticket)


def record_invoice(
    session: Session,
    actor: Actor,
    *,
    ticket_id: uuid.UUID,
    received_date: date | str | None = None,
    authorised_date: date | str | None = None,
) -> TicketDTO:
    """Record when the engineer's/provider's invoice was received and/or authorised
    (seed 002 "invoice_received_date", "invoice_authorised_date").

    A None argument keeps the stored date. Rules: neither date in the future (local);
    received not before the fault was reported; authorised needs a received date (given now
    or stored) and must be on or after it. Not for cancelled tickets.

    Raises:
        PermissionDenied: without ``service_ticket.invoice``.
        NotFound: unknown ticket.
        ValidationError: ``received_date`` / ``authorised_date``; ``__all__`` when neither is
            given.
        TransitionError: the ticket is cancelled.
    """
    require(actor, "service_ticket.invoice")
    ticket = _get_ticket(session, ticket_id, lock=True)
    if ticket.status == "cancelled":
        raise TransitionError(f"ticket {ticket.ref} is cancelled")
    if received_date in (None, "") and authorised_date in (None, ""):
        raise ValidationError("give the invoice received date, the authorised date or both")
    errors: dict[str, str] = {}
    today = _today()
    received = ticket.invoice_received_date
    if received_date not in (None, ""):
        received = _as_date(received_date, "received_date", errors)
        if received is not None and received > today:
            errors["received_date"] = (
                f"{received.isoformat()} is in the future (today is {today.isoformat()})"
            )
        elif received is not None and received < ticket.fault_reported_date:
            errors["received_date"] = (
                f"{received.isoformat()} is before the fault was reported "
                f"({ticket.fault_reported_date.isoformat()})"
            )
    authorised = ticket.invoice_authorised_date
    if authorised_date not in (None, ""):
        authorised = _as_date(authorised_date, "authorised_date", errors)
        if authorised is not None and authorised > today:
            errors["authorised_date"] = (
                f"{authorised.isoformat()} is in the future (today is {today.isoformat()})"
            )
    if authorised is not None and "authorised_date" not in errors:
        if received is None and "received_date" not in errors:
            errors["authorised_date"] = "an invoice must be received before it is authorised"
        elif received is not None and authorised < received:
            errors["authorised_date"] = (
                f"{authorised.isoformat()} is before the invoice was received "
                f"({received.isoformat()})"
            )
    if errors:
        raise ValidationError(errors)
    before = _snapshot(ticket, "invoice_received_date", "invoice_authorised_date")
    ticket.invoice_received_date = received
    ticket.invoice_authorised_date = authorised
    session.flush()
    audit.record(
        session,
        actor,
        "service_ticket.invoice",
        entity_type="service_ticket",
        entity_id=ticket.id,
        before=before,
        after={
            "ref": ticket.ref,
            "invoice_received_date": received,
            "invoice_authorised_date": authorised,
        },
    )
    session.flush()
    return TicketDTO.from_row(ticket)
