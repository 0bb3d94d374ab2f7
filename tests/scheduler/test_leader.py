"""Leader lease: one leader among holders, renewal, expiry, races, and two real sidecars."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from db.engine import session_scope
from domain.actor import SYSTEM
from domain.errors import ValidationError
from domain.jobs.queries import LeaseDTO, current_lease
from domain.jobs.service import acquire_or_renew, release
from scheduler.leader import LeaderElector, make_holder

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)


def _acquire(engine: Engine, holder: str, now: datetime, ttl: float = 30) -> bool:
    with session_scope(engine) as s:
        return acquire_or_renew(s, holder=holder, ttl_seconds=ttl, now=now)


def _lease(engine: Engine) -> LeaseDTO | None:
    with session_scope(engine, readonly=True) as s:
        return current_lease(s, SYSTEM)


def test_two_holders_exactly_one_leader(engine: Engine) -> None:
    assert _acquire(engine, "a", T0) is True
    assert _acquire(engine, "b", T0) is False
    lease = _lease(engine)
    assert lease is not None
    assert (lease.holder, lease.expires_at, lease.fencing_token) == (
        "a",
        T0 + timedelta(seconds=30),
        1,
    )


def test_renew_keeps_the_lease_and_its_token(engine: Engine) -> None:
    assert _acquire(engine, "a", T0)
    # renewals just before expiry keep extending it; b never gets in
    for k in range(1, 5):
        now = T0 + timedelta(seconds=25 * k)
        assert _acquire(engine, "a", now) is True
        assert _acquire(engine, "b", now + timedelta(seconds=1)) is False
    lease = _lease(engine)
    assert lease is not None
    assert lease.holder == "a" and lease.fencing_token == 1
    assert lease.expires_at == T0 + timedelta(seconds=100 + 30)


def test_expiry_lets_the_other_take_over(engine: Engine) -> None:
    assert _acquire(engine, "a", T0)
    # at exactly the expiry instant the lease is still a's
    assert _acquire(engine, "b", T0 + timedelta(seconds=30)) is False
    later = T0 + timedelta(seconds=31)
    assert _acquire(engine, "b", later) is True
    assert _acquire(engine, "a", later) is False
    lease = _lease(engine)
    assert lease is not None
    assert lease.holder == "b" and lease.fencing_token == 2
    assert lease.is_held(later) and not lease.is_held(later + timedelta(seconds=31))


def test_release_frees_the_lease_at_once(engine: Engine) -> None:
    assert _acquire(engine, "a", T0)
    with session_scope(engine) as s:
        assert release(s, holder="b", now=T0 + timedelta(seconds=1)) is False
        assert release(s, holder="a", now=T0 + timedelta(seconds=1)) is True
    assert _acquire(engine, "b", T0 + timedelta(seconds=2)) is True
    with session_scope(engine) as s:
        assert release(s, holder="a", now=T0 + timedelta(seconds=3)) is False


def test_separate_lease_names_are_independent(engine: Engine) -> None:
    with session_scope(engine) as s:
        assert acquire_or_renew(s, name="one", holder="a", ttl_seconds=5, now=T0)
        assert acquire_or_renew(s, name="two", holder="b", ttl_seconds=5, now=T0)
        assert not acquire_or_renew(s, name="one", holder="b", ttl_seconds=5, now=T0)


def test_bad_arguments_are_refused(engine: Engine) -> None:
    with session_scope(engine) as s:
        with pytest.raises(ValidationError):
            acquire_or_renew(s, holder="", ttl_seconds=5, now=T0)
        with pytest.raises(ValidationError):
            acquire_or_renew(s, holder="a", ttl_seconds=0, now=T0)


def _race(engine: Engine, now: datetime, n: int = 8) -> list[str]:
    barrier = threading.Barrier(n)
    winners: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        holder = f"racer-{i}"
        try:
            barrier.wait(timeout=10)
            if _acquire(engine, holder, now):
                with lock:
                    winners.append(holder)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return winners


@pytest.mark.parametrize("existing", [False, True], ids=["insert-race", "update-race"])
def test_eight_racing_threads_one_winner(engine: Engine, existing: bool) -> None:
    if existing:
        # an expired lease row: every racer goes through the conditional UPDATE
        assert _acquire(engine, "old", T0 - timedelta(minutes=5))
    winners = _race(engine, T0)
    assert len(winners) == 1, winners
    lease = _lease(engine)
    assert lease is not None and lease.holder == winners[0]
    assert lease.fencing_token == (2 if existing else 1)


def test_elector_leader_standby_and_lapse(engine: Engine) -> None:
    a = LeaderElector(engine, holder="host:1:a", ttl_seconds=0.6)
    b = LeaderElector(engine, holder="host:2:b", ttl_seconds=0.6)
    assert a.heartbeat() is True and a.is_leader
    assert b.heartbeat() is False and not b.is_leader
    assert a.renew_interval == pytest.approx(0.2)
    # a stops renewing: it stops trusting its lease before the lease expires in the database
    time.sleep(0.5)
    assert not a.is_leader
    time.sleep(0.3)
    assert b.heartbeat() is True
    assert a.heartbeat() is False
    assert b.release() is True
    assert a.heartbeat() is True


def test_make_holder_is_unique_and_names_the_process() -> None:
    h1, h2 = make_holder(), make_holder()
    assert h1 != h2
    host, pid, rnd = h1.split(":")
    assert pid == str(os.getpid()) and len(rnd) == 8 and host


# --- two real sidecar processes -------------------------------------------------------------

TTL = 3.0
HEARTBEAT = 0.3
LEADER = ": leader: "  # the log lines of scheduler.leader, not its logger name
STANDBY = ": standby: "


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _spawn(url: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with log.open("wb") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scheduler",
                "--database-url",
                url,
                "--lease-ttl",
                str(TTL),
                "--heartbeat-seconds",
                str(HEARTBEAT),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_for(cond: Callable[[], bool], timeout: float, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if cond():
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _holder_pid(engine: Engine) -> int | None:
    lease = _lease(engine)
    if lease is None or not lease.is_held(datetime.now(UTC)):
        return None
    return int(lease.holder.split(":")[-2])


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)


@pytest.mark.slow
def test_two_sidecar_processes_fail_over(
    engine: Engine, tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    url = _url(engine)
    logs = {k: tmp_path / f"{k}.log" for k in "abc"}

    def text(k: str) -> str:
        return logs[k].read_text(errors="replace")

    a = _spawn(url, logs["a"])
    procs.append(a)
    _wait_for(lambda: LEADER in text("a"), 30, "sidecar a to lead")
    assert _holder_pid(engine) == a.pid

    b = _spawn(url, logs["b"])
    procs.append(b)
    _wait_for(lambda: STANDBY in text("b"), 30, "sidecar b to stand by")
    time.sleep(2 * HEARTBEAT)
    assert LEADER not in text("b")
    assert _holder_pid(engine) == a.pid

    # crash the leader: its lease is not released, b takes over once it expires
    a.send_signal(signal.SIGKILL)
    a.wait(timeout=10)
    took = _wait_for(lambda: LEADER in text("b"), TTL + 5, "sidecar b to take over")
    assert took <= TTL + 2 * HEARTBEAT + 1.5
    assert _holder_pid(engine) == b.pid
    lease = _lease(engine)
    assert lease is not None and lease.fencing_token == 2

    # graceful stop: b releases the lease, the standby c takes over without waiting for expiry
    c = _spawn(url, logs["c"])
    procs.append(c)
    _wait_for(lambda: STANDBY in text("c"), 30, "sidecar c to stand by")
    b.send_signal(signal.SIGTERM)
    assert b.wait(timeout=15) == 0
    assert "released lease" in text("b") and "stopping on SIGTERM" in text("b")
    took = _wait_for(lambda: LEADER in text("c"), TTL + 5, "sidecar c to take over")
    assert took < TTL - 0.5
    assert _holder_pid(engine) == c.pid
    c.send_signal(signal.SIGINT)
    assert c.wait(timeout=15) == 0
    assert _holder_pid(engine) is None


@pytest.mark.slow
def test_leader_catches_up_jobs_once_at_start(
    engine: Engine, tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    """A sidecar that was down when a job was due runs it once, as leader, after start."""
    from sqlalchemy import select

    from db.engine import session_scope
    from domain.jobs.models import JobRun

    def runs() -> list[str]:
        with session_scope(engine, readonly=True) as s:
            return list(s.scalars(select(JobRun.status).where(JobRun.job_name == "sla_at_risk")))

    a = _spawn(_url(engine), tmp_path / "a.log")
    procs.append(a)
    _wait_for(lambda: "succeeded" in runs(), 40, "start-up catch-up run")
    assert len(runs()) == 1
