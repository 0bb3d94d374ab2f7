"""Lead reads for the Leads page: a filtered, paginated list, one lead's detail, filter options.

Isolation (DESIGN.md "Who uses it"): an ``oem_viewer`` only ever sees its own OEM's leads.
The OEM filter is forced to ``actor.oem_id`` inside the SQL, and a lead of another OEM is
reported as ``NotFound`` (not ``PermissionDenied``) so ids cannot be probed.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from domain.accounts.models import Oem, Zone
from domain.accounts.queries import OemOption
from domain.actor import Actor
from domain.calendar import local_midnight_utc
from domain.errors import NotFound, ValidationError
from domain.installations.models import Installation
from domain.leads.dto import (
    LeadDetail,
    LeadDTO,
    LeadPage,
    LeadRow,
    RelatedRef,
)
from domain.leads.models import LEAD_STATUSES, Lead, LeadImport
from domain.paging import check_date_range, check_page, matches_any
from domain.permissions import require
from domain.surveys.models import Survey


def _scoped_oem(actor: Actor, oem_id: uuid.UUID | None) -> tuple[uuid.UUID | None, bool]:
    """The OEM filter to apply and whether the actor is confined to it.

    An ``oem_viewer`` (or any actor carrying ``oem_id`` with that role) gets its own OEM
    whatever was asked; asking for another OEM yields an empty result, not an error.
    """
    if actor.role == "oem_viewer":
        return actor.oem_id, True
    return oem_id, False


def list_leads(
    session: Session,
    actor: Actor,
    *,
    oem_id: uuid.UUID | None = None,
    zone_id: uuid.UUID | None = None,
    status: str | None = None,
    search: str | None = None,
    received_from: date | None = None,
    received_to: date | None = None,
    page: int = 1,
    page_size: int = 50,
) -> LeadPage:
    """One page of leads, newest received first, with the total matching the filters.

    Args:
        search: case-insensitive substring of ref, OEM lead id, customer name, phone, city
            or pincode.
        received_from / received_to: local (Asia/Kolkata) dates, both inclusive.
        page: 1-based; page_size: 1..500 rows.

    Returns:
        ``LeadPage`` (rows for the page, total count). Pagination is LIMIT/OFFSET in SQL
        plus one COUNT query. An ``oem_viewer`` sees only ``actor.oem_id``'s leads.

    Raises:
        PermissionDenied: without ``lead.read``.
        ValidationError: unknown status, page < 1, page_size out of range, from > to.
    """
    require(actor, "lead.read")
    if status is not None and status not in LEAD_STATUSES:
        raise ValidationError({"status": f"unknown status {status!r}"})
    check_page(page, page_size)
    check_date_range(received_from, received_to, "received_from")

    scoped_oem, confined = _scoped_oem(actor, oem_id)
    conditions: list[Any] = []
    if confined:
        if scoped_oem is None:
            return LeadPage(rows=(), total=0, page=page, page_size=page_size)
        conditions.append(Lead.oem_id == scoped_oem)
        if oem_id is not None and oem_id != scoped_oem:
            return LeadPage(rows=(), total=0, page=page, page_size=page_size)
    elif scoped_oem is not None:
        conditions.append(Lead.oem_id == scoped_oem)
    if zone_id is not None:
        conditions.append(Lead.zone_id == zone_id)
    if status is not None:
        conditions.append(Lead.status == status)
    if received_from is not None:
        conditions.append(Lead.received_at >= local_midnight_utc(received_from))
    if received_to is not None:
        conditions.append(Lead.received_at < local_midnight_utc(received_to + timedelta(days=1)))
    term = (search or "").strip()
    found = matches_any(
        term,
        (Lead.ref, Lead.oem_lead_ref, Lead.customer_name, Lead.city, Lead.pincode, Lead.phone),
    )
    if found is not None:
        digits = "".join(ch for ch in term if ch.isdigit())
        phone_like = all(ch.isdigit() or ch in " +-()." for ch in term)
        if phone_like and len(digits) >= 4:  # "98450 12345" finds +919845012345
            found = or_(found, Lead.phone.like(f"%{digits}%"))
        conditions.append(found)

    total = session.execute(select(func.count(Lead.id)).where(*conditions)).scalar_one()
    stmt = (
        select(
            Lead.id,
            Lead.ref,
            Lead.oem_lead_ref,
            Oem.code,
            Lead.customer_name,
            Lead.phone,
            Lead.city,
            Lead.pincode,
            Zone.name,
            Lead.status,
            Lead.received_at,
        )
        .join(Oem, Oem.id == Lead.oem_id)
        .join(Zone, Zone.id == Lead.zone_id)
        .where(*conditions)
        .order_by(Lead.received_at.desc(), Lead.ref.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    rows = tuple(LeadRow(*r) for r in session.execute(stmt).all())
    return LeadPage(rows=rows, total=int(total), page=page, page_size=page_size)


def get_lead(session: Session, actor: Actor, lead_id: uuid.UUID) -> LeadDetail:
    """One lead with OEM and zone names and its surveys and installations (ref, status, date).

    Raises:
        PermissionDenied: without ``lead.read``.
        NotFound: no such lead, or (for an ``oem_viewer``) a lead of another OEM.
    """
    require(actor, "lead.read")
    stmt = (
        select(Lead, Oem.code, Oem.name, Zone.code, Zone.name, LeadImport.filename)
        .join(Oem, Oem.id == Lead.oem_id)
        .join(Zone, Zone.id == Lead.zone_id)
        .outerjoin(LeadImport, LeadImport.id == Lead.lead_import_id)
        .where(Lead.id == lead_id)
    )
    scoped_oem, confined = _scoped_oem(actor, None)
    if confined:
        stmt = stmt.where(Lead.oem_id == scoped_oem)
    found = session.execute(stmt).first()
    if found is None:
        raise NotFound("lead not found")
    lead, oem_code, oem_name, zone_code, zone_name, filename = found
    surveys = tuple(
        RelatedRef("survey", ref, status, on)
        for ref, status, on in session.execute(
            select(Survey.ref, Survey.status, Survey.survey_date)
            .where(Survey.lead_id == lead.id)
            .order_by(Survey.created_at)
        )
    )
    installations = tuple(
        RelatedRef("installation", ref, status, on)
        for ref, status, on in session.execute(
            select(Installation.ref, Installation.status, Installation.scheduled_date)
            .where(Installation.lead_id == lead.id)
            .order_by(Installation.created_at)
        )
    )
    return LeadDetail(
        lead=LeadDTO.from_row(lead),
        oem_code=oem_code,
        oem_name=oem_name,
        zone_code=zone_code,
        zone_name=zone_name,
        lead_import_filename=filename,
        surveys=surveys,
        installations=installations,
    )


def find_lead_id(session: Session, actor: Actor, ref: str) -> uuid.UUID:
    """The id of the lead with human ref ``ref`` (``LEAD-2026-00001``), scoped like get_lead.

    Raises:
        PermissionDenied: without ``lead.read``.
        NotFound: no such ref visible to the actor.
    """
    require(actor, "lead.read")
    stmt = select(Lead.id).where(Lead.ref == (ref or "").strip().upper())
    scoped_oem, confined = _scoped_oem(actor, None)
    if confined:
        stmt = stmt.where(Lead.oem_id == scoped_oem)
    found = session.execute(stmt).scalar_one_or_none()
    if found is None:
        raise NotFound(f"lead {ref} not found")
    return found


def list_oems_for(session: Session, actor: Actor) -> tuple[OemOption, ...]:
    """OEMs the actor may filter on, by name: all OEMs, or only its own for an oem_viewer.

    Raises:
        PermissionDenied: without ``lead.read``.
    """
    require(actor, "lead.read")
    stmt = select(Oem.id, Oem.code, Oem.name).order_by(Oem.name)
    scoped_oem, confined = _scoped_oem(actor, None)
    if confined:
        stmt = stmt.where(Oem.id == scoped_oem)
    return tuple(OemOption(*r) for r in session.execute(stmt).all())
