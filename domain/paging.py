"""One page of a list query: the rows, the total matching the filters, and the page maths."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

import pandas as pd


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
