"""Bounded retries of a whole unit of work on transient database errors (issue 6 item 4).

``db.engine.session_scope`` turns busy / serialization (40001) / deadlock (40P01) /
disconnect errors into ``Unavailable(transient=True)``; ``run_in_transaction`` (and
``retrying``, used by ``app.widgets.run_command`` and ``scheduler.jobs.run_job``) runs the
unit of work again, at most N times, then raises a clean ``Unavailable``. The PostgreSQL
cases raise *real* server errors (``RAISE ... USING ERRCODE``, two threads deadlocking, two
REPEATABLE READ writers), the SQLite ones a real lock held by a second connection.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from db.base import Base
from db.engine import (
    BUSY_MESSAGE,
    LOST_AT_COMMIT_MESSAGE,
    make_engine,
    retrying,
    run_in_transaction,
    session_scope,
    transient_reason,
)
from db.settings import get_settings
from domain.accounts.models import Zone
from domain.errors import Conflict, DomainError, Unavailable, ValidationError
from domain.jobs.models import JobRun
from tests.factories import make_zone


def _inject_transient(s: Session) -> None:
    """Make the current transaction fail the way a busy/serializing database does."""
    if s.get_bind().dialect.name == "postgresql":
        # a genuine 40001 from the server (psycopg SerializationFailure)
        s.execute(text("DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '40001'; END $$"))
    raise sa_exc.OperationalError("COMMIT", {}, sqlite3.OperationalError("database is locked"))


def _zone(s: Session, code: str, name: str = "0") -> Zone:
    return make_zone(s, code=code, name=name, districts=(f"DISTRICT {code}",))


@pytest.fixture
def pg(pg_engine: Engine) -> Iterator[Engine]:
    """The session's PostgreSQL engine, emptied after the test."""
    from tests.conftest import _empty_all_tables

    try:
        yield pg_engine
    finally:
        _empty_all_tables(pg_engine)


class _Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _zones(engine: Engine) -> list[str]:
    with session_scope(engine, readonly=True) as s:
        return sorted(s.scalars(select(Zone.code)))


# --- classification ------------------------------------------------------------------------


def test_transient_reason_classifies_driver_errors() -> None:
    busy = sa_exc.OperationalError("x", {}, sqlite3.OperationalError("database is locked"))
    assert transient_reason(busy) == "busy"
    other = sa_exc.OperationalError("x", {}, sqlite3.OperationalError("no such table: t"))
    assert transient_reason(other) is None
    lost = sa_exc.OperationalError("x", {}, Exception("gone"), connection_invalidated=True)
    assert transient_reason(lost) == "disconnect"
    dup = sa_exc.IntegrityError("x", {}, sqlite3.IntegrityError("UNIQUE constraint failed"))
    assert transient_reason(dup) is None
    assert transient_reason(Conflict("stale")) is None
    assert transient_reason(ValueError("bug")) is None


def test_an_exhausted_pool_is_a_transient_busy_error(tmp_path: Path) -> None:
    """A real pool timeout (one connection, held elsewhere) becomes a retryable Unavailable."""
    eng = make_engine(
        f"sqlite:///{tmp_path / 'pool.db'}", pool_size=1, max_overflow=0, pool_timeout=0.2
    )
    try:
        held = eng.connect()
        with pytest.raises(Unavailable) as info, session_scope(eng, readonly=True) as s:
            s.execute(text("SELECT 1"))
        assert info.value.transient and str(info.value) == BUSY_MESSAGE
        assert transient_reason(info.value.__cause__) == "pool"
        held.close()
        with session_scope(eng, readonly=True) as s:  # the connection is free again
            assert s.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        eng.dispose()


def test_sqlite_file_engines_pool_more_connections_than_busy_threads(tmp_path: Path) -> None:
    """16 threads must queue on SQLite's busy_timeout, not on a 15-connection pool."""
    eng = make_engine(f"sqlite:///{tmp_path / 'pool.db'}", pool_timeout=1)
    try:
        assert eng.pool.size() + eng.pool._max_overflow >= 32  # type: ignore[attr-defined]
        held = [eng.connect() for _ in range(20)]  # would time out on the QueuePool default
        assert len(held) == 20
        for c in held:
            c.close()
    finally:
        eng.dispose()


def test_real_postgres_errors_are_classified(pg_engine: Engine) -> None:
    for state, reason in (("40001", "serialization"), ("40P01", "deadlock"), ("23505", None)):
        with pg_engine.connect() as c, pytest.raises(sa_exc.DBAPIError) as info:
            c.execute(text(f"DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '{state}'; END $$"))
        assert transient_reason(info.value) == reason, state
    dead = make_engine("postgresql://127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    with pytest.raises(sa_exc.OperationalError) as info:
        dead.connect()
    assert transient_reason(info.value) == "disconnect"  # connection refused


# --- run_in_transaction on both databases --------------------------------------------------


def test_two_transient_failures_then_success(engine: Engine) -> None:
    """Attempts 1 and 2 write a row and then fail: both are rolled back, attempt 3 commits."""
    calls: list[int] = []
    sleeps = _Sleeps()

    def unit(s: Session) -> str:
        calls.append(1)
        make_zone(s, code=f"Z{len(calls)}", name=f"Zone {len(calls)}")
        if len(calls) < 3:
            _inject_transient(s)
        return "done"

    assert run_in_transaction(engine, unit, attempts=3, sleep=sleeps) == "done"
    assert len(calls) == 3
    assert _zones(engine) == ["Z3"]  # nothing of the failed attempts remains
    assert len(sleeps) == 2
    assert 0.05 <= sleeps[0] <= 0.1 and 0.1 <= sleeps[1] <= 0.2  # jittered, growing


def test_gives_up_after_n_attempts_with_a_clean_error(engine: Engine) -> None:
    calls: list[int] = []
    sleeps = _Sleeps()

    def unit(s: Session) -> None:
        calls.append(1)
        make_zone(s, code=f"Z{len(calls)}", name=f"Zone {len(calls)}")
        _inject_transient(s)

    with pytest.raises(Unavailable) as info:
        run_in_transaction(engine, unit, attempts=4, sleep=sleeps)
    assert len(calls) == 4 and len(sleeps) == 3
    assert str(info.value) == BUSY_MESSAGE == "the database is busy; try again"
    assert info.value.transient is False  # an outer layer must not retry again
    assert isinstance(info.value, DomainError)  # pages show it with show_domain_error
    assert isinstance(info.value.__cause__, sa_exc.DBAPIError)
    assert _zones(engine) == []


def test_domain_errors_are_never_retried(engine: Engine) -> None:
    calls: list[int] = []

    def unit(s: Session) -> None:
        calls.append(1)
        make_zone(s)
        raise Conflict("someone else changed it")

    with pytest.raises(Conflict):
        run_in_transaction(engine, unit, attempts=5, sleep=_Sleeps())
    assert calls == [1]
    assert _zones(engine) == []


def test_other_database_errors_are_not_retried(engine: Engine) -> None:
    calls: list[int] = []

    def unit(s: Session) -> None:
        calls.append(1)
        make_zone(s, code="DUP", name="One")
        make_zone(s, code="DUP", name="Two")  # unique violation: a bug, not a fault

    with pytest.raises(sa_exc.IntegrityError):
        run_in_transaction(engine, unit, attempts=5, sleep=_Sleeps())
    assert calls == [1]


def test_connection_lost_during_commit_is_not_retried(sqlite_engine: Engine) -> None:
    """The server may have committed: retrying could apply the change twice."""
    calls: list[int] = []

    @event.listens_for(sqlite_engine, "commit")
    def _lose(_conn) -> None:  # type: ignore[no-untyped-def]
        raise sa_exc.OperationalError(
            "COMMIT", {}, Exception("server closed the connection"), connection_invalidated=True
        )

    def unit(s: Session) -> None:
        calls.append(1)
        make_zone(s)

    with pytest.raises(Unavailable) as info:
        run_in_transaction(sqlite_engine, unit, attempts=5, sleep=_Sleeps())
    assert calls == [1]
    assert str(info.value) == LOST_AT_COMMIT_MESSAGE and info.value.transient is False


def test_retrying_rejects_zero_attempts() -> None:
    with pytest.raises(ValueError):
        retrying(lambda: None, attempts=0)


# --- real contention on PostgreSQL (threads) ------------------------------------------------


def test_postgres_deadlock_between_two_threads_is_retried(pg: Engine) -> None:
    """Two threads lock the same two rows in opposite order: PostgreSQL aborts one with 40P01,
    its unit of work runs again and both commit."""
    with session_scope(pg) as s:
        a = _zone(s, "A").id
        b = _zone(s, "B").id
    barrier = threading.Barrier(2)
    attempts = {"ab": 0, "ba": 0}
    errors: list[BaseException] = []

    def bump(s: Session, first, second, key: str) -> None:  # type: ignore[no-untyped-def]
        attempts[key] += 1
        z1 = s.get(Zone, first, with_for_update=True)
        assert z1 is not None
        z1.name = str(int(z1.name) + 1)
        s.flush()
        if attempts[key] == 1:
            barrier.wait(timeout=10)  # both hold their first row now
        z2 = s.get(Zone, second, with_for_update=True)
        assert z2 is not None
        z2.name = str(int(z2.name) + 1)

    def worker(first, second, key: str) -> None:  # type: ignore[no-untyped-def]
        try:
            run_in_transaction(pg, lambda s: bump(s, first, second, key), attempts=3)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    ts = [
        threading.Thread(target=worker, args=(a, b, "ab")),
        threading.Thread(target=worker, args=(b, a, "ba")),
    ]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=60)
    assert errors == []
    assert sorted(attempts.values()) == [1, 2]  # exactly one deadlock victim, retried once
    with session_scope(pg, readonly=True) as s:
        assert [s.get(Zone, i).name for i in (a, b)] == ["2", "2"]  # type: ignore[union-attr]


def test_postgres_serialization_failures_are_retried_and_no_update_is_lost(
    pg: Engine,
) -> None:
    """Six threads increment one counter in REPEATABLE READ transactions: concurrent
    updates fail with 40001 and are retried; every increment lands exactly once."""
    with session_scope(pg) as s:
        zid = _zone(s, "CTR").id
    rr = pg.execution_options(isolation_level="REPEATABLE READ")
    threads, per_thread = 6, 10
    runs: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def inc(s: Session) -> None:
        runs.append(1)
        z = s.get(Zone, zid)
        assert z is not None
        time.sleep(0.002)  # widen the read-to-write window
        z.name = str(int(z.name) + 1)

    def worker() -> None:
        start.wait(timeout=10)
        try:
            for _ in range(per_thread):
                run_in_transaction(rr, inc, attempts=50)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=120)
    assert errors == []
    with session_scope(pg, readonly=True) as s:
        assert s.get(Zone, zid).name == str(threads * per_thread)  # type: ignore[union-attr]
    assert len(runs) > threads * per_thread  # some attempts really failed with 40001


# --- a real SQLite lock held by another connection ------------------------------------------


@pytest.fixture
def quick_busy_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """SQLite engine whose busy timeout is 100 ms (instead of 15 s), schema created."""
    monkeypatch.setenv("SQLITE_BUSY_TIMEOUT_MS", "100")
    get_settings.cache_clear()
    try:
        eng = make_engine(f"sqlite:///{tmp_path / 'busy.db'}")
        Base.metadata.create_all(eng)
        yield eng
        eng.dispose()
    finally:
        monkeypatch.delenv("SQLITE_BUSY_TIMEOUT_MS")
        get_settings.cache_clear()


def _hold_write_lock(path: str, seconds: float, locked: threading.Event) -> None:
    con = sqlite3.connect(path, isolation_level=None, timeout=5)
    try:
        con.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(seconds)
        con.execute("COMMIT")
    finally:
        con.close()


def _db_path(engine: Engine) -> str:
    assert engine.url.database
    return engine.url.database


def test_sqlite_busy_while_another_connection_writes_is_retried(
    quick_busy_engine: Engine,
) -> None:
    locked = threading.Event()
    holder = threading.Thread(
        target=_hold_write_lock, args=(_db_path(quick_busy_engine), 0.4, locked)
    )
    holder.start()
    assert locked.wait(5)
    calls: list[int] = []

    def unit(s: Session) -> None:
        calls.append(1)
        make_zone(s)

    started = time.monotonic()
    run_in_transaction(quick_busy_engine, unit, attempts=8)
    holder.join()
    assert len(calls) >= 2, "the first attempt should have met the lock"
    assert time.monotonic() - started >= 0.3
    assert _zones(quick_busy_engine) == ["BLR"]


def test_sqlite_lock_held_too_long_gives_up(quick_busy_engine: Engine) -> None:
    locked = threading.Event()
    holder = threading.Thread(
        target=_hold_write_lock, args=(_db_path(quick_busy_engine), 1.5, locked)
    )
    holder.start()
    assert locked.wait(5)
    try:
        with pytest.raises(Unavailable, match="database is busy"):
            run_in_transaction(quick_busy_engine, make_zone, attempts=2)
    finally:
        holder.join()
    assert _zones(quick_busy_engine) == []


# --- the callers: pages' run_command and the scheduler's run_job ----------------------------


def test_run_command_retries_then_shows_a_clean_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import widgets

    url = f"sqlite:///{tmp_path / 'app.db'}"
    eng = make_engine(url)
    Base.metadata.create_all(eng)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setattr("db.engine.RETRY_BASE_DELAY", 0.001)
    shown: list[str] = []
    monkeypatch.setattr(widgets, "show_domain_error", lambda e: shown.append(str(e)))
    calls: list[int] = []

    def flaky(s: Session) -> str:
        calls.append(1)
        make_zone(s, code=f"Z{len(calls)}", name=f"Zone {len(calls)}")
        if len(calls) < 3:
            _inject_transient(s)
        return "saved"

    assert widgets.run_command(flaky) == "saved"
    assert len(calls) == 3 and shown == []
    assert _zones(eng) == ["Z3"]

    def down(s: Session) -> None:
        _inject_transient(s)

    assert widgets.run_command(down) is None
    assert shown == [BUSY_MESSAGE]

    # a page's own handler gets the error instead (e.g. to keep field messages per form)
    handled: list[DomainError] = []

    def refused(s: Session) -> None:
        make_zone(s, code="ZR", name="Refused zone", districts=())
        raise ValidationError({"code": "already used"})

    assert widgets.run_command(refused, on_error=handled.append) is None
    assert [e.errors for e in handled] == [{"code": "already used"}]  # type: ignore[attr-defined]
    assert shown == [BUSY_MESSAGE]  # the default display was not used
    assert _zones(eng) == ["Z3"]  # rolled back
    eng.dispose()


def test_scheduler_job_is_retried_as_a_whole(engine: Engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from scheduler.jobs import run_job

    monkeypatch.setattr("db.engine.RETRY_BASE_DELAY", 0.001)
    calls: list[int] = []

    def job(s: Session) -> str:
        calls.append(1)
        make_zone(s, code=f"J{len(calls)}", name=f"Job {len(calls)}")
        if len(calls) < 3:
            _inject_transient(s)
        return "ok"

    result = run_job(engine, "flaky", job, "test-holder")
    assert result.ok and result.detail == "ok" and len(calls) == 3
    assert _zones(engine) == ["J3"]
    with session_scope(engine, readonly=True) as s:
        assert s.scalar(select(func.count(JobRun.id))) == 1
        assert s.scalars(select(JobRun.status)).one() == "succeeded"
