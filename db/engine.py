"""Engine factory and the unit of work (``session_scope``).

SQLite: WAL journal, ``foreign_keys=ON``, ``busy_timeout``, and ``BEGIN IMMEDIATE`` for write
transactions (plain deferred ``BEGIN`` for read-only scopes), so two writers queue on the lock
instead of failing half-way. PostgreSQL: ``postgresql+psycopg://``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from db.settings import get_settings

_READONLY = "chargeops_readonly"


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


@contextmanager
def session_scope(engine: Engine | None = None, *, readonly: bool = False) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception.

    Args:
        engine: the engine to use; default ``default_engine()``.
        readonly: on SQLite, start a deferred transaction instead of ``BEGIN IMMEDIATE``;
            the scope is rolled back, never committed.

    Yields:
        A new ``Session`` (``expire_on_commit=False``), closed on exit.
    """
    engine = engine or default_engine()
    bind = engine.execution_options(**{_READONLY: True}) if readonly else engine
    factory = sessionmaker(bind=bind, expire_on_commit=False)
    session = factory()
    try:
        yield session
        if readonly:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
