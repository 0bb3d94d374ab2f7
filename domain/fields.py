"""Field normalisers shared by every context: cells from sheets and forms, Indian phones
(``phonenumbers``, region IN, stored E.164) and email addresses (``email-validator``)."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

EMAIL_MAX_LEN = 254


class FieldError(ValueError):
    """One field's value was refused; ``str(err)`` is the reason to show."""


def clean_cell(value: Any) -> str:
    """A cell as trimmed text. Integral floats (``560001.0``) become ``"560001"``.

    Datetimes become ``YYYY-MM-DD HH:MM:SS``; None becomes ``""``.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("\ufeff", "").replace("\xa0", " ").strip()


_NUMERIC = re.compile(r"^[+-]?\d+(\.\d*)?([eE][+-]?\d+)?$")


def integral_text(text: str) -> str | None:
    """``"560001.0"`` -> ``"560001"``, ``"9.845012345E9"`` -> ``"9845012345"``; else None."""
    if not _NUMERIC.match(text) or ("." not in text and "e" not in text.lower()):
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - guarded by the regex
        return None
    if number != number.to_integral_value():
        return None
    return str(int(number))


def normalise_phone(value: Any) -> str:
    """An Indian phone number in E.164 (``+919845012345``).

    Accepts ``98450 12345``, ``+91-98450-12345``, ``09845012345``, ``919845012345`` and
    Excel-formatted numbers (``9845012345.0``, ``9.845012345E9``).

    Raises:
        FieldError: blank, unparseable or not a valid number for region IN.
    """
    text = clean_cell(value)
    if not text:
        raise FieldError("phone is required")
    text = integral_text(text) or text
    try:
        number = phonenumbers.parse(text, "IN")
    except phonenumbers.NumberParseException:
        raise FieldError(f"phone {text!r} is not a phone number") from None
    if not phonenumbers.is_valid_number_for_region(number, "IN"):
        raise FieldError(f"phone {text!r} is not a valid Indian phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(value: Any) -> str | None:
    """Normalised email (domain lower-cased) or None when blank; no DNS lookup.

    Raises:
        FieldError: not a syntactically valid address.
    """
    text = clean_cell(value)
    if not text:
        return None
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise FieldError(f"email {text!r} is not valid: {exc}") from None
    if len(result.normalized) > EMAIL_MAX_LEN:
        raise FieldError("email is too long")
    return result.normalized
