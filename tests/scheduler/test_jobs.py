"""Scheduler jobs: the job_run log, the leader guard, the APScheduler set-up and --once."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from db.engine import session_scope
from domain.errors import PermissionDenied
from domain.jobs.models import JobRun
from domain.jobs.queries import JOB_RUN_COLUMNS, recent_job_runs
from domain.leads.models import Lead
from domain.notifications.models import Notification
from scheduler.jobs import JOBS, run_if_leader, run_job
from scheduler.leader import LeaderElector
from scheduler.runner import HEARTBEAT_JOB_ID, build_scheduler, parse_args
from tests.factories import actor_of, make_oem, make_user, make_zone

ROOT = Path(__file__).resolve().parents[2]
IST = ZoneInfo("Asia/Kolkata")


def _runs(engine: Engine) -> list[tuple[str, str, str | None, str, bool]]:
    with session_scope(engine, readonly=True) as s:
        rows = s.execute(select(JobRun).order_by(JobRun.started_at)).scalars().all()
        return [
            (
                r.job_name,
                r.status,
                r.detail,
                r.holder,
                r.finished_at is not None and r.finished_at >= r.started_at,
            )
            for r in rows
        ]


def _notification(key: str) -> Notification:
    return Notification(
        kind="reminder", recipient_role="central_ops", subject="test", dedupe_key=key
    )


def _count(engine: Engine, model: type) -> int:
    with session_scope(engine, readonly=True) as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_successful_run_is_logged_with_its_work(engine: Engine) -> None:
    def job(s: Session) -> str:
        s.add(_notification("job:ok"))
        return "made 1"

    result = run_job(engine, "demo", job, "host:1:aa")
    assert result.ok and result.detail == "made 1" and result.run_id is not None
    assert _runs(engine) == [("demo", "succeeded", "made 1", "host:1:aa", True)]
    assert _count(engine, Notification) == 1


def test_failing_run_is_logged_rolled_back_and_does_not_raise(engine: Engine) -> None:
    def job(s: Session) -> None:
        s.add(_notification("job:bad"))
        s.flush()
        raise RuntimeError("printer on fire")

    result = run_job(engine, "demo", job, "host:1:aa")
    assert not result.ok
    assert result.detail == "RuntimeError: printer on fire"
    assert _runs(engine) == [("demo", "failed", "RuntimeError: printer on fire", "host:1:aa", True)]
    # the job's own transaction was rolled back
    assert _count(engine, Notification) == 0
    # the scheduler carries on: the next run works
    assert run_job(engine, "demo", lambda s: None, "host:1:aa").ok
    assert [r[1] for r in _runs(engine)] == ["failed", "succeeded"]


def test_database_error_inside_job_is_recorded(engine: Engine) -> None:
    def job(s: Session) -> None:
        s.add(_notification("dup"))
        s.add(_notification("dup"))
        s.flush()  # unique violation

    result = run_job(engine, "dupes", job, "h")
    assert result.status == "failed" and "IntegrityError" in (result.detail or "")
    assert _runs(engine)[0][:2] == ("dupes", "failed")


def test_jobs_run_only_on_the_leader(engine: Engine) -> None:
    leader = LeaderElector(engine, holder="host:1:lead", ttl_seconds=30)
    standby = LeaderElector(engine, holder="host:2:stby", ttl_seconds=30)
    assert leader.heartbeat()
    calls: list[str] = []

    def job(s: Session) -> str:
        calls.append("ran")
        return "ok"

    assert run_if_leader(standby, engine, "demo", job) is None
    assert calls == [] and _runs(engine) == []
    result = run_if_leader(leader, engine, "demo", job)
    assert result is not None and result.ok
    assert calls == ["ran"]
    assert _runs(engine) == [("demo", "succeeded", "ok", "host:1:lead", True)]


def test_recent_job_runs_dataframe(engine: Engine) -> None:
    run_job(engine, "first", lambda s: 1, "h")
    run_job(engine, "second", lambda s: 1 / 0, "h")
    with session_scope(engine) as s:
        admin = actor_of(make_user(s, "admin"))
        ops = actor_of(make_user(s, "central_ops"))
    with session_scope(engine, readonly=True) as s:
        df = recent_job_runs(s, admin)
        assert list(recent_job_runs(s, admin, limit=1)["job_name"]) == ["second"]
        with pytest.raises(PermissionDenied):
            recent_job_runs(s, ops)
    assert list(df.columns) == JOB_RUN_COLUMNS
    assert list(df["job_name"]) == ["second", "first"]
    assert list(df["status"]) == ["failed", "succeeded"]
    assert df.loc[0, "detail"] == "ZeroDivisionError: division by zero"
    assert df.loc[1, "detail"] == "1"
    assert (df["duration_s"] >= 0).all()
    assert str(df["started_at"].dt.tz) == "UTC"


def test_build_scheduler_registers_heartbeat_and_daily_sla_job(engine: Engine) -> None:
    elector = LeaderElector(engine, holder="h", ttl_seconds=60)
    sched = build_scheduler(engine, elector, timezone="Asia/Kolkata")
    jobs = {j.id: j for j in sched.get_jobs()}
    assert set(jobs) == {
        HEARTBEAT_JOB_ID,
        "sla_at_risk",
        "confirmation_calls_due",
        "reorder_alerts",
        "weekly_reports",
        "monthly_reports",
        "report_queue",
    }
    assert str(sched.timezone) == "Asia/Kolkata"
    assert sched._job_defaults["coalesce"] is True  # noqa: SLF001
    assert sched._job_defaults["max_instances"] == 1  # noqa: SLF001
    assert sched._job_defaults["misfire_grace_time"] >= 3600  # noqa: SLF001

    hb = jobs[HEARTBEAT_JOB_ID]
    assert isinstance(hb.trigger, IntervalTrigger)
    assert hb.trigger.interval == timedelta(seconds=20)  # ttl / 3
    assert hb.executor == "lease"

    sla = jobs["sla_at_risk"]
    assert isinstance(sla.trigger, CronTrigger)
    assert sla.func is run_if_leader
    assert sla.args == (elector, engine, "sla_at_risk", JOBS["sla_at_risk"].fn)
    # 07:00 local time, every day
    after_seven = datetime(2026, 11, 21, 8, 0, tzinfo=IST)
    nxt = sla.trigger.get_next_fire_time(None, after_seven)
    assert nxt == datetime(2026, 11, 22, 7, 0, tzinfo=IST)
    assert nxt.astimezone(UTC) == datetime(2026, 11, 22, 1, 30, tzinfo=UTC)

    fast = build_scheduler(engine, elector, heartbeat_seconds=0.5)
    assert fast.get_job(HEARTBEAT_JOB_ID).trigger.interval == timedelta(seconds=0.5)


def test_parse_args_validates() -> None:
    args = parse_args(["--once", "sla_at_risk", "--database-url", "sqlite://"])
    assert args.once == "sla_at_risk" and args.lease_ttl == 60.0
    with pytest.raises(SystemExit):
        parse_args(["--once", "no_such_job"])
    with pytest.raises(SystemExit):
        parse_args(["--lease-ttl", "3", "--heartbeat-seconds", "5"])


@pytest.mark.slow
def test_once_runs_the_sla_job_and_exits_zero(engine: Engine) -> None:
    # a lead received 40 days ago and still open is past any SLA -> one notification
    with session_scope(engine) as s:
        zone = make_zone(s)
        oem = make_oem(s, sla_install_days=7)
        s.add(
            Lead(
                ref="LEAD-2026-00042",
                oem_id=oem.id,
                oem_lead_ref="T-42",
                customer_name="Asha Rao",
                phone="+919812345678",
                address="1 Residency Road",
                city="Bengaluru",
                pincode="560025",
                zone_id=zone.id,
                received_at=datetime.now(UTC) - timedelta(days=40),
                status="surveyed",
            )
        )
    url = engine.url.render_as_string(hide_password=False)
    cmd = [sys.executable, "-m", "scheduler", "--once", "sla_at_risk", "--database-url", url]
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=os.environ
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "job sla_at_risk succeeded" in proc.stdout
    runs = _runs(engine)
    assert [(r[0], r[1], r[2]) for r in runs] == [
        ("sla_at_risk", "succeeded", "created 1 notifications")
    ]
    with session_scope(engine, readonly=True) as s:
        subject = s.execute(select(Notification.subject)).scalar_one()
    assert subject.startswith("SLA breached: LEAD-2026-00042")

    # idempotent: a second run creates nothing and still succeeds
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=os.environ
    )
    assert proc.returncode == 0
    assert _runs(engine)[-1][2] == "created 0 notifications"
    assert _count(engine, Notification) == 1


def test_once_on_a_broken_database_exits_one(tmp_path: Path) -> None:
    # no schema: the job_run row cannot be written -> failed, exit code 1
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    proc = subprocess.run(
        [sys.executable, "-m", "scheduler", "--once", "sla_at_risk", "--database-url", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "could not record its start" in proc.stdout


def test_unknown_run_id_is_not_found(engine: Engine) -> None:
    from domain.errors import NotFound, ValidationError
    from domain.jobs.service import finish_job_run

    with session_scope(engine) as s:
        with pytest.raises(NotFound):
            finish_job_run(s, run_id=uuid.uuid4(), status="failed")
        with pytest.raises(ValidationError):
            finish_job_run(s, run_id=uuid.uuid4(), status="running")


# --- confirmation_calls_due (issue 3 item 4) --------------------------------------------------


def test_confirmation_calls_job_is_registered_daily_at_four_pm(engine: Engine) -> None:
    from scheduler.jobs import confirmation_calls_due_job

    spec = JOBS["confirmation_calls_due"]
    assert spec.name == "confirmation_calls_due"
    assert spec.fn is confirmation_calls_due_job
    assert spec.cron == {"hour": 16, "minute": 0}
    assert parse_args(["--once", "confirmation_calls_due"]).once == "confirmation_calls_due"

    elector = LeaderElector(engine, holder="h", ttl_seconds=60)
    sched = build_scheduler(engine, elector, timezone="Asia/Kolkata")
    jobs = {j.id: j for j in sched.get_jobs()}
    assert {HEARTBEAT_JOB_ID, "sla_at_risk", "confirmation_calls_due"} <= set(jobs)
    job = jobs["confirmation_calls_due"]
    assert job.func is run_if_leader
    assert job.args == (elector, engine, "confirmation_calls_due", confirmation_calls_due_job)
    # 16:00 local time, every day (10:30 UTC)
    nxt = job.trigger.get_next_fire_time(None, datetime(2026, 11, 21, 16, 1, tzinfo=IST))
    assert nxt == datetime(2026, 11, 22, 16, 0, tzinfo=IST)
    assert nxt.astimezone(UTC) == datetime(2026, 11, 22, 10, 30, tzinfo=UTC)


@pytest.mark.slow
def test_once_runs_the_confirmation_calls_job_on_a_migrated_sqlite_db(tmp_path: Path) -> None:
    from db.engine import make_engine
    from db.migrate import upgrade
    from db.types import utcnow
    from domain.calendar import local_date
    from tests.domain.test_installations import add_installation, build_world

    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    upgrade(url)
    eng = make_engine(url)
    try:
        tomorrow = local_date(utcnow()) + timedelta(days=1)
        with session_scope(eng) as s:
            w = build_world(s)
            due = add_installation(s, w, scheduled_date=tomorrow, customer_confirmed=False)
            add_installation(s, w, scheduled_date=tomorrow, customer_confirmed=True)
        cmd = [
            sys.executable,
            "-m",
            "scheduler",
            "--once",
            "confirmation_calls_due",
            "--database-url",
            url,
        ]
        proc = subprocess.run(
            cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=os.environ
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "job confirmation_calls_due succeeded" in proc.stdout
        assert [(r[0], r[1], r[2]) for r in _runs(eng)] == [
            ("confirmation_calls_due", "succeeded", "created 1 notifications")
        ]
        with session_scope(eng, readonly=True) as s:
            n = s.execute(select(Notification)).scalar_one()
            assert (n.kind, n.entity_id) == ("confirmation_call_due", str(due))

        # idempotent: a second run succeeds and creates nothing
        proc = subprocess.run(
            cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=os.environ
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert _runs(eng)[-1][:3] == (
            "confirmation_calls_due",
            "succeeded",
            "created 0 notifications",
        )
        assert _count(eng, Notification) == 1
    finally:
        eng.dispose()


# --- reorder_alerts (issue 4 item 6) ----------------------------------------------------------


def test_reorder_alerts_job_is_registered_hourly(engine: Engine) -> None:
    from scheduler.jobs import reorder_alerts_job

    spec = JOBS["reorder_alerts"]
    assert (spec.name, spec.fn, spec.cron) == ("reorder_alerts", reorder_alerts_job, {"minute": 0})
    assert parse_args(["--once", "reorder_alerts"]).once == "reorder_alerts"
    elector = LeaderElector(engine, holder="h", ttl_seconds=60)
    sched = build_scheduler(engine, elector, timezone="Asia/Kolkata")
    job = {j.id: j for j in sched.get_jobs()}["reorder_alerts"]
    assert job.func is run_if_leader
    assert job.args == (elector, engine, "reorder_alerts", reorder_alerts_job)
    nxt = job.trigger.get_next_fire_time(None, datetime(2026, 11, 21, 16, 1, tzinfo=IST))
    assert nxt == datetime(2026, 11, 21, 17, 0, tzinfo=IST)


def test_reorder_alerts_job_runs_once_per_episode(engine: Engine) -> None:
    from scheduler.jobs import reorder_alerts_job
    from tests.domain.test_procurement_requests import add_stock, procurement_world

    with session_scope(engine) as s:
        pw = procurement_world(s)
        add_stock(s, pw["cable"], pw["w"].zone_id, 3)  # level 5 by default: below
    first = run_job(engine, "reorder_alerts", reorder_alerts_job, "h")
    second = run_job(engine, "reorder_alerts", reorder_alerts_job, "h")
    assert (first.status, first.detail) == ("succeeded", "created 1 notifications")
    assert (second.status, second.detail) == ("succeeded", "created 0 notifications")
    with session_scope(engine, readonly=True) as s:
        n = s.execute(select(Notification)).scalar_one()
        assert (n.kind, n.recipient_role) == ("reorder_alert", "procurement")
        assert "Suggested order: 7 meter" in n.body
