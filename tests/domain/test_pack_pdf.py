"""The closure-pack PDF (issue 5 item 2): read back with pypdf, it shows the customer, the
charger serial and model, the survey findings and the checklist with present/missing; photos
and the signature are embedded as thumbnails; a failed write leaves the previous PDF."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from db.engine import session_scope
from domain.errors import NotFound
from domain.reporting.pack_pdf import pack_pdf_bytes, thumbnail_jpeg
from domain.reporting.packs import (
    add_pack_evidence,
    compile_pack,
    record_confirmation_call,
    submit_pack,
)

# reuse the closure-pack world (fixtures are looked up by name in this module)
from tests.domain.test_closure_packs import JPEG, PNG, data_dir, image_bytes, world  # noqa: F401


def _text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def _images(data: bytes) -> int:
    reader = PdfReader(io.BytesIO(data))
    return sum(len(page.images) for page in reader.pages)


def test_incomplete_pack_pdf_lists_missing_items(world: dict[str, Any], data_dir: Path) -> None:  # noqa: F811
    with session_scope(world["engine"]) as s:
        d = compile_pack(s, world["rep"], installation_id=world["i1"], data_dir=data_dir)
        pdf = pack_pdf_bytes(s, world["rep"], pack_id=d.id, data_dir=data_dir)
    assert pdf.filename == f"{d.ref}-v1.pdf"
    text = _text(pdf.data)
    assert d.ref in text
    assert "Anaya Iyer" in text
    assert "TPEM7K001" in text
    assert "7.2kW AC wallbox" in text
    assert "Evidence checklist" in text
    assert "MISSING" in text and "PRESENT" not in text
    assert "Incomplete: missing Site photo, Serial-plate photo" in text
    assert "independent house" in text and "Meter in the stilt parking" in text
    assert "No photos." in text and "No signature on file." in text
    assert "Page 1 of" in text and "Generated" in text
    assert _images(pdf.data) == 0


def test_complete_pack_pdf_has_thumbnails_and_signature(
    world: dict[str, Any],  # noqa: F811
    data_dir: Path,  # noqa: F811
) -> None:
    with session_scope(world["engine"]) as s:
        d = compile_pack(s, world["rep"], installation_id=world["i1"], data_dir=data_dir)
        big = image_bytes("JPEG", "navy", (2400, 1600))
        for key, data in (
            ("site_photo", big),
            ("site_photo", JPEG),
            ("serial_plate_photo", PNG),
            ("signature", image_bytes("PNG", "white", (300, 100))),
            ("demo_signoff", image_bytes("PNG", "green")),
        ):
            add_pack_evidence(
                s,
                world["rep"],
                pack_id=d.id,
                evidence=key,
                data=data,
                filename=f"{key}.img",
                data_dir=data_dir,
            )
        record_confirmation_call(s, world["rep"], pack_id=d.id, outcome="confirmed")
    with session_scope(world["engine"]) as s:
        submit_pack(s, world["rep"], pack_id=d.id, data_dir=data_dir)
    with session_scope(world["engine"], readonly=True) as s:
        pdf = pack_pdf_bytes(s, world["viewer"], pack_id=d.id, data_dir=data_dir)
    text = _text(pdf.data)
    assert "TPEM7K001" in text and "Anaya Iyer" in text
    assert "MISSING" not in text
    assert text.count("PRESENT") == 5
    assert "Complete: every required item is present." in text
    assert "submitted" in text
    assert "Signed by Anaya Iyer" in text
    # 4 photo/document thumbnails + the signature (distinct images; fpdf2 shares duplicates)
    assert _images(pdf.data) == 5
    # thumbnails, not the originals: the 2400 px photo is shrunk
    assert len(pdf.data) < len(big)


def test_thumbnail_of_unreadable_file_is_none(tmp_path: Path) -> None:
    bad = tmp_path / "x.jpg"
    bad.write_bytes(b"\xff\xd8\xff" + b"junk" * 10)
    assert thumbnail_jpeg(bad) is None
    good = tmp_path / "y.png"
    good.write_bytes(image_bytes("PNG", "red", (1200, 600)))
    thumb = thumbnail_jpeg(good, max_px=300)
    assert thumb is not None and thumb[1] == pytest.approx(0.5)


def test_failed_pdf_write_keeps_previous_file(
    world: dict[str, Any],  # noqa: F811
    data_dir: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with session_scope(world["engine"]) as s:
        d = compile_pack(s, world["rep"], installation_id=world["i1"], data_dir=data_dir)
    target = data_dir / d.report_file
    before = target.read_bytes()

    def broken_replace(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError), session_scope(world["engine"]) as s:
        record_confirmation_call(s, world["rep"], pack_id=d.id, outcome="confirmed")
        compile_pack(s, world["rep"], installation_id=world["i1"], data_dir=data_dir)
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temp file left
    with session_scope(world["engine"], readonly=True) as s:
        # the transaction was rolled back with the failed write
        from domain.reporting.packs import get_pack

        assert not get_pack(s, world["rep"], d.id).confirmation_call_completed


def test_missing_file_is_not_found(world: dict[str, Any], data_dir: Path) -> None:  # noqa: F811
    with session_scope(world["engine"]) as s:
        d = compile_pack(s, world["rep"], installation_id=world["i1"], data_dir=data_dir)
    (data_dir / d.report_file).unlink()
    with session_scope(world["engine"], readonly=True) as s:
        with pytest.raises(NotFound, match="missing"):
            pack_pdf_bytes(s, world["rep"], pack_id=d.id, data_dir=data_dir)
        with pytest.raises(NotFound):
            pack_pdf_bytes(s, world["rep"], pack_id=d.id, version=7, data_dir=data_dir)
