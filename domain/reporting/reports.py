"""Weekly and monthly OEM reports: compile (frozen snapshots), submit, acknowledge, read.

Seeds 000 (WeeklyReport, MonthlyReport, ReportSubmission) and 003 (the monthly report is the
month's folder); figures as DESIGN.md "Definitions" (``domain.reporting.figures``).

* A report is unique per (OEM, week start Monday) / (OEM, first of month).
* A compiled report is a frozen snapshot. Recompiling a period whose data did not change gives
  identical figures and changes nothing (no version bump, no new PDF). When the figures did
  change, the old ones go to ``report_version`` (with the reason) and ``version`` is bumped,
  with a new PDF file per version.
* A submitted report is only recompiled with ``force=True`` (and a reason); a changed forced
  recompile un-submits it (it must be submitted again; the earlier submission stays recorded).
* Monthly compiles go through the month-closure lock
  (``domain.reporting.months.require_month_open``): a closed or invoiced month is refused.
* ``oem_viewer`` sees only its own OEM's *submitted* reports; other OEMs' ids are NotFound.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.settings import get_settings
from db.types import utcnow
from domain.accounts.models import AppUser, Oem
from domain.actor import Actor
from domain.audit import record
from domain.calendar import add_months, local_date, to_local
from domain.errors import Conflict, NotFound, PermissionDenied, TransitionError, ValidationError
from domain.notifications.service import insert_notifications
from domain.permissions import require
from domain.reporting.figures import PeriodFigures, period_figures
from domain.reporting.models import (
    COMPILED_REPORT_TYPES,
    MonthlyReport,
    ReportSubmission,
    ReportVersion,
    WeeklyReport,
)
from domain.reporting.months import require_month_open
from domain.reporting.report_pdf import ReportContent, write_report_pdf

ReportRow = WeeklyReport | MonthlyReport

COUNT_FIELDS = (
    "total_leads",
    "surveys_completed",
    "installations_completed",
    "closure_packs_submitted",
)
MONTHLY_FIELDS = ("total_revenue", "average_installation_time_days", "sla_compliance_rate")


# --------------------------------------------------------------------------- DTOs


@dataclass(frozen=True)
class ReportDTO:
    """A weekly or monthly report as pages and jobs see it.

    ``period_end`` is the last local day (inclusive). Monthly-only figures are ``None`` for
    weekly reports; ``total_revenue`` in INR, ``sla_compliance_rate`` in percent.
    ``status``: ``not_compiled | compiled | submitted | acknowledged``. ``changed`` tells a
    compile's caller whether that compile changed anything.
    """

    id: uuid.UUID
    report_type: str
    oem_id: uuid.UUID
    oem_code: str
    oem_name: str
    period_start: date
    period_end: date
    total_leads: int
    surveys_completed: int
    installations_completed: int
    closure_packs_submitted: int
    total_revenue: Decimal | None
    average_installation_time_days: Decimal | None
    sla_compliance_rate: Decimal | None
    version: int
    compiled_at: datetime | None
    submitted_at: datetime | None
    acknowledged_at: datetime | None
    report_file: str | None
    details: dict[str, Any] = field(default_factory=dict)
    month_status: str | None = None
    changed: bool = False

    @property
    def status(self) -> str:
        if self.compiled_at is None:
            return "not_compiled"
        if self.submitted_at is None:
            return "compiled"
        return "acknowledged" if self.acknowledged_at is not None else "submitted"

    @property
    def period_label(self) -> str:
        if self.report_type == "weekly":
            return f"{self.period_start:%d %b %Y} – {self.period_end:%d %b %Y}"
        return f"{self.period_start:%B %Y}"


@dataclass(frozen=True)
class ReportVersionDTO:
    """An earlier version: its figures, and why/when it was replaced (by whom)."""

    version: int
    figures: dict[str, Any]
    reason: str | None
    replaced_at: datetime
    replaced_by: str | None
    report_file: str | None


@dataclass(frozen=True)
class SubmissionDTO:
    """One submission of a report to its OEM."""

    id: uuid.UUID
    submitted_at: datetime
    submitted_by: str
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class ReportDetail:
    """A report with its earlier versions (newest first) and submissions (newest first)."""

    report: ReportDTO
    versions: tuple[ReportVersionDTO, ...]
    submissions: tuple[SubmissionDTO, ...]

    @property
    def version_note(self) -> str:
        """E.g. ``"v2, recompiled on 24 Nov 2026 because late survey data"`` (or ``"v1"``)."""
        r = self.report
        if not self.versions:
            return f"v{r.version}"
        last = self.versions[0]
        when = r.compiled_at or last.replaced_at
        return (
            f"v{r.version}, recompiled on {to_local(when):%d %b %Y %H:%M} "
            f"because {last.reason or 'the figures changed'}"
        )


# --------------------------------------------------------------------------- helpers


def _model(report_type: str) -> type[WeeklyReport] | type[MonthlyReport]:
    if report_type == "weekly":
        return WeeklyReport
    if report_type == "monthly":
        return MonthlyReport
    raise ValidationError({"report_type": f"must be one of {', '.join(COMPILED_REPORT_TYPES)}"})


def period_of(report_type: str, period_start: date) -> tuple[date, date]:
    """``(start, end_exclusive)`` of the period starting ``period_start``.

    Raises:
        ValidationError: a weekly start that is not a Monday, a monthly one not the 1st.
    """
    if report_type == "weekly":
        if period_start.weekday() != 0:
            raise ValidationError({"period_start": "a week starts on a Monday"})
        return period_start, period_start + timedelta(days=7)
    if report_type == "monthly":
        if period_start.day != 1:
            raise ValidationError({"period_start": "a month starts on the 1st"})
        return period_start, add_months(period_start, 1)
    raise ValidationError({"report_type": f"must be one of {', '.join(COMPILED_REPORT_TYPES)}"})


def _q(value: Any, places: str) -> str | None:
    if value is None:
        return None
    return str(Decimal(value).quantize(Decimal(places)))


def _figures_from(fig: PeriodFigures, report_type: str) -> dict[str, Any]:
    details = fig.details()
    if report_type == "weekly":
        details = {
            "period_end": details["period_end"],
            "zones": [
                {k: z[k] for k in ("zone_code", "zone_name", *_ZONE_COUNTS)}
                for z in details["zones"]
            ],
        }
    out: dict[str, Any] = {
        "total_leads": fig.leads_received,
        "surveys_completed": fig.surveys_completed,
        "installations_completed": fig.installations_completed,
        "closure_packs_submitted": fig.closure_packs_submitted,
        "details": details,
    }
    if report_type == "monthly":
        out["total_revenue"] = _q(fig.total_revenue, "0.01")
        out["average_installation_time_days"] = _q(fig.average_installation_time_days, "0.1")
        out["sla_compliance_rate"] = _q(fig.sla_compliance_rate, "0.01")
    return out


_ZONE_COUNTS = (
    "leads_received",
    "surveys_completed",
    "installations_completed",
    "closure_packs_submitted",
)


def _figures_of_row(row: ReportRow) -> dict[str, Any]:
    out: dict[str, Any] = {k: int(getattr(row, k) or 0) for k in COUNT_FIELDS}
    out["details"] = row.details or {}
    if isinstance(row, MonthlyReport):
        out["total_revenue"] = _q(row.total_revenue, "0.01")
        out["average_installation_time_days"] = _q(row.average_installation_time_days, "0.1")
        out["sla_compliance_rate"] = _q(row.sla_compliance_rate, "0.01")
    return out


def _apply(row: ReportRow, figures: dict[str, Any]) -> None:
    for k in COUNT_FIELDS:
        setattr(row, k, figures[k])
    row.details = figures["details"]
    if isinstance(row, MonthlyReport):
        for k in MONTHLY_FIELDS:
            v = figures[k]
            setattr(row, k, None if v is None else Decimal(v))


def _oem(session: Session, oem_id: uuid.UUID) -> Oem:
    oem = session.get(Oem, oem_id)
    if oem is None:
        raise NotFound("OEM not found")
    return oem


def _period_start(row: ReportRow) -> date:
    return row.week_start if isinstance(row, WeeklyReport) else row.month


def _acknowledged(session: Session, report_type: str, ids: list[uuid.UUID]) -> dict[Any, Any]:
    if not ids:
        return {}
    rows = session.execute(
        select(ReportSubmission.report_id, func.max(ReportSubmission.acknowledged_at))
        .where(ReportSubmission.report_type == report_type, ReportSubmission.report_id.in_(ids))
        .group_by(ReportSubmission.report_id)
    )
    return {r[0]: r[1] for r in rows}


def _dto(
    row: ReportRow, oem: Oem, acknowledged_at: datetime | None, changed: bool = False
) -> ReportDTO:
    monthly = isinstance(row, MonthlyReport)
    start = _period_start(row)
    # week_end is the Sunday (inclusive); a month ends the day before the next 1st
    end = (
        row.week_end if isinstance(row, WeeklyReport) else add_months(start, 1) - timedelta(days=1)
    )
    # A submission acknowledged before a forced recompile does not acknowledge the new one.
    if row.submitted_at is None or (
        acknowledged_at is not None and acknowledged_at < row.submitted_at
    ):
        acknowledged_at = None
    return ReportDTO(
        id=row.id,
        report_type="monthly" if monthly else "weekly",
        oem_id=oem.id,
        oem_code=oem.code,
        oem_name=oem.name,
        period_start=start,
        period_end=end,
        total_leads=int(row.total_leads or 0),
        surveys_completed=int(row.surveys_completed or 0),
        installations_completed=int(row.installations_completed or 0),
        closure_packs_submitted=int(row.closure_packs_submitted or 0),
        total_revenue=row.total_revenue if monthly else None,
        average_installation_time_days=row.average_installation_time_days if monthly else None,
        sla_compliance_rate=row.sla_compliance_rate if monthly else None,
        version=int(row.version or 1),
        compiled_at=row.compiled_at,
        submitted_at=row.submitted_at,
        acknowledged_at=acknowledged_at,
        report_file=row.report_file,
        details=dict(row.details or {}),
        month_status=row.status if monthly else None,
        changed=changed,
    )


def _month_lock(session: Session, oem_id: uuid.UUID, day: date) -> None:
    """Refuse changes to a closed/invoiced month (``months.require_month_open``)."""
    require_month_open(session, oem_id=oem_id, day=day)


def _content(
    report_type: str,
    oem: Oem,
    start: date,
    end: date,
    version: int,
    figures: dict[str, Any],
    generated_at: datetime | None,
) -> ReportContent:
    return ReportContent(
        report_type=report_type,
        oem_code=oem.code,
        oem_name=oem.name,
        period_start=start,
        period_end=end - timedelta(days=1),
        version=version,
        figures=dict(figures),
        details=figures["details"],
        generated_at=generated_at or utcnow(),
    )


def _notify_ready(
    session: Session, report_type: str, row: ReportRow, oem: Oem, start: date, now: datetime
) -> None:
    """A ``report_ready`` notification for reporting staff, once per report version."""
    label = f"{start:%d %b %Y}" if report_type == "weekly" else f"{start:%B %Y}"
    insert_notifications(
        session,
        [
            {
                "id": uuid.uuid4(),
                "created_at": now,
                "kind": "report_ready",
                "recipient_user_id": None,
                "recipient_role": "oem_reporting",
                "subject": f"{report_type.title()} report {oem.code} {label} v{row.version} "
                "ready to submit",
                "body": f"The {report_type} report of {oem.name} for {label} was compiled "
                f"(version {row.version}). Review it and submit it to the OEM.",
                "entity_type": f"{report_type}_report",
                "entity_id": str(row.id),
                "due_at": None,
                "read_at": None,
                "sent_at": None,
                "dedupe_key": f"report_ready:{report_type}:{row.id}:v{row.version}",
            }
        ],
    )


# --------------------------------------------------------------------------- commands


def _compile(
    session: Session,
    actor: Actor,
    *,
    report_type: str,
    oem_id: uuid.UUID,
    period_start: date,
    force: bool,
    reason: str | None,
    now: datetime | None,
) -> ReportDTO:
    require(actor, "report.compile")
    start, end = period_of(report_type, period_start)
    now = now or utcnow()
    if end > local_date(now):
        raise ValidationError({"period_start": "the period has not ended yet"})
    oem = _oem(session, oem_id)
    model = _model(report_type)
    key_col = WeeklyReport.week_start if model is WeeklyReport else MonthlyReport.month
    # Row lock first, then the month check (which takes a share lock on the same monthly row):
    # in this order two concurrent compiles of one month queue instead of deadlocking.
    row = session.execute(
        select(model).where(model.oem_id == oem_id, key_col == start).with_for_update()
    ).scalar_one_or_none()
    if report_type == "monthly":
        _month_lock(session, oem_id, start)
    if row is not None and row.submitted_at is not None and not force:
        raise Conflict(
            f"the {report_type} report for {start:%d %b %Y} was already submitted; "
            "recompile it only on explicit request (force, with a reason)"
        )
    if force and row is not None and row.submitted_at is not None and not (reason or "").strip():
        raise ValidationError({"reason": "say why a submitted report is recompiled"})

    figures = _figures_from(
        period_figures(session, oem_id=oem_id, period_start=start, period_end=end), report_type
    )
    fresh = row is None or row.compiled_at is None
    if not fresh and _figures_of_row(row) == figures:  # type: ignore[union-attr]
        assert row is not None
        if not row.report_file or not (get_settings().data_dir / row.report_file).is_file():
            # same snapshot, PDF lost (e.g. data directory restored): render it again
            row.report_file = write_report_pdf(
                _content(report_type, oem, start, end, row.version, figures, row.compiled_at)
            )
            session.flush()
        return _dto(row, oem, _acknowledged(session, report_type, [row.id]).get(row.id))

    before = None
    if row is None:
        if model is WeeklyReport:
            row = WeeklyReport(oem_id=oem_id, week_start=start, week_end=end - timedelta(days=1))
        else:
            row = MonthlyReport(oem_id=oem_id, month=start, status="open")
        row.version = 1
        _apply(row, figures)
        session.add(row)
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError as exc:
            raise Conflict(f"the {report_type} report for {start} already exists") from exc
    elif fresh:
        row.version = row.version or 1
        _apply(row, figures)
    else:
        before = _figures_of_row(row)
        session.add(
            ReportVersion(
                report_type=report_type,
                report_id=row.id,
                version=row.version,
                figures=before,
                report_file=row.report_file,
                reason=(reason or "").strip() or "the figures changed",
                created_by_id=actor.user_id,
            )
        )
        row.version = row.version + 1
        row.submitted_at = None
        _apply(row, figures)
    row.compiled_at = now
    session.flush()
    row.report_file = write_report_pdf(
        _content(report_type, oem, start, end, row.version, figures, now)
    )
    session.flush()
    _notify_ready(session, report_type, row, oem, start, now)
    record(
        session,
        actor,
        "report.compile",
        entity_type=f"{report_type}_report",
        entity_id=row.id,
        before=before,
        after={**figures, "version": row.version, "force": force},
    )
    return _dto(row, oem, None, changed=True)


def compile_weekly(
    session: Session,
    actor: Actor,
    *,
    oem_id: uuid.UUID,
    week_start: date,
    force: bool = False,
    reason: str | None = None,
    now: datetime | None = None,
) -> ReportDTO:
    """Compile (or recompile) the OEM's weekly report for the local week starting Monday
    ``week_start``: the four counts and the per-zone breakdown, and its PDF.

    Unchanged data: nothing changes (``changed=False``). Changed data: old figures kept in
    ``report_version``, ``version`` + 1, new PDF. ``now`` (aware UTC, default now) is the
    compile time and decides whether the week has ended.

    Raises:
        PermissionDenied: without ``report.compile``.
        ValidationError: ``week_start`` not a Monday, week not over yet, force without reason.
        NotFound: unknown OEM.
        Conflict: already submitted and not ``force``; a concurrent first compile won.
        OSError: the PDF could not be written (the caller's transaction must roll back).
    """
    return _compile(
        session,
        actor,
        report_type="weekly",
        oem_id=oem_id,
        period_start=week_start,
        force=force,
        reason=reason,
        now=now,
    )


def compile_monthly(
    session: Session,
    actor: Actor,
    *,
    oem_id: uuid.UUID,
    month: date,
    force: bool = False,
    reason: str | None = None,
    now: datetime | None = None,
) -> ReportDTO:
    """Compile (or recompile) the OEM's monthly report for the local month starting ``month``
    (the 1st): counts, revenue (INR), average lead->installation days, SLA compliance %, the
    per-zone breakdown and the SLA breaches, and its PDF. Same snapshot/version rules as
    ``compile_weekly``; a month's folder created earlier (not compiled yet) is filled in.

    Raises:
        as ``compile_weekly``, plus whatever ``months.require_month_open`` raises for a closed
        or invoiced month.
    """
    return _compile(
        session,
        actor,
        report_type="monthly",
        oem_id=oem_id,
        period_start=month,
        force=force,
        reason=reason,
        now=now,
    )


def _get_row(session: Session, actor: Actor, report_type: str, report_id: uuid.UUID) -> ReportRow:
    model = _model(report_type)
    row = session.get(model, report_id)
    if row is None:
        raise NotFound(f"{report_type} report not found")
    if actor.role == "oem_viewer":
        if actor.oem_id is None:
            raise PermissionDenied("an OEM viewer must belong to an OEM")
        if row.oem_id != actor.oem_id or row.submitted_at is None:
            raise NotFound(f"{report_type} report not found")
    return row


def submit_report(
    session: Session,
    actor: Actor,
    *,
    report_type: str,
    report_id: uuid.UUID,
    now: datetime | None = None,
) -> ReportDTO:
    """Submit a compiled report to its OEM: sets ``submitted_at`` and writes a
    ``report_submission`` row.

    Raises:
        PermissionDenied: without ``report.submit``.
        NotFound: unknown report.
        TransitionError: not compiled yet.
        Conflict: already submitted (recompile it with force to submit a new version).
    """
    require(actor, "report.submit")
    row = _get_row(session, actor, report_type, report_id)
    if row.compiled_at is None:
        raise TransitionError("compile the report before submitting it")
    if row.submitted_at is not None:
        raise Conflict("the report was already submitted")
    if actor.user_id is None:
        raise PermissionDenied("a report is submitted by a person")
    now = now or utcnow()
    row.submitted_at = now
    sub = ReportSubmission(
        report_type=report_type,
        report_id=row.id,
        submitted_by_id=actor.user_id,
        oem_id=row.oem_id,
        submitted_at=now,
    )
    session.add(sub)
    session.flush()
    record(
        session,
        actor,
        "report.submit",
        entity_type=f"{report_type}_report",
        entity_id=row.id,
        after={"submission_id": sub.id, "version": row.version, "submitted_at": now},
    )
    return _dto(row, _oem(session, row.oem_id), None)


def acknowledge_report(
    session: Session,
    actor: Actor,
    *,
    report_type: str,
    report_id: uuid.UUID,
    now: datetime | None = None,
) -> ReportDTO:
    """Record the OEM's acknowledgement of the report's latest submission.

    Raises:
        PermissionDenied: without ``report.acknowledge``.
        NotFound: unknown report.
        TransitionError: the report is not (currently) submitted.
        Conflict: that submission was already acknowledged.
    """
    require(actor, "report.acknowledge")
    row = _get_row(session, actor, report_type, report_id)
    if row.submitted_at is None:
        raise TransitionError("the report has not been submitted")
    sub = session.execute(
        select(ReportSubmission)
        .where(ReportSubmission.report_type == report_type, ReportSubmission.report_id == row.id)
        .order_by(ReportSubmission.submitted_at.desc())
        .limit(1)
        .with_for_update()
    ).scalar_one_or_none()
    if sub is None:
        raise TransitionError("the report has no submission")
    if sub.acknowledged:
        raise Conflict("the submission was already acknowledged")
    now = now or utcnow()
    sub.acknowledged = True
    sub.acknowledged_at = now
    session.flush()
    record(
        session,
        actor,
        "report.acknowledge",
        entity_type=f"{report_type}_report",
        entity_id=row.id,
        after={"submission_id": sub.id, "acknowledged_at": now},
    )
    return _dto(row, _oem(session, row.oem_id), now)


# --------------------------------------------------------------------------- queries


def list_reports(
    session: Session,
    actor: Actor,
    *,
    report_type: str,
    oem_id: uuid.UUID | None = None,
    period_from: date | None = None,
    period_to: date | None = None,
    limit: int = 200,
) -> list[ReportDTO]:
    """Compiled reports of one type, newest period first (then OEM code).

    ``oem_viewer``: only its own OEM's submitted reports (``oem_id`` is ignored).
    ``period_from``/``period_to`` filter the period start (inclusive).

    Raises:
        PermissionDenied: without ``report.read``.
    """
    require(actor, "report.read")
    model = _model(report_type)
    key_col = WeeklyReport.week_start if model is WeeklyReport else MonthlyReport.month
    stmt = (
        select(model, Oem)
        .join(Oem, Oem.id == model.oem_id)
        .where(model.compiled_at.is_not(None))
        .order_by(key_col.desc(), Oem.code)
        .limit(max(1, min(int(limit), 2000)))
    )
    if actor.role == "oem_viewer":
        if actor.oem_id is None:
            raise PermissionDenied("an OEM viewer must belong to an OEM")
        stmt = stmt.where(model.oem_id == actor.oem_id, model.submitted_at.is_not(None))
    elif oem_id is not None:
        stmt = stmt.where(model.oem_id == oem_id)
    if period_from is not None:
        stmt = stmt.where(key_col >= period_from)
    if period_to is not None:
        stmt = stmt.where(key_col <= period_to)
    rows = session.execute(stmt).all()
    acks = _acknowledged(session, report_type, [r[0].id for r in rows])
    return [_dto(r[0], r[1], acks.get(r[0].id)) for r in rows]


def get_report(
    session: Session, actor: Actor, *, report_type: str, report_id: uuid.UUID
) -> ReportDetail:
    """One report with its earlier versions and submissions.

    Raises:
        PermissionDenied: without ``report.read``.
        NotFound: unknown, or not visible to this ``oem_viewer``.
    """
    require(actor, "report.read")
    row = _get_row(session, actor, report_type, report_id)
    oem = _oem(session, row.oem_id)
    versions = tuple(
        ReportVersionDTO(
            version=v.version,
            figures=dict(v.figures or {}),
            reason=v.reason,
            replaced_at=v.created_at,
            replaced_by=name,
            report_file=v.report_file,
        )
        for v, name in session.execute(
            select(ReportVersion, AppUser.username)
            .outerjoin(AppUser, AppUser.id == ReportVersion.created_by_id)
            .where(ReportVersion.report_type == report_type, ReportVersion.report_id == row.id)
            .order_by(ReportVersion.version.desc())
        )
    )
    subs = tuple(
        SubmissionDTO(
            id=s.id,
            submitted_at=s.submitted_at,
            submitted_by=name,
            acknowledged_at=s.acknowledged_at,
        )
        for s, name in session.execute(
            select(ReportSubmission, AppUser.username)
            .join(AppUser, AppUser.id == ReportSubmission.submitted_by_id)
            .where(
                ReportSubmission.report_type == report_type, ReportSubmission.report_id == row.id
            )
            .order_by(ReportSubmission.submitted_at.desc())
        )
    )
    ack = subs[0].acknowledged_at if subs else None
    return ReportDetail(report=_dto(row, oem, ack), versions=versions, submissions=subs)


def report_pdf(
    session: Session, actor: Actor, *, report_type: str, report_id: uuid.UUID
) -> tuple[str, bytes]:
    """The current version's PDF: ``(download file name, bytes)``.

    Raises:
        PermissionDenied: without ``report.read``.
        NotFound: unknown or invisible report, or its file is missing.
    """
    require(actor, "report.read")
    row = _get_row(session, actor, report_type, report_id)
    if not row.report_file:
        raise NotFound("the report has no PDF yet")
    path = (get_settings().data_dir / row.report_file).resolve()
    base = get_settings().data_dir.resolve()
    if base not in path.parents or not path.is_file():
        raise NotFound("the report's PDF file is missing")
    oem = _oem(session, row.oem_id)
    name = f"{report_type}-report-{oem.code}-{_period_start(row).isoformat()}-v{row.version}.pdf"
    return name, Path(path).read_bytes()


def visible_oems(session: Session, actor: Actor) -> list[tuple[uuid.UUID, str]]:
    """OEMs the actor may see reports of, as ``(id, "CODE - Name")``, by code.

    Raises:
        PermissionDenied: without ``report.read``.
    """
    require(actor, "report.read")
    stmt = select(Oem.id, Oem.code, Oem.name).order_by(Oem.code)
    if actor.role == "oem_viewer":
        stmt = stmt.where(Oem.id == actor.oem_id)
    return [(r[0], f"{r[1]} - {r[2]}") for r in session.execute(stmt)]
