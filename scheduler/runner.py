"""The sidecar process: command line, APScheduler setup, signals and shutdown.

``python -m scheduler [--database-url URL] [--lease-ttl SECONDS] [--heartbeat-seconds S]``
starts a ``BlockingScheduler`` (time zone from settings, default ``Asia/Kolkata``, in-memory
job store) with the lease heartbeat and every job of ``scheduler.jobs.JOBS``; jobs run only on
the leader. ``python -m scheduler --once sla_at_risk`` runs one job now (logged in
``job_run``) and exits 0 on success, 1 on failure. SIGTERM/SIGINT stop it gracefully: running
jobs finish, the lease is released so a standby takes over at its next heartbeat.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from types import FrameType
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from db.engine import make_engine
from db.settings import get_settings
from scheduler.jobs import JOBS, JobSpec, run_if_leader, run_job
from scheduler.leader import LeaderElector, make_holder

log = logging.getLogger("scheduler")

HEARTBEAT_JOB_ID = "leader_heartbeat"
#: a job that could not start on time still runs if the delay is under 6 hours
MISFIRE_GRACE_SECONDS = 6 * 3600
JOB_DEFAULTS = {
    "coalesce": True,
    "misfire_grace_time": MISFIRE_GRACE_SECONDS,
    "max_instances": 1,
}


STARTUP_CATCH_UP_DELAY = 5  # seconds after start, once the lease heartbeat has run


class _Stop(Exception):
    """Raised by the SIGTERM/SIGINT handler to leave ``BlockingScheduler.start()``."""


def build_scheduler(
    engine: Engine,
    elector: LeaderElector,
    *,
    timezone: str | None = None,
    heartbeat_seconds: float | None = None,
    jobs: Mapping[str, JobSpec] = JOBS,
) -> BlockingScheduler:
    """A configured (not started) ``BlockingScheduler``.

    Registers ``leader_heartbeat`` (every ``heartbeat_seconds``, default ``ttl/3``, on its own
    single-thread executor so long jobs never delay it) and one cron job per ``JobSpec`` in
    local time, each wrapped in ``run_if_leader``. Job defaults: ``coalesce=True``,
    ``misfire_grace_time`` 6 h, ``max_instances=1``; default in-memory job store (never
    shared between sidecars).

    Args:
        timezone: IANA zone; default ``settings.timezone`` (``Asia/Kolkata``).
    """
    tz = ZoneInfo(timezone or get_settings().timezone)
    sched = BlockingScheduler(
        timezone=tz,
        jobstores={"default": MemoryJobStore()},
        # Jobs run one at a time: they all write, and on SQLite there is one writer at a time;
        # jobs queued behind another are late, not lost (coalesce + misfire grace).
        executors={"default": ThreadPoolExecutor(1), "lease": ThreadPoolExecutor(1)},
        job_defaults=dict(JOB_DEFAULTS),
    )
    interval = heartbeat_seconds or elector.renew_interval
    sched.add_job(
        elector.heartbeat,
        IntervalTrigger(seconds=interval, timezone=tz),
        id=HEARTBEAT_JOB_ID,
        name="leader lease heartbeat",
        executor="lease",
        misfire_grace_time=max(1, int(interval)),
    )
    for spec in jobs.values():
        sched.add_job(
            run_if_leader,
            CronTrigger(timezone=tz, **spec.cron),
            args=[elector, engine, spec.name, spec.fn],
            kwargs={"has_work": spec.has_work} if spec.has_work else None,
            id=spec.name,
            name=spec.description,
        )
    return sched


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options of ``python -m scheduler``."""
    p = argparse.ArgumentParser(prog="python -m scheduler", description=__doc__.splitlines()[0])
    p.add_argument("--database-url", help="SQLAlchemy URL (default: DATABASE_URL setting)")
    p.add_argument("--once", choices=sorted(JOBS), metavar="JOB", help="run one job now and exit")
    p.add_argument(
        "--lease-ttl", type=float, default=60.0, help="leader lease lifetime, seconds (60)"
    )
    p.add_argument(
        "--heartbeat-seconds",
        type=float,
        default=None,
        help="lease renewal interval, seconds (default ttl/3; small values are for tests)",
    )
    p.add_argument("--lease-name", default="scheduler", help=argparse.SUPPRESS)
    p.add_argument("--timezone", default=None, help="IANA zone (default: TIMEZONE setting)")
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args(argv)
    if args.lease_ttl <= 0:
        p.error("--lease-ttl must be positive")
    if args.heartbeat_seconds is not None and not 0 < args.heartbeat_seconds < args.lease_ttl:
        p.error("--heartbeat-seconds must be positive and shorter than --lease-ttl")
    return args


class SkippedPollFilter(logging.Filter):
    """Drops APScheduler's "skipped: maximum number of running instances reached" warning for
    the polling jobs (those with ``has_work``, e.g. ``report_queue`` every 30 s).

    A poll skipped because the previous one is still compiling (or waits behind a long job on
    the single-thread executor, as during a first-start backfill) loses nothing: the next poll
    finds the same queue. The warning stays for every other job, where a skip is news.
    """

    SKIPPED = "maximum number of running instances reached"

    def __init__(self, jobs: Mapping[str, JobSpec] = JOBS) -> None:
        super().__init__()
        self.polls = {spec.description for spec in jobs.values() if spec.has_work}

    def filter(self, record: logging.LogRecord) -> bool:
        """False (drop) for a skipped run of a polling job; True for any other record."""
        if record.levelno != logging.WARNING or self.SKIPPED not in record.getMessage():
            return True
        return not any(f'"{name}' in record.getMessage() for name in self.polls)


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        stream=sys.stdout,
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.scheduler").addFilter(SkippedPollFilter())
    # fpdf2's font subsetting logs every glyph list at INFO
    logging.getLogger("fontTools").setLevel(logging.WARNING)


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    # second signal: default behaviour (SIGTERM kills, SIGINT raises KeyboardInterrupt)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    raise _Stop(signal.Signals(signum).name)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m scheduler``.

    Returns:
        Process exit code: 0 after a graceful stop or a successful ``--once`` run, 1 when the
        ``--once`` job failed.
    """
    args = parse_args(argv)
    _configure_logging(args.log_level)
    engine = make_engine(args.database_url)
    try:
        if args.once:
            spec = JOBS[args.once]
            result = run_job(engine, spec.name, spec.fn, make_holder())
            return 0 if result.ok else 1
        return _serve(engine, args)
    finally:
        engine.dispose()


def _serve(engine: Engine, args: argparse.Namespace) -> int:
    elector = LeaderElector(engine, name=args.lease_name, ttl_seconds=args.lease_ttl)
    sched = build_scheduler(
        engine, elector, timezone=args.timezone, heartbeat_seconds=args.heartbeat_seconds
    )
    # Catch up after downtime: every job is idempotent, so run each once shortly after start
    # (as leader only); a run missed while the sidecar was down is then not lost. The report
    # jobs queue every period missed since the latest compiled report (at most 12, not before
    # the OEM's first lead), each exactly once (``domain.reporting.queue``).
    for spec in JOBS.values():
        sched.add_job(
            run_if_leader,
            "date",
            run_date=datetime.now(sched.timezone) + timedelta(seconds=STARTUP_CATCH_UP_DELAY),
            args=[elector, engine, spec.name, spec.fn],
            id=f"{spec.name}:startup",
            name=f"{spec.description} (start-up catch-up)",
        )
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    log.info(
        "sidecar %s starting: jobs %s, lease %r ttl %.1fs, heartbeat %.1fs, tz %s",
        elector.holder,
        ", ".join(JOBS),
        elector.name,
        elector.ttl_seconds,
        args.heartbeat_seconds or elector.renew_interval,
        sched.timezone,
    )
    try:
        elector.heartbeat()
        sched.start()
    except (_Stop, KeyboardInterrupt) as exc:
        log.info("stopping on %s", exc or "interrupt")
    finally:
        if sched.running:
            sched.shutdown(wait=True)
        elector.release()
        log.info("sidecar %s stopped", elector.holder)
    return 0
