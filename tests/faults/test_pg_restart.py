"""PostgreSQL restarted while the app and the sidecar run: both recover without a restart of
their own and lose nothing (issue 6 item 4).

Against a private PostgreSQL database this starts the scheduler sidecar (``python -m
scheduler``) and the Streamlit app (``streamlit run app/main.py``) as subprocesses, renders
the Vendors page under AppTest, and runs a writer thread that adds vendors through the
domain command and the retrying unit of work (``run_in_transaction``), as the pages do via
``run_command``. PostgreSQL is restarted (``pg_ctlcluster ... restart``) in the middle. Then:

* every write the writer saw commit is in the database; no write reported as failed is;
* writes succeed again after the restart, through the same engine (``pool_pre_ping``);
* the sidecar process is still up, holds the lease (kept or regained) and runs a job after
  the restart: a report requested after the restart is compiled by its queue worker;
* the app server still answers its health check, and the Vendors page renders again through
  the engine it cached before the restart, showing a vendor written after the restart.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine, func, select
from streamlit.testing.v1 import AppTest

from db.engine import LOST_AT_COMMIT_MESSAGE, make_engine, run_in_transaction, session_scope
from db.settings import get_settings
from db.types import utcnow
from domain.actor import SYSTEM
from domain.calendar import local_date, week_start
from domain.errors import Unavailable
from domain.jobs.models import JobRun
from domain.jobs.queries import current_lease
from domain.procurement.models import Vendor
from domain.procurement.vendors import create_vendor
from domain.reporting.models import ReportRequest
from domain.reporting.queue import request_report
from tests.factories import actor_of, make_oem, make_user, make_zone

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
VENDORS_PAGE = str(ROOT / "pages" / "vendors.py")
LEASE_TTL = 6.0
HEARTBEAT = 0.5
CATCH_UP_JOBS = 6  # every job runs once ~5 s after the sidecar starts (scheduler.runner)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if cond():
                return
        except Exception:  # the database may be restarting; keep polling
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def _vendors_page(actor) -> AppTest:  # type: ignore[no-untyped-def]
    at = AppTest.from_file(VENDORS_PAGE, default_timeout=60)
    at.session_state["actor"] = actor
    return at.run()


class Writer(threading.Thread):
    """Adds vendors one by one through ``run_in_transaction`` until stopped; records each
    outcome as the app would see it."""

    def __init__(self, engine: Engine, actor, zone_id) -> None:  # type: ignore[no-untyped-def]
        super().__init__(daemon=True)
        self.engine, self.actor, self.zone_id = engine, actor, zone_id
        self.committed: list[tuple[str, float]] = []  # (name, monotonic time of the commit)
        self.refused: list[str] = []  # Unavailable: rolled back, must not be in the database
        self.unknown: list[str] = []  # connection lost during COMMIT: either way is fine
        self.errors: list[BaseException] = []
        self.retries = 0  # transient failures the retrying unit of work absorbed
        self.stop = threading.Event()

    def _backoff(self, seconds: float) -> None:
        self.retries += 1
        time.sleep(seconds)

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            i += 1
            name = f"Restart Vendor {i:05d}"

            def add(s, name=name, i=i):  # type: ignore[no-untyped-def]
                return create_vendor(
                    s,
                    self.actor,
                    name=name,
                    phone=f"98450{i:05d}",
                    zone_id=self.zone_id,
                    upi_id=f"vendor{i}@okaxis",
                )

            try:
                run_in_transaction(self.engine, add, sleep=self._backoff)
                self.committed.append((name, time.monotonic()))
            except Unavailable as exc:
                (self.unknown if str(exc) == LOST_AT_COMMIT_MESSAGE else self.refused).append(name)
            except BaseException as exc:  # noqa: BLE001 - any other error fails the test
                self.errors.append(exc)
            time.sleep(0.02)

    def committed_after(self, moment: float) -> int:
        return sum(1 for _, t in self.committed if t > moment)


def test_app_and_sidecar_survive_a_postgres_restart(
    pg_engine: Engine,
    pg_url: str,
    pg_restart: Callable[[], float],
    procs: list[subprocess.Popen[bytes]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with session_scope(pg_engine) as s:
        zone_id = make_zone(s).id
        oem_id = make_oem(s).id  # no leads: the catch-up queues no report of its own
        admin = actor_of(make_user(s, "admin", "restart-admin"))

    data_dir = tmp_path / "data"
    env = {
        **os.environ,
        "DATABASE_URL": pg_url,
        "DATA_DIR": str(data_dir),
        "DEMO_MODE": "true",
        "PYTHONUNBUFFERED": "1",
    }
    sidecar_log, app_log = tmp_path / "sidecar.log", tmp_path / "app.log"
    sidecar = _spawn(
        [
            "-m",
            "scheduler",
            "--database-url",
            pg_url,
            "--lease-ttl",
            str(LEASE_TTL),
            "--heartbeat-seconds",
            str(HEARTBEAT),
        ],
        env,
        sidecar_log,
    )
    procs.append(sidecar)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    app = _spawn(
        [
            "-m",
            "streamlit",
            "run",
            "app/main.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        env,
        app_log,
    )
    procs.append(app)

    def finished_runs() -> int:
        with session_scope(pg_engine, readonly=True) as s:
            return s.scalar(select(func.count(JobRun.id)).where(JobRun.status != "running")) or 0

    _wait_for(lambda: ": leader: " in sidecar_log.read_text(), 60, "the sidecar to lead")
    _wait_for(lambda: _healthy(base), 90, "the app server")
    _wait_for(lambda: finished_runs() >= CATCH_UP_JOBS, 90, "the sidecar's start-up jobs")
    with session_scope(pg_engine, readonly=True) as s:
        lease_before = current_lease(s, SYSTEM)
    assert lease_before is not None and int(lease_before.holder.split(":")[-2]) == sidecar.pid

    # The app process (AppTest here) caches its engine before the restart.
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    st.cache_data.clear()
    at = _vendors_page(admin)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]

    writer_engine = make_engine(pg_url)
    writer = Writer(writer_engine, admin, zone_id)
    writer.start()
    try:
        _wait_for(lambda: len(writer.committed) >= 10, 60, "writes before the restart")
        restarted_at = datetime.now(UTC)
        down_for = pg_restart()
        back = time.monotonic()
        _wait_for(lambda: writer.committed_after(back) >= 10, 60, "writes after the restart")
    finally:
        writer.stop.set()
        writer.join(timeout=60)
    writer_engine.dispose()

    # --- the sidecar: alive, leading, and running a job after the restart -----------------
    period = week_start(local_date(utcnow())) - timedelta(days=7)
    req = run_in_transaction(
        pg_engine,
        lambda s: request_report(
            s, admin, report_type="weekly", oem_id=oem_id, period_start=period
        ),
    )

    def job_ran() -> bool:
        with session_scope(pg_engine, readonly=True) as s:
            done = s.get(ReportRequest, req.id).status == "done"  # type: ignore[union-attr]
            runs = s.scalars(
                select(JobRun).where(
                    JobRun.job_name == "report_queue",
                    JobRun.started_at > restarted_at,
                    JobRun.status == "succeeded",
                )
            ).all()
            return done and bool(runs)

    # the request is "done" in its own transaction, the job_run row a moment later
    _wait_for(job_ran, 60, "the sidecar to compile a report requested after the restart")
    with session_scope(pg_engine, readonly=True) as s:
        runs_after = s.execute(
            select(JobRun.job_name, JobRun.holder, JobRun.status).where(
                JobRun.started_at > restarted_at, JobRun.status != "running"
            )
        ).all()
        lease = current_lease(s, SYSTEM)
    assert runs_after, "no job_run of the sidecar after the restart"
    assert sidecar.poll() is None, sidecar_log.read_text()[-3000:]
    assert lease is not None and lease.is_held(datetime.now(UTC))
    assert int(lease.holder.split(":")[-2]) == sidecar.pid
    assert lease.holder == lease_before.holder  # the same sidecar, never restarted
    assert {r.holder for r in runs_after} == {lease.holder}
    assert {r.status for r in runs_after} == {"succeeded"}

    # --- no lost write, no phantom write ---------------------------------------------------
    assert writer.errors == [], writer.errors[:3]
    # A short restart can be absorbed entirely by the retries (that is what they are for), so
    # an interrupted write shows as a retry, a refusal or an unknown outcome.
    assert writer.retries or writer.refused or writer.unknown, (
        f"the restart ({down_for:.1f} s) interrupted no write"
    )
    with session_scope(pg_engine, readonly=True) as s:
        stored = set(s.scalars(select(Vendor.name).where(Vendor.name.like("Restart Vendor %"))))
    committed = {name for name, _ in writer.committed}
    assert committed <= stored, f"lost writes: {sorted(committed - stored)[:5]}"
    assert not stored & set(writer.refused), "a write reported as failed was saved"
    assert stored <= committed | set(writer.unknown)

    # --- the app: still answering, and a page renders with data written after the restart --
    assert app.poll() is None, app_log.read_text()[-3000:]
    assert _healthy(base)
    st.cache_data.clear()
    at = _vendors_page(admin)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    shown = set(at.dataframe[0].value["Name"])
    last_written = writer.committed[-1][0]
    assert last_written in shown and committed <= shown
    get_settings.cache_clear()
    print(
        f"PostgreSQL down for {down_for:.1f}s; {len(committed)} writes committed, "
        f"{len(writer.refused)} refused as unavailable, {len(writer.unknown)} unknown; "
        f"lease token {lease_before.fencing_token} -> {lease.fencing_token} (kept if equal); "
        f"sidecar heartbeats failed: {sidecar_log.read_text().count('lease heartbeat failed')}"
    )
