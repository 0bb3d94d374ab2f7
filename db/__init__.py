"""Database access: engine factory, unit of work, settings, migrations and seed data."""

from db.engine import default_engine, is_sqlite, make_engine, session_scope

__all__ = ["default_engine", "is_sqlite", "make_engine", "session_scope"]
