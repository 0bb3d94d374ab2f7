"""jobs: the scheduler sidecar's run log and its leader lease."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, IdMixin, TimestampMixin, one_of

JOB_STATUSES = ("running", "succeeded", "failed")


class JobRun(IdMixin, Base):
    """One run of a scheduled job: when, how it ended, what it did."""

    __tablename__ = "job_run"
    __table_args__ = (
        one_of("status", JOB_STATUSES),
        Index("ix_job_run_job_started", "job_name", "started_at"),
    )
    job_name: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="running")
    detail: Mapped[str | None] = mapped_column(Text)
    holder: Mapped[str] = mapped_column(String(120))


class SchedulerLease(TimestampMixin, Base):
    """Leader lease: the sidecar whose ``holder`` is here, unexpired, runs the jobs."""

    __tablename__ = "scheduler_lease"
    name: Mapped[str] = mapped_column(String(40), unique=True)
    holder: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[datetime]
    fencing_token: Mapped[int] = mapped_column(Integer, default=0)
