"""Backup and restore (issue 6 item 5) on SQLite and PostgreSQL: a small world with media files
and closure-pack PDFs is backed up, restored into a fresh database and a fresh data directory,
and every table's rows and every file's sha256 are compared with the original."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

import domain.models  # noqa: F401
from db.backup import (
    MANIFEST,
    BackupError,
    backup,
    latest_backup,
    main,
    read_manifest,
    restore,
    sha256_file,
)
from db.engine import make_engine, session_scope
from domain.procurement.models import Material
from domain.reporting.packs import add_pack_evidence, compile_pack
from tests.conftest import PG_ADMIN_URL
from tests.domain.test_closure_packs import JPEG, PNG, make_done_installation
from tests.factories import actor_of, make_oem, make_user, make_zone


def _seed(engine: Engine, data_dir: Path) -> None:
    """Zone, OEM, users, two finished installations, a compiled pack with two media files."""
    with session_scope(engine) as s:
        zone = make_zone(s)
        oem = make_oem(s)
        charger = Material(name="7.2kW AC wallbox", sku="CHG-7KW", category="charger", unit="piece")
        s.add(charger)
        s.flush()
        i1 = make_done_installation(
            s, oem=oem, zone=zone, charger=charger, n=1, customer="Anaya Iyer"
        )
        make_done_installation(s, oem=oem, zone=zone, charger=charger, n=2)
        rep = actor_of(make_user(s, "oem_reporting", "rep"))
        pack = compile_pack(s, rep, installation_id=i1.id, data_dir=data_dir)
        for key, data in (("site_photo", JPEG), ("serial_plate_photo", PNG)):
            add_pack_evidence(
                s, rep, pack_id=pack.id, evidence=key, data=data, filename=f"{key}.jpg",
                data_dir=data_dir,
            )  # fmt: skip
        compile_pack(s, rep, installation_id=i1.id, data_dir=data_dir)  # PDF with the photos


def _rows(engine: Engine) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table, as sorted tuples of strings (dialect-neutral comparison)."""
    out: dict[str, list[tuple[str, ...]]] = {}
    with engine.connect() as conn:
        for name in sorted(inspect(conn).get_table_names()):
            rows = conn.execute(text(f'SELECT * FROM "{name}"')).all()
            out[name] = sorted(tuple(str(v) for v in r) for r in rows)
    return out


def _files(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def fresh_url(engine: Engine, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database of the same kind as ``engine`` (no tables at all)."""
    if engine.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=False)
    name = f"chargeops_restore_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_backup_and_restore_into_a_fresh_database(
    engine: Engine, fresh_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    _seed(engine, data_dir)
    (data_dir / "media" / ".upload-x.part").write_bytes(b"half an upload")  # in flight: skipped
    original_rows = _rows(engine)
    original_files = _files(data_dir)
    del original_files["media/.upload-x.part"]
    assert any(f.endswith(".pdf") for f in original_files)
    assert sum(1 for f in original_files if f.startswith("media/")) >= 2
    assert len(original_rows["installation_media"]) == 2 and original_rows["closure_pack"]

    folder = backup(database_url=_url(engine), data_dir=data_dir, out_dir=tmp_path / "backups")
    manifest = json.loads((folder / MANIFEST).read_text())
    assert folder.name.startswith("chargeops-") and latest_backup(tmp_path / "backups") == folder
    assert manifest["dialect"] == engine.dialect.name
    assert manifest["tables"] == {t: len(r) for t, r in original_rows.items()}
    assert {f["path"]: f["sha256"] for f in manifest["files"]} == original_files
    assert not [p for p in (tmp_path / "backups").iterdir() if p.name.startswith(".")]

    restored_dir = tmp_path / "restored-data"
    result = restore(folder, database_url=fresh_url, data_dir=restored_dir)
    assert result.files == len(original_files)
    target = make_engine(fresh_url)
    try:
        assert _rows(target) == original_rows
    finally:
        target.dispose()
    assert _files(restored_dir) == original_files

    # The restored database is not empty any more: a second restore is refused without --force.
    with pytest.raises(BackupError, match="already has"):
        restore(folder, database_url=fresh_url, data_dir=tmp_path / "other-data")
    forced = restore(folder, database_url=fresh_url, data_dir=restored_dir, force=True)
    assert forced.tables == manifest["tables"]


def test_restore_refuses_a_corrupt_backup_or_another_dialect(
    engine: Engine, fresh_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    _seed(engine, data_dir)
    folder = backup(database_url=_url(engine), data_dir=data_dir, out_dir=tmp_path / "b")
    pdf = next((folder / "data").rglob("*.pdf"))
    pdf.write_bytes(pdf.read_bytes() + b"tampered")
    with pytest.raises(BackupError, match="corrupt"):
        read_manifest(folder)
    with pytest.raises(BackupError, match="corrupt"):
        restore(folder, database_url=fresh_url, data_dir=tmp_path / "r")
    other = (
        "postgresql://127.0.0.1/nowhere"
        if engine.dialect.name == "sqlite"
        else f"sqlite:///{tmp_path / 'x.db'}"
    )
    folder2 = backup(database_url=_url(engine), data_dir=tmp_path / "none", out_dir=tmp_path / "b2")
    assert json.loads((folder2 / MANIFEST).read_text())["files"] == []
    with pytest.raises(BackupError, match="backup is of a"):
        restore(folder2, database_url=other, data_dir=tmp_path / "r2")


def test_restore_refuses_a_non_empty_data_dir(
    engine: Engine, fresh_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    _seed(engine, data_dir)
    folder = backup(database_url=_url(engine), data_dir=data_dir, out_dir=tmp_path / "b")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("someone else's file")
    with pytest.raises(BackupError, match="not empty"):
        restore(folder, database_url=fresh_url, data_dir=busy)
    target = make_engine(fresh_url)
    try:
        with target.connect() as c:
            assert inspect(c).get_table_names() == []  # refused before touching the database
    finally:
        target.dispose()


def test_cli_backup_then_restore(
    engine: Engine, fresh_url: str, tmp_path: Path, capsys: Any
) -> None:
    """``python -m db.backup backup|restore`` as ``make backup`` / ``make restore`` call it."""
    data_dir = tmp_path / "data"
    _seed(engine, data_dir)
    out = tmp_path / "backups"
    assert main(["backup", "--database-url", _url(engine), "--data-dir", str(data_dir),
                 "--out", str(out)]) == 0  # fmt: skip
    folder = latest_backup(out)
    argv = ["restore", str(folder), "--database-url", fresh_url, "--data-dir", str(tmp_path / "r")]
    assert main(argv) == 0
    assert "(verified)" in capsys.readouterr().out
    assert main(argv) == 1  # not empty any more
    assert "--force" in capsys.readouterr().err
