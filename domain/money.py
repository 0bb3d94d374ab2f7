"""Money: INR amounts as ``Decimal``, shown with the rupee sign and Indian digit grouping."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency


def to_inr(value: Decimal | int | float | str | None) -> Decimal:
    """Round a value to paise (2 decimal places, half up). ``None`` becomes ``0.00``."""
    if value is None:
        return Decimal("0.00")
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def format_inr(value: Decimal | int | float | str | None) -> str:
    """``format_inr(123456)`` -> ``"₹1,23,456.00"`` (en_IN grouping)."""
    return format_currency(to_inr(value), "INR", locale="en_IN")
