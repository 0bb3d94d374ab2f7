"""Engine configuration: SQLite pragmas and write locking; UTC timestamps on both databases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select, text

from db.engine import session_scope
from domain.accounts.models import Zone
from tests.factories import make_zone


def test_sqlite_pragmas(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert c.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert c.execute(text("PRAGMA busy_timeout")).scalar() >= 1000


def test_sqlite_concurrent_writers_queue_instead_of_failing(sqlite_engine: Engine) -> None:
    """BEGIN IMMEDIATE: read-then-write transactions in 6 threads never hit 'database is
    locked' and no update is lost."""
    with session_scope(sqlite_engine) as s:
        make_zone(s)
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(20):
                with session_scope(sqlite_engine) as s:
                    z = s.scalars(select(Zone)).one()
                    z.name = str(int(z.name) + 1) if z.name.isdigit() else "1"
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    ts = [threading.Thread(target=bump) for _ in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert errors == []
    with session_scope(sqlite_engine, readonly=True) as s:
        assert s.scalars(select(Zone)).one().name == "120"


def test_timestamps_round_trip_as_aware_utc(engine: Engine) -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    with session_scope(engine) as s:
        z = make_zone(s)
        z.created_at = datetime(2026, 11, 22, 0, 30, tzinfo=ist)
    with session_scope(engine, readonly=True) as s:
        got = s.scalars(select(Zone)).one().created_at
    assert got.tzinfo is not None
    assert got == datetime(2026, 11, 21, 19, 0, tzinfo=UTC)


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with pytest.raises(Exception, match="naive"), session_scope(engine) as s:
        z = make_zone(s)
        z.created_at = datetime(2026, 11, 21, 12, 0)
        s.flush()


def test_readonly_scope_never_commits(engine: Engine) -> None:
    with session_scope(engine, readonly=True) as s:
        make_zone(s)
    with session_scope(engine, readonly=True) as s:
        assert s.scalars(select(Zone)).all() == []
