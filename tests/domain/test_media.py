"""Upload storage: type from the bytes, size limits, random names inside the data directory."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
from PIL import Image

from domain import media
from domain.errors import ValidationError
from domain.media import MAX_BYTES, MB, absolute_path, detect_content_type, store_upload


def _image(fmt: str) -> bytes:
    """A real 8x8 image in Pillow format ``fmt`` (JPEG, PNG, WEBP)."""
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buf, fmt)
    return buf.getvalue()


JPEG = _image("JPEG")
PNG = _image("PNG")
WEBP = _image("WEBP")
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x04" * 50
MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x05" * 50
MOV = b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  " + b"\x06" * 50
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + b"\x07" * 50
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"1 0 obj\n" * 10
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (JPEG, "image/jpeg"),
        (PNG, "image/png"),
        (WEBP, "image/webp"),
        (HEIC, "image/heic"),
        (MP4, "video/mp4"),
        (MOV, "video/quicktime"),
        (WEBM, "video/webm"),
        (PDF, "application/pdf"),
        (EXE, None),
        (b"GIF89a" + b"\x00" * 20, None),
        (b"\x00\x00\x00\x18ftypXXXX" + b"\x00" * 20, None),
    ],
)
def test_detects_type_from_magic_numbers(data: bytes, expected: str | None) -> None:
    assert detect_content_type(data) == expected


def test_fake_image_with_jpeg_magic_refused(tmp_path: Path) -> None:
    fake = b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 20
    assert detect_content_type(fake) == "image/jpeg"
    with pytest.raises(ValidationError) as exc:
        store_upload(fake, declared_name="x.jpg", kind="photo", data_dir=tmp_path)
    assert "not a real image" in exc.value.errors["file"]
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_renamed_exe_as_jpg_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as exc:
        store_upload(EXE, declared_name="holiday.jpg", kind="photo", data_dir=tmp_path)
    assert "file" in exc.value.errors
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_name_does_not_decide_the_type(tmp_path: Path) -> None:
    # a real PNG called "report.pdf" is stored as a PNG
    stored = store_upload(PNG, declared_name="report.pdf", kind="photo", data_dir=tmp_path)
    assert stored.content_type == "image/png"
    assert stored.path.endswith(".png")
    assert stored.original_name == "report.pdf"


def test_kind_restricts_types(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as exc:
        store_upload(MP4, declared_name="clip.mp4", kind="photo", data_dir=tmp_path)
    assert "video/mp4" in exc.value.errors["file"]
    with pytest.raises(ValidationError):
        store_upload(JPEG, declared_name="x.jpg", kind="video", data_dir=tmp_path)
    with pytest.raises(ValidationError):
        store_upload(PDF, declared_name="sig.pdf", kind="signature", data_dir=tmp_path)
    assert store_upload(PDF, declared_name="a.pdf", kind="document", data_dir=tmp_path).size_bytes
    assert (
        store_upload(WEBM, declared_name="v", kind="video", data_dir=tmp_path).content_type
        == "video/webm"
    )
    with pytest.raises(ValidationError) as exc:
        store_upload(JPEG, declared_name="x.jpg", kind="audio", data_dir=tmp_path)  # type: ignore[arg-type]
    assert "kind" in exc.value.errors


def test_empty_file_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as exc:
        store_upload(b"", declared_name="x.jpg", kind="photo", data_dir=tmp_path)
    assert "empty" in exc.value.errors["file"]


def test_oversize_photo_refused_at_limit_plus_one(tmp_path: Path) -> None:
    limit = MAX_BYTES["photo"]
    assert limit == 10 * MB
    at_limit = JPEG + b"\x00" * (limit - len(JPEG))
    assert (
        len(store_upload(at_limit, declared_name="big.jpg", kind="photo", data_dir=tmp_path).sha256)
        == 64
    )
    with pytest.raises(ValidationError) as exc:
        store_upload(at_limit + b"\x00", declared_name="big.jpg", kind="photo", data_dir=tmp_path)
    assert "at most 10 MB" in exc.value.errors["file"]


def test_traversal_name_is_stored_inside_data_dir_with_random_name(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    stored = store_upload(JPEG, declared_name="../../x.jpg", kind="photo", data_dir=data_dir)
    full = absolute_path(stored.path, data_dir)
    assert full.is_file()
    assert full.resolve().is_relative_to(data_dir.resolve())
    assert full.name != "x.jpg" and len(full.stem) == 32  # uuid4 hex
    assert stored.path.startswith("media/") and ".." not in stored.path
    assert not (tmp_path / "x.jpg").exists() and not (tmp_path.parent / "x.jpg").exists()
    assert stored.original_name == "x.jpg"
    with pytest.raises(ValidationError):
        absolute_path("../outside.jpg", data_dir)


def test_identical_uploads_get_different_files_and_sha256(tmp_path: Path) -> None:
    a = store_upload(JPEG, declared_name="same.jpg", kind="photo", data_dir=tmp_path)
    b = store_upload(JPEG, declared_name="same.jpg", kind="photo", data_dir=tmp_path)
    assert a.path != b.path
    assert a.sha256 == b.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert a.size_bytes == len(JPEG)
    assert absolute_path(a.path, tmp_path).read_bytes() == JPEG
    # no temporary files are left behind
    assert not [p for p in tmp_path.rglob(".upload-*")]


def test_uses_settings_data_dir_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from db.settings import get_settings

    monkeypatch.setenv("DATA_DIR", str(tmp_path / "dd"))
    get_settings.cache_clear()
    try:
        stored = store_upload(PNG, declared_name="p.png", kind="photo")
        assert (tmp_path / "dd" / stored.path).is_file()
    finally:
        get_settings.cache_clear()


def test_never_overwrites_an_existing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = store_upload(JPEG, declared_name="a.jpg", kind="photo", data_dir=tmp_path)
    fixed = Path(first.path).stem

    class FixedUUID:
        hex = fixed

    monkeypatch.setattr(media.uuid, "uuid4", lambda: FixedUUID())
    with pytest.raises(FileExistsError):
        store_upload(JPEG + b"other", declared_name="b.jpg", kind="photo", data_dir=tmp_path)
    assert absolute_path(first.path, tmp_path).read_bytes() == JPEG


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_replace(src: str, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(media.os, "replace", broken_replace)
    with pytest.raises(OSError):
        store_upload(JPEG, declared_name="a.jpg", kind="photo", data_dir=tmp_path)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))
    assert os.path.isdir(tmp_path)
