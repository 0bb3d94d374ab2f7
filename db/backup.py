"""Backup and restore of the database and the data directory (issue 6 item 5).

``python -m db.backup backup`` (``make backup``) writes one timestamped folder
``var/backups/chargeops-YYYYMMDDTHHMMSSZ/`` holding:

* ``database.sqlite3`` (SQLite, copied with the online backup API while the app runs) or
  ``database.pgdump`` (PostgreSQL, ``pg_dump -Fc`` on an exported snapshot);
* ``data/``: every file of ``DATA_DIR`` (uploaded media, closure-pack and report PDFs);
* ``manifest.json``: when, which dialect and Alembic revision, the row count of every table
  (counted in the same snapshot the dump was taken from) and every file with its size and
  sha256 (the database artefact included).

The folder is written under a hidden temporary name and renamed when complete, so a folder
with the final name is always a whole backup.

``python -m db.backup restore <folder>`` (``make restore BACKUP=<folder>``) checks every file
against the manifest, restores the database into ``DATABASE_URL`` (SQLite: online backup API
into the target file; PostgreSQL: ``pg_restore --no-owner``) and the files into ``DATA_DIR``,
then counts every table and hashes every file again and fails if anything differs. A target
database that already has tables, or a data directory that already has files, is refused
unless ``--force`` (then tables are replaced and files overwritten). Stop the app and the
sidecar before restoring; run ``make migrate`` afterwards if the code is newer than the backup.

PostgreSQL tools: ``pg_dump``/``pg_restore`` from ``PG_BIN_DIR``, else ``PATH``, else the newest
``/usr/lib/postgresql/*/bin``; their major version must be at least the server's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, inspect, text
from sqlalchemy.engine import URL

from db.engine import make_engine
from db.settings import PROJECT_ROOT, get_settings

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
DATA = "data"
DEFAULT_BACKUP_DIR = PROJECT_ROOT / "var" / "backups"
_CHUNK = 1024 * 1024


class BackupError(RuntimeError):
    """A backup or restore that cannot be done (tool missing, target not empty, corrupt copy)."""


@dataclass(frozen=True)
class RestoreResult:
    """What a restore put back: ``tables`` maps each table to its row count; ``files`` is the
    number of data files restored."""

    tables: dict[str, int]
    files: int


# --- helpers ---------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database).resolve()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _count_rows(conn: Connection) -> dict[str, int]:
    """Row count of every table the connection sees (default schema), sorted by name."""
    names = sorted(inspect(conn).get_table_names())
    return {
        n: int(conn.execute(text(f"SELECT count(*) FROM {_quote(n)}")).scalar_one()) for n in names
    }


def _alembic_revision(counts: dict[str, int], conn: Connection) -> str | None:
    if "alembic_version" not in counts:
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _data_files(root: Path) -> list[Path]:
    """Regular files under ``root`` (sorted), skipping in-flight temporary uploads/PDFs."""
    if not root.is_dir():
        return []
    files = []
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.is_symlink():
            continue
        if p.name.startswith(".upload-") or p.name.endswith((".part", ".tmp")):
            continue
        files.append(p)
    return files


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URI for the pg tools and an environment carrying the password (never argv)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def pg_tool(name: str) -> str:
    """Path of ``pg_dump`` / ``pg_restore`` (``PG_BIN_DIR``, ``PATH``, /usr/lib/postgresql).

    Raises:
        BackupError: the tool is not installed.
    """
    env_dir = os.environ.get("PG_BIN_DIR")
    if env_dir and (Path(env_dir) / name).is_file():
        return str(Path(env_dir) / name)
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if versions:
        return str(versions[-1])
    raise BackupError(f"{name} not found: install the PostgreSQL client or set PG_BIN_DIR")


def _tool_major(tool: str) -> int:
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout
    m = re.search(r"(\d+)(?:\.\d+)?", out)
    if not m:
        raise BackupError(f"cannot read the version of {tool}: {out!r}")
    return int(m.group(1))


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed ({done.returncode}): {done.stderr.strip()}")


# --- backup ----------------------------------------------------------------------------------


def _backup_sqlite(engine: Engine, dest: Path) -> tuple[dict[str, int], str | None]:
    src_path = _sqlite_path(engine.url)
    if not src_path.is_file():
        raise BackupError(f"no SQLite database at {src_path}")
    target = dest / SQLITE_FILE
    src = sqlite3.connect(src_path, timeout=get_settings().sqlite_busy_timeout_ms / 1000)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # online: a consistent copy even while the app writes
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
    finally:
        dst.close()
        src.close()
    copy = create_engine(f"sqlite:///{target}")  # plain engine: keeps the copy out of WAL
    try:
        with copy.connect() as conn:
            counts = _count_rows(conn)
            revision = _alembic_revision(counts, conn)
    finally:
        copy.dispose()
    return counts, revision


def _backup_postgresql(engine: Engine, dest: Path) -> tuple[dict[str, int], str | None]:
    pg_dump = pg_tool("pg_dump")
    uri, env = _libpq(engine.url)
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            server_major = int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000
            if _tool_major(pg_dump) < server_major:
                raise BackupError(
                    f"{pg_dump} is older than the server (PostgreSQL {server_major}); "
                    "install a matching client or set PG_BIN_DIR"
                )
            # One snapshot for the dump and for the row counts in the manifest.
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            counts = _count_rows(conn)
            revision = _alembic_revision(counts, conn)
            _run(
                [pg_dump, "-Fc", "--snapshot", snapshot, "-f", str(dest / PG_FILE), uri],
                env,
            )
    return counts, revision


def backup(
    *,
    database_url: str | None = None,
    data_dir: Path | None = None,
    out_dir: Path | None = None,
    now: datetime | None = None,
) -> Path:
    """Back up the database and the data directory into a new timestamped folder.

    Args:
        database_url: SQLAlchemy URL (default ``DATABASE_URL``); SQLite or PostgreSQL.
        data_dir: the data directory (default ``DATA_DIR``); may be missing (no files).
        out_dir: where backups go (default ``var/backups``).
        now: timestamp of the backup (default the current UTC time).

    Returns:
        The backup folder ``<out_dir>/chargeops-YYYYMMDDTHHMMSSZ`` (manifest inside).

    Raises:
        BackupError: SQLite file missing, pg_dump missing or too old, pg_dump failed,
            or a backup with the same timestamp exists.
    """
    settings = get_settings()
    url = database_url or settings.database_url
    data_root = Path(data_dir if data_dir is not None else settings.data_dir).resolve()
    out = Path(out_dir if out_dir is not None else DEFAULT_BACKUP_DIR).resolve()
    when = (now or datetime.now(UTC)).astimezone(UTC)
    final = out / f"chargeops-{when:%Y%m%dT%H%M%SZ}"
    if final.exists():
        raise BackupError(f"{final} already exists")
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=out))
    engine = make_engine(url)
    try:
        if engine.dialect.name == "sqlite":
            counts, revision = _backup_sqlite(engine, work)
            db_file = SQLITE_FILE
        elif engine.dialect.name == "postgresql":
            counts, revision = _backup_postgresql(engine, work)
            db_file = PG_FILE
        else:  # pragma: no cover - only the two supported databases
            raise BackupError(f"unsupported database: {engine.dialect.name}")
        files = []
        for src in _data_files(data_root):
            rel = src.relative_to(data_root).as_posix()
            target = work / DATA / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
            files.append(
                {"path": rel, "size": target.stat().st_size, "sha256": sha256_file(target)}
            )
        manifest: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "created_at": when.isoformat(),
            "dialect": engine.dialect.name,
            "alembic_revision": revision,
            "database_file": {
                "path": db_file,
                "size": (work / db_file).stat().st_size,
                "sha256": sha256_file(work / db_file),
            },
            "tables": counts,
            "files": files,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        engine.dispose()
    return final


# --- restore ---------------------------------------------------------------------------------


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a backup folder, after checking every file's size and sha256.

    Raises:
        BackupError: no manifest, a file missing or different from the manifest.
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder} is not a backup (no {MANIFEST})")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    entries = [manifest["database_file"]] + [
        {**f, "path": f"{DATA}/{f['path']}"} for f in manifest["files"]
    ]
    for entry in entries:
        p = Path(folder) / entry["path"]
        if (
            not p.is_file()
            or p.stat().st_size != entry["size"]
            or sha256_file(p) != entry["sha256"]
        ):
            raise BackupError(f"backup file {entry['path']} is missing or corrupt")
    return manifest


def _existing_tables(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return inspect(conn).get_table_names()


def _restore_sqlite(folder: Path, engine: Engine) -> None:
    target = _sqlite_path(engine.url)
    target.parent.mkdir(parents=True, exist_ok=True)
    engine.dispose()
    src = sqlite3.connect(folder / SQLITE_FILE)
    dst = sqlite3.connect(target, timeout=get_settings().sqlite_busy_timeout_ms / 1000)
    try:
        src.backup(dst)  # replaces every page of the target
        dst.execute("PRAGMA journal_mode=WAL")
    finally:
        dst.close()
        src.close()


def _restore_postgresql(folder: Path, engine: Engine, *, force: bool) -> None:
    pg_restore = pg_tool("pg_restore")
    uri, env = _libpq(engine.url)
    engine.dispose()
    cmd = [pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "-d", uri]
    if force:
        cmd[1:1] = ["--clean", "--if-exists"]
    _run([*cmd, str(folder / PG_FILE)], env)


def restore(
    folder: Path,
    *,
    database_url: str | None = None,
    data_dir: Path | None = None,
    force: bool = False,
) -> RestoreResult:
    """Restore a backup folder into a database and a data directory, then verify both.

    Args:
        folder: a folder written by ``backup``.
        database_url: target database (default ``DATABASE_URL``); same dialect as the backup.
            SQLite: the file is created if missing. PostgreSQL: the database must exist.
        data_dir: target data directory (default ``DATA_DIR``); created if missing.
        force: restore over a database that has tables / a data dir that has files
            (tables are replaced, files with the same path overwritten).

    Returns:
        ``RestoreResult`` with the restored row count per table and the number of files.

    Raises:
        BackupError: corrupt backup, other dialect, non-empty target without ``force``,
            pg_restore missing or failed, or the restored rows/files differ from the manifest.
    """
    settings = get_settings()
    folder = Path(folder).resolve()
    manifest = read_manifest(folder)
    url = database_url or settings.database_url
    data_root = Path(data_dir if data_dir is not None else settings.data_dir).resolve()
    engine = make_engine(url)
    try:
        if engine.dialect.name != manifest["dialect"]:
            raise BackupError(
                f"the backup is of a {manifest['dialect']} database, the target is "
                f"{engine.dialect.name}"
            )
        if not force:
            tables = _existing_tables(engine)
            if tables:
                raise BackupError(
                    f"the target database already has {len(tables)} tables; restore into a "
                    "fresh database or pass --force to replace them"
                )
            if _data_files(data_root):
                raise BackupError(
                    f"the data directory {data_root} is not empty; use a fresh one or --force"
                )
        if engine.dialect.name == "sqlite":
            _restore_sqlite(folder, engine)
        else:
            _restore_postgresql(folder, engine, force=force)
        for entry in manifest["files"]:
            target = (data_root / entry["path"]).resolve()
            if not target.is_relative_to(data_root):
                raise BackupError(f"file {entry['path']!r} would land outside the data dir")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(folder / DATA / entry["path"], target)
            if sha256_file(target) != entry["sha256"]:
                raise BackupError(f"restored file {entry['path']} differs from the backup")
        with engine.connect() as conn:
            counts = _count_rows(conn)
    finally:
        engine.dispose()
    differ = {t: (n, counts.get(t)) for t, n in manifest["tables"].items() if counts.get(t) != n}
    if differ:
        raise BackupError(f"restored row counts differ (expected, found): {differ}")
    return RestoreResult(tables=counts, files=len(manifest["files"]))


def latest_backup(out_dir: Path | None = None) -> Path:
    """The newest complete backup folder in ``out_dir`` (default ``var/backups``).

    Raises:
        BackupError: there is none.
    """
    out = Path(out_dir if out_dir is not None else DEFAULT_BACKUP_DIR)
    found = sorted(p for p in out.glob("chargeops-*") if (p / MANIFEST).is_file())
    if not found:
        raise BackupError(f"no backup in {out}")
    return found[-1]


def main(argv: list[str] | None = None) -> int:
    """CLI: ``backup [--out DIR]`` / ``restore [FOLDER] [--force]`` (see the module docstring)."""
    p = argparse.ArgumentParser(prog="python -m db.backup", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="action", required=True)
    b = sub.add_parser("backup", help="back up DATABASE_URL and DATA_DIR")
    b.add_argument("--out", type=Path, default=None, help="backup folder (default var/backups)")
    r = sub.add_parser("restore", help="restore a backup into DATABASE_URL and DATA_DIR")
    r.add_argument("folder", type=Path, nargs="?", help="backup folder (default: the newest)")
    r.add_argument("--force", action="store_true", help="replace a non-empty database/data dir")
    for sp in (b, r):
        sp.add_argument("--database-url", default=None)
        sp.add_argument("--data-dir", type=Path, default=None)
    a = p.parse_args(argv)
    try:
        if a.action == "backup":
            folder = backup(database_url=a.database_url, data_dir=a.data_dir, out_dir=a.out)
            m = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            print(
                f"backup {folder}: {sum(m['tables'].values())} rows in {len(m['tables'])} "
                f"tables, {len(m['files'])} files"
            )
        else:
            folder = a.folder or latest_backup()
            res = restore(folder, database_url=a.database_url, data_dir=a.data_dir, force=a.force)
            print(
                f"restored {folder}: {sum(res.tables.values())} rows in {len(res.tables)} "
                f"tables, {res.files} files (verified)"
            )
    except BackupError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
