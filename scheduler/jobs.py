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
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.types import utcnow
from domain.calendar import local_date
from domain.jobs import service as jobs_service
from domain.notifications.reminders import notify_confirmation_calls_due
from domain.notifications.service import notify_sla_at_risk

log = logging.getLogger("scheduler.jobs")

JobFn = Callable[[Session], Any]


@dataclass(frozen=True)
class JobSpec:
    """A registered job: its name, function and when it runs (cron fields, local time)."""

    name: str
    fn: JobFn
    cron: dict[str, Any]
    description: str


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
}


def run_job(engine: Engine, name: str, fn: JobFn, holder: str) -> JobRunResult:
    """Run ``fn`` in one transaction and log the run in ``job_run``; never raises.

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
        with session_scope(engine) as s:
            run_id = jobs_service.start_job_run(s, job_name=name, holder=holder)
    except Exception as exc:
        log.exception("job %s: could not record its start", name)
        return JobRunResult(run_id=None, status="failed", detail=f"{type(exc).__name__}: {exc}")
    log.info("job %s started (run %s)", name, run_id)
    try:
        with session_scope(engine) as s:
            result = fn(s)
            detail = None if result is None else str(result)
            jobs_service.finish_job_run(s, run_id=run_id, status="succeeded", detail=detail)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        log.exception("job %s failed (run %s)", name, run_id)
        try:
            with session_scope(engine) as s:
                jobs_service.finish_job_run(s, run_id=run_id, status="failed", detail=error)
        except Exception:
            log.exception("job %s: could not record its failure", name)
        return JobRunResult(run_id=run_id, status="failed", detail=error)
    log.info("job %s succeeded (run %s): %s", name, run_id, detail)
    return JobRunResult(run_id=run_id, status="succeeded", detail=detail)


def run_if_leader(elector: Any, engine: Engine, name: str, fn: JobFn) -> JobRunResult | None:
    """Run the job only if this sidecar leads (renewing the lease right before).

    Args:
        elector: a ``scheduler.leader.LeaderElector`` (``heartbeat()``, ``holder``).

    Returns:
        The run's outcome, or None when this sidecar is on standby (nothing is logged in
        ``job_run`` then).
    """
    if not elector.heartbeat():
        log.info("standby: skipping job %s (not the leader)", name)
        return None
    return run_job(engine, name, fn, elector.holder)
