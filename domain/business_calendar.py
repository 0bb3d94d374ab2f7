"""The business-day calendar table: business days counted in SQL (DESIGN.md "Definitions").

``business_day`` holds one row per (holiday subdivision, local date) with ``business`` (the
date is a business day: ``domain.calendar.is_business_day``, Monday-Saturday minus the Indian
public holidays of that state), ``ordinal``, the running count of business days of that
subdivision, and ``month`` (the first day of the date's month, so a query groups by a plain
column: no per-row expression, and PostgreSQL estimates the groups from its statistics).
For two covered dates ``a`` and ``b`` of one subdivision::

    business_days_between(a, b, subdiv) == max(0, ordinal(b) - ordinal(a))

(business days *after* ``a`` up to and including ``b``; a Sunday or holiday ``a`` adds
nothing, and ``ordinal(b) - ordinal(a) <= 0`` whenever ``b <= a``). So an SLA query joins the
calendar twice, on the received and on the completion local date, and compares the difference
of the ordinals with the target, without any per-row Python.

Subdivision ``""`` (``NO_SUBDIV``) is the national calendar, for zones whose
``holiday_subdiv`` is NULL; queries join on ``COALESCE(zone.holiday_subdiv, '')``. A
subdivision the ``holidays`` package does not know gets the national holidays, exactly as
``is_business_day`` does.

Each subdivision's rows always form one contiguous date range: ``ensure_business_calendar``
only extends a range at its ends (earlier days get ordinals counted down from the first row,
later days counted up from the last), so existing ordinals never change and a range is covered
when its two end dates are present. Only differences of ordinals mean anything.

Who fills it: the seeder (``db.seed``) for the demo years and the next few, and every SLA query
through ``require_business_calendar`` (a cheap check of the end dates; whole years filled when
something is missing), so a new zone state or an old lead never gives a wrong figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import Engine, String, func, insert, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from db.base import Base
from domain.accounts.models import Zone
from domain.calendar import is_business_day, local_date
from domain.errors import Conflict
from domain.leads.models import Lead

__all__ = [
    "NO_SUBDIV",
    "BusinessDay",
    "calendar_covers",
    "calendar_subdivs",
    "ensure_business_calendar",
    "require_business_calendar",
    "zone_subdiv_sql",
]

NO_SUBDIV = ""
"""``business_day.subdiv`` of the national calendar (zones without a known state)."""


class BusinessDay(Base):
    """One local date of one holiday subdivision's business-day calendar (derived data).

    Keyed by ``(subdiv, day)`` rather than a UUID: it is a lookup table rebuilt from the
    ``holidays`` package, never referenced by other rows. SQLite stores it WITHOUT ROWID, so a
    lookup by key reads the ordinal from the key's own b-tree.
    """

    __tablename__ = "business_day"
    __table_args__ = {"sqlite_with_rowid": False}

    subdiv: Mapped[str] = mapped_column(String(4), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    business: Mapped[bool]
    ordinal: Mapped[int]
    month: Mapped[date]  # first day of ``day``'s month (group by it: no per-row expression)


def zone_subdiv_sql() -> ColumnElement[str]:
    """SQL ``COALESCE(zone.holiday_subdiv, '')``: a zone's calendar key in ``business_day``."""
    return func.coalesce(Zone.holiday_subdiv, NO_SUBDIV)


def _key(subdiv: str | None) -> str:
    return subdiv or NO_SUBDIV


def calendar_subdivs(session: Session) -> list[str]:
    """Calendar keys the zones need: ``""`` (always) and every zone's ``holiday_subdiv``."""
    found = session.execute(select(Zone.holiday_subdiv).distinct()).scalars()
    return sorted({NO_SUBDIV} | {_key(s) for s in found})


def calendar_covers(
    session: Session, *, first: date, last: date, subdivs: Iterable[str | None]
) -> bool:
    """True when ``business_day`` holds every date ``first`` .. ``last`` of each subdivision.

    One indexed lookup of the two end dates per subdivision (a range is contiguous, see the
    module docstring). ``None`` means ``""``.
    """
    keys = {_key(s) for s in subdivs}
    if not keys:
        return True
    ends = {first, last}
    found = session.execute(
        select(func.count())
        .select_from(BusinessDay)
        .where(
            tuple_(BusinessDay.subdiv, BusinessDay.day).in_(
                [(k, d) for k in sorted(keys) for d in sorted(ends)]
            )
        )
    ).scalar_one()
    return int(found) == len(keys) * len(ends)


def ensure_business_calendar(
    session: Session,
    *,
    through: date,
    first: date | None = None,
    subdivs: Iterable[str | None] | None = None,
) -> int:
    """Make ``business_day`` cover ``first`` .. ``through`` for each subdivision; idempotent.

    Adds only missing rows, at the ends of each subdivision's existing range (a gap between the
    range and the requested dates is filled too); existing rows never change. Runs in the
    caller's transaction (flushes, never commits).

    Args:
        through: last local date to cover (inclusive).
        first: first local date to cover; default: January 1 of ``through``'s year, or the
            existing first row if that is earlier.
        subdivs: ``holidays`` subdivision codes (``None``/``""`` = national); default
            ``calendar_subdivs(session)``.

    Returns:
        Number of rows inserted (0 when already covered).

    Raises:
        ValueError: ``first`` after ``through``.
    """
    keys = sorted({_key(s) for s in subdivs} if subdivs is not None else calendar_subdivs(session))
    first = first or date(through.year, 1, 1)
    if first > through:
        raise ValueError("first must not be after through")
    inserted = 0
    for key in keys:
        rows = _missing_rows(session, key, first, through)
        if rows:
            session.execute(insert(BusinessDay), rows)
            inserted += len(rows)
    if inserted:
        session.flush()
    return inserted


def _row(key: str, day: date, business: bool, ordinal: int) -> dict[str, object]:
    return {
        "subdiv": key,
        "day": day,
        "business": business,
        "ordinal": ordinal,
        "month": day.replace(day=1),
    }


def _missing_rows(
    session: Session, key: str, first: date, through: date
) -> list[dict[str, object]]:
    subdiv = key or None
    lo, hi = session.execute(
        select(func.min(BusinessDay.day), func.max(BusinessDay.day)).where(
            BusinessDay.subdiv == key
        )
    ).one()
    rows: list[dict[str, object]] = []
    if lo is None:  # empty: count up from 0 on the day before ``first``
        running, day = 0, first
        while day <= through:
            business = is_business_day(day, subdiv)
            running += business
            rows.append(_row(key, day, business, running))
            day += timedelta(days=1)
        return rows
    ends = {
        d: (bool(b), int(o))
        for d, b, o in session.execute(
            select(BusinessDay.day, BusinessDay.business, BusinessDay.ordinal).where(
                BusinessDay.subdiv == key, BusinessDay.day.in_([lo, hi])
            )
        )
    }
    # earlier days: ordinal(d) = ordinal(d + 1) - (1 if d + 1 is a business day)
    next_business, next_ordinal = ends[lo]
    day = lo - timedelta(days=1)
    while day >= first:
        ordinal = next_ordinal - next_business
        business = is_business_day(day, subdiv)
        rows.append(_row(key, day, business, ordinal))
        next_business, next_ordinal = business, ordinal
        day -= timedelta(days=1)
    # later days: ordinal(d) = ordinal(d - 1) + (1 if d is a business day)
    running = ends[hi][1]
    day = hi + timedelta(days=1)
    while day <= through:
        business = is_business_day(day, subdiv)
        running += business
        rows.append(_row(key, day, business, running))
        day += timedelta(days=1)
    return rows


def require_business_calendar(
    session: Session, *, first: date, last: date, lead_dates: bool = False
) -> tuple[date, date]:
    """Cheap check before an SLA query: ``business_day`` covers ``first`` .. ``last`` for every
    zone's subdivision; if not, the whole years around the range are filled.

    Args:
        first / last: local dates that must be covered (inclusive).
        lead_dates: widen the range to the received local dates of the earliest and the latest
            lead (two index lookups on ``lead.received_at``), so every lead's received date of
            an SLA query is covered.

    Returns:
        ``(first, last)`` as covered (widened by ``lead_dates``): the span of local dates the
        query may meet (e.g. for ``domain.kpi.queries.local_date_sql``).

    Where the fill is written:

    * the session has not started a transaction yet (a page's read-only scope, typically): the
      check runs in a short read transaction of its own and, when something is missing, the
      fill in a short write transaction that commits, so the caller's transaction (started
      afterwards) and every later reader see it;
    * the session is already inside a transaction (e.g. a report compile): the fill runs in
      that transaction, under a savepoint, and commits with it (in a read-only scope it is
      rolled back with the scope: correct, only not kept).

    A concurrent fill of the same rows (unique key) is tolerated when the other one covered
    the range.

    Raises:
        Conflict: a concurrent fill left the range uncovered (try again).
    """
    bind = session.get_bind()
    if session.in_transaction() or not isinstance(bind, Engine):
        return _check_and_fill(session, first, last, lead_dates, savepoint=True)
    # Imported here: the unit of work is the caller's business everywhere else in the domain.
    from db.engine import _READONLY, session_scope

    with session_scope(bind, readonly=True) as probe:
        span = _span(probe, first, last, lead_dates)
        if calendar_covers(probe, first=span[0], last=span[1], subdivs=calendar_subdivs(probe)):
            return span
    # a write transaction of its own (BEGIN IMMEDIATE on SQLite, even from a read-only bind)
    try:
        with session_scope(bind.execution_options(**{_READONLY: False})) as writer:
            return _check_and_fill(writer, first, last, lead_dates, savepoint=False)
    except IntegrityError as exc:  # another process filled the same rows first
        with session_scope(bind, readonly=True) as probe:
            span = _span(probe, first, last, lead_dates)
            subdivs = calendar_subdivs(probe)
            if not calendar_covers(probe, first=span[0], last=span[1], subdivs=subdivs):
                raise Conflict("the business-day calendar is being filled; try again") from exc
            return span


def _span(session: Session, first: date, last: date, lead_dates: bool) -> tuple[date, date]:
    if not lead_dates:
        return first, last
    earliest, latest = session.execute(
        select(
            select(func.min(Lead.received_at)).scalar_subquery(),
            select(func.max(Lead.received_at)).scalar_subquery(),
        )
    ).one()
    if earliest is not None:
        first = min(first, local_date(earliest))
    if latest is not None:
        last = max(last, local_date(latest))
    return first, last


def _check_and_fill(
    session: Session, first: date, last: date, lead_dates: bool, *, savepoint: bool
) -> tuple[date, date]:
    first, last = _span(session, first, last, lead_dates)
    subdivs = calendar_subdivs(session)
    if calendar_covers(session, first=first, last=last, subdivs=subdivs):
        return first, last
    start, through = date(first.year, 1, 1), date(last.year, 12, 31)
    if not savepoint:
        ensure_business_calendar(session, first=start, through=through, subdivs=subdivs)
        return first, last
    try:
        with session.begin_nested():
            ensure_business_calendar(session, first=start, through=through, subdivs=subdivs)
    except IntegrityError as exc:  # another transaction filled the same rows first
        if not calendar_covers(session, first=first, last=last, subdivs=subdivs):
            raise Conflict("the business-day calendar is being filled; try again") from exc
    return first, last
