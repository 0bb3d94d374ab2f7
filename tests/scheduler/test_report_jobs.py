"""Report jobs of the sidecar: catch-up after downtime, two sidecars at once, a compile killed
half-way (SQLite and PostgreSQL; fixture of ``tests.domain.test_report_figures``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from db.engine import session_scope
from db.settings import get_settings
from domain.reporting import queue
from domain.reporting.models import ReportRequest, ReportVersion, WeeklyReport
from domain.reporting.reports import compile_weekly
from scheduler.jobs import JOBS, monthly_reports_job, run_job, weekly_reports_job
from tests.domain.test_report_figures import WEEK_W, build_report_world, ist
from tests.factories import make_oem

ROOT = Path(__file__).resolve().parents[2]
# Monday 2026-10-26 06:00 local: the weeks of 10-05, 10-12 and 10-19 were missed
RESTART = ist(2026, 10, 26, 6, 0)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    d = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(d))
    get_settings.cache_clear()
    yield d
    get_settings.cache_clear()


def _weeks(engine: Engine) -> dict[str, list[date]]:
    from domain.accounts.models import Oem

    with session_scope(engine, readonly=True) as s:
        rows = s.execute(
            select(Oem.code, WeeklyReport.week_start)
            .join(Oem, Oem.id == WeeklyReport.oem_id)
            .order_by(Oem.code, WeeklyReport.week_start)
        ).all()
    out: dict[str, list[date]] = {}
    for code, start in rows:
        out.setdefault(code, []).append(start)
    return out


def test_report_jobs_are_registered() -> None:
    assert JOBS["weekly_reports"].cron == {"day_of_week": "mon", "hour": 6, "minute": 0}
    assert JOBS["monthly_reports"].cron == {"day": 1, "hour": 6, "minute": 30}
    assert JOBS["report_queue"].cron == {"second": "*/30"}
    assert JOBS["report_queue"].has_work is not None


def test_sidecar_stopped_three_weeks_catches_up_exactly_three_per_oem(engine: Engine) -> None:
    with session_scope(engine) as s:
        w = build_report_world(s)
        make_oem(s, code="KIA", name="Kia India")  # no lead: owes no report
        for oem in (w.tata_id, w.mg_id):
            compile_weekly(s, w.reporter, oem_id=oem, week_start=WEEK_W, now=RESTART)
    job = partial(weekly_reports_job, now=RESTART)
    first = run_job(engine, "weekly_reports", job, "host:1:aa")
    assert first.ok, first.detail
    assert first.detail == "queued 6 weekly reports; compiled 6, to retry 0, failed 0"
    missed = [date(2026, 10, 5), date(2026, 10, 12), date(2026, 10, 19)]
    assert _weeks(engine) == {"MG": [WEEK_W, *missed], "TATA": [WEEK_W, *missed]}
    again = run_job(engine, "weekly_reports", job, "host:1:aa")
    assert again.detail == "queued 0 weekly reports; compiled 0, to retry 0, failed 0"
    assert _weeks(engine) == {"MG": [WEEK_W, *missed], "TATA": [WEEK_W, *missed]}


def test_catch_up_is_bounded_and_starts_at_the_first_lead(engine: Engine) -> None:
    with session_scope(engine) as s:
        build_report_world(s)
    # Monday 2027-03-01: TATA's first lead is in the week of 2026-09-07, but at most 12 weeks
    # back from the last ended week (2027-02-22): 2026-12-07 .. 2027-02-22.
    now = ist(2027, 3, 1, 6, 30)
    with session_scope(engine) as s:
        n = queue.enqueue_missing_reports(
            s, queue.QUEUE_ACTOR, report_type="weekly", today=now.date()
        )
    assert n == 24  # 12 for TATA, 12 for MG
    with session_scope(engine, readonly=True) as s:
        starts = sorted(set(s.execute(select(ReportRequest.period_start)).scalars()))
    assert starts[0] == date(2026, 12, 7) and starts[-1] == date(2027, 2, 22)
    # months: first leads in September (TATA) / September (MG): Sep 2026 .. Feb 2027
    with session_scope(engine) as s:
        m = queue.enqueue_missing_reports(
            s, queue.QUEUE_ACTOR, report_type="monthly", today=now.date()
        )
    assert m == 12


def test_monthly_job_compiles_last_month(engine: Engine) -> None:
    with session_scope(engine) as s:
        build_report_world(s)
    result = run_job(
        engine, "monthly_reports", partial(monthly_reports_job, now=ist(2026, 10, 1, 6, 30)), "h"
    )
    # September for TATA (first lead 09-10) and MG (first lead 09-29)
    assert result.detail == "queued 2 monthly reports; compiled 2, to retry 0, failed 0"


def test_two_sidecars_at_once_produce_each_report_once(engine: Engine) -> None:
    with session_scope(engine) as s:
        build_report_world(s)
    results = []
    barrier = threading.Barrier(2)

    def sidecar(holder: str) -> None:
        barrier.wait()
        results.append(
            run_job(engine, "weekly_reports", partial(weekly_reports_job, now=RESTART), holder)
        )

    threads = [threading.Thread(target=sidecar, args=(f"host:{i}:aa",)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.ok for r in results), [r.detail for r in results]
    weeks = _weeks(engine)
    # TATA: weeks 09-07 .. 10-19 (first lead 09-10) = 7; MG: 09-28 .. 10-19 = 4
    assert len(weeks["TATA"]) == 7 and len(set(weeks["TATA"])) == 7
    assert len(weeks["MG"]) == 4
    with session_scope(engine, readonly=True) as s:
        assert s.execute(select(func.count()).select_from(ReportVersion)).scalar_one() == 0
        statuses = set(s.execute(select(ReportRequest.status)).scalars())
    assert statuses == {"done"}


def test_compile_killed_half_way_leaves_nothing_and_next_run_completes(
    engine: Engine, data_dir: Path
) -> None:
    with session_scope(engine) as s:
        w = build_report_world(s)
        req = queue.request_report(
            s, w.reporter, report_type="weekly", oem_id=w.tata_id, period_start=WEEK_W
        )
    url = engine.url.render_as_string(hide_password=False)
    script = textwrap.dedent(
        f"""
        import os
        from datetime import datetime
        import domain.models
        import domain.reporting.pdf as pdfmod
        from db.engine import make_engine
        from domain.reporting.queue import run_pending

        def killed(src, dst):  # the temporary file is written, then the process dies
            os._exit(9)

        pdfmod.os.replace = killed
        run_pending(make_engine({url!r}), 5, now=datetime.fromisoformat({RESTART.isoformat()!r}))
        """
    )
    env = {**os.environ, "DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, timeout=120
    )
    assert proc.returncode == 9, proc.stderr.decode()[-2000:]
    with session_scope(engine, readonly=True) as s:
        row = s.get(ReportRequest, req.id)
        assert row is not None and row.status == "running" and row.attempts == 1
        assert s.execute(select(func.count()).select_from(WeeklyReport)).scalar_one() == 0
    assert not list(data_dir.rglob("*.pdf"))  # no PDF, only the hidden temporary file
    assert len(list(data_dir.rglob(".*.tmp"))) == 1
    # the next run reclaims the stale request and completes it
    summary = queue.run_pending(
        engine, 5, now=RESTART + timedelta(minutes=1), stale_after=timedelta(seconds=30)
    )
    assert summary.done == (req.id,)
    pdfs = list(data_dir.rglob("*.pdf"))
    assert [p.name for p in pdfs] == ["2026-09-28-v1.pdf"]
    assert not list(data_dir.rglob(".*.tmp"))
    with session_scope(engine, readonly=True) as s:
        assert s.execute(select(func.count()).select_from(WeeklyReport)).scalar_one() == 1
        row = s.get(ReportRequest, req.id)
        assert row is not None and row.status == "done" and row.attempts == 2


class _Leader:
    holder = "host:9:ff"

    def heartbeat(self) -> bool:
        return True


def test_queue_worker_skips_idle_runs_and_compiles_ui_requests(engine: Engine) -> None:
    from domain.jobs.models import JobRun
    from scheduler.jobs import run_if_leader

    spec = JOBS["report_queue"]
    with session_scope(engine) as s:
        w = build_report_world(s)
    assert run_if_leader(_Leader(), engine, spec.name, spec.fn, spec.has_work) is None
    with session_scope(engine, readonly=True) as s:
        assert s.execute(select(func.count()).select_from(JobRun)).scalar_one() == 0
    with session_scope(engine) as s:
        queue.request_report(
            s, w.reporter, report_type="weekly", oem_id=w.tata_id, period_start=WEEK_W
        )
    result = run_if_leader(_Leader(), engine, spec.name, spec.fn, spec.has_work)
    assert result is not None and result.detail == "compiled 1, to retry 0, failed 0"
    assert _weeks(engine) == {"TATA": [WEEK_W]}
