"""The report compile queue in the database (``report_request``), run by the scheduler sidecar.

The app never compiles in a page: it calls ``request_report`` (a ``queued`` row). The
sidecar's report jobs enqueue the periods they owe (``enqueue_missing_reports``) and its worker
calls ``run_pending``, which claims requests one at a time, each in its own transaction:

1. claim: pick the oldest ``queued`` request (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and
   move it to ``running`` with a conditional ``UPDATE ... WHERE status = 'queued'`` (a
   competing worker's update then matches no row), committed at once;
2. compile in a new transaction, marking the request ``done`` (with the report id) in that same
   transaction, so the report rows and ``done`` commit together or not at all;
3. on an error the compile is rolled back and, in another transaction, the request goes back to
   ``queued`` (error kept) until ``MAX_ATTEMPTS`` tries, then ``failed``. Domain errors
   (validation, conflicts) are final at once: retrying would not change them.

A request left ``running`` by a killed worker is reclaimed after ``STALE_AFTER``.
At most one ``queued``/``running`` request per (type, OEM, period) (partial unique index):
asking twice returns the pending one.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.types import utcnow
from domain.accounts.models import AppUser, Oem
from domain.actor import Actor
from domain.audit import record
from domain.calendar import add_months, local_date, month_start, week_start
from domain.errors import DomainError, NotFound, PermissionDenied, Unavailable, ValidationError
from domain.leads.models import Lead
from domain.permissions import require
from domain.reporting.models import MonthlyReport, ReportRequest, WeeklyReport
from domain.reporting.reports import compile_monthly, compile_weekly, period_of

log = logging.getLogger("domain.reporting.queue")

MAX_ATTEMPTS = 3
STALE_AFTER = timedelta(minutes=15)
CATCH_UP_PERIODS = 12
#: the actor compiles run as (audit shows "report-queue")
QUEUE_ACTOR = Actor(user_id=None, username="report-queue", role="admin")

SessionFactory = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class RequestDTO:
    """A queued/running/done/failed compile request. ``created`` is True when this call
    inserted it (False: an identical pending request already existed)."""

    id: uuid.UUID
    report_type: str
    oem_id: uuid.UUID
    oem_code: str
    period_start: date
    force: bool
    reason: str | None
    status: str
    attempts: int
    requested_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    report_id: uuid.UUID | None
    created: bool = False


@dataclass(frozen=True)
class RunSummary:
    """What one ``run_pending`` call did (request ids per outcome)."""

    done: tuple[uuid.UUID, ...] = ()
    retried: tuple[uuid.UUID, ...] = ()
    failed: tuple[uuid.UUID, ...] = ()

    def __str__(self) -> str:
        return f"compiled {len(self.done)}, to retry {len(self.retried)}, failed {len(self.failed)}"


def _dto(session: Session, req: ReportRequest, created: bool = False) -> RequestDTO:
    oem_code = session.execute(select(Oem.code).where(Oem.id == req.oem_id)).scalar_one()
    who = None
    if req.requested_by_id is not None:
        who = session.execute(
            select(AppUser.username).where(AppUser.id == req.requested_by_id)
        ).scalar_one_or_none()
    return RequestDTO(
        id=req.id,
        report_type=req.report_type,
        oem_id=req.oem_id,
        oem_code=oem_code,
        period_start=req.period_start,
        force=req.force,
        reason=req.reason,
        status=req.status,
        attempts=req.attempts,
        requested_by=who,
        created_at=req.created_at,
        started_at=req.started_at,
        finished_at=req.finished_at,
        error=req.error,
        report_id=req.report_id,
        created=created,
    )


def _pending(
    session: Session, report_type: str, oem_id: uuid.UUID, period_start: date
) -> ReportRequest | None:
    return session.execute(
        select(ReportRequest).where(
            ReportRequest.report_type == report_type,
            ReportRequest.oem_id == oem_id,
            ReportRequest.period_start == period_start,
            ReportRequest.status.in_(("queued", "running")),
        )
    ).scalar_one_or_none()


def request_report(
    session: Session,
    actor: Actor,
    *,
    report_type: str,
    oem_id: uuid.UUID,
    period_start: date,
    force: bool = False,
    reason: str | None = None,
) -> RequestDTO:
    """Queue a compile of the OEM's weekly (``period_start`` a Monday) or monthly (the 1st)
    report; the sidecar compiles it within about 30 seconds.

    A second identical request while one is queued or running returns that one
    (``created=False``), also under a race (partial unique index, savepoint).

    Raises:
        PermissionDenied: without ``report.compile``.
        ValidationError: bad type or period start, a period not over yet, force without reason.
        NotFound: unknown OEM.
    """
    require(actor, "report.compile")
    start, end = period_of(report_type, period_start)
    if end > local_date(utcnow()):
        raise ValidationError({"period_start": "the period has not ended yet"})
    if session.get(Oem, oem_id) is None:
        raise NotFound("OEM not found")
    reason = (reason or "").strip() or None
    if force and reason is None:
        raise ValidationError({"reason": "say why the report is recompiled"})
    existing = _pending(session, report_type, oem_id, start)
    if existing is not None:
        return _dto(session, existing)
    req = ReportRequest(
        report_type=report_type,
        oem_id=oem_id,
        period_start=start,
        force=force,
        reason=reason,
        status="queued",
        attempts=0,
        requested_by_id=actor.user_id,
    )
    try:
        with session.begin_nested():
            session.add(req)
            session.flush()
    except IntegrityError:
        existing = _pending(session, report_type, oem_id, start)
        if existing is None:  # pragma: no cover - finished between the two statements
            raise
        return _dto(session, existing)
    record(
        session,
        actor,
        "report.request",
        entity_type="report_request",
        entity_id=req.id,
        after={
            "report_type": report_type,
            "oem_id": oem_id,
            "period_start": start,
            "force": force,
            "reason": reason,
        },
    )
    return _dto(session, req, created=True)


def list_requests(
    session: Session,
    actor: Actor,
    *,
    statuses: tuple[str, ...] | None = None,
    oem_id: uuid.UUID | None = None,
    limit: int = 100,
) -> list[RequestDTO]:
    """Latest compile requests, newest first.

    Raises:
        PermissionDenied: without ``report_request.read``.
    """
    require(actor, "report_request.read")
    stmt = select(ReportRequest).order_by(ReportRequest.created_at.desc(), ReportRequest.id)
    if statuses:
        stmt = stmt.where(ReportRequest.status.in_(statuses))
    if oem_id is not None:
        stmt = stmt.where(ReportRequest.oem_id == oem_id)
    rows = session.execute(stmt.limit(max(1, min(int(limit), 1000)))).scalars().all()
    return [_dto(session, r) for r in rows]


# --------------------------------------------------------------------------- worker


def _factory(source: Engine | SessionFactory) -> SessionFactory:
    if isinstance(source, Engine):
        engine = source
        return lambda: session_scope(engine)
    return source


def _claim(
    factory: SessionFactory, now: datetime, skip: set[uuid.UUID], stale_after: timedelta
) -> ReportRequest | None:
    """Claim one request (queued, or running but stale); None when there is nothing to do."""
    stale = now - stale_after
    while True:
        with factory() as s:
            claimable = or_(
                ReportRequest.status == "queued",
                (ReportRequest.status == "running") & (ReportRequest.started_at < stale),
            )
            stmt = select(ReportRequest.id, ReportRequest.status).where(claimable)
            if skip:
                stmt = stmt.where(ReportRequest.id.not_in(skip))
            stmt = stmt.order_by(ReportRequest.created_at, ReportRequest.id).limit(1)
            if s.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            row = s.execute(stmt).first()
            if row is None:
                return None
            req_id, status = row
            cond = ReportRequest.status == "queued"
            if status == "running":
                cond = (ReportRequest.status == "running") & (ReportRequest.started_at < stale)
            claimed = s.execute(
                update(ReportRequest)
                .where(ReportRequest.id == req_id, cond)
                .values(
                    status="running",
                    attempts=ReportRequest.attempts + 1,
                    started_at=now,
                    finished_at=None,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed == 1:
                req = s.get(ReportRequest, req_id, populate_existing=True)
                assert req is not None
                s.expunge(req)
                return req
        skip.add(req_id)  # somebody else got it first


def _run_one(factory: SessionFactory, req: ReportRequest, now: datetime) -> uuid.UUID:
    with factory() as s:
        if req.report_type == "weekly":
            dto = compile_weekly(
                s,
                QUEUE_ACTOR,
                oem_id=req.oem_id,
                week_start=req.period_start,
                force=req.force,
                reason=req.reason,
                now=now,
            )
        else:
            dto = compile_monthly(
                s,
                QUEUE_ACTOR,
                oem_id=req.oem_id,
                month=req.period_start,
                force=req.force,
                reason=req.reason,
                now=now,
            )
        s.execute(
            update(ReportRequest)
            .where(ReportRequest.id == req.id)
            .values(status="done", finished_at=utcnow(), error=None, report_id=dto.id)
            .execution_options(synchronize_session=False)
        )
        return dto.id


def run_pending(
    session_factory: Engine | SessionFactory,
    limit: int = 20,
    *,
    now: datetime | None = None,
    max_attempts: int = MAX_ATTEMPTS,
    stale_after: timedelta = STALE_AFTER,
    pause_s: float = 0.02,
) -> RunSummary:
    """Claim and compile up to ``limit`` requests, oldest first, one transaction each.

    Args:
        session_factory: an ``Engine`` or a callable returning a ``session_scope``-like
            context manager (commit on success, rollback on error).
        now: compile time (aware UTC), default now; tests pass a fake clock.
        max_attempts: tries before a request is ``failed`` (domain errors fail at once).
        stale_after: a ``running`` request older than this is reclaimed (its worker died).
        pause_s: seconds to wait after each compile so other writers get SQLite's lock.

    Returns:
        The ids done, queued again for a retry, and failed. Never raises for one request's
        error (it is recorded on the request); database outages propagate.
    """
    factory = _factory(session_factory)
    done: list[uuid.UUID] = []
    retried: list[uuid.UUID] = []
    failed: list[uuid.UUID] = []
    tried: set[uuid.UUID] = set()
    for _ in range(max(0, int(limit))):
        clock = now or utcnow()
        req = _claim(factory, clock, tried, stale_after)
        if req is None:
            break
        tried.add(req.id)
        try:
            _run_one(factory, req, clock)
        except Exception as exc:
            # a database fault (Unavailable) is worth another attempt; other domain errors not
            final = (isinstance(exc, DomainError) and not isinstance(exc, Unavailable)) or (
                req.attempts >= max_attempts
            )
            log.warning("report request %s failed (attempt %s): %s", req.id, req.attempts, exc)
            with factory() as s:
                s.execute(
                    update(ReportRequest)
                    .where(ReportRequest.id == req.id, ReportRequest.status == "running")
                    .values(
                        status="failed" if final else "queued",
                        finished_at=utcnow() if final else None,
                        error=f"{type(exc).__name__}: {exc}"[:2000],
                    )
                    .execution_options(synchronize_session=False)
                )
            (failed if final else retried).append(req.id)
            continue
        done.append(req.id)
        # A short breath between compiles lets other writers (the lease heartbeat, the app)
        # take SQLite's single write lock instead of starving behind a long backfill.
        time.sleep(pause_s)
    return RunSummary(tuple(done), tuple(retried), tuple(failed))


def has_pending(session: Session, *, now: datetime | None = None) -> bool:
    """True when a request is queued, or running but stale (its worker died): a cheap check
    for the frequent worker job."""
    stale = (now or utcnow()) - STALE_AFTER
    return (
        session.execute(
            select(func.count())
            .select_from(ReportRequest)
            .where(
                or_(
                    ReportRequest.status == "queued",
                    (ReportRequest.status == "running") & (ReportRequest.started_at < stale),
                )
            )
        ).scalar_one()
        > 0
    )


# --------------------------------------------------------------------------- scheduling


def last_due_period(report_type: str, today: date) -> date:
    """Start of the latest period that has ended by local ``today``."""
    if report_type == "weekly":
        return week_start(today) - timedelta(days=7)
    return add_months(month_start(today), -1)


def _step(report_type: str, start: date, n: int) -> date:
    if report_type == "weekly":
        return start + timedelta(days=7 * n)
    return add_months(start, n)


def missing_periods(
    session: Session,
    *,
    report_type: str,
    oem_id: uuid.UUID,
    today: date,
    max_periods: int = CATCH_UP_PERIODS,
) -> list[date]:
    """Periods the OEM's report is owed for, oldest first: every ended period after the latest
    compiled one, at most ``max_periods`` back from the last ended one, never before the period
    of the OEM's first lead (none when it has no lead), and without a pending request.
    """
    period_of(report_type, last_due_period(report_type, today))  # validates the type
    last = last_due_period(report_type, today)
    first = _step(report_type, last, -(max_periods - 1))
    first_lead = session.execute(
        select(func.min(Lead.received_at)).where(Lead.oem_id == oem_id)
    ).scalar_one()
    if first_lead is None:
        return []
    lead_day = local_date(first_lead)
    lead_period = week_start(lead_day) if report_type == "weekly" else month_start(lead_day)
    first = max(first, lead_period)
    model = WeeklyReport if report_type == "weekly" else MonthlyReport
    key_col = WeeklyReport.week_start if report_type == "weekly" else MonthlyReport.month
    latest = session.execute(
        select(func.max(key_col)).where(model.oem_id == oem_id, model.compiled_at.is_not(None))
    ).scalar_one()
    if latest is not None:
        first = max(first, _step(report_type, latest, 1))
    pending = set(
        session.execute(
            select(ReportRequest.period_start).where(
                ReportRequest.report_type == report_type,
                ReportRequest.oem_id == oem_id,
                ReportRequest.status.in_(("queued", "running")),
            )
        ).scalars()
    )
    out: list[date] = []
    day = first
    while day <= last:
        if day not in pending:
            out.append(day)
        day = _step(report_type, day, 1)
    return out


def enqueue_missing_reports(
    session: Session,
    actor: Actor,
    *,
    report_type: str,
    today: date,
    max_periods: int = CATCH_UP_PERIODS,
) -> int:
    """Queue every owed period (``missing_periods``) of every active OEM.

    Returns:
        The number of requests inserted.

    Raises:
        PermissionDenied: without ``report.compile`` (the sidecar passes ``QUEUE_ACTOR``).
    """
    require(actor, "report.compile")
    if actor.role == "oem_viewer":  # pragma: no cover - excluded by the table already
        raise PermissionDenied("read-only role")
    created = 0
    oem_ids = session.execute(select(Oem.id).where(Oem.active.is_(True)).order_by(Oem.code))
    for oem_id in list(oem_ids.scalars()):
        for start in missing_periods(
            session, report_type=report_type, oem_id=oem_id, today=today, max_periods=max_periods
        ):
            req = ReportRequest(
                report_type=report_type,
                oem_id=oem_id,
                period_start=start,
                status="queued",
                attempts=0,
            )
            try:
                with session.begin_nested():
                    session.add(req)
                    session.flush()
            except IntegrityError:
                continue  # another sidecar queued it a moment ago
            created += 1
    if created:
        record(
            session,
            actor,
            "report.enqueue_missing",
            entity_type="report_request",
            after={"report_type": report_type, "today": today, "created": created},
        )
    return created
