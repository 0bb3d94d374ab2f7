"""Month closure (seed 003): the monthly report as the month's folder per OEM, its pre-closure
checklist, its lifecycle and the lock a closed month puts on its data.

**Folder.** The ``monthly_report`` row of (OEM, month) -- ``month`` is the first day of the
local month -- is the month's closure folder (seed 003's ``ReporteMensual``, one per work order
and month, here one per OEM and month: DESIGN.md "Deviations"). ``ensure_month`` creates it
(status ``open``, figures zero until ``domain.reporting.reports.compile_monthly`` fills them)
get-or-create style, safe under concurrency. It is called

* by the installation lifecycle when an installation becomes ``completed`` (the month's first
  production activity; ``domain.installations.service``), and
* lazily by ``open_month`` (the Month closure page), for months whose activity predates this
  module (imported or demo data).

**Lifecycle** (``MONTH_TRANSITIONS``)::

    open -> in_review -> closed -> invoiced
            in_review -> open            (review sent back, reason required)
                         closed -> open  (admin only, reason required: "reopen")

``invoiced`` is final: the OEM has been billed, nothing reopens it. Closing needs the month to
be over (local today is in a later month). Every change is audited on the folder
(``entity_type='monthly_report'``), which ``month_history`` lists.

**Checklist** (``checklist``), computed from the data each time, each item with the refs at
fault: every installation completed in the month (``completed_at`` in the local month, lead of
the OEM, not cancelled) has its installation report and a closure pack ``submitted`` or
``accepted``; none of their material allocations is still ``allocated``/``dispatched``; every
team that worked for the OEM that month (an active installation assignment or a non-cancelled
survey dated in the month) has a ``team_daily_log`` for each working day (Monday-Saturday minus
the holidays of the team zone's state, up to today); the stored figures equal a fresh SQL
recompute; an evidence link is recorded. Closing with failing items needs
``month.close_with_exceptions`` (managers) and a reason, kept in ``closure_reason``.

**Lock.** A ``closed`` or ``invoiced`` month is locked: ``require_month_open`` raises
``MonthLocked``; every command changing an installation completed in that month, its
allocations, its closure pack, or the monthly report itself calls it first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.types import utcnow
from domain import audit
from domain.accounts.models import AppUser, AuditEvent, FieldTeam, Oem, Zone
from domain.actor import Actor
from domain.calendar import add_months, is_business_day, local_date, period_bounds_utc
from domain.errors import NotFound, PermissionDenied, TransitionError, ValidationError
from domain.installations.models import (
    Installation,
    InstallationAssignment,
    InstallationReport,
    TeamDailyLog,
)
from domain.kpi.queries import local_month_sql
from domain.leads.models import Lead
from domain.permissions import can, require
from domain.procurement.models import Material, MaterialAllocation
from domain.reporting.figures import period_figures
from domain.reporting.models import MONTH_STATUSES, ClosurePack, MonthlyReport
from domain.surveys.models import Survey

__all__ = [
    "LOCKED_STATUSES",
    "MONTH_TRANSITIONS",
    "Checklist",
    "ChecklistItem",
    "MonthDTO",
    "MonthHistoryEntry",
    "MonthLocked",
    "MonthOption",
    "checklist",
    "close_month",
    "ensure_month",
    "get_month",
    "list_months",
    "mark_invoiced",
    "month_history",
    "open_month",
    "reopen_month",
    "require_installation_month_open",
    "require_month_open",
    "return_to_open",
    "set_evidence_url",
    "start_review",
    "validate_evidence_url",
]

MONTH_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("in_review",),
    "in_review": ("open", "closed"),
    "closed": ("invoiced", "open"),
    "invoiced": (),
}
"""status -> legal next statuses of a month folder (seed 003)."""

LOCKED_STATUSES: tuple[str, ...] = ("closed", "invoiced")
"""Folder states that lock the month's installations, packs and report."""

PACK_DONE_STATUSES: tuple[str, ...] = ("submitted", "accepted")
"""Closure-pack states that count as done for the checklist."""

UNDELIVERED_STATUSES: tuple[str, ...] = ("allocated", "dispatched")
"""Allocation states that count as left undelivered."""

FIGURE_FIELDS: tuple[str, ...] = (
    "total_leads",
    "surveys_completed",
    "installations_completed",
    "closure_packs_submitted",
    "total_revenue",
    "sla_compliance_rate",
    "average_installation_time_days",
)
"""Stored monthly figures compared by the ``figures`` checklist item."""

MAX_REASON = 1000
MAX_URL = 500
MAX_OFFENDING = 200


class MonthLocked(TransitionError):
    """The OEM's month is closed or invoiced: its installations, packs and report are locked."""

    def __init__(self, oem_code: str, month: date, status: str) -> None:
        self.oem_code = oem_code
        self.month = month
        self.status = status
        super().__init__(
            f"{oem_code} {month:%B %Y} is {status}: the month is locked, "
            "its installations, closure packs and report cannot change (reopen it first)"
        )


# --------------------------------------------------------------------------- DTOs


@dataclass(frozen=True)
class MonthDTO:
    """One OEM month folder. ``month`` is the first local day; money in INR; rate in %."""

    id: uuid.UUID
    oem_id: uuid.UUID
    oem_code: str
    oem_name: str
    month: date
    status: str
    evidence_url: str | None
    total_leads: int
    surveys_completed: int
    installations_completed: int
    closure_packs_submitted: int
    total_revenue: Decimal | None
    sla_compliance_rate: Decimal | None
    average_installation_time_days: Decimal | None
    compiled_at: datetime | None
    version: int
    closed_by: str | None
    closed_at: datetime | None
    closure_reason: str | None

    @property
    def locked(self) -> bool:
        return self.status in LOCKED_STATUSES

    @property
    def next_statuses(self) -> tuple[str, ...]:
        return MONTH_TRANSITIONS[self.status]


@dataclass(frozen=True)
class ChecklistItem:
    """One pre-closure check: ``passed``, a one-line ``detail``, the refs at fault."""

    key: str
    label: str
    passed: bool
    detail: str
    offending: tuple[str, ...] = ()


@dataclass(frozen=True)
class Checklist:
    """The computed pre-closure checklist of one folder."""

    month: MonthDTO
    items: tuple[ChecklistItem, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return all(i.passed for i in self.items)

    @property
    def failing(self) -> tuple[str, ...]:
        return tuple(i.key for i in self.items if not i.passed)


@dataclass(frozen=True)
class MonthOption:
    """A month with activity for the picker: its folder status (None: no folder yet)."""

    month: date
    status: str | None
    installations_completed: int

    @property
    def label(self) -> str:
        return f"{self.month:%b %Y} · {self.status or 'no folder yet'}"


@dataclass(frozen=True)
class MonthHistoryEntry:
    """One audited change of a folder."""

    at: datetime
    actor: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


# --------------------------------------------------------------------------- helpers


def _month_of(value: date | datetime) -> date:
    """First day of the local month of a date, or of an aware datetime's local date."""
    day = local_date(value) if isinstance(value, datetime) else value
    return day.replace(day=1)


def _oem(session: Session, oem_id: uuid.UUID) -> Oem:
    oem = session.get(Oem, oem_id)
    if oem is None:
        raise NotFound("OEM not found")
    return oem


def _dto(session: Session, row: MonthlyReport, oem: Oem | None = None) -> MonthDTO:
    oem = oem or session.get(Oem, row.oem_id)
    assert oem is not None
    closed_by = None
    if row.closed_by_id is not None:
        closed_by = session.execute(
            select(AppUser.username).where(AppUser.id == row.closed_by_id)
        ).scalar()
    return MonthDTO(
        id=row.id,
        oem_id=row.oem_id,
        oem_code=oem.code,
        oem_name=oem.name,
        month=row.month,
        status=row.status,
        evidence_url=row.evidence_url,
        total_leads=row.total_leads,
        surveys_completed=row.surveys_completed,
        installations_completed=row.installations_completed,
        closure_packs_submitted=row.closure_packs_submitted,
        total_revenue=row.total_revenue,
        sla_compliance_rate=row.sla_compliance_rate,
        average_installation_time_days=row.average_installation_time_days,
        compiled_at=row.compiled_at,
        version=row.version,
        closed_by=closed_by,
        closed_at=row.closed_at,
        closure_reason=row.closure_reason,
    )


def _snapshot(row: MonthlyReport) -> dict[str, Any]:
    return {
        "month": row.month,
        "status": row.status,
        "evidence_url": row.evidence_url,
        "closure_reason": row.closure_reason,
    }


def _find(session: Session, oem_id: uuid.UUID, month: date, *, lock: bool) -> MonthlyReport | None:
    stmt = select(MonthlyReport).where(MonthlyReport.oem_id == oem_id, MonthlyReport.month == month)
    if lock:
        stmt = stmt.with_for_update()
    return session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()


def _clean_reason(reason: str | None, *, required: bool, what: str) -> str | None:
    text = " ".join((reason or "").split())
    if required and not text:
        raise ValidationError({"reason": f"give a reason to {what}"})
    if len(text) > MAX_REASON:
        raise ValidationError({"reason": f"at most {MAX_REASON} characters"})
    return text or None


def validate_evidence_url(url: str | None) -> str | None:
    """The evidence link stripped, or None when blank.

    Seed 003 ``archivo``: a link to the month's evidence folder; only ``https`` URLs with a
    host are accepted (checked with ``urllib.parse``), at most 500 characters.

    Raises:
        ValidationError: on ``evidence_url``.
    """
    text = (url or "").strip()
    if not text:
        return None
    if len(text) > MAX_URL:
        raise ValidationError({"evidence_url": f"at most {MAX_URL} characters"})
    if any(c.isspace() for c in text):
        raise ValidationError({"evidence_url": "a link has no spaces"})
    try:
        parts = urlparse(text)
        host = parts.hostname
    except ValueError:
        raise ValidationError({"evidence_url": "not a valid URL"}) from None
    if parts.scheme.lower() != "https":
        raise ValidationError({"evidence_url": "the evidence link must be an https:// URL"})
    if not host:
        raise ValidationError({"evidence_url": "the evidence link needs a host name"})
    return text


# --------------------------------------------------------------------------- folder & lock


def ensure_month(session: Session, *, oem_id: uuid.UUID, month: date | datetime) -> MonthlyReport:
    """Get or create the folder (``monthly_report``) of ``oem_id`` for the month of ``month``.

    Created ``open`` with zero counts and no revenue/SLA figures (filled by ``compile_monthly``).
    A side effect of the activity that needs it (seed 003 ``get_or_create``), so it writes no
    audit event of its own: the row's ``created_at`` records it, and ``month_history`` shows it
    first. Two transactions creating the same folder at once both get the one row (the unique
    (oem, month) constraint decides; the loser re-reads it).

    Args:
        month: any date of the month (or an aware datetime: its local date).

    Returns:
        The (possibly new) row; for domain callers only, never handed to pages.
    """
    first = _month_of(month)
    row = _find(session, oem_id, first, lock=False)
    if row is not None:
        return row
    row = MonthlyReport(
        oem_id=oem_id,
        month=first,
        status="open",
        total_leads=0,
        surveys_completed=0,
        installations_completed=0,
        closure_packs_submitted=0,
        version=1,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        existing = _find(session, oem_id, first, lock=False)
        if existing is None:  # pragma: no cover - the constraint said it exists
            raise
        return existing
    return row


def require_month_open(session: Session, *, oem_id: uuid.UUID, day: date | datetime) -> None:
    """Refuse a change to data of ``oem_id``'s month containing ``day`` when it is locked.

    Takes a share lock on the folder row (PostgreSQL ``FOR SHARE``) so a concurrent close waits
    for this transaction and then sees its change in the checklist; SQLite serialises writers.

    Args:
        day: a local date, or an aware datetime (its local date), e.g. ``completed_at``.

    Raises:
        MonthLocked: the folder is ``closed`` or ``invoiced``.
    """
    first = _month_of(day)
    status = session.execute(
        select(MonthlyReport.status)
        .where(MonthlyReport.oem_id == oem_id, MonthlyReport.month == first)
        .with_for_update(read=True)
    ).scalar_one_or_none()
    if status in LOCKED_STATUSES:
        code = session.execute(select(Oem.code).where(Oem.id == oem_id)).scalar_one()
        raise MonthLocked(code, first, status)


def require_installation_month_open(session: Session, inst: Installation) -> None:
    """``require_month_open`` for the month an installation was completed in (if it was).

    An installation never completed (``completed_at`` NULL) belongs to no month and is free.

    Raises:
        MonthLocked: it was completed in a closed or invoiced month of its lead's OEM.
    """
    if inst.completed_at is None:
        return
    oem_id = session.execute(select(Lead.oem_id).where(Lead.id == inst.lead_id)).scalar_one()
    require_month_open(session, oem_id=oem_id, day=inst.completed_at)


# --------------------------------------------------------------------------- reads


def _require_read(actor: Actor) -> None:
    require(actor, "month.read")


def list_months(session: Session, actor: Actor, *, oem_id: uuid.UUID) -> list[MonthOption]:
    """Months with activity for one OEM, newest first: months with a folder, and months in
    which installations of the OEM were completed (counted in SQL by local month).

    Raises:
        PermissionDenied: without ``month.read`` (oem_viewers have none).
        NotFound: unknown OEM.
    """
    _require_read(actor)
    _oem(session, oem_id)
    counts: dict[date, int] = {}
    lo, hi = session.execute(
        select(func.min(Installation.completed_at), func.max(Installation.completed_at))
        .join(Lead, Lead.id == Installation.lead_id)
        .where(Lead.oem_id == oem_id, Installation.completed_at.is_not(None))
    ).one()
    if lo is not None:
        start = _month_of(lo) - timedelta(days=1)
        end = add_months(_month_of(hi), 1)
        bucket = local_month_sql(
            Installation.completed_at, session.get_bind().dialect.name, start, end
        )
        rows = session.execute(
            select(bucket, func.count())
            .join(Lead, Lead.id == Installation.lead_id)
            .where(
                Lead.oem_id == oem_id,
                Installation.completed_at.is_not(None),
                Installation.status != "cancelled",
            )
            .group_by(bucket)
        ).all()
        for m, n in rows:
            first = m if isinstance(m, date) else date.fromisoformat(str(m)[:10])
            counts[first] = int(n)
    statuses = dict(
        session.execute(
            select(MonthlyReport.month, MonthlyReport.status).where(MonthlyReport.oem_id == oem_id)
        ).all()
    )
    months = sorted(set(counts) | set(statuses), reverse=True)
    return [MonthOption(m, statuses.get(m), counts.get(m, 0)) for m in months]


def get_month(session: Session, actor: Actor, *, oem_id: uuid.UUID, month: date) -> MonthDTO | None:
    """The folder of (OEM, month), or None when it does not exist yet.

    Raises:
        PermissionDenied: without ``month.read``.
        NotFound: unknown OEM.
    """
    _require_read(actor)
    oem = _oem(session, oem_id)
    row = _find(session, oem_id, _month_of(month), lock=False)
    return None if row is None else _dto(session, row, oem)


def open_month(session: Session, actor: Actor, *, oem_id: uuid.UUID, month: date) -> MonthDTO:
    """The folder of (OEM, month), created (``ensure_month``) when missing: the page's lazy
    creation for months whose activity predates the folder.

    Raises:
        PermissionDenied: without ``month.read``.
        NotFound: unknown OEM.
    """
    _require_read(actor)
    oem = _oem(session, oem_id)
    row = ensure_month(session, oem_id=oem_id, month=month)
    return _dto(session, row, oem)


def _completed_installations(
    session: Session, oem_id: uuid.UUID, lo: datetime, hi: datetime
) -> list[tuple[uuid.UUID, str]]:
    return [
        (r[0], r[1])
        for r in session.execute(
            select(Installation.id, Installation.ref)
            .join(Lead, Lead.id == Installation.lead_id)
            .where(
                Lead.oem_id == oem_id,
                Installation.completed_at >= lo,
                Installation.completed_at < hi,
                Installation.status != "cancelled",
            )
            .order_by(Installation.ref)
        ).all()
    ]


def _limit(refs: list[str]) -> tuple[str, ...]:
    if len(refs) <= MAX_OFFENDING:
        return tuple(refs)
    return (*refs[:MAX_OFFENDING], f"... and {len(refs) - MAX_OFFENDING} more")


def _check_reports(
    session: Session, installs: list[tuple[uuid.UUID, str]]
) -> tuple[ChecklistItem, ChecklistItem]:
    ids = [i for i, _ in installs]
    with_report: set[uuid.UUID] = set()
    with_pack: set[uuid.UUID] = set()
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        with_report |= set(
            session.scalars(
                select(InstallationReport.installation_id).where(
                    InstallationReport.installation_id.in_(chunk)
                )
            )
        )
        with_pack |= set(
            session.scalars(
                select(ClosurePack.installation_id).where(
                    ClosurePack.installation_id.in_(chunk),
                    ClosurePack.status.in_(PACK_DONE_STATUSES),
                )
            )
        )
    no_report = [ref for i, ref in installs if i not in with_report]
    no_pack = [ref for i, ref in installs if i not in with_pack]
    n = len(installs)
    reports = ChecklistItem(
        "installation_reports",
        "Every completed installation has its installation report",
        not no_report,
        f"{n - len(no_report)} of {n} installations have a report",
        _limit(no_report),
    )
    packs = ChecklistItem(
        "closure_packs",
        "Every completed installation has a submitted or accepted closure pack",
        not no_pack,
        f"{n - len(no_pack)} of {n} installations have a submitted/accepted pack",
        _limit(no_pack),
    )
    return reports, packs


def _check_allocations(
    session: Session, oem_id: uuid.UUID, lo: datetime, hi: datetime
) -> ChecklistItem:
    rows = session.execute(
        select(Installation.ref, Material.sku, MaterialAllocation.status)
        .join(MaterialAllocation, MaterialAllocation.installation_id == Installation.id)
        .join(Material, Material.id == MaterialAllocation.material_id)
        .join(Lead, Lead.id == Installation.lead_id)
        .where(
            Lead.oem_id == oem_id,
            Installation.completed_at >= lo,
            Installation.completed_at < hi,
            Installation.status != "cancelled",
            MaterialAllocation.status.in_(UNDELIVERED_STATUSES),
        )
        .order_by(Installation.ref, Material.sku)
    ).all()
    offending = [f"{ref}: {sku} ({status})" for ref, sku, status in rows]
    return ChecklistItem(
        "allocations",
        "No material allocation of those installations is left undelivered",
        not offending,
        f"{len(offending)} allocation(s) still allocated or dispatched"
        if offending
        else "all allocations delivered or returned",
        _limit(offending),
    )


def _check_daily_logs(
    session: Session, oem_id: uuid.UUID, month: date, today: date
) -> ChecklistItem:
    end = add_months(month, 1)
    last = min(end - timedelta(days=1), today)
    inst_teams = (
        select(InstallationAssignment.team_id)
        .join(Installation, Installation.id == InstallationAssignment.installation_id)
        .join(Lead, Lead.id == Installation.lead_id)
        .where(
            Lead.oem_id == oem_id,
            InstallationAssignment.work_date >= month,
            InstallationAssignment.work_date < end,
            InstallationAssignment.released_at.is_(None),
        )
    )
    survey_teams = (
        select(Survey.team_id)
        .join(Lead, Lead.id == Survey.lead_id)
        .where(
            Lead.oem_id == oem_id,
            Survey.team_id.is_not(None),
            Survey.survey_date >= month,
            Survey.survey_date < end,
            Survey.status != "cancelled",
        )
    )
    teams = session.execute(
        select(FieldTeam.id, FieldTeam.code, Zone.holiday_subdiv)
        .join(Zone, Zone.id == FieldTeam.zone_id)
        .where(or_(FieldTeam.id.in_(inst_teams), FieldTeam.id.in_(survey_teams)))
        .order_by(FieldTeam.code)
    ).all()
    if last < month:
        return ChecklistItem(
            "daily_logs",
            "Daily logs for every working day of the teams that worked for the OEM",
            True,
            "the month has not started",
        )
    logged: dict[uuid.UUID, set[date]] = {}
    if teams:
        for team_id, log_date in session.execute(
            select(TeamDailyLog.team_id, TeamDailyLog.log_date).where(
                TeamDailyLog.team_id.in_([t[0] for t in teams]),
                TeamDailyLog.log_date >= month,
                TeamDailyLog.log_date <= last,
            )
        ):
            logged.setdefault(team_id, set()).add(log_date)
    missing: list[str] = []
    for team_id, code, subdiv in teams:
        day = month
        while day <= last:
            if is_business_day(day, subdiv) and day not in logged.get(team_id, set()):
                missing.append(f"{code} {day.isoformat()}")
            day += timedelta(days=1)
    return ChecklistItem(
        "daily_logs",
        "Daily logs for every working day of the teams that worked for the OEM",
        not missing,
        f"{len(teams)} team(s); {len(missing)} working day(s) without a log"
        if teams
        else "no team worked for the OEM this month",
        _limit(missing),
    )


def fresh_figures(session: Session, *, oem_id: uuid.UUID, month: date) -> dict[str, Any]:
    """The month's figures recomputed now in SQL, as ``compile_monthly`` computes them
    (``domain.reporting.figures.period_figures``, DESIGN.md "Definitions").

    Returns:
        ``FIGURE_FIELDS`` -> value: counts (int), ``total_revenue`` (INR, 2 dp),
        ``sla_compliance_rate`` (%, 2 dp), ``average_installation_time_days`` (1 dp); the
        last two None when nothing was completed.
    """
    first = _month_of(month)
    fig = period_figures(
        session, oem_id=oem_id, period_start=first, period_end=add_months(first, 1)
    )
    return {
        "total_leads": fig.leads_received,
        "surveys_completed": fig.surveys_completed,
        "installations_completed": fig.installations_completed,
        "closure_packs_submitted": fig.closure_packs_submitted,
        "total_revenue": _q(fig.total_revenue, "0.01"),
        "sla_compliance_rate": _q(fig.sla_compliance_rate, "0.01"),
        "average_installation_time_days": _q(fig.average_installation_time_days, "0.1"),
    }


def _q(value: Any, places: str) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal(places))


_PLACES = {
    "total_revenue": "0.01",
    "sla_compliance_rate": "0.01",
    "average_installation_time_days": "0.1",
}


def _same(name: str, stored: Any, fresh: Any) -> bool:
    if name in _PLACES:
        return _q(stored, _PLACES[name]) == fresh
    return int(stored or 0) == int(fresh)


def _check_figures(session: Session, row: MonthlyReport) -> ChecklistItem:
    label = "The compiled figures reconcile with a fresh recompute"
    if row.compiled_at is None:
        return ChecklistItem(
            "figures", label, False, "the monthly report has not been compiled yet"
        )
    fresh = fresh_figures(session, oem_id=row.oem_id, month=row.month)
    diffs: list[str] = []
    for name in FIGURE_FIELDS:
        stored = getattr(row, name)
        if not _same(name, stored, fresh[name]):
            diffs.append(f"{name}: stored {stored}, now {fresh[name]}")
    return ChecklistItem(
        "figures",
        label,
        not diffs,
        f"{len(diffs)} figure(s) changed since compiled; recompile"
        if diffs
        else "stored figures equal the recompute",
        tuple(diffs),
    )


def _check_evidence(row: MonthlyReport) -> ChecklistItem:
    return ChecklistItem(
        "evidence",
        "The evidence link (https) is recorded",
        bool(row.evidence_url),
        row.evidence_url or "no evidence link yet",
    )


def _checklist(session: Session, row: MonthlyReport, oem: Oem) -> Checklist:
    month = row.month
    lo, hi = period_bounds_utc(month, add_months(month, 1))
    installs = _completed_installations(session, row.oem_id, lo, hi)
    reports, packs = _check_reports(session, installs)
    items = (
        reports,
        packs,
        _check_allocations(session, row.oem_id, lo, hi),
        _check_daily_logs(session, row.oem_id, month, local_date(utcnow())),
        _check_figures(session, row),
        _check_evidence(row),
    )
    return Checklist(_dto(session, row, oem), items)


def checklist(session: Session, actor: Actor, *, oem_id: uuid.UUID, month: date) -> Checklist:
    """The pre-closure checklist of (OEM, month), computed from the data now (see module doc).

    Items, in order: ``installation_reports``, ``closure_packs``, ``allocations``,
    ``daily_logs``, ``figures``, ``evidence``; each with ``passed``, a detail line and the
    offending refs (installation refs, ``"REF: SKU (status)"``, ``"TEAM yyyy-mm-dd"``,
    ``"figure: stored x, now y"``), at most 200 listed.

    Raises:
        PermissionDenied: without ``month.read``.
        NotFound: unknown OEM, or no folder for that month (``open_month`` creates it).
    """
    _require_read(actor)
    oem = _oem(session, oem_id)
    row = _find(session, oem_id, _month_of(month), lock=False)
    if row is None:
        raise NotFound(f"{oem.code} has no folder for {_month_of(month):%B %Y}")
    return _checklist(session, row, oem)


def month_history(
    session: Session, actor: Actor, *, oem_id: uuid.UUID, month: date
) -> list[MonthHistoryEntry]:
    """The folder's history, oldest first: its creation (``month.create``, from the row's
    ``created_at``) then every audit event on it (review, evidence, close, invoice, reopen,
    report compiles).

    Raises:
        PermissionDenied: without ``month.read``.
        NotFound: unknown OEM.
    """
    _require_read(actor)
    _oem(session, oem_id)
    row = _find(session, oem_id, _month_of(month), lock=False)
    if row is None:
        return []
    events = session.execute(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "monthly_report", AuditEvent.entity_id == str(row.id))
        .order_by(AuditEvent.created_at, AuditEvent.id)
    ).scalars()
    created = MonthHistoryEntry(row.created_at, "system", "month.create", None, {"status": "open"})
    return [created] + [
        MonthHistoryEntry(e.created_at, e.actor_username, e.action, e.before, e.after)
        for e in events
    ]


# --------------------------------------------------------------------------- commands


def _load_for_change(session: Session, oem_id: uuid.UUID, month: date) -> tuple[MonthlyReport, Oem]:
    oem = _oem(session, oem_id)
    first = _month_of(month)
    row = _find(session, oem_id, first, lock=True)
    if row is None:
        raise NotFound(f"{oem.code} has no folder for {first:%B %Y}")
    return row, oem


def _move(row: MonthlyReport, oem: Oem, to_status: str) -> dict[str, Any]:
    """Check the lifecycle edge, set the status; returns the snapshot before."""
    if to_status not in MONTH_STATUSES:  # pragma: no cover - programming error
        raise ValueError(to_status)
    if to_status not in MONTH_TRANSITIONS[row.status]:
        allowed = ", ".join(MONTH_TRANSITIONS[row.status]) or "none"
        raise TransitionError(
            f"{oem.code} {row.month:%B %Y} is {row.status}: cannot move to {to_status} "
            f"(allowed next: {allowed})"
        )
    before = _snapshot(row)
    row.status = to_status
    return before


def _finish(
    session: Session,
    actor: Actor,
    row: MonthlyReport,
    oem: Oem,
    action: str,
    before: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> MonthDTO:
    session.flush()
    audit.record(
        session,
        actor,
        action,
        entity_type="monthly_report",
        entity_id=row.id,
        before=before,
        after={**_snapshot(row), **(extra or {})},
    )
    session.flush()
    return _dto(session, row, oem)


def start_review(session: Session, actor: Actor, *, oem_id: uuid.UUID, month: date) -> MonthDTO:
    """``open -> in_review`` (seed 003 "En Revisión"). Audited ``month.start_review``.

    Raises:
        PermissionDenied: without ``month.review``.
        NotFound: unknown OEM or no folder.
        TransitionError: the folder is not ``open``.
    """
    require(actor, "month.review")
    row, oem = _load_for_change(session, oem_id, month)
    before = _move(row, oem, "in_review")
    return _finish(session, actor, row, oem, "month.start_review", before)


def return_to_open(
    session: Session, actor: Actor, *, oem_id: uuid.UUID, month: date, reason: str
) -> MonthDTO:
    """``in_review -> open``: the review found work to do (reason required, audited).

    Raises:
        PermissionDenied: without ``month.review``.
        NotFound: unknown OEM or no folder.
        TransitionError: the folder is not ``in_review``.
        ValidationError: ``reason`` blank or longer than 1000 characters.
    """
    require(actor, "month.review")
    text = _clean_reason(reason, required=True, what="send the month back to open")
    row, oem = _load_for_change(session, oem_id, month)
    if row.status != "in_review":
        raise TransitionError(
            f"{oem.code} {row.month:%B %Y} is {row.status}: only a month in review goes back "
            "to open this way"
        )
    before = _move(row, oem, "open")
    return _finish(session, actor, row, oem, "month.return_to_open", before, {"reason": text})


def set_evidence_url(
    session: Session, actor: Actor, *, oem_id: uuid.UUID, month: date, evidence_url: str | None
) -> MonthDTO:
    """Record (or clear, with a blank value) the month's evidence link (seed 003 ``archivo``).

    Allowed while ``open`` or ``in_review``. Audited ``month.evidence``.

    Raises:
        PermissionDenied: without ``month.review``.
        NotFound: unknown OEM or no folder.
        ValidationError: ``evidence_url`` not an https URL with a host.
        MonthLocked: the month is closed or invoiced.
    """
    require(actor, "month.review")
    url = validate_evidence_url(evidence_url)
    row, oem = _load_for_change(session, oem_id, month)
    if row.status in LOCKED_STATUSES:
        raise MonthLocked(oem.code, row.month, row.status)
    before = _snapshot(row)
    row.evidence_url = url
    return _finish(session, actor, row, oem, "month.evidence", before)


def close_month(
    session: Session,
    actor: Actor,
    *,
    oem_id: uuid.UUID,
    month: date,
    reason: str | None = None,
) -> MonthDTO:
    """``in_review -> closed``: the month is locked from now on (seed 003 "Cerrado").

    The checklist is computed under the folder's row lock. All items passing: needs
    ``month.close``. Any item failing: needs ``month.close_with_exceptions`` (managers) and a
    ``reason``; the reason is kept in ``closure_reason`` and the failing items with their
    offending refs in the audit event ``month.close``. Sets ``closed_by``/``closed_at``.

    Raises:
        PermissionDenied: without ``month.close``; failing items without
            ``month.close_with_exceptions`` (the message lists them).
        NotFound: unknown OEM or no folder.
        TransitionError: not ``in_review``, or the month is not over yet (local today).
        ValidationError: failing items and a blank ``reason``; reason over 1000 characters.
    """
    require(actor, "month.close")
    text = _clean_reason(reason, required=False, what="close the month")
    row, oem = _load_for_change(session, oem_id, month)
    if row.status != "in_review":
        raise TransitionError(
            f"{oem.code} {row.month:%B %Y} is {row.status}: a month is closed from in_review"
        )
    if add_months(row.month, 1) > local_date(utcnow()):
        raise TransitionError(f"{oem.code} {row.month:%B %Y} is not over yet: it cannot close")
    result = _checklist(session, row, oem)
    failing = [i for i in result.items if not i.passed]
    if failing:
        names = ", ".join(i.key for i in failing)
        if not can(actor, "month.close_with_exceptions"):
            raise PermissionDenied(
                f"the checklist has failing items ({names}): only a manager may close the "
                "month with exceptions",
                command="month.close_with_exceptions",
                actor=actor,
            )
        if text is None:
            raise ValidationError(
                {"reason": f"the checklist has failing items ({names}); give the reason"}
            )
    before = _move(row, oem, "closed")
    row.closed_by_id = actor.user_id
    row.closed_at = utcnow()
    row.closure_reason = text
    return _finish(
        session,
        actor,
        row,
        oem,
        "month.close",
        before,
        {
            "with_exceptions": bool(failing),
            "failing": {i.key: list(i.offending) or [i.detail] for i in failing},
        },
    )


def mark_invoiced(session: Session, actor: Actor, *, oem_id: uuid.UUID, month: date) -> MonthDTO:
    """``closed -> invoiced`` (seed 003 "Facturado"): final, the month stays locked for good.

    Raises:
        PermissionDenied: without ``month.invoice``.
        NotFound: unknown OEM or no folder.
        TransitionError: the folder is not ``closed``.
    """
    require(actor, "month.invoice")
    row, oem = _load_for_change(session, oem_id, month)
    if row.status != "closed":
        raise TransitionError(
            f"{oem.code} {row.month:%B %Y} is {row.status}: only a closed month is invoiced"
        )
    before = _move(row, oem, "invoiced")
    return _finish(session, actor, row, oem, "month.invoice", before)


def reopen_month(
    session: Session, actor: Actor, *, oem_id: uuid.UUID, month: date, reason: str
) -> MonthDTO:
    """``closed -> open`` by an admin with a reason: unlocks the month. ``closed_by``,
    ``closed_at`` and ``closure_reason`` are cleared (the audit event ``month.reopen`` keeps
    them with the reason). An invoiced month cannot be reopened.

    Raises:
        PermissionDenied: without ``month.reopen`` (admins only).
        NotFound: unknown OEM or no folder.
        TransitionError: the folder is not ``closed``.
        ValidationError: ``reason`` blank or longer than 1000 characters.
    """
    require(actor, "month.reopen")
    text = _clean_reason(reason, required=True, what="reopen the month")
    row, oem = _load_for_change(session, oem_id, month)
    if row.status != "closed":
        raise TransitionError(
            f"{oem.code} {row.month:%B %Y} is {row.status}: only a closed month is reopened"
        )
    before = {
        **_move(row, oem, "open"),
        "closed_by_id": row.closed_by_id,
        "closed_at": row.closed_at,
    }
    row.closed_by_id = None
    row.closed_at = None
    row.closure_reason = None
    return _finish(session, actor, row, oem, "month.reopen", before, {"reason": text})
