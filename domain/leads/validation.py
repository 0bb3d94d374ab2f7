"""Field rules of a lead, shared by the sheet importer and the manual form.

Every ``normalise_*`` function takes what a person or a spreadsheet gave (a string, possibly
Excel-mangled: ``560001.0``, ``9.845012345E9``) and returns the stored form, or raises
``FieldError`` with a reason safe to show. ``validate_lead_fields`` applies all of them to one
lead and collects a reason per field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from domain.accounts.models import CHARGER_TYPES
from domain.accounts.zones import pincode_info
from domain.calendar import local_zone
from domain.fields import (  # noqa: F401  (re-exported for the lead importer)
    FieldError,
    clean_cell,
    integral_text,
    normalise_email,
    normalise_phone,
)

# Stored column widths (domain/leads/models.py).
MAX_LEN = {
    "oem_lead_ref": 64,
    "customer_name": 120,
    "city": 80,
    "vehicle_model": 80,
    "email": 254,
    "address": 2000,
}

REQUIRED_FIELDS = (
    "oem_lead_ref",
    "customer_name",
    "phone",
    "address",
    "city",
    "pincode",
    "received_at",
)
OPTIONAL_FIELDS = ("email", "vehicle_model", "requested_charger_type")
LEAD_FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS

FIELD_LABELS = {
    "oem_lead_ref": "lead id",
    "customer_name": "customer name",
    "phone": "phone",
    "email": "email",
    "address": "address",
    "city": "city",
    "pincode": "pincode",
    "vehicle_model": "vehicle model",
    "requested_charger_type": "charger type",
    "received_at": "date",
}

# Sheet header (lower case, letters and digits only) -> lead field.
HEADER_ALIASES: dict[str, str] = {}
for _field, _names in {
    "oem_lead_ref": (
        "leadid oemleadid leadref oemleadref leadreference leadno leadnumber oemref "
        "oemreference enquiryid enquiryno referenceid referenceno refno"
    ),
    "customer_name": "customername name customer fullname clientname contactname custname",
    "phone": (
        "phone mobile mobileno mobilenumber phoneno phonenumber contactno contactnumber "
        "customerphone customermobile mob telephone tel cellphone"
    ),
    "email": "email emailid emailaddress mail customeremail",
    "address": (
        "address customeraddress installationaddress siteaddress fulladdress addressline "
        "address1 addressline1"
    ),
    "city": "city town cityname",
    "pincode": "pincode pin pinno postalcode postcode zip zipcode areapincode",
    "vehicle_model": "vehiclemodel vehicle model carmodel variant vehiclename",
    "requested_charger_type": "chargertype charger requestedchargertype chargermodel",
    "received_at": (
        "date leaddate receivedat receiveddate datereceived receivedon leadreceiveddate "
        "leadreceivedon createdat createddate createdon dateofenquiry enquirydate bookingdate"
    ),
}.items():
    for _name in _names.split():
        HEADER_ALIASES[_name.lower()] = _field


def header_key(header: Any) -> str | None:
    """Lead field for a sheet header, ignoring case, spaces, underscores, BOM and punctuation.

    ``"Lead ID"``, ``"lead_id"``, ``"\\ufeffLEAD-ID"`` -> ``"oem_lead_ref"``; unknown -> None.
    """
    text = str(header or "").replace("\ufeff", "").lower()
    squashed = re.sub(r"[^a-z0-9]", "", text)
    return HEADER_ALIASES.get(squashed)


def normalise_text(value: Any, field: str, *, required: bool) -> str | None:
    """Trimmed text with inner whitespace collapsed; ``FieldError`` if missing or too long."""
    text = re.sub(r"\s+", " ", clean_cell(value)).strip()
    if not text:
        if required:
            raise FieldError(f"{FIELD_LABELS.get(field, field)} is required")
        return None
    limit = MAX_LEN.get(field)
    if limit and len(text) > limit:
        raise FieldError(f"{FIELD_LABELS.get(field, field)} is longer than {limit} characters")
    return text


def normalise_pincode(value: Any) -> str:
    """A six-digit Indian pincode that exists in the India Post dataset.

    Accepts ``560001``, ``560 001`` and Excel's ``560001.0``.

    Raises:
        FieldError: blank, not six digits, or unknown to ``indian-pincode``.
    """
    text = clean_cell(value)
    if not text:
        raise FieldError("pincode is required")
    text = integral_text(text) or text
    pin = re.sub(r"\s+", "", text)
    if not re.fullmatch(r"\d{6}", pin):
        raise FieldError(f"pincode {text!r} is not six digits")
    if pincode_info(pin) is None:
        raise FieldError(f"pincode {pin} does not exist")
    return pin


def normalise_charger_type(value: Any) -> str | None:
    """One of ``CHARGER_TYPES`` (``"7.2kW AC"``), matched ignoring case/spaces; None if blank.

    Raises:
        FieldError: an unknown charger type.
    """
    text = clean_cell(value)
    if not text:
        return None
    squashed = re.sub(r"\s+", "", text).lower()
    for known in CHARGER_TYPES:
        if re.sub(r"\s+", "", known).lower() == squashed:
            return known
    raise FieldError(f"charger type {text!r} is not one of {', '.join(CHARGER_TYPES)}")


_DATE_FORMATS = (
    "%d/%m/%Y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    "%d-%B-%Y",
    "%b %d %Y",
    "%B %d %Y",
    "%d/%m/%y",
    "%d-%m-%y",
    "%d-%b-%y",
)
_TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p", "%I:%M%p", "%I %p")


def _parse_local(text: str) -> datetime | None:
    """Naive local datetime from the accepted formats (day first), or None."""
    cleaned = re.sub(r"\s+", " ", text.replace(",", " ")).strip()
    cleaned = re.sub(r"(?<=\d)T(?=\d)", " ", cleaned)
    cleaned = re.sub(r"(?<=:\d\d)\.\d+$", "", cleaned)  # fractional seconds from ISO/XLSX
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt)
        except ValueError:
            pass
        for tfmt in _TIME_FORMATS:
            try:
                return datetime.strptime(cleaned, f"{fmt} {tfmt}")
            except ValueError:
                continue
    return None


def parse_received_at(value: Any, *, now: datetime) -> datetime:
    """The moment a lead was received, as an aware UTC datetime.

    Sheets give local (Asia/Kolkata) dates, day first: ``21/11/2026``, ``21-11-2026``,
    ``2026-11-21``, ``21 Nov 2026``, optionally with a time (``21/11/2026 14:30``,
    ``2:30 PM``). ISO strings with an offset keep their offset. A date without a time means
    local midnight. Aware datetimes are taken as they are; naive ones as local time.

    Raises:
        FieldError: blank, unreadable, before 2000, or later than ``now`` (the future).
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time.min)
    else:
        text = clean_cell(value)
        if not text:
            raise FieldError("date is required")
        moment = None
        try:
            iso = datetime.fromisoformat(text)
            if iso.tzinfo is not None:
                moment = iso
        except ValueError:
            pass
        if moment is None:
            moment = _parse_local(text)
        if moment is None:
            raise FieldError(
                f"date {text!r} is not a date (use DD/MM/YYYY, YYYY-MM-DD or DD Mon YYYY)"
            )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=local_zone())
    moment = moment.astimezone(UTC)
    if moment.year < 2000:
        raise FieldError(f"date {moment.date().isoformat()} is implausibly old")
    if moment > now:
        local = moment.astimezone(local_zone())
        raise FieldError(f"date {local:%d/%m/%Y %H:%M} is in the future")
    return moment


@dataclass(frozen=True)
class CleanLead:
    """A lead's fields after validation, ready to store (pincode not yet zoned)."""

    oem_lead_ref: str
    customer_name: str
    phone: str
    email: str | None
    address: str
    city: str
    pincode: str
    vehicle_model: str | None
    requested_charger_type: str | None
    received_at: datetime


def validate_lead_fields(
    raw: dict[str, Any], *, now: datetime
) -> tuple[CleanLead | None, dict[str, str]]:
    """Validate one lead's raw values (keys from ``LEAD_FIELDS``; missing keys are blank).

    Returns:
        ``(CleanLead, {})`` when every field is good, else ``(None, {field: reason})``
        with one reason per bad field.
    """
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}

    def run(field: str, fn: Any) -> None:
        try:
            out[field] = fn(raw.get(field))
        except FieldError as exc:
            errors[field] = str(exc)

    run("oem_lead_ref", lambda v: normalise_text(v, "oem_lead_ref", required=True))
    run("customer_name", lambda v: normalise_text(v, "customer_name", required=True))
    run("phone", normalise_phone)
    run("email", normalise_email)
    run("address", lambda v: normalise_text(v, "address", required=True))
    run("city", lambda v: normalise_text(v, "city", required=True))
    run("pincode", normalise_pincode)
    run("vehicle_model", lambda v: normalise_text(v, "vehicle_model", required=False))
    run("requested_charger_type", normalise_charger_type)
    run("received_at", lambda v: parse_received_at(v, now=now))
    if errors:
        return None, errors
    return CleanLead(**out), {}
