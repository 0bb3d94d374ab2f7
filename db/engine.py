"""Engine factory and the unit of work (``session_scope``).

SQLite: WAL journal, ``foreign_keys=ON``, ``busy_timeout``, and ``BEGIN IMMEDIATE`` for write
transactions (plain deferred ``BEGIN`` for read-only scopes), so two writers queue on the lock
instead of failing half-way. PostgreSQL: ``postgresql+psycopg://`` with ``pool_pre_ping`` (a
connection that died with a PostgreSQL restart is replaced transparently at checkout).

Faults (issue 6): ``session_scope`` turns a transient database error (SQLite busy/locked,
PostgreSQL serialization failure 40001 or deadlock 40P01, a lost or refused connection) into
``domain.errors.Unavailable`` after rolling back, so pages show "the database is busy; try
again" instead of a traceback. ``run_in_transaction`` (and ``retrying`` for callers with their
own scope, such as ``app.widgets.run_command`` and the scheduler's ``run_job``) runs the
*whole* unit of work again a bounded number of times with jittered exponential backoff.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from db.settings import get_settings
from domain.errors import Unavailable

log = logging.getLogger("db.engine")

_READONLY = "chargeops_readonly"

T = TypeVar("T")

#: attempts of one unit of work in ``run_in_transaction`` / ``retrying`` (first try included)
RETRY_ATTEMPTS = 3
#: backoff before retry n (1-based) is uniform in [d/2, d], d = min(cap, base * 2**(n-1)) s
RETRY_BASE_DELAY = 0.1
RETRY_MAX_DELAY = 2.0

BUSY_MESSAGE = "the database is busy; try again"
#: SQLite file engines: pooled connections kept (and as many again as overflow).
SQLITE_POOL_SIZE = 32
LOST_AT_COMMIT_MESSAGE = (
    "the connection to the database was lost while saving; reload the page to check "
    "whether the change was saved before trying again"
)

_SQLITE_BUSY_CODES = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED (primary result codes)
_PG_RETRY_STATES = {"40001": "serialization", "40P01": "deadlock"}
#: admin_shutdown, crash_shutdown, cannot_connect_now (a restarting server)
_PG_DISCONNECT_STATES = {"57P01", "57P02", "57P03"}


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` (default: ``DATABASE_URL`` from settings).

    Args:
        url: SQLAlchemy URL. ``postgresql://`` is rewritten to ``postgresql+psycopg://``.
        **kwargs: passed to ``create_engine``.

    Returns:
        A configured engine. For SQLite files the parent directory is created.
    """
    settings = get_settings()
    url = url or settings.database_url
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
            # Local file connections are cheap and writers queue on busy_timeout, not on the
            # pool: a pool smaller than the number of threads only adds a second queue (and
            # its 30 s timeout) in front of the real one.
            kwargs.setdefault("pool_size", SQLITE_POOL_SIZE)
            kwargs.setdefault("max_overflow", SQLITE_POOL_SIZE)
        kwargs.setdefault("connect_args", {})
        kwargs["connect_args"].setdefault("timeout", settings.sqlite_busy_timeout_ms / 1000)
        kwargs["connect_args"].setdefault("check_same_thread", False)
        engine = create_engine(u, **kwargs)
        _configure_sqlite(engine, settings.sqlite_busy_timeout_ms)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(u, **kwargs)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, emit BEGIN (see SQLAlchemy's pysqlite docs).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        readonly = conn.get_execution_options().get(_READONLY, False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def is_sqlite(engine_or_session: Engine | Session) -> bool:
    """True when the engine (or the session's bind) is SQLite."""
    bind = (
        engine_or_session.get_bind()
        if isinstance(engine_or_session, Session)
        else engine_or_session
    )
    return bind.dialect.name == "sqlite"


_default_engine: Engine | None = None


def default_engine() -> Engine:
    """The process-wide engine for ``DATABASE_URL`` (created on first use)."""
    global _default_engine
    if _default_engine is None:
        _default_engine = make_engine()
    return _default_engine


def transient_reason(exc: BaseException) -> str | None:
    """Why ``exc`` is a transient database error worth running the unit of work again for.

    Returns:
        ``"busy"`` (SQLite ``SQLITE_BUSY``/``SQLITE_LOCKED``, "database is locked"),
        ``"serialization"`` (PostgreSQL 40001), ``"deadlock"`` (40P01), ``"disconnect"`` (the
        connection was invalidated, PostgreSQL 08xxx/57P01-03, or a connection could not be
        opened), ``"pool"`` (no pooled connection came free within the pool timeout), or None
        for anything else (domain errors, integrity errors, bugs).
    """
    if isinstance(exc, sa_exc.TimeoutError):
        return "pool"
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    if exc.connection_invalidated:
        return "disconnect"
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF in _SQLITE_BUSY_CODES:
            return "busy"
        msg = str(orig).lower()
        if "database is locked" in msg or "database is busy" in msg:
            return "busy"
        return None
    if not hasattr(orig, "sqlstate"):  # not psycopg
        return None
    sqlstate = orig.sqlstate
    if sqlstate in _PG_RETRY_STATES:
        return _PG_RETRY_STATES[sqlstate]
    if sqlstate is not None and (sqlstate.startswith("08") or sqlstate in _PG_DISCONNECT_STATES):
        return "disconnect"
    if sqlstate is None and isinstance(exc, sa_exc.OperationalError):
        return "disconnect"  # libpq-level failure: connection refused/closed, no server reply
    return None


def _rollback_quietly(session: Session) -> None:
    try:
        session.rollback()
    except Exception:  # the connection may be gone; the original error matters
        log.debug("rollback after a failed unit of work failed too", exc_info=True)


@contextmanager
def session_scope(engine: Engine | None = None, *, readonly: bool = False) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception.

    A transient database error (``transient_reason``) is raised as
    ``Unavailable(BUSY_MESSAGE, transient=True)`` (chained to the original error) after the
    rollback: the unit of work may be run again (``run_in_transaction``). A connection lost
    during COMMIT itself is ``Unavailable(LOST_AT_COMMIT_MESSAGE, transient=False)``: the
    server may have committed, so it is not retried. Every other exception propagates as is.

    Args:
        engine: the engine to use; default ``default_engine()``.
        readonly: on SQLite, start a deferred transaction instead of ``BEGIN IMMEDIATE``;
            the scope is rolled back, never committed.

    Yields:
        A new ``Session`` (``expire_on_commit=False``), closed on exit.

    Raises:
        Unavailable: see above.
    """
    engine = engine or default_engine()
    bind = engine.execution_options(**{_READONLY: True}) if readonly else engine
    factory = sessionmaker(bind=bind, expire_on_commit=False)
    session = factory()
    committing = False
    try:
        yield session
        if readonly:
            session.rollback()
        else:
            session.flush()
            committing = True
            session.commit()
    except BaseException as exc:
        _rollback_quietly(session)
        reason = transient_reason(exc)
        if reason is None:
            raise
        log.warning("unit of work failed (%s): %s", reason, exc.__class__.__name__)
        if committing and reason == "disconnect":
            raise Unavailable(LOST_AT_COMMIT_MESSAGE, transient=False) from exc
        raise Unavailable(BUSY_MESSAGE, transient=True) from exc
    finally:
        session.close()


def retrying(
    attempt: Callable[[], T],
    *,
    attempts: int = RETRY_ATTEMPTS,
    base_delay: float | None = None,
    max_delay: float | None = None,
    sleep: Callable[[float], None] | None = None,
) -> T:
    """Call ``attempt()`` (a whole unit of work that opens its own ``session_scope``) until it
    succeeds, at most ``attempts`` times.

    Only ``Unavailable`` with ``transient=True`` (what ``session_scope`` raises for a busy,
    serialization, deadlock or disconnect error) is retried, after a jittered exponential
    backoff (``base_delay * 2**(n-1)`` seconds capped at ``max_delay``, uniformly jittered
    down to half; defaults ``RETRY_BASE_DELAY`` and ``RETRY_MAX_DELAY``, read at call time;
    ``sleep`` defaults to ``time.sleep``). A ``DomainError`` of the unit of work itself
    (validation, conflict, ...) and any other exception propagate at once.

    Returns:
        What ``attempt()`` returned.

    Raises:
        Unavailable: ``BUSY_MESSAGE`` with ``transient=False`` after the last attempt (chained
            to the last database error), or the non-transient one ``session_scope`` raised.
        ValueError: ``attempts < 1``.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for n in range(1, attempts + 1):
        try:
            return attempt()
        except Unavailable as exc:
            if not exc.transient:
                raise
            cause = exc.__cause__ or exc
            if n == attempts:
                log.warning("unit of work gave up after %d attempts: %s", attempts, cause)
                raise Unavailable(BUSY_MESSAGE, transient=False) from cause
            base = RETRY_BASE_DELAY if base_delay is None else base_delay
            cap = RETRY_MAX_DELAY if max_delay is None else max_delay
            delay = random.uniform(0.5, 1.0) * min(cap, base * 2 ** (n - 1))
            log.info("unit of work attempt %d/%d failed, retry in %.2fs", n, attempts, delay)
            (time.sleep if sleep is None else sleep)(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def run_in_transaction(
    engine: Engine | None,
    fn: Callable[[Session], T],
    *,
    attempts: int = RETRY_ATTEMPTS,
    readonly: bool = False,
    sleep: Callable[[float], None] | None = None,
) -> T:
    """Run ``fn(session)`` in its own ``session_scope`` and commit, retrying the whole unit
    of work on a transient database error (see ``retrying``; ``fn`` must not keep state
    between attempts, nor return ORM objects).

    Returns:
        What ``fn`` returned in the attempt that committed.

    Raises:
        Unavailable: the database stayed busy/unreachable for every attempt, or the
            connection was lost during COMMIT.
        DomainError: whatever ``fn`` raised (not retried).
    """

    def once() -> T:
        with session_scope(engine, readonly=readonly) as s:
            return fn(s)

    return retrying(once, attempts=attempts, sleep=sleep)
