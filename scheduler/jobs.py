"""Scheduled jobs: the registry, the ``job_run`` wrapper and the leader guard.

A job is a plain function ``fn(session) -> str | int | None`` that calls the domain layer in
the transaction it is given; its return value becomes the run's ``detail``. ``run_job`` logs
every run in ``job_run``; ``run_if_leader`` runs it only on the sidecar holding the lease.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from db.engine import run_in_transaction, session_scope
from db.types import utcnow
from domain.calendar import local_date
from domain.jobs import service as jobs_service
from domain.notifications.reminders import notify_confirmation_calls_due
from domain.notifications.service import notify_sla_at_risk
from domain.procurement.reorder import raise_reorder_alerts
from domain.reporting.queue import QUEUE_ACTOR, enqueue_missing_reports, has_pending, run_pending

log = logging.getLogger("scheduler.jobs")

JobFn = Callable[[Session], Any]


@dataclass(frozen=True)
class JobSpec:
    """A registered job: its name, function and when it runs (cron fields, local time)."""

    name: str
    fn: JobFn
    cron: dict[str, Any]
    description: str
    #: optional cheap check ``has_work(engine)``; when it returns False the run is skipped and
    #: not logged (for frequent pollers such as the report queue worker)
    has_work: Callable[[Engine], bool] | None = None


@dataclass(frozen=True)
class JobRunResult:
    """Outcome of one run: the ``job_run`` id (None if even the log row failed), ``status``
    (``succeeded | failed``) and ``detail`` (the job's result or the error text)."""

    run_id: uuid.UUID | None
    status: str
    detail: str | None

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


def sla_at_risk_job(session: Session) -> str:
    """Daily: notify central ops of open leads whose installation SLA is due by the next
    business day or already breached (``domain.notifications.service.notify_sla_at_risk``).

    Returns:
        ``"created N notifications"``.
    """
    created = notify_sla_at_risk(session, today=local_date(utcnow()), horizon_business_days=1)
    return f"created {created} notifications"


def confirmation_calls_due_job(session: Session) -> str:
    """Daily: remind central ops to call the customers of tomorrow's unconfirmed installations
    (Monday's too on Saturdays; ``domain.notifications.reminders.notify_confirmation_calls_due``).

    Returns:
        ``"created N notifications"``.
    """
    created = notify_confirmation_calls_due(session, today=local_date(utcnow()))
    return f"created {created} notifications"


def reorder_alerts_job(session: Session) -> str:
    """Hourly: notify procurement of stock rows whose projected quantity is at or below the
    reorder level, once per episode (``domain.procurement.reorder.raise_reorder_alerts``).

    Returns:
        ``"created N notifications"``.
    """
    created = raise_reorder_alerts(session)
    return f"created {created} notifications"


#: requests one report job compiles at most per run (20 OEMs x 12 catch-up periods fit)
REPORT_BATCH = 500
#: requests the frequent queue worker compiles per run
QUEUE_BATCH = 20


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _reports_job(session: Session, report_type: str, now: datetime | None) -> str:
    # The queue runs each request in its own transactions, so the job leaves ``session``
    # untouched (on SQLite a write it began would block those transactions).
    engine = _engine_of(session)
    today = local_date(now or utcnow())
    with session_scope(engine) as s:
        created = enqueue_missing_reports(s, QUEUE_ACTOR, report_type=report_type, today=today)
    summary = run_pending(engine, REPORT_BATCH, now=now)
    return f"queued {created} {report_type} reports; {summary}"


def weekly_reports_job(session: Session, *, now: datetime | None = None) -> str:
    """Mondays: queue every active OEM's owed weekly reports (the week just ended and, after
    downtime, every missed week since the latest compiled one, at most 12 and not before the
    OEM's first lead) and run the queue (``domain.reporting.queue``).

    Args:
        now: aware UTC "now" (tests drive catch-up with a fake clock).

    Returns:
        ``"queued N weekly reports; compiled D, to retry R, failed F"``.
    """
    return _reports_job(session, "weekly", now)


def monthly_reports_job(session: Session, *, now: datetime | None = None) -> str:
    """On the 1st: as ``weekly_reports_job`` for monthly reports (the month just ended and
    missed months, at most 12)."""
    return _reports_job(session, "monthly", now)


def report_queue_job(session: Session, *, now: datetime | None = None) -> str:
    """Every 30 s: compile report requests queued from the UI (``run_pending``)."""
    return str(run_pending(_engine_of(session), QUEUE_BATCH, now=now))


def _queue_has_work(engine: Engine) -> bool:
    with session_scope(engine, readonly=True) as s:
        return has_pending(s)


#: Every job the sidecar schedules, by name (``python -m scheduler --once <name>``).
JOBS: dict[str, JobSpec] = {
    "sla_at_risk": JobSpec(
        name="sla_at_risk",
        fn=sla_at_risk_job,
        cron={"hour": 7, "minute": 0},
        description="SLA-at-risk notifications for central ops (daily 07:00 local)",
    ),
    "confirmation_calls_due": JobSpec(
        name="confirmation_calls_due",
        fn=confirmation_calls_due_job,
        cron={"hour": 16, "minute": 0},
        description="Confirmation calls due for tomorrow's unconfirmed jobs (daily 16:00 local)",
    ),
    "reorder_alerts": JobSpec(
        name="reorder_alerts",
        fn=reorder_alerts_job,
        cron={"minute": 0},
        description="Reorder alerts for procurement (hourly, on the hour)",
    ),
    "weekly_reports": JobSpec(
        name="weekly_reports",
        fn=weekly_reports_job,
        cron={"day_of_week": "mon", "hour": 6, "minute": 0},
        description="Weekly OEM reports for the week just ended (Mondays 06:00 local)",
    ),
    "monthly_reports": JobSpec(
        name="monthly_reports",
        fn=monthly_reports_job,
        cron={"day": 1, "hour": 6, "minute": 30},
        description="Monthly OEM reports for the month just ended (1st, 06:30 local)",
    ),
    "report_queue": JobSpec(
        name="report_queue",
        fn=report_queue_job,
        cron={"second": "*/30"},
        description="Report compile requests queued from the app (every 30 s)",
        has_work=_queue_has_work,
    ),
}


def run_job(engine: Engine, name: str, fn: JobFn, holder: str) -> JobRunResult:
    """Run ``fn`` in one transaction and log the run in ``job_run``; never raises.

    Each of the three transactions below is retried as a whole on a transient database error
    (``db.engine.run_in_transaction``: busy, serialization, deadlock, lost connection).

    1. A ``running`` row is committed first (so a run in progress is visible).
    2. ``fn(session)`` runs in its own ``session_scope``; on success the row becomes
       ``succeeded`` with ``str(result)`` as detail, in the same transaction as the job's work.
    3. If ``fn`` raises, its transaction is rolled back and the row becomes ``failed`` with
       ``"<ExceptionType>: <message>"`` in a separate transaction.

    Args:
        name: job name stored in ``job_run.job_name``.
        holder: sidecar identity stored in ``job_run.holder``.

    Returns:
        The run's outcome. Errors (including a database that is down) are logged, not raised,
        so a failing job never stops the scheduler.
    """
    try:
        run_id = run_in_transaction(
            engine, lambda s: jobs_service.start_job_run(s, job_name=name, holder=holder)
        )
    except Exception as exc:
        log.exception("job %s: could not record its start", name)
        return JobRunResult(run_id=None, status="failed", detail=f"{type(exc).__name__}: {exc}")
    log.info("job %s started (run %s)", name, run_id)

    def work(s: Session) -> str | None:
        result = fn(s)
        out = None if result is None else str(result)
        jobs_service.finish_job_run(s, run_id=run_id, status="succeeded", detail=out)
        return out

    try:
        detail = run_in_transaction(engine, work)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        log.exception("job %s failed (run %s)", name, run_id)
        try:
            run_in_transaction(
                engine,
                lambda s: jobs_service.finish_job_run(
                    s, run_id=run_id, status="failed", detail=error
                ),
            )
        except Exception:
            log.exception("job %s: could not record its failure", name)
        return JobRunResult(run_id=run_id, status="failed", detail=error)
    log.info("job %s succeeded (run %s): %s", name, run_id, detail)
    return JobRunResult(run_id=run_id, status="succeeded", detail=detail)


def run_if_leader(
    elector: Any,
    engine: Engine,
    name: str,
    fn: JobFn,
    has_work: Callable[[Engine], bool] | None = None,
) -> JobRunResult | None:
    """Run the job only if this sidecar leads (renewing the lease right before).

    Args:
        elector: a ``scheduler.leader.LeaderElector`` (``heartbeat()``, ``holder``).
        has_work: optional check; when it returns False (or fails) the run is skipped.

    Returns:
        The run's outcome, or None when this sidecar is on standby or there was no work
        (nothing is logged in ``job_run`` then).
    """
    if not elector.heartbeat():
        log.info("standby: skipping job %s (not the leader)", name)
        return None
    if has_work is not None:
        try:
            if not has_work(engine):
                return None
        except Exception:
            log.exception("job %s: work check failed", name)
            return None
    return run_job(engine, name, fn, elector.holder)
