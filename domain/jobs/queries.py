"""jobs queries: the scheduler's run log and the current leader lease (admin views)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.jobs.models import JobRun, SchedulerLease
from domain.permissions import require

JOB_RUN_COLUMNS = [
    "id",
    "job_name",
    "status",
    "started_at",
    "finished_at",
    "duration_s",
    "detail",
    "holder",
]


@dataclass(frozen=True)
class LeaseDTO:
    """The leader lease row: who holds it, until when (aware UTC), and its fencing token."""

    name: str
    holder: str
    expires_at: datetime
    fencing_token: int

    def is_held(self, now: datetime) -> bool:
        """True while the lease is unexpired at ``now`` (aware UTC)."""
        return self.expires_at > now


def recent_job_runs(session: Session, actor: Actor, limit: int = 50) -> pd.DataFrame:
    """The latest scheduler job runs, newest first.

    Args:
        limit: maximum rows (1..1000).

    Returns:
        DataFrame with columns ``JOB_RUN_COLUMNS``: ``id`` (str), ``job_name``, ``status``
        (``running | succeeded | failed``), ``started_at`` / ``finished_at`` (aware UTC,
        ``finished_at`` NaT while running), ``duration_s`` (seconds, float, NaN while running),
        ``detail`` (result or error text), ``holder`` (sidecar identity).

    Raises:
        PermissionDenied: without ``job_run.read``.
    """
    require(actor, "job_run.read")
    limit = max(1, min(int(limit), 1000))
    rows = session.execute(
        select(
            JobRun.id,
            JobRun.job_name,
            JobRun.status,
            JobRun.started_at,
            JobRun.finished_at,
            JobRun.detail,
            JobRun.holder,
        )
        .order_by(JobRun.started_at.desc(), JobRun.id)
        .limit(limit)
    ).all()
    records = [
        {
            "id": str(r.id),
            "job_name": r.job_name,
            "status": r.status,
            "started_at": r.started_at,
            "finished_at": r.finished_at,
            "duration_s": (
                (r.finished_at - r.started_at).total_seconds()
                if r.finished_at is not None
                else float("nan")
            ),
            "detail": r.detail,
            "holder": r.holder,
        }
        for r in rows
    ]
    df = pd.DataFrame.from_records(records, columns=JOB_RUN_COLUMNS)
    for col in ("started_at", "finished_at"):
        df[col] = pd.to_datetime(df[col], utc=True)
    df["duration_s"] = df["duration_s"].astype(float)
    return df


def current_lease(session: Session, actor: Actor, *, name: str = "scheduler") -> LeaseDTO | None:
    """The lease row ``name`` (held or expired), or None when no sidecar ever ran.

    Raises:
        PermissionDenied: without ``job_run.read`` (the sidecar passes ``domain.actor.SYSTEM``).
    """
    require(actor, "job_run.read")
    row = session.execute(
        select(
            SchedulerLease.name,
            SchedulerLease.holder,
            SchedulerLease.expires_at,
            SchedulerLease.fencing_token,
        ).where(SchedulerLease.name == name)
    ).one_or_none()
    if row is None:
        return None
    return LeaseDTO(
        name=row.name,
        holder=row.holder,
        expires_at=row.expires_at,
        fencing_token=row.fencing_token,
    )


def job_run_status(session: Session, actor: Actor, *, run_id: uuid.UUID) -> str | None:
    """Status of one run (``running | succeeded | failed``), or None if unknown.

    Raises:
        PermissionDenied: without ``job_run.read``.
    """
    require(actor, "job_run.read")
    return session.execute(select(JobRun.status).where(JobRun.id == run_id)).scalar_one_or_none()
