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

Stored ordinals (migration 0009, issue 5): ``lead.received_business_day`` is the ordinal of the
lead's received local date and ``installation.completed_business_day`` the ordinal of the
completion local date (NULL while not completed), both in the calendar of the lead's zone's
subdivision. So the SLA aggregate subtracts two columns instead of joining the calendar twice
per completion. The invariant "stored ordinal == ``business_day.ordinal`` of (subdiv, local
date)" is kept by:

* every ORM flush (``_keep_ordinals``, a ``before_flush`` hook on every ``Session``): a new or
  changed lead (``received_at``, ``zone_id``; a zone change also re-keys the lead's completed
  installations) and a new or changed installation (``completed_at``);
* bulk writers that bypass the ORM: the lead importer (``business_day_ordinals``), the seeder
  and the benchmark builder (``backfill_business_days``);
* ``refresh_business_calendar`` (holidays changed): recomputes the calendar rows and then the
  stored ordinals of every row from the first changed date on.

Extending the calendar at its ends never changes existing ordinals, so it needs no backfill.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Engine,
    String,
    and_,
    bindparam,
    event,
    func,
    insert,
    inspect,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from db.base import Base
from domain.accounts.models import Zone
from domain.calendar import is_business_day, local_date, local_midnight_utc
from domain.errors import Conflict
from domain.installations.models import Installation
from domain.leads.models import Lead

__all__ = [
    "NO_SUBDIV",
    "BusinessDay",
    "backfill_business_days",
    "business_day_ordinals",
    "calendar_covers",
    "calendar_subdivs",
    "ensure_business_calendar",
    "refresh_business_calendar",
    "require_business_calendar",
    "zone_calendar_keys",
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
    inserted = _fill(session, keys, first, through)
    if inserted:
        session.flush()
    return inserted


def _fill(session: Session, keys: Iterable[str], first: date, through: date) -> int:
    """Insert the missing rows of ``first`` .. ``through`` for each key; no flush (so it may run
    inside a flush). Returns the number of rows inserted."""
    inserted = 0
    for key in keys:
        rows = _missing_rows(session, key, first, through)
        if rows:
            session.execute(insert(BusinessDay), rows)
            inserted += len(rows)
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


# --------------------------------------------------------------------------- stored ordinals


def business_day_ordinals(
    session: Session, keys: Iterable[tuple[str | None, date]]
) -> dict[tuple[str, date], int]:
    """Running business-day ordinals of (subdivision, local date) pairs, for rows that store
    them (``lead.received_business_day``, ``installation.completed_business_day``).

    Fills the calendar first when a pair is not covered (whole years, at the ends of the
    subdivision's range: existing ordinals never change). Never flushes, so it may run inside
    a flush. One range query per subdivision.

    Args:
        keys: ``(holiday_subdiv, local date)``; ``None`` means ``""`` (national).

    Returns:
        ``{(subdiv key, date): ordinal}`` for every pair given (keys normalised: ``""``).
    """
    by_key: dict[str, set[date]] = defaultdict(set)
    for subdiv, day in keys:
        by_key[_key(subdiv)].add(day)
    out: dict[tuple[str, date], int] = {}
    for key, days in sorted(by_key.items()):
        lo, hi = min(days), max(days)
        if not calendar_covers(session, first=lo, last=hi, subdivs=[key]):
            _fill(session, [key], date(lo.year, 1, 1), date(hi.year, 12, 31))
        found = {
            day: ordinal
            for day, ordinal in session.execute(
                select(BusinessDay.day, BusinessDay.ordinal).where(
                    BusinessDay.subdiv == key, BusinessDay.day >= lo, BusinessDay.day <= hi
                )
            )
        }
        for day in days:
            out[(key, day)] = int(found[day])
    return out


def zone_calendar_keys(session: Session) -> dict[uuid.UUID, str]:
    """Calendar key (``business_day.subdiv``) of every zone, by zone id (a handful of rows)."""
    return {zid: _key(sub) for zid, sub in session.execute(select(Zone.id, Zone.holiday_subdiv))}


def _changed(obj: Any, *names: str) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


@event.listens_for(Session, "before_flush")
def _keep_ordinals(session: Session, _context: Any, _instances: Any) -> None:
    """Set the stored business-day ordinals of the leads and installations this flush writes
    (new rows; ``received_at`` / ``zone_id`` / ``completed_at`` changed). A lead whose zone
    changed has its already stored completions re-keyed by an UPDATE (the zone's subdivision
    may differ). Cost: nothing unless such a row is pending; else 2-4 small queries."""
    leads: list[Lead] = []
    moved: list[Lead] = []
    insts: list[Installation] = []
    for obj in session.new:
        if isinstance(obj, Lead):
            leads.append(obj)
        elif isinstance(obj, Installation):
            insts.append(obj)
    for obj in session.dirty:
        if isinstance(obj, Lead) and _changed(obj, "received_at", "zone_id"):
            leads.append(obj)
            if _changed(obj, "zone_id"):
                moved.append(obj)
        elif isinstance(obj, Installation) and _changed(obj, "completed_at"):
            insts.append(obj)
    if not (leads or insts):
        return
    zones = zone_calendar_keys(session)
    for obj in [*session.new, *session.dirty]:  # zones written by this same flush
        if isinstance(obj, Zone) and obj.id is not None:
            zones[obj.id] = _key(obj.holiday_subdiv)
    lead_zone = {lead.id: lead.zone_id for lead in leads if lead.id is not None}
    missing = {i.lead_id for i in insts if i.lead_id not in lead_zone}
    if missing:
        lead_zone.update(
            (lead_id, zone_id)
            for lead_id, zone_id in session.execute(
                select(Lead.id, Lead.zone_id).where(Lead.id.in_(missing))
            )
        )
    moved_rows: list[tuple[uuid.UUID, str, date]] = []
    if moved:
        for iid, lead_id, done_at in session.execute(
            select(Installation.id, Installation.lead_id, Installation.completed_at).where(
                Installation.lead_id.in_([lead.id for lead in moved]),
                Installation.completed_at.is_not(None),
            )
        ):
            moved_rows.append((iid, zones[lead_zone[lead_id]], local_date(done_at)))
    wanted: list[tuple[str, date]] = [
        (zones[lead.zone_id], local_date(lead.received_at)) for lead in leads
    ]
    wanted += [
        (zones[lead_zone[i.lead_id]], local_date(i.completed_at))
        for i in insts
        if i.completed_at is not None
    ]
    wanted += [(key, day) for _iid, key, day in moved_rows]
    ordinals = business_day_ordinals(session, wanted)
    for lead in leads:
        lead.received_business_day = ordinals[(zones[lead.zone_id], local_date(lead.received_at))]
    for inst in insts:
        inst.completed_business_day = (
            None
            if inst.completed_at is None
            else ordinals[(zones[lead_zone[inst.lead_id]], local_date(inst.completed_at))]
        )
    if moved_rows:
        table = Installation.__table__
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("iid"))
            .values(completed_business_day=bindparam("ordinal"), updated_at=table.c.updated_at),
            [{"iid": iid, "ordinal": ordinals[(key, day)]} for iid, key, day in moved_rows],
        )


def _zone_subdiv_changes(session: Session) -> set[uuid.UUID]:
    return {
        obj.id
        for obj in session.dirty
        if isinstance(obj, Zone) and obj.id is not None and _changed(obj, "holiday_subdiv")
    }


@event.listens_for(Session, "before_flush")
def _note_zone_changes(session: Session, _context: Any, _instances: Any) -> None:
    """Remember the zones whose ``holiday_subdiv`` this flush changes (``_rekey_zones``)."""
    zones = _zone_subdiv_changes(session)
    if zones:
        session.info.setdefault("business_day_rekey_zones", set()).update(zones)


@event.listens_for(Session, "after_flush_postexec")
def _rekey_zones(session: Session, _context: Any) -> None:
    """A zone changed its holiday subdivision: every stored ordinal of its leads and their
    installations is recomputed in the new calendar (set-based, after the zone row is
    written)."""
    zones = session.info.pop("business_day_rekey_zones", None)
    if zones:
        backfill_business_days(session, zone_ids=zones)


def backfill_business_days(
    session: Session,
    *,
    since: datetime | None = None,
    zone_ids: Iterable[uuid.UUID] | None = None,
) -> None:
    """Recompute the stored ordinals in SQL (set-based): ``lead.received_business_day`` of the
    leads received, and ``installation.completed_business_day`` of the installations
    completed, at or after ``since`` (UTC; ``None``: every row), of the leads of ``zone_ids``
    (``None``: every zone). For bulk loads that bypass the ORM (seeder, benchmark builder,
    migration 0009), ``refresh_business_calendar`` and a zone's change of subdivision.

    Fills the calendar first over the whole years of the rows' local dates. Runs in the
    caller's transaction; no flush of pending objects is needed by it (call it after them).
    """
    from domain.kpi.queries import local_date_sql  # the KPI module imports this one

    dialect = session.get_bind().dialect.name
    lo_r, hi_r, lo_c, hi_c = session.execute(
        select(
            select(func.min(Lead.received_at)).scalar_subquery(),
            select(func.max(Lead.received_at)).scalar_subquery(),
            select(func.min(Installation.completed_at)).scalar_subquery(),
            select(func.max(Installation.completed_at)).scalar_subquery(),
        )
    ).one()
    moments = [m for m in (lo_r, hi_r, lo_c, hi_c) if m is not None]
    if not moments:
        return
    first = local_date(min(moments))
    last = local_date(max(moments))
    _fill(session, calendar_subdivs(session), date(first.year, 1, 1), date(last.year, 12, 31))
    lead_t, inst_t, zone_t, cal_t = (
        Lead.__table__,
        Installation.__table__,
        Zone.__table__,
        BusinessDay.__table__,
    )

    def ordinal_of(moment: Any, *joins: Any) -> Any:
        # derived data: ``updated_at`` (and its ``onupdate``) is left alone by these UPDATEs
        return (
            select(cal_t.c.ordinal)
            .select_from(zone_t)
            .join(cal_t, cal_t.c.subdiv == func.coalesce(zone_t.c.holiday_subdiv, NO_SUBDIV))
            .where(*joins, cal_t.c.day == local_date_sql(moment, dialect, first, last))
            .scalar_subquery()
        )

    zone_list = None if zone_ids is None else sorted(zone_ids)
    lead_where: list[Any] = []
    if since is not None:
        lead_where.append(lead_t.c.received_at >= since)
    if zone_list is not None:
        lead_where.append(lead_t.c.zone_id.in_(zone_list))
    session.execute(
        update(lead_t)
        .where(*lead_where)
        .values(
            received_business_day=ordinal_of(lead_t.c.received_at, zone_t.c.id == lead_t.c.zone_id),
            updated_at=lead_t.c.updated_at,
        )
    )
    # the installation's lead (a second table in the subquery: correlated to installation only)
    inst_lead = lead_t.alias("inst_lead")
    inst_where = [inst_t.c.completed_at.is_not(None)]
    if since is not None:
        inst_where.append(inst_t.c.completed_at >= since)
    if zone_list is not None:
        inst_where.append(
            inst_t.c.lead_id.in_(select(lead_t.c.id).where(lead_t.c.zone_id.in_(zone_list)))
        )
    session.execute(
        update(inst_t)
        .where(*inst_where)
        .values(
            completed_business_day=(
                select(cal_t.c.ordinal)
                .select_from(inst_lead)
                .join(zone_t, zone_t.c.id == inst_lead.c.zone_id)
                .join(cal_t, cal_t.c.subdiv == func.coalesce(zone_t.c.holiday_subdiv, NO_SUBDIV))
                .where(
                    inst_lead.c.id == inst_t.c.lead_id,
                    cal_t.c.day == local_date_sql(inst_t.c.completed_at, dialect, first, last),
                )
                .scalar_subquery()
            ),
            updated_at=inst_t.c.updated_at,
        )
    )


def refresh_business_calendar(
    session: Session, *, subdivs: Iterable[str | None] | None = None
) -> int:
    """Recompute the ``business`` flags and ordinals of the existing calendar rows from the
    current holiday rule (``is_business_day``: e.g. after a ``holidays`` upgrade added a
    holiday), then the stored ordinals of the leads and installations from the first changed
    date on (``backfill_business_days``). The first row of each subdivision keeps its ordinal
    as the anchor. Runs in the caller's transaction; flushes.

    Args:
        subdivs: subdivisions to refresh (``None``/``""`` = national); default every one.

    Returns:
        Number of calendar rows changed (0: nothing else is written).
    """
    keys = sorted({_key(s) for s in subdivs} if subdivs is not None else calendar_subdivs(session))
    session.flush()
    changes: list[dict[str, object]] = []
    first_changed: date | None = None
    for key in keys:
        rows = session.execute(
            select(BusinessDay.day, BusinessDay.business, BusinessDay.ordinal)
            .where(BusinessDay.subdiv == key)
            .order_by(BusinessDay.day)
        ).all()
        if not rows:
            continue
        running = rows[0].ordinal - rows[0].business
        for day, old_business, old_ordinal in rows:
            business = is_business_day(day, key or None)
            running += business
            if business != old_business or running != old_ordinal:
                changes.append({"k": key, "d": day, "b": business, "o": running})
                first_changed = day if first_changed is None else min(first_changed, day)
    if not changes:
        return 0
    table = BusinessDay.__table__
    session.connection().execute(
        update(table)
        .where(and_(table.c.subdiv == bindparam("k"), table.c.day == bindparam("d")))
        .values(business=bindparam("b"), ordinal=bindparam("o")),
        changes,
    )
    assert first_changed is not None
    backfill_business_days(session, since=local_midnight_utc(first_changed))
    return len(changes)
