"""Service-call reads (seed 002): ticket list, one ticket's detail, response/resolution times.

Visibility: ``service.read`` is staff-only (an ``oem_viewer`` is refused). A field engineer
sees only tickets that have a visit of their team (others are ``NotFound`` in the detail).

Response time of a ticket = calendar days from ``fault_reported_date`` to its first visit
that is not cancelled (booked, completed or no-show); resolution time = days from
``fault_reported_date`` to ``resolved_date``. Both are computed in SQL with a dialect-aware
date difference (PostgreSQL ``date - date`` gives integer days; SQLite
``julianday(a) - julianday(b)``), and averaged with ``AVG`` in SQL.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Integer, cast, exists, false, func, select
from sqlalchemy.orm import Session

from domain.accounts.models import FieldTeam, Oem, Zone
from domain.actor import Actor
from domain.errors import NotFound, ValidationError
from domain.installations.models import Installation
from domain.leads.models import Lead
from domain.paging import MAX_PAGE_SIZE, check_date_range, check_page, matches_any
from domain.permissions import require
from domain.service.dto import (
    InstalledOption,
    ServiceTimes,
    TicketDetail,
    TicketDTO,
    TicketPage,
    TicketRow,
    VisitRow,
)
from domain.service.models import TICKET_STATUSES, ServiceTicket, ServiceVisit
from domain.service.service import INSTALLED_STATUSES


def days_between(session: Session, later: Any, earlier: Any) -> ColumnElement[Any]:
    """SQL expression: whole calendar days from ``earlier`` to ``later`` (two DATE columns).

    PostgreSQL: ``later - earlier`` (integer); SQLite: ``julianday(later) -
    julianday(earlier)`` cast to integer. NULL when either side is NULL.
    """
    if session.get_bind().dialect.name == "postgresql":
        return cast(later - earlier, Integer)
    return cast(func.julianday(later) - func.julianday(earlier), Integer)


def _first_visits() -> Any:
    """Subquery: per ticket, the date of its first visit that is not cancelled (GROUP BY)."""
    return (
        select(
            ServiceVisit.service_ticket_id.label("ticket_id"),
            func.min(ServiceVisit.visit_date).label("first_visit_date"),
        )
        .where(ServiceVisit.status != "cancelled")
        .group_by(ServiceVisit.service_ticket_id)
        .subquery("first_visit")
    )


def _visibility(actor: Actor) -> list[ColumnElement[bool]]:
    """Conditions on ``ServiceTicket`` limiting what the actor sees (field engineer: own team)."""
    if actor.role != "field_engineer":
        return []
    if actor.team_id is None:
        return [false()]
    return [
        exists(
            select(ServiceVisit.id).where(
                ServiceVisit.service_ticket_id == ServiceTicket.id,
                ServiceVisit.team_id == actor.team_id,
            )
        )
    ]


def list_tickets(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    zone_id: uuid.UUID | None = None,
    maintenance: bool | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    page: int = 1,
    page_size: int = 50,
) -> TicketPage:
    """One page of service tickets, latest fault reported first, and the total matching.

    Args:
        status: one of ``TICKET_STATUSES``; zone_id: the customer's zone; maintenance: True
            for maintenance calls, False for repairs; date_from / date_to: fault reported
            date range, both inclusive; page: 1-based; page_size: 1..500.

    Returns:
        ``TicketPage`` of ``TicketRow`` (with first visit date and response/resolution days
        in calendar days), LIMIT/OFFSET and COUNT in SQL. Field engineers see only tickets
        with a visit of their team.

    Raises:
        PermissionDenied: without ``service.read`` (e.g. ``oem_viewer``).
        ValidationError: unknown status, page < 1, page_size out of range, from > to.
    """
    require(actor, "service.read")
    if status is not None and status not in TICKET_STATUSES:
        raise ValidationError({"status": f"unknown status {status!r}"})
    check_page(page, page_size)
    check_date_range(date_from, date_to)
    conditions = _visibility(actor)
    if status is not None:
        conditions.append(ServiceTicket.status == status)
    if zone_id is not None:
        conditions.append(Lead.zone_id == zone_id)
    if maintenance is not None:
        conditions.append(ServiceTicket.maintenance.is_(maintenance))
    if date_from is not None:
        conditions.append(ServiceTicket.fault_reported_date >= date_from)
    if date_to is not None:
        conditions.append(ServiceTicket.fault_reported_date <= date_to)

    total = session.execute(
        select(func.count(ServiceTicket.id))
        .join(Lead, Lead.id == ServiceTicket.lead_id)
        .where(*conditions)
    ).scalar_one()
    fv = _first_visits()
    stmt = (
        select(
            ServiceTicket.id,
            ServiceTicket.ref,
            Installation.ref,
            Lead.ref,
            Lead.customer_name,
            Lead.city,
            Zone.name,
            ServiceTicket.fault_reported_date,
            ServiceTicket.nature_of_fault,
            ServiceTicket.maintenance,
            ServiceTicket.status,
            fv.c.first_visit_date,
            days_between(session, fv.c.first_visit_date, ServiceTicket.fault_reported_date),
            ServiceTicket.resolved_date,
            days_between(session, ServiceTicket.resolved_date, ServiceTicket.fault_reported_date),
        )
        .join(Lead, Lead.id == ServiceTicket.lead_id)
        .join(Zone, Zone.id == Lead.zone_id)
        .outerjoin(Installation, Installation.id == ServiceTicket.installation_id)
        .outerjoin(fv, fv.c.ticket_id == ServiceTicket.id)
        .where(*conditions)
        .order_by(ServiceTicket.fault_reported_date.desc(), ServiceTicket.ref.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    rows = tuple(TicketRow(*r) for r in session.execute(stmt).all())
    return TicketPage(rows=rows, total=int(total), page=page, page_size=page_size)


def get_ticket(session: Session, actor: Actor, ticket_id: uuid.UUID) -> TicketDetail:
    """One ticket with installation ref, customer, zone, visits and response/resolution days.

    Raises:
        PermissionDenied: without ``service.read``.
        NotFound: no such ticket, or (field engineer) a ticket without a visit of their team.
    """
    require(actor, "service.read")
    stmt = (
        select(
            ServiceTicket,
            Installation.ref,
            Installation.status,
            Lead.ref,
            Oem.code,
            Lead.customer_name,
            Lead.phone,
            Lead.address,
            Lead.city,
            Lead.pincode,
            Zone.id,
            Zone.code,
            Zone.name,
        )
        .join(Lead, Lead.id == ServiceTicket.lead_id)
        .join(Oem, Oem.id == Lead.oem_id)
        .join(Zone, Zone.id == Lead.zone_id)
        .outerjoin(Installation, Installation.id == ServiceTicket.installation_id)
        .where(ServiceTicket.id == ticket_id, *_visibility(actor))
    )
    found = session.execute(stmt).first()
    if found is None:
        raise NotFound("service ticket not found")
    ticket = found[0]
    visits = tuple(
        VisitRow(*r)
        for r in session.execute(
            select(
                ServiceVisit.id,
                ServiceVisit.visit_date,
                ServiceVisit.time_slot,
                ServiceVisit.team_id,
                FieldTeam.code,
                FieldTeam.name,
                ServiceVisit.status,
                ServiceVisit.notes,
                ServiceVisit.completed_at,
            )
            .join(FieldTeam, FieldTeam.id == ServiceVisit.team_id)
            .where(ServiceVisit.service_ticket_id == ticket.id)
            .order_by(ServiceVisit.visit_date, ServiceVisit.created_at)
        ).all()
    )
    live = [v.visit_date for v in visits if v.status != "cancelled"]
    first_visit = min(live) if live else None
    fault = ticket.fault_reported_date
    return TicketDetail(
        ticket=TicketDTO.from_row(ticket),
        installation_ref=found[1],
        installation_status=found[2],
        lead_ref=found[3],
        oem_code=found[4],
        customer_name=found[5],
        customer_phone=found[6],
        address=found[7],
        city=found[8],
        pincode=found[9],
        zone_id=found[10],
        zone_code=found[11],
        zone_name=found[12],
        visits=visits,
        first_visit_date=first_visit,
        response_days=(first_visit - fault).days if first_visit else None,
        resolution_days=(ticket.resolved_date - fault).days if ticket.resolved_date else None,
    )


def find_ticket_id(session: Session, actor: Actor, ref: str) -> uuid.UUID:
    """The id of the ticket with ref ``ref`` (``SVC-2026-00001``), scoped like ``get_ticket``.

    Raises:
        PermissionDenied: without ``service.read``.
        NotFound: no such ref visible to the actor.
    """
    require(actor, "service.read")
    found = session.execute(
        select(ServiceTicket.id).where(
            ServiceTicket.ref == (ref or "").strip().upper(), *_visibility(actor)
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"service ticket {ref} not found")
    return found


def service_times(
    session: Session,
    actor: Actor,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
) -> ServiceTimes:
    """Average response and resolution days over tickets reported in [date_from, date_to].

    Per ticket: response = days from fault reported to the first visit not cancelled;
    resolution = days from fault reported to resolved. Tickets without a visit / not yet
    resolved are left out of the respective average (``AVG`` ignores NULL). Everything is
    aggregated in one SQL statement; averages are rounded to 2 decimals. Cancelled tickets
    are excluded. Field engineers get the figures of their team's tickets.

    Raises:
        PermissionDenied: without ``service.read``.
        ValidationError: date_from after date_to.
    """
    require(actor, "service.read")
    check_date_range(date_from, date_to)
    conditions = [*_visibility(actor), ServiceTicket.status != "cancelled"]
    if date_from is not None:
        conditions.append(ServiceTicket.fault_reported_date >= date_from)
    if date_to is not None:
        conditions.append(ServiceTicket.fault_reported_date <= date_to)
    fv = _first_visits()
    per_ticket = (
        select(
            ServiceTicket.id.label("id"),
            days_between(session, fv.c.first_visit_date, ServiceTicket.fault_reported_date).label(
                "response_days"
            ),
            days_between(
                session, ServiceTicket.resolved_date, ServiceTicket.fault_reported_date
            ).label("resolution_days"),
        )
        .outerjoin(fv, fv.c.ticket_id == ServiceTicket.id)
        .where(*conditions)
        .subquery("per_ticket")
    )
    tickets, responded, resolved, avg_response, avg_resolution = session.execute(
        select(
            func.count(per_ticket.c.id),
            func.count(per_ticket.c.response_days),
            func.count(per_ticket.c.resolution_days),
            func.avg(per_ticket.c.response_days),
            func.avg(per_ticket.c.resolution_days),
        )
    ).one()
    return ServiceTimes(
        tickets=int(tickets),
        responded=int(responded),
        resolved=int(resolved),
        avg_response_days=None if avg_response is None else round(float(avg_response), 2),
        avg_resolution_days=None if avg_resolution is None else round(float(avg_resolution), 2),
    )


def list_installed(
    session: Session, actor: Actor, *, search: str | None = None, limit: int = 50
) -> tuple[InstalledOption, ...]:
    """Installed chargers (installation ``completed``/``report_submitted``/``closed``) a
    ticket can be opened against, newest first, optionally matching ``search`` (installation
    or lead ref, customer name, phone or city, case-insensitive substring).

    Raises:
        PermissionDenied: without ``service.read``.
        ValidationError: limit outside 1..500.
    """
    require(actor, "service.read")
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationError({"limit": f"limit must be 1..{MAX_PAGE_SIZE}"})
    stmt = (
        select(
            Installation.id,
            Installation.ref,
            Installation.status,
            Lead.ref,
            Lead.customer_name,
            Lead.city,
        )
        .join(Lead, Lead.id == Installation.lead_id)
        .where(Installation.status.in_(INSTALLED_STATUSES))
        .order_by(Installation.completed_at.desc().nulls_last(), Installation.ref.desc())
        .limit(limit)
    )
    found = matches_any(
        search, (Installation.ref, Lead.ref, Lead.customer_name, Lead.phone, Lead.city)
    )
    if found is not None:
        stmt = stmt.where(found)
    return tuple(InstalledOption(*r) for r in session.execute(stmt).all())
