"""Money: INR amounts as ``Decimal``, shown with the rupee sign and Indian digit grouping."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_compact_currency, format_currency


def to_inr(value: Decimal | int | float | str | None) -> Decimal:
    """Round a value to paise (2 decimal places, half up). ``None`` becomes ``0.00``."""
    if value is None:
        return Decimal("0.00")
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def format_inr(value: Decimal | int | float | str | None) -> str:
    """``format_inr(123456)`` -> ``"₹1,23,456.00"`` (en_IN grouping)."""
    return format_currency(to_inr(value), "INR", locale="en_IN")


#: from one lakh (1,00,000) on, ``format_inr_compact`` counts in lakhs (L) and crores (Cr)
LAKH = Decimal("100000")


def format_inr_compact(value: Decimal | int | float | str | None) -> str:
    """An INR amount short enough for a dashboard tile, in the Indian way of counting.

    Below one lakh it is ``format_inr`` (``"₹91,000.00"``); from one lakh on it is Babel's
    compact ``en_IN`` form with two decimals: ``₹1.01L`` for 1,01,000, ``₹52.47L`` for
    52,47,300.55, ``₹1.23Cr`` for 1,23,45,678 (1 L = 1,00,000; 1 Cr = 100 L). Negative amounts
    keep their sign. Show the exact ``format_inr`` value beside it (a tooltip) where it matters.
    """
    amount = to_inr(value)
    if abs(amount) < LAKH:
        return format_inr(amount)
    return format_compact_currency(amount, "INR", locale="en_IN", fraction_digits=2)
