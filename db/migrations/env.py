"""Alembic environment: URL from ``DATABASE_URL`` (or ``-x url=...``), batch mode for SQLite."""

from __future__ import annotations

from alembic import context

import domain.models  # noqa: F401  (registers every table on Base.metadata)
from db.base import Base
from db.engine import make_engine

config = context.config
target_metadata = Base.metadata


def _url() -> str | None:
    x = context.get_x_argument(as_dictionary=True)
    return x.get("url") or config.attributes.get("url")


def run_migrations_offline() -> None:
    context.configure(
        url=_url() or str(make_engine().url),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    # SQLite batch mode rebuilds a table (copy, DROP the old one, rename); with foreign keys
    # enforced, SQLite refuses that DROP while other rows reference the table, so a downgrade
    # of a database holding data failed. As Alembic's batch docs advise, enforcement is off
    # for the run (the PRAGMA is ignored inside a transaction, hence before it) and
    # ``PRAGMA foreign_key_check`` must find nothing before the migration commits.
    sqlite = connection.dialect.name == "sqlite" and not connection.in_transaction()
    if sqlite:
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
            compare_server_default=False,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")
    finally:
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
