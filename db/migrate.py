"""Run Alembic migrations from Python (``python -m db.migrate [upgrade|downgrade] [rev]``)."""

from __future__ import annotations

import argparse

from alembic import command
from alembic.config import Config

from db.settings import PROJECT_ROOT


def alembic_config(url: str | None = None) -> Config:
    """Alembic config read from ``[tool.alembic]`` in pyproject; ``url`` overrides the database."""
    cfg = Config(toml_file=str(PROJECT_ROOT / "pyproject.toml"))
    if url:
        cfg.attributes["url"] = url
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Upgrade the database at ``url`` (default ``DATABASE_URL``) to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    """Downgrade the database at ``url`` (default ``DATABASE_URL``) to ``revision``."""
    command.downgrade(alembic_config(url), revision)


def main() -> None:
    """CLI entry point."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("action", choices=["upgrade", "downgrade"], nargs="?", default="upgrade")
    p.add_argument("revision", nargs="?")
    p.add_argument("--database-url")
    a = p.parse_args()
    if a.action == "upgrade":
        upgrade(a.database_url, a.revision or "head")
    else:
        downgrade(a.database_url, a.revision or "base")


if __name__ == "__main__":
    main()
