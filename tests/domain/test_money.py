"""INR formatting: exact amounts with Indian grouping, and the compact lakh/crore form used on
dashboard tiles (domain.money)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.money import format_inr, format_inr_compact, to_inr


def test_exact_amounts_use_indian_grouping_and_paise() -> None:
    assert format_inr(123456) == "₹1,23,456.00"
    assert format_inr(Decimal("5247300.555")) == "₹52,47,300.56"  # half up to paise
    assert format_inr(None) == "₹0.00"
    assert to_inr("0.005") == Decimal("0.01")


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (0, "₹0.00"),
        (30000, "₹30,000.00"),  # below a lakh: the exact amount fits a tile
        (Decimal("99999.99"), "₹99,999.99"),
        (100000, "₹1L"),
        (101000, "₹1.01L"),
        (Decimal("5247300.55"), "₹52.47L"),
        (12345678, "₹1.23Cr"),
        (-250000, "-₹2.5L"),
    ],
)
def test_compact_amounts_count_in_lakhs_and_crores(amount: Decimal | int, shown: str) -> None:
    assert format_inr_compact(amount) == shown


def test_compact_form_never_truncates_a_tile_value() -> None:
    # a month's revenue that used to be cut to "₹52,47,30…" on the KPI tile
    assert len(format_inr_compact(Decimal("524730055.00"))) <= 10
