"""The single initial migration creates exactly the model, and goes down and up again,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from db.base import Base
from db.engine import make_engine
from db.migrate import downgrade, upgrade
from tests.conftest import PG_ADMIN_URL, _pg_admin_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """URL of an EMPTY database (no tables at all), on each database in turn."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mig.db'}"
        return
    request.getfixturevalue("pg_url")  # skips locally / fails in CI when PostgreSQL is down
    admin = _pg_admin_engine()
    name = f"chargeops_mig_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _tables(url: str) -> set[str]:
    eng = make_engine(url)
    try:
        return set(inspect(eng).get_table_names())
    finally:
        eng.dispose()


def test_upgrade_creates_every_table_and_matches_models(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    assert _tables(empty_db_url) == set(Base.metadata.tables) | {"alembic_version"}
    eng = make_engine(empty_db_url)
    try:
        with eng.connect() as conn:
            ctx = MigrationContext.configure(
                conn, opts={"compare_type": True, "render_as_batch": True}
            )
            diff = compare_metadata(ctx, Base.metadata)
    finally:
        eng.dispose()
    assert diff == [], f"models and migrations disagree: {diff}"


def test_downgrade_to_base_and_up_again(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    downgrade(empty_db_url, "base")
    assert _tables(empty_db_url) <= {"alembic_version"}
    upgrade(empty_db_url)
    assert "installation" in _tables(empty_db_url)


def test_migrated_schema_enforces_seed_constraints(empty_db_url: str) -> None:
    """Spot-check constraints from the seeds survive the migration (not only create_all)."""
    from sqlalchemy.exc import IntegrityError

    upgrade(empty_db_url)
    eng = make_engine(empty_db_url)
    try:
        zone_id = uuid.uuid4()
        with eng.begin() as c:
            c.execute(
                text(
                    "INSERT INTO zone (id, code, name, state, active, created_at, updated_at) "
                    "VALUES (:i, 'BLR', 'Bengaluru', 'KARNATAKA', true, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"i": zone_id.hex if eng.dialect.name == "sqlite" else zone_id},
            )
        bad_vendor = text(
            "INSERT INTO vendor (id, name, phone, zone_id, is_active, created_at, updated_at) "
            "VALUES (:i, 'No Pay', '+919845012345', :z, true, CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP)"
        )
        with pytest.raises(IntegrityError), eng.begin() as c:
            # seed 004: at least one payment method
            c.execute(
                bad_vendor,
                {
                    "i": uuid.uuid4().hex if eng.dialect.name == "sqlite" else uuid.uuid4(),
                    "z": zone_id.hex if eng.dialect.name == "sqlite" else zone_id,
                },
            )
    finally:
        eng.dispose()


def test_every_downgrade_and_upgrade_keeps_a_database_with_data(empty_db_url: str) -> None:
    """Down to the initial migration and back up with demo data in the tables (leads,
    installations, users and the rows referencing them): on SQLite, batch mode rebuilds
    referenced tables, which foreign-key enforcement used to refuse (``db/migrations/env.py``
    turns it off for the run and checks the keys before committing)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    upgrade(empty_db_url)
    env = {**os.environ, "DATABASE_URL": empty_db_url}
    subprocess.run(
        [sys.executable, "-m", "db.seed", "--scale", "0.02"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    count_sql = text(
        "SELECT (SELECT count(*) FROM lead), (SELECT count(*) FROM installation), "
        "(SELECT count(*) FROM app_user), (SELECT count(*) FROM audit_event)"
    )

    def counts() -> tuple[int, ...]:
        eng = make_engine(empty_db_url)
        try:
            with eng.connect() as c:
                return tuple(c.execute(count_sql).one())
        finally:
            eng.dispose()

    before = counts()
    assert min(before[:3]) > 0
    downgrade(empty_db_url, "0001")
    assert counts() == before
    upgrade(empty_db_url)
    assert counts() == before
    eng = make_engine(empty_db_url)
    try:
        with eng.connect() as c:
            assert (
                c.execute(
                    text("SELECT count(*) FROM lead WHERE received_business_day IS NULL")
                ).scalar()
                == 0
            )
            if eng.dialect.name == "sqlite":
                assert c.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
                assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        eng.dispose()
