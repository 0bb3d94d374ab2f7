"""Report PDFs: read back with pypdf; the figures, ₹ amounts, zones and breaches are there;
writes are atomic and a killed write's temporary file is cleaned up by the next write."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine

import domain.reporting.pdf as pdfmod
from db.engine import session_scope
from db.settings import get_settings
from domain.reporting import report_pdf
from domain.reporting.reports import compile_monthly, compile_weekly
from tests.domain.test_report_figures import WEEK_W, build_report_world, ist

NOW = ist(2026, 11, 2, 6, 0)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    d = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(d))
    get_settings.cache_clear()
    yield d
    get_settings.cache_clear()


def _text(path: Path) -> str:
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return "\n".join(p.extract_text() for p in reader.pages)


def test_monthly_pdf_shows_figures_rupees_zones_and_breaches(
    engine: Engine, data_dir: Path
) -> None:
    with session_scope(engine) as s:
        w = build_report_world(s)
        r = compile_monthly(s, w.reporter, oem_id=w.tata_id, month=date(2026, 10, 1), now=NOW)
    text = _text(data_dir / r.report_file)
    assert "Monthly report for Tata Motors (TATA)" in text
    assert "October 2026" in text
    assert "₹52,000.00" in text  # total revenue
    assert "₹41,000.00" in text and "₹11,000.00" in text  # per zone
    assert "40.00 %" in text and "6.2 days" in text
    assert "BLR – Bengaluru" in text and "MUM – Mumbai" in text
    assert "INS-2026-00001" in text and "Asha Rao" in text  # a breach
    assert "Page 1 of" in text and "Generated" in text


def test_weekly_pdf_shows_counts(engine: Engine, data_dir: Path) -> None:
    with session_scope(engine) as s:
        w = build_report_world(s)
        r = compile_weekly(s, w.reporter, oem_id=w.tata_id, week_start=WEEK_W, now=NOW)
    text = _text(data_dir / r.report_file)
    assert "Weekly report for Tata Motors (TATA)" in text
    assert "28 Sep 2026 – 04 Oct 2026" in text
    for label, value in (
        ("Leads received", 4),
        ("Surveys completed", 3),
        ("Installations completed", 1),
        ("Closure packs submitted", 2),
    ):
        assert f"{label}{value}" in text.replace(" ", "").replace(label.replace(" ", ""), label)
    assert "₹" not in text  # weekly figures carry no money


def test_failed_write_leaves_no_file_and_no_rows(
    engine: Engine, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope(engine) as s:
        w = build_report_world(s)

    def boom(src, dst):  # type: ignore[no-untyped-def]
        raise OSError("killed during rename")

    monkeypatch.setattr(pdfmod.os, "replace", boom)
    with pytest.raises(OSError), session_scope(engine) as s:
        compile_weekly(s, w.reporter, oem_id=w.tata_id, week_start=WEEK_W, now=NOW)
    assert not any(p.is_file() for p in data_dir.rglob("*"))
    monkeypatch.undo()
    with session_scope(engine) as s:
        r = compile_weekly(s, w.reporter, oem_id=w.tata_id, week_start=WEEK_W, now=NOW)
    assert r.version == 1 and (data_dir / r.report_file).is_file()


def test_stale_temporary_file_is_removed_by_the_next_write(data_dir: Path) -> None:
    rel = report_pdf.report_relpath("weekly", "TATA", WEEK_W, 1)
    target = data_dir / rel
    target.parent.mkdir(parents=True)
    stale = target.parent / f".{target.name}.abc123.tmp"
    stale.write_bytes(b"%PDF-1.4 half")
    content = report_pdf.ReportContent(
        report_type="weekly",
        oem_code="TATA",
        oem_name="Tata Motors",
        period_start=WEEK_W,
        period_end=date(2026, 10, 4),
        version=1,
        figures={"total_leads": 1},
        details={},
        generated_at=NOW,
    )
    assert report_pdf.write_report_pdf(content) == rel
    assert not stale.exists() and target.read_bytes().startswith(b"%PDF")
