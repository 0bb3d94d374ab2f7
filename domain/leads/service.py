"""Lead commands: create by hand, cancel; sheet import lives in ``importer``.

Every command checks its permission first, validates with the same rules as the sheet
importer (``validation``), flushes and writes an audit event; it never commits.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import domain.business_calendar  # noqa: F401  (its flush hook keeps the stored ordinals)
from db.types import utcnow
from domain import audit
from domain.accounts.models import Oem
from domain.accounts.zones import load_district_map, match_zone, pincode_info
from domain.actor import Actor
from domain.calendar import local_date
from domain.errors import Conflict, NotFound, TransitionError, ValidationError
from domain.installations.models import Installation
from domain.leads.dto import ImportResult, LeadDTO
from domain.leads.importer import DUPLICATE_PHONE_WINDOW, errors_to_csv, import_leads
from domain.leads.models import Lead
from domain.leads.validation import validate_lead_fields
from domain.permissions import require
from domain.refs import next_ref
from domain.surveys.models import Survey

__all__ = [
    "CANCELLABLE_STATUSES",
    "ImportResult",
    "cancel_lead",
    "create_lead",
    "errors_to_csv",
    "import_leads",
]

CANCELLABLE_STATUSES = (
    "new",
    "contacted",
    "survey_scheduled",
    "surveyed",
    "installation_scheduled",
)
"""A lead can be cancelled until it is installed (then it is closed, not cancelled)."""

_OPEN_SURVEY = ("scheduled", "completed", "submitted")
_DONE_INSTALLATION = ("cancelled",)


def create_lead(
    session: Session,
    actor: Actor,
    *,
    oem_id: uuid.UUID,
    oem_lead_ref: str,
    customer_name: str,
    phone: str,
    email: str | None,
    address: str,
    city: str,
    pincode: str,
    vehicle_model: str | None,
    requested_charger_type: str | None,
    received_at: datetime | str,
) -> LeadDTO:
    """Create one lead by hand (source ``manual``, status ``new``).

    Same rules as an imported row: phone valid for IN (stored E.164), pincode known and inside
    a service zone (zone derived from its district), optional email, ``received_at`` not in
    the future (naive datetimes and strings are Asia/Kolkata local time), OEM lead id unique
    per OEM, no other lead of the OEM with the same phone within 90 days. The ref is
    ``LEAD-<received year>-NNNNN``.

    Raises:
        PermissionDenied: without ``lead.create``.
        NotFound: unknown OEM.
        ValidationError: ``{field: reason}`` for every bad field (fields named as in the
            arguments), including duplicates (``oem_lead_ref`` / ``phone``).
        Conflict: a concurrent insert of the same OEM lead id.
    """
    require(actor, "lead.create")
    oem = session.get(Oem, oem_id)
    if oem is None:
        raise NotFound("OEM not found")
    if not oem.active:
        raise ValidationError({"oem_id": f"OEM {oem.code} is inactive"})
    raw: dict[str, Any] = {
        "oem_lead_ref": oem_lead_ref,
        "customer_name": customer_name,
        "phone": phone,
        "email": email,
        "address": address,
        "city": city,
        "pincode": pincode,
        "vehicle_model": vehicle_model,
        "requested_charger_type": requested_charger_type,
        "received_at": received_at,
    }
    clean, errors = validate_lead_fields(raw, now=utcnow())
    if clean is None:
        raise ValidationError(errors)
    info = pincode_info(clean.pincode)
    match = match_zone(info, load_district_map(session)) if info else None
    if match is None:
        label = info.label if info else "unknown district"
        raise ValidationError(
            {"pincode": f"pincode {clean.pincode} ({label}) is outside every service zone"}
        )
    existing_ref = session.execute(
        select(Lead.ref).where(Lead.oem_id == oem_id, Lead.oem_lead_ref == clean.oem_lead_ref)
    ).scalar_one_or_none()
    if existing_ref is not None:
        raise ValidationError(
            {
                "oem_lead_ref": f"lead id {clean.oem_lead_ref} already exists for "
                f"{oem.code} as {existing_ref}"
            }
        )
    same_phone = session.execute(
        select(Lead.ref)
        .where(
            Lead.oem_id == oem_id,
            Lead.phone == clean.phone,
            Lead.status != "cancelled",
            Lead.received_at >= clean.received_at - DUPLICATE_PHONE_WINDOW,
            Lead.received_at <= clean.received_at + DUPLICATE_PHONE_WINDOW,
        )
        .limit(1)
    ).scalar_one_or_none()
    if same_phone is not None:
        raise ValidationError(
            {
                "phone": f"phone {clean.phone} already has lead {same_phone} within "
                f"{DUPLICATE_PHONE_WINDOW.days} days"
            }
        )
    lead = Lead(
        ref=next_ref(session, "LEAD", local_date(clean.received_at).year),
        oem_id=oem_id,
        oem_lead_ref=clean.oem_lead_ref,
        customer_name=clean.customer_name,
        phone=clean.phone,
        email=clean.email,
        address=clean.address,
        city=clean.city,
        pincode=clean.pincode,
        zone_id=match.zone_id,
        vehicle_model=clean.vehicle_model,
        requested_charger_type=clean.requested_charger_type,
        received_at=clean.received_at,
        status="new",
        source="manual",
    )
    try:
        with session.begin_nested():
            session.add(lead)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"lead id {clean.oem_lead_ref} was just added by someone else") from exc
    dto = LeadDTO.from_row(lead)
    audit.record(
        session,
        actor,
        "lead.create",
        entity_type="lead",
        entity_id=lead.id,
        after={k: v for k, v in dto.__dict__.items() if k not in ("address",)},
    )
    session.flush()
    return dto


def cancel_lead(session: Session, actor: Actor, *, lead_id: uuid.UUID, reason: str) -> LeadDTO:
    """Cancel a lead that is not yet installed, with a reason (max 300 characters).

    Refused while the lead has an open survey (scheduled/completed/submitted) or a
    non-cancelled installation: cancel those first.

    Raises:
        PermissionDenied: without ``lead.cancel``.
        NotFound: unknown lead (or another OEM's lead for an OEM-scoped actor).
        ValidationError: ``{"reason": ...}`` blank or too long.
        TransitionError: the lead is installed, closed, already cancelled, or has open work.
    """
    require(actor, "lead.cancel")
    lead = session.get(Lead, lead_id)
    if lead is None or (actor.role == "oem_viewer" and lead.oem_id != actor.oem_id):
        raise NotFound("lead not found")
    text = " ".join((reason or "").split())
    if not text:
        raise ValidationError({"reason": "a reason is required"})
    if len(text) > 300:
        raise ValidationError({"reason": "reason is longer than 300 characters"})
    if lead.status not in CANCELLABLE_STATUSES:
        raise TransitionError(f"lead {lead.ref} is {lead.status} and cannot be cancelled")
    open_survey = session.execute(
        select(Survey.ref).where(Survey.lead_id == lead.id, Survey.status.in_(_OPEN_SURVEY))
    ).first()
    if open_survey is not None:
        raise TransitionError(f"lead {lead.ref} has open survey {open_survey[0]}; cancel it first")
    open_install = session.execute(
        select(Installation.ref).where(
            Installation.lead_id == lead.id, Installation.status.not_in(_DONE_INSTALLATION)
        )
    ).first()
    if open_install is not None:
        raise TransitionError(
            f"lead {lead.ref} has installation {open_install[0]}; cancel it first"
        )
    before = {"status": lead.status, "cancel_reason": lead.cancel_reason}
    lead.status = "cancelled"
    lead.cancel_reason = text
    session.flush()
    audit.record(
        session,
        actor,
        "lead.cancel",
        entity_type="lead",
        entity_id=lead.id,
        before=before,
        after={"status": lead.status, "cancel_reason": text, "ref": lead.ref},
    )
    session.flush()
    return LeadDTO.from_row(lead)
