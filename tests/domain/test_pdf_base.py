"""The shared PDF base: shipped Unicode font, page numbers, stamp, atomic writes."""

from __future__ import annotations

import errno
import io
import os
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pytest

from domain.reporting import pdf as pdfmod
from domain.reporting.pdf import ReportPDF, write_atomically


def _text(data: bytes) -> list[str]:
    return [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages]


def test_rupee_and_indian_names_render_with_page_numbers_and_stamp() -> None:
    doc = ReportPDF(
        "Weekly report · Tata Motors", generated_at=datetime(2026, 11, 23, 0, 30, tzinfo=UTC)
    )
    doc.key_values([("Revenue", "₹1,23,456.00"), ("Customer", "Śrīnivās Iyer")])
    doc.data_table(["Zone", "Revenue"], [[f"Z{i}", f"₹{i},000.00"] for i in range(120)])
    pages = _text(doc.to_bytes())
    assert len(pages) >= 2
    assert "₹1,23,456.00" in pages[0] and "Śrīnivās Iyer" in pages[0]
    assert f"Page 1 of {len(pages)}" in pages[0]
    assert f"Page {len(pages)} of {len(pages)}" in pages[-1]
    # 00:30 UTC is 06:00 in Asia/Kolkata
    assert "Generated 23 Nov 2026 06:00" in pages[0]
    assert "Z119" in pages[-1]


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "r" / "report.pdf"
    write_atomically(b"first", target)
    write_atomically(b"second", target)
    assert target.read_bytes() == b"second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.pdf"]


def test_full_disk_keeps_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.pdf"
    write_atomically(b"previous", target)
    real_fdopen = os.fdopen

    class FullDisk(io.RawIOBase):
        def __init__(self, fd: int) -> None:
            self._f = real_fdopen(fd, "wb")

        def write(self, _b) -> int:  # type: ignore[no-untyped-def, override]
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self) -> None:
            self._f.close()

    monkeypatch.setattr(pdfmod.os, "fdopen", lambda fd, mode: FullDisk(fd))
    with pytest.raises(OSError) as info:
        write_atomically(b"new but the disk is full", target)
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["report.pdf"]
