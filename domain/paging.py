"""One page of a list query: the rows, the total matching the filters, and the page maths."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Any, ClassVar

import pandas as pd
from sqlalchemy import ColumnElement, func, or_

from domain.errors import ValidationError


@dataclass(frozen=True)
class Page:
    """Rows of one page (frozen dataclasses of ``row_type``) plus ``total`` matching rows.

    Subclasses set ``row_type`` so an empty page still has the right DataFrame columns.
    """

    row_type: ClassVar[type]
    rows: tuple[Any, ...]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, -(-self.total // self.page_size))

    def to_frame(self) -> pd.DataFrame:
        """The rows as a DataFrame with the row type's columns (an empty frame keeps them)."""
        columns = [f.name for f in fields(self.row_type)]
        return pd.DataFrame([asdict(r) for r in self.rows], columns=columns)


MAX_PAGE_SIZE = 500


def check_page(page: int, page_size: int) -> None:
    """Validate list-query paging arguments.

    Raises:
        ValidationError: ``page`` < 1, or ``page_size`` outside 1..``MAX_PAGE_SIZE``.
    """
    if page < 1:
        raise ValidationError({"page": "page must be 1 or more"})
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValidationError({"page_size": f"page size must be 1..{MAX_PAGE_SIZE}"})


def check_date_range(start: date | None, end: date | None, field: str = "date_from") -> None:
    """Validate an inclusive date filter.

    Raises:
        ValidationError: naming ``field`` when ``start`` is after ``end``.
    """
    if start and end and start > end:
        raise ValidationError({field: "the start date is after the end date"})


def matches_any(term: str | None, columns: Sequence[Any]) -> ColumnElement[bool] | None:
    """Case-insensitive "contains ``term``" over ``columns`` (LIKE with ``%``/``_`` escaped),
    or None for a blank term."""
    text = (term or "").strip().lower()
    if not text:
        return None
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    return or_(*(func.lower(col).like(pattern, escape="\\") for col in columns))
