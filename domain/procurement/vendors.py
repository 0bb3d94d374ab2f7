"""Vendors (seed 004): local suppliers a procurement request may name.

A vendor has a name, an Indian phone (``phonenumbers``, stored E.164), an operating zone and
at least one payment method, each validated for format:

* UPI id ``handle@psp``: ``^[a-zA-Z0-9.\\-_]{2,256}@[a-zA-Z][a-zA-Z0-9]{2,64}$``;
* bank account (9-18 digits; spaces are dropped) *together with* an IFSC
  (``^[A-Z]{4}0[A-Z0-9]{6}$``: 4 bank letters, a zero, 6 branch characters; 11 in all).
  No maintained IFSC library exists on PyPI (the ones found are unmaintained or look codes
  up online), so the format is checked with the regex; whether the branch exists is not.

A vendor named by any procurement request is never deleted (``delete_vendor`` refuses and
says to deactivate it); an unreferenced one may be deleted.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import audit
from domain.accounts.models import Zone
from domain.activation import set_active
from domain.actor import Actor
from domain.errors import Conflict, NotFound, ValidationError
from domain.fields import FieldError, normalise_phone
from domain.permissions import require
from domain.procurement.models import ProcurementRequest, Vendor

__all__ = [
    "IFSC_PATTERN",
    "UPI_PATTERN",
    "VendorDTO",
    "create_vendor",
    "deactivate_vendor",
    "delete_vendor",
    "normalise_ifsc",
    "normalise_upi",
    "reactivate_vendor",
    "update_vendor",
]

NAME_MAX = 200
UPI_PATTERN = re.compile(r"^[a-zA-Z0-9.\-_]{2,256}@[a-zA-Z][a-zA-Z0-9]{2,64}$")
IFSC_PATTERN = re.compile(r"^[A-Z]{4}0[A-Z0-9]{6}$")
ACCOUNT_PATTERN = re.compile(r"^\d{9,18}$")


@dataclass(frozen=True)
class VendorDTO:
    """One vendor; ``phone`` E.164; payment fields None when not given."""

    id: uuid.UUID
    name: str
    phone: str
    zone_id: uuid.UUID
    upi_id: str | None
    bank_account: str | None
    bank_ifsc: str | None
    is_active: bool

    @classmethod
    def from_row(cls, row: Vendor) -> VendorDTO:
        """Copy the columns of a ``Vendor``."""
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


def _blank(value: Any) -> bool:
    return value is None or not str(value).strip()


def normalise_upi(value: Any) -> str | None:
    """A UPI id trimmed (``"asha.rao@okaxis"``), or None when blank.

    Raises:
        ValidationError: on ``upi_id`` when it is not ``handle@psp`` (see module doc;
            at most 100 characters as stored).
    """
    if _blank(value):
        return None
    text = str(value).strip()
    if len(text) > 100 or not UPI_PATTERN.match(text):
        raise ValidationError(
            {"upi_id": f"{text!r} is not a UPI id (handle@bank, e.g. name.surname@okaxis)"}
        )
    return text


def normalise_ifsc(value: Any) -> str | None:
    """An IFSC trimmed and upper-cased (``"sbin0001234"`` -> ``"SBIN0001234"``), or None.

    Raises:
        ValidationError: on ``bank_ifsc`` unless 4 letters, ``0``, 6 letters/digits
            (``SBIN0XXXXX``, 10 characters, is refused).
    """
    if _blank(value):
        return None
    text = str(value).strip().upper()
    if not IFSC_PATTERN.match(text):
        raise ValidationError(
            {
                "bank_ifsc": f"{text!r} is not an IFSC (11 characters: 4 letters, 0, then 6 "
                "letters or digits, e.g. SBIN0001234)"
            }
        )
    return text


def normalise_account(value: Any) -> str | None:
    """A bank account number with spaces dropped, or None when blank.

    Raises:
        ValidationError: on ``bank_account`` unless 9-18 digits.
    """
    if _blank(value):
        return None
    text = re.sub(r"[\s-]", "", str(value))
    if not ACCOUNT_PATTERN.match(text):
        raise ValidationError({"bank_account": "a bank account number has 9 to 18 digits"})
    return text


def _validated(
    session: Session,
    *,
    name: Any,
    phone: Any,
    zone_id: Any,
    upi_id: Any,
    bank_account: Any,
    bank_ifsc: Any,
) -> dict[str, Any]:
    """Every vendor field checked together; one ``ValidationError`` naming each bad field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    name_text = " ".join(str(name or "").split())
    if not name_text:
        errors["name"] = "name is required"
    elif len(name_text) > NAME_MAX:
        errors["name"] = f"name is longer than {NAME_MAX} characters"
    values["name"] = name_text
    try:
        values["phone"] = normalise_phone(phone)
    except FieldError as e:
        errors["phone"] = str(e)
    if zone_id is None or session.get(Zone, zone_id) is None:
        errors["zone_id"] = "choose the vendor's zone"
    values["zone_id"] = zone_id
    for field, fn, raw in (
        ("upi_id", normalise_upi, upi_id),
        ("bank_account", normalise_account, bank_account),
        ("bank_ifsc", normalise_ifsc, bank_ifsc),
    ):
        try:
            values[field] = fn(raw)
        except ValidationError as e:
            errors.update(e.errors)
    if "bank_account" not in errors and "bank_ifsc" not in errors:
        if values["bank_account"] and not values["bank_ifsc"]:
            errors["bank_ifsc"] = "a bank account needs its IFSC"
        elif values["bank_ifsc"] and not values["bank_account"]:
            errors["bank_account"] = "an IFSC needs the bank account number"
    bad_payment = {"upi_id", "bank_account", "bank_ifsc"} & set(errors)
    if not bad_payment and not values["upi_id"] and not values["bank_account"]:
        errors["payment"] = "give at least one payment method: a UPI id, or bank account + IFSC"
    if errors:
        raise ValidationError(errors)
    return values


def _get(session: Session, vendor_id: uuid.UUID) -> Vendor:
    vendor = session.get(Vendor, vendor_id)
    if vendor is None:
        raise NotFound("vendor not found")
    return vendor


def create_vendor(
    session: Session,
    actor: Actor,
    *,
    name: str,
    phone: str,
    zone_id: uuid.UUID | None,
    upi_id: str | None = None,
    bank_account: str | None = None,
    bank_ifsc: str | None = None,
) -> VendorDTO:
    """Add an active vendor.

    Raises:
        PermissionDenied: without ``vendor.manage``.
        ValidationError: naming each bad field (``name``, ``phone``, ``zone_id``, ``upi_id``,
            ``bank_account``, ``bank_ifsc``) or ``payment`` when there is no payment method;
            nothing written.
    """
    require(actor, "vendor.manage")
    values = _validated(
        session,
        name=name,
        phone=phone,
        zone_id=zone_id,
        upi_id=upi_id,
        bank_account=bank_account,
        bank_ifsc=bank_ifsc,
    )
    vendor = Vendor(id=uuid.uuid4(), is_active=True, **values)
    session.add(vendor)
    session.flush()
    audit.record(
        session, actor, "vendor.create", entity_type="vendor", entity_id=vendor.id, after=values
    )
    session.flush()
    return VendorDTO.from_row(vendor)


def update_vendor(
    session: Session,
    actor: Actor,
    *,
    vendor_id: uuid.UUID,
    name: str,
    phone: str,
    zone_id: uuid.UUID | None,
    upi_id: str | None = None,
    bank_account: str | None = None,
    bank_ifsc: str | None = None,
) -> VendorDTO:
    """Replace a vendor's fields (same rules as ``create_vendor``).

    Raises:
        PermissionDenied: without ``vendor.manage``.
        NotFound: no such vendor.
        ValidationError: as ``create_vendor``; nothing written.
    """
    require(actor, "vendor.manage")
    vendor = _get(session, vendor_id)
    values = _validated(
        session,
        name=name,
        phone=phone,
        zone_id=zone_id,
        upi_id=upi_id,
        bank_account=bank_account,
        bank_ifsc=bank_ifsc,
    )
    before = {k: getattr(vendor, k) for k in values}
    changed = {k: v for k, v in values.items() if before[k] != v}
    if changed:
        for k, v in changed.items():
            setattr(vendor, k, v)
        audit.record(
            session,
            actor,
            "vendor.update",
            entity_type="vendor",
            entity_id=vendor.id,
            before={k: before[k] for k in changed},
            after=changed,
        )
        session.flush()
    return VendorDTO.from_row(vendor)


def _set_active(session: Session, actor: Actor, vendor_id: uuid.UUID, active: bool) -> VendorDTO:
    require(actor, "vendor.manage")
    vendor = _get(session, vendor_id)
    set_active(session, actor, vendor, active=active, entity_type="vendor", attr="is_active")
    return VendorDTO.from_row(vendor)


def deactivate_vendor(session: Session, actor: Actor, *, vendor_id: uuid.UUID) -> VendorDTO:
    """Mark a vendor inactive (kept on its requests; new requests cannot name it).
    Idempotent: no audit event when it was already inactive.

    Raises:
        PermissionDenied: without ``vendor.manage``.
        NotFound: no such vendor.
    """
    return _set_active(session, actor, vendor_id, False)


def reactivate_vendor(session: Session, actor: Actor, *, vendor_id: uuid.UUID) -> VendorDTO:
    """Make an inactive vendor active again. See ``deactivate_vendor``."""
    return _set_active(session, actor, vendor_id, True)


def delete_vendor(session: Session, actor: Actor, *, vendor_id: uuid.UUID) -> None:
    """Delete a vendor that no procurement request names.

    Raises:
        PermissionDenied: without ``vendor.manage``.
        NotFound: no such vendor.
        Conflict: requests name the vendor (the message gives how many and says to
            deactivate it instead); nothing written.
    """
    require(actor, "vendor.manage")
    vendor = _get(session, vendor_id)
    refs = (
        session.execute(
            select(ProcurementRequest.ref).where(ProcurementRequest.vendor_id == vendor.id)
        )
        .scalars()
        .all()
    )
    if refs:
        shown = ", ".join(sorted(refs)[:3]) + (" …" if len(refs) > 3 else "")
        raise Conflict(
            f"vendor {vendor.name} is named by {len(refs)} procurement request(s) ({shown}); "
            "a vendor with requests cannot be deleted — deactivate it instead"
        )
    before = {"name": vendor.name, "phone": vendor.phone, "zone_id": vendor.zone_id}
    session.delete(vendor)
    session.flush()
    audit.record(
        session, actor, "vendor.delete", entity_type="vendor", entity_id=vendor_id, before=before
    )
    session.flush()
