"""A full disk while a weekly report's PDF is written leaves the previous file intact
(issue 6 item 4; the PDF base and closure packs have their own tests in tests/domain).

Version 1 of a weekly report is compiled; the week's data then changes, and the recompile
(version 2) meets ENOSPC: version 1's PDF keeps its bytes, no temporary file is left, the
database still says version 1 with the old figures. Through the sidecar's queue the request
goes back to ``queued`` with the error, and compiles once the disk has room again.
"""

from __future__ import annotations

import errno
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

import domain.reporting.pdf as pdfmod
from db.engine import session_scope
from db.settings import get_settings
from domain.accounts.models import Zone
from domain.leads.models import Lead
from domain.reporting.models import ReportRequest, WeeklyReport
from domain.reporting.queue import request_report, run_pending
from domain.reporting.reports import compile_weekly
from tests.domain.test_report_figures import WEEK_W, build_report_world, ist

NOW = ist(2026, 11, 2, 6, 0)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    d = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(d))
    get_settings.cache_clear()
    yield d
    get_settings.cache_clear()


class _FullDisk(io.RawIOBase):
    """What ``os.fdopen`` returns while the disk is full: every write fails with ENOSPC."""

    def __init__(self, fd: int) -> None:
        os.close(fd)

    def writable(self) -> bool:
        return True

    def write(self, _b) -> int:  # type: ignore[no-untyped-def, override]
        raise OSError(errno.ENOSPC, "No space left on device")


def _fill_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdfmod.os, "fdopen", lambda fd, mode: _FullDisk(fd))


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _version_one(engine: Engine, data_dir: Path):  # type: ignore[no-untyped-def]
    """Compile version 1, then add a lead in the week so a recompile makes version 2."""
    with session_scope(engine) as s:
        w = build_report_world(s)
        v1 = compile_weekly(s, w.reporter, oem_id=w.tata_id, week_start=WEEK_W, now=NOW)
    with session_scope(engine) as s:
        zone = s.scalars(select(Zone).order_by(Zone.code)).first()
        assert zone is not None
        s.add(
            Lead(
                ref="LEAD-2026-09999",
                oem_id=w.tata_id,
                oem_lead_ref="LATE-1",
                customer_name="Late Arrival",
                phone="+919876500000",
                address="9 Church Street",
                city=zone.name,
                pincode="560001",
                zone_id=zone.id,
                received_at=ist(2026, 9, 30),
                status="new",
            )
        )
    path = data_dir / v1.report_file
    assert v1.version == 1 and path.is_file()
    return w, v1, path, path.read_bytes()


def _report(engine: Engine, oem_id) -> WeeklyReport:  # type: ignore[no-untyped-def]
    with session_scope(engine, readonly=True) as s:
        row = s.scalars(
            select(WeeklyReport).where(
                WeeklyReport.oem_id == oem_id, WeeklyReport.week_start == WEEK_W
            )
        ).one()
        s.expunge(row)
        return row


def test_full_disk_during_weekly_recompile_keeps_the_previous_file(
    engine: Engine, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w, v1, path, v1_bytes = _version_one(engine, data_dir)
    leads_v1 = _report(engine, w.tata_id).total_leads

    _fill_disk(monkeypatch)
    with pytest.raises(OSError) as info, session_scope(engine) as s:
        compile_weekly(s, w.reporter, oem_id=w.tata_id, week_start=WEEK_W, now=NOW)
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC
    assert path.read_bytes() == v1_bytes
    assert _files(data_dir) == [path]  # no version 2, no temporary file
    row = _report(engine, w.tata_id)
    assert (row.version, row.total_leads, row.report_file) == (1, leads_v1, v1.report_file)

    # room again: version 2 is written beside the untouched version 1
    with session_scope(engine) as s:
        v2 = compile_weekly(s, w.reporter, oem_id=w.tata_id, week_start=WEEK_W, now=NOW)
    assert v2.version == 2 and (data_dir / v2.report_file).is_file()
    assert path.read_bytes() == v1_bytes
    assert _report(engine, w.tata_id).total_leads == leads_v1 + 1


def test_full_disk_in_the_sidecar_queue_requeues_and_keeps_the_previous_file(
    engine: Engine, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w, v1, path, v1_bytes = _version_one(engine, data_dir)
    with session_scope(engine) as s:
        req = request_report(
            s, w.reporter, report_type="weekly", oem_id=w.tata_id, period_start=WEEK_W
        )

    _fill_disk(monkeypatch)
    summary = run_pending(engine, now=NOW)
    monkeypatch.undo()
    assert list(summary.retried) == [req.id] and not summary.done and not summary.failed
    with session_scope(engine, readonly=True) as s:
        stored = s.get(ReportRequest, req.id)
        assert stored is not None
        assert stored.status == "queued" and "No space left" in (stored.error or "")
    assert path.read_bytes() == v1_bytes
    assert _files(data_dir) == [path]
    assert _report(engine, w.tata_id).version == 1

    summary = run_pending(engine, now=NOW)
    assert list(summary.done) == [req.id]
    assert _report(engine, w.tata_id).version == 2
    assert path.read_bytes() == v1_bytes
