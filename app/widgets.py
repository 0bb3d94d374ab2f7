"""Small render helpers shared by the pages (no business rules here)."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal

import pandas as pd
import streamlit as st

from domain.calendar import to_local
from domain.errors import DomainError, ValidationError
from domain.money import format_inr


def show_domain_error(e: DomainError) -> None:
    """Show a domain error with ``st.error``; a ``ValidationError`` lists each field."""
    if isinstance(e, ValidationError) and len(e.errors) > 1:
        lines = [
            f"- **{field}**: {reason}" if field != "__all__" else f"- {reason}"
            for field, reason in e.errors.items()
        ]
        st.error("Please correct the following:\n\n" + "\n".join(lines))
    else:
        st.error(str(e))


def money(x: Decimal | int | float | str | None) -> str:
    """INR with the rupee sign and Indian grouping: ``money(123456)`` -> ``₹1,23,456.00``."""
    return format_inr(x)


def local_time(moment: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    """An aware UTC datetime shown in the configured zone (Asia/Kolkata); ``""`` for None."""
    if moment is None or pd.isna(moment):  # NaT is a datetime too
        return ""
    return to_local(moment).strftime(fmt)


def localise_columns(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """A copy of ``df`` with the given datetime columns converted to local-time strings."""
    out = df.copy()
    for col in columns:
        if col in out.columns:
            out[col] = [local_time(v) for v in out[col]]
    return out


def paginator(total: int, page_size: int, key: str) -> tuple[int, int]:
    """A page picker for ``total`` rows, ``page_size`` per page.

    Returns:
        ``(offset, limit)`` for the query of the chosen page (offset 0 when there is one page).
    """
    pages = max(1, math.ceil(total / page_size)) if page_size > 0 else 1
    if pages == 1:
        return 0, page_size
    page = st.number_input(
        f"Page (of {pages})", min_value=1, max_value=pages, value=1, step=1, key=key
    )
    st.caption(f"{total} rows")
    return (int(page) - 1) * page_size, page_size
