"""jobs commands: the scheduler sidecar's leader lease and its run log.

These are infrastructure operations of the scheduler sidecar, not user commands: they take no
actor and write no audit event (the ``job_run`` table *is* the scheduler's log, and a lease
renewed every few seconds would flood the audit trail). Like every command they flush and never
commit; the caller owns the transaction (one ``db.session_scope(engine)`` per heartbeat/run).

Leader lease protocol (one row per lease name in ``scheduler_lease``):

* take or renew: ``UPDATE scheduler_lease SET holder = me, expires_at = now + ttl ...
  WHERE name = :name AND (holder = me OR expires_at < now)``. One row updated means we lead.
  On PostgreSQL (READ COMMITTED) two racing UPDATEs serialise on the row lock and the loser
  re-evaluates the WHERE clause against the winner's row, so it updates nothing; on SQLite
  every write transaction starts with ``BEGIN IMMEDIATE``, so writers are serialised anyway.
* first use: when no row exists, ``INSERT`` it inside a SAVEPOINT; a unique violation on
  ``name`` (another sidecar inserted first) means we are not the leader.
* ``fencing_token`` increases by one each time the lease changes hands, so a job can tell a
  stale leader from the current one.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import case, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.types import utcnow
from domain.errors import NotFound, ValidationError
from domain.jobs.models import JOB_STATUSES, JobRun, SchedulerLease

DEFAULT_LEASE = "scheduler"
_DETAIL_MAX = 4000


def acquire_or_renew(
    session: Session,
    *,
    name: str = DEFAULT_LEASE,
    holder: str,
    ttl_seconds: float,
    now: datetime | None = None,
) -> bool:
    """Take the lease ``name`` if it is free or expired, or renew it if ``holder`` has it.

    Args:
        name: lease name (one leader per name), default ``"scheduler"``.
        holder: this process's identity, e.g. ``"host:1234:9f3a"`` (``scheduler.leader``).
        ttl_seconds: lease lifetime in seconds from ``now``; must be > 0.
        now: current aware UTC time (default ``utcnow()``); injectable for tests.

    Returns:
        True when ``holder`` holds the lease until ``now + ttl_seconds`` after this call
        (once the caller commits), False when another unexpired holder has it.

    Raises:
        ValidationError: empty holder or non-positive ttl.

    Race safety: see the module docstring (conditional UPDATE, INSERT with unique violation
    -> not leader, inside a SAVEPOINT so the caller's transaction stays usable).
    """
    if not holder:
        raise ValidationError({"holder": "required"})
    if ttl_seconds <= 0:
        raise ValidationError({"ttl_seconds": "must be positive"})
    now = now or utcnow()
    expires = now + timedelta(seconds=ttl_seconds)
    stmt = (
        update(SchedulerLease)
        .where(
            SchedulerLease.name == name,
            or_(SchedulerLease.holder == holder, SchedulerLease.expires_at < now),
        )
        .values(
            holder=holder,
            expires_at=expires,
            updated_at=now,
            fencing_token=case(
                (SchedulerLease.holder == holder, SchedulerLease.fencing_token),
                else_=SchedulerLease.fencing_token + 1,
            ),
        )
        .execution_options(synchronize_session=False)
    )
    if session.execute(stmt).rowcount == 1:  # type: ignore[attr-defined]
        return True
    exists = session.execute(
        select(SchedulerLease.id).where(SchedulerLease.name == name)
    ).scalar_one_or_none()
    if exists is not None:
        return False
    try:
        with session.begin_nested():
            session.execute(
                insert(SchedulerLease).values(
                    id=uuid.uuid4(),
                    name=name,
                    holder=holder,
                    expires_at=expires,
                    fencing_token=1,
                    created_at=now,
                    updated_at=now,
                )
            )
    except IntegrityError:
        return False
    return True


def release(
    session: Session,
    *,
    name: str = DEFAULT_LEASE,
    holder: str,
    now: datetime | None = None,
) -> bool:
    """Give the lease up so a standby sidecar can take it at its next heartbeat.

    Only the current holder can release (its ``expires_at`` is set to ``now``); the holder
    column is kept for the record.

    Returns:
        True when ``holder`` held the lease and it is now expired, False otherwise.
    """
    now = now or utcnow()
    stmt = (
        update(SchedulerLease)
        .where(
            SchedulerLease.name == name,
            SchedulerLease.holder == holder,
            SchedulerLease.expires_at > now,
        )
        .values(expires_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return session.execute(stmt).rowcount == 1  # type: ignore[attr-defined]


def start_job_run(
    session: Session, *, job_name: str, holder: str, now: datetime | None = None
) -> uuid.UUID:
    """Insert a ``job_run`` row with status ``running``.

    Args:
        job_name: registered job name, e.g. ``"sla_at_risk"``.
        holder: the sidecar identity running the job.

    Returns:
        The new run's id (pass it to ``finish_job_run``).
    """
    run = JobRun(
        job_name=job_name,
        started_at=now or utcnow(),
        status="running",
        holder=holder,
    )
    session.add(run)
    session.flush()
    return run.id


def finish_job_run(
    session: Session,
    *,
    run_id: uuid.UUID,
    status: str,
    detail: str | None = None,
    now: datetime | None = None,
) -> None:
    """Close a run: status ``succeeded`` or ``failed``, ``finished_at`` and a detail text.

    Args:
        detail: what the job did, or the error text; truncated to 4000 characters.

    Raises:
        ValidationError: status is not a final status.
        NotFound: no run with ``run_id``.
    """
    if status not in JOB_STATUSES or status == "running":
        raise ValidationError({"status": f"must be succeeded or failed, not {status!r}"})
    run = session.get(JobRun, run_id)
    if run is None:
        raise NotFound(f"job run {run_id} not found")
    run.status = status
    run.finished_at = now or utcnow()
    run.detail = detail[:_DETAIL_MAX] if detail is not None else None
    session.flush()
