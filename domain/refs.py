"""Human-readable refs from a concurrency-safe per-prefix, per-year counter.

``next_ref(session, "LEAD", 2026)`` -> ``"LEAD-2026-00001"``. The counter row is bumped with
one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` statement, so concurrent transactions
queue on the row lock (PostgreSQL) or the write lock (SQLite) and never see the same value; a
rolled-back transaction gives its number back, so committed refs have no gaps.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.types import utcnow
from domain.accounts.models import RefCounter

PREFIXES = ("LEAD", "SUR", "INS", "SVC", "CP", "PR")


def next_refs(session: Session, prefix: str, count: int, year: int | None = None) -> list[str]:
    """Reserve ``count`` consecutive refs for ``prefix`` in ``year`` (default: this UTC year).

    Raises:
        ValueError: unknown prefix or ``count`` < 1.
    """
    if prefix not in PREFIXES:
        raise ValueError(f"unknown ref prefix {prefix!r}")
    if count < 1:
        raise ValueError("count must be at least 1")
    year = year or utcnow().year
    dialect = session.get_bind().dialect.name
    ins = (postgresql if dialect == "postgresql" else sqlite).insert(RefCounter)
    stmt = (
        ins.values(id=uuid.uuid4(), prefix=prefix, year=year, last_value=count, created_at=utcnow())
        .on_conflict_do_update(
            index_elements=["prefix", "year"],
            set_={"last_value": RefCounter.last_value + count},
        )
        .returning(RefCounter.last_value)
    )
    last = session.execute(stmt).scalar_one()
    return [format_ref(prefix, year, n) for n in range(last - count + 1, last + 1)]


def next_ref(session: Session, prefix: str, year: int | None = None) -> str:
    """Reserve one ref, e.g. ``INS-2026-00456``. See ``next_refs``."""
    return next_refs(session, prefix, 1, year)[0]


def format_ref(prefix: str, year: int, number: int) -> str:
    """``format_ref("INS", 2026, 456)`` -> ``"INS-2026-00456"``."""
    return f"{prefix}-{year}-{number:05d}"


def year_of(moment: datetime) -> int:
    """Year used for a ref of something that happened at ``moment``."""
    return moment.year
