"""Small render helpers shared by the pages (no business rules here)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from app.runtime import session_scope
from db.engine import RETRY_ATTEMPTS, retrying
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


#: characters that are Markdown anywhere in a line (emphasis, code, links and images, raw HTML
#: and autolinks, entities, tables, KaTeX ``$``, strikethrough, ``:color[...]`` directives, the
#: closing ``#`` of a heading).
_MD_INLINE = frozenset("\\`*_{}[]()<>!|$~&#")
#: characters that are Markdown only at the start of a line (headings, lists, quotes, setext
#: underlines, thematic breaks) and ordered-list numbers (``1.``).
_MD_LINE_START = frozenset("#+-=>")
_ORDERED_ITEM = re.compile(r"^(\d+)([.)])")


def _md_escape_line(line: str) -> str:
    line = line.lstrip()  # four leading spaces would make a code block
    out = "".join("\\" + ch if ch in _MD_INLINE else ch for ch in line)
    if out[:1] in _MD_LINE_START:
        out = "\\" + out
    return _ORDERED_ITEM.sub(lambda m: m.group(1) + "\\" + m.group(2), out, count=1)


def md_escape(text: object) -> str:
    """User text made literal inside Markdown (``st.markdown``, ``st.caption``, alerts, labels).

    Backslash-escapes (CommonMark shows a backslash-escaped punctuation character as itself)
    ``\\ ` * _ { } [ ] ( ) < > ! | $ ~ & #`` everywhere, and ``+ - = >`` and the ``.`` of
    ``1.`` at the start of a line, where they would make headings, lists or quotes; leading
    spaces are dropped (no code blocks) and each line break becomes a Markdown hard break.
    So a customer named ``**bold** <script>`` is shown as exactly that: never bold, never
    HTML, never a link, a formula or a heading. ``None`` gives ``""``; other values are
    ``str()``-ed first.
    """
    if text is None:
        return ""
    lines = str(text).splitlines() or [""]
    return "  \n".join(_md_escape_line(ln) for ln in lines)


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


T = TypeVar("T")


def run_command(
    action: Callable[[Any], T],
    *,
    attempts: int = RETRY_ATTEMPTS,
    on_error: Callable[[DomainError], None] | None = None,
) -> T | None:
    """Run ``action(session)`` as one transaction (``app.runtime.session_scope``).

    A transient database error (busy, serialization failure, deadlock, lost connection:
    ``domain.errors.Unavailable``) runs the *whole* action again in a new transaction, at
    most ``attempts`` times in all, with jittered backoff (``db.engine.retrying``).
    A ``DomainError`` rolls the transaction back and is handed to ``on_error`` (default
    ``show_domain_error``) *after* the transaction block (no ``st.*`` call inside it); then
    None is returned. That includes ``Unavailable`` ("the database is busy; try again") after
    the last attempt. Any other exception is a bug and propagates.

    Returns:
        What ``action`` returned, or None when it was refused.
    """

    def once() -> T:
        with session_scope() as s:
            return action(s)

    error: DomainError | None = None
    result: T | None = None
    try:
        result = retrying(once, attempts=attempts)
    except DomainError as e:
        error = e
    if error is not None:
        (show_domain_error if on_error is None else on_error)(error)
        return None
    return result
