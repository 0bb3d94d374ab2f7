"""Safe storage of uploaded media (installation photos, videos, signatures, documents).

Rules (DESIGN.md ``installation_media``; seed 001 "Capture installation media"):

* The content type is detected from the bytes (magic numbers), never from the file name or the
  browser's claim: a renamed ``.exe`` (``MZ`` header) called ``photo.jpg`` is refused.
* JPEG, PNG and WebP images must also open with Pillow (header decodes, ``verify()`` passes,
  not a decompression bomb): a file with a JPEG magic number and junk after it is refused, so
  the gallery (``st.image``, which opens images with Pillow) never meets an undecodable image.
  HEIC is accepted on its magic number alone (Pillow has no HEIC decoder without a plugin).
* Each kind accepts its own types and sizes (``ALLOWED_TYPES``, ``MAX_BYTES``); empty files are
  refused.
* Files are stored as ``<data_dir>/media/YYYY/MM/<uuid4 hex><ext of the detected type>``: the
  declared name is never part of the path (it is only returned as ``original_name`` for a
  caption), so ``../../x.jpg`` cannot leave the data directory; the resolved path is also
  checked to be inside ``data_dir``.
* Writes are atomic and never overwrite: the final name is reserved with ``O_CREAT | O_EXCL``,
  the bytes go to a temporary file in the same directory (fsynced), which then replaces the
  reserved empty file with ``os.replace``; a reader never sees a half-written file.

Files are written before the database row that points at them; callers remove the file with
``remove_stored`` when their flush fails (see ``domain.installations.reports``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Literal

from PIL import Image

from db.settings import get_settings
from db.types import utcnow
from domain.calendar import local_date
from domain.errors import ValidationError

MediaKind = Literal["photo", "video", "signature", "document"]

MB = 1024 * 1024
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic"})
VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime", "video/webm"})

#: content types each kind accepts
ALLOWED_TYPES: dict[str, frozenset[str]] = {
    "photo": IMAGE_TYPES,
    "signature": IMAGE_TYPES,
    "video": VIDEO_TYPES,
    "document": IMAGE_TYPES | {"application/pdf"},
}
#: largest accepted file per kind, in bytes (MB = 1,048,576 bytes)
MAX_BYTES: dict[str, int] = {
    "photo": 10 * MB,
    "signature": 10 * MB,
    "video": 200 * MB,
    "document": 20 * MB,
}
#: file extension used for each detected content type
EXTENSIONS: dict[str, str] = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "application/pdf": ".pdf",
}
#: types that are decoded with Pillow before they are accepted, with Pillow's format name
PIL_FORMATS: dict[str, str] = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1"})
_MP4_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash"}
)
_QUICKTIME_BRANDS = frozenset({b"qt  "})


@dataclass(frozen=True)
class StoredFile:
    """A stored upload.

    Attributes:
        path: POSIX path relative to the data directory (``media/2026/11/<hex>.jpg``).
        content_type: detected MIME type (e.g. ``image/jpeg``).
        size_bytes: file size in bytes (> 0).
        sha256: hex SHA-256 of the bytes.
        original_name: the declared file name's last component (for captions only).
    """

    path: str
    content_type: str
    size_bytes: int
    sha256: str
    original_name: str


def detect_content_type(data: bytes) -> str | None:
    """MIME type from the leading bytes (magic numbers), or None when not recognised.

    JPEG ``FF D8 FF``; PNG ``89 50 4E 47 0D 0A 1A 0A``; WebP ``RIFF....WEBP``; ISO base
    media ``....ftyp<brand>``: HEIC (heic/heix/mif1/msf1...), QuickTime (``qt  ``) or MP4
    (isom/mp41/mp42/avc1...); WebM: EBML ``1A 45 DF A3`` with DocType ``webm``; PDF ``%PDF-``.
    """
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if len(data) >= 12 and data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in _HEIC_BRANDS:
            return "image/heic"
        if brand in _QUICKTIME_BRANDS:
            return "video/quicktime"
        if brand in _MP4_BRANDS:
            return "video/mp4"
        return None
    if data.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in data[:64]:
        return "video/webm"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def _human(n: int) -> str:
    return f"{n / MB:.0f} MB" if n >= MB else f"{n} bytes"


def original_name(declared_name: str) -> str:
    """The last path component of a declared name (``../../x.jpg`` -> ``x.jpg``), ≤ 200 chars."""
    cleaned = (declared_name or "").replace("\\", "/").replace("\x00", "")
    return PurePath(cleaned).name[:200]


def validate_upload(data: bytes, kind: str, *, max_bytes: int | None = None) -> str:
    """Check an upload's kind, size and detected type; return the detected content type.

    Args:
        kind: ``photo``, ``video``, ``signature`` or ``document``.
        max_bytes: override of ``MAX_BYTES[kind]`` (bytes).

    Raises:
        ValidationError: ``kind`` unknown; ``file`` empty, too large, not a recognised type
            or a type this kind does not accept.
    """
    if kind not in ALLOWED_TYPES:
        raise ValidationError({"kind": f"'{kind}' is not one of {', '.join(ALLOWED_TYPES)}"})
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValidationError({"file": "no file content"})
    size = len(data)
    if size == 0:
        raise ValidationError({"file": "the file is empty"})
    limit = MAX_BYTES[kind] if max_bytes is None else max_bytes
    if size > limit:
        raise ValidationError({"file": f"a {kind} may be at most {_human(limit)}"})
    content_type = detect_content_type(bytes(data[:64]))
    allowed = ALLOWED_TYPES[kind]
    if content_type is None:
        raise ValidationError(
            {"file": "unrecognised file content; upload " + _allowed_text(allowed)}
        )
    if content_type not in allowed:
        raise ValidationError(
            {"file": f"{content_type} is not accepted as a {kind}; upload {_allowed_text(allowed)}"}
        )
    if content_type in PIL_FORMATS:
        _verify_image(data, content_type)
    return content_type


def _verify_image(data: bytes, content_type: str) -> None:
    """Refuse an image Pillow cannot open and verify (or a decompression bomb)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(bytes(data))) as img:
                fmt = img.format
                img.verify()
    except Exception as exc:  # Pillow raises many types (OSError, SyntaxError, ValueError...)
        raise ValidationError({"file": "the image is damaged or not a real image"}) from exc
    if fmt != PIL_FORMATS[content_type]:
        raise ValidationError({"file": "the image is damaged or not a real image"})


def _allowed_text(allowed: frozenset[str]) -> str:
    return ", ".join(sorted(EXTENSIONS[t].lstrip(".").upper() for t in allowed))


def media_root(data_dir: Path | None = None) -> Path:
    """The resolved data directory (``settings.data_dir`` when not given)."""
    return Path(data_dir if data_dir is not None else get_settings().data_dir).resolve()


def absolute_path(relative: str, data_dir: Path | None = None) -> Path:
    """The absolute path of a stored file.

    Raises:
        ValidationError: ``file`` when the path would leave the data directory.
    """
    root = media_root(data_dir)
    full = (root / relative).resolve()
    if not full.is_relative_to(root):
        raise ValidationError({"file": "path outside the data directory"})
    return full


def store_upload(
    data: bytes,
    *,
    declared_name: str,
    kind: MediaKind,
    data_dir: Path | None = None,
    max_bytes: int | None = None,
) -> StoredFile:
    """Validate and store an uploaded file under a random name; see the module docstring.

    Args:
        data: the file's bytes.
        declared_name: the name the browser sent; kept only as ``original_name``.
        kind: ``photo`` / ``signature`` (JPEG, PNG, WebP, HEIC, ≤ 10 MB), ``video`` (MP4,
            QuickTime, WebM, ≤ 200 MB), ``document`` (PDF or an image, ≤ 20 MB).
        data_dir: root directory (default ``settings.data_dir``).
        max_bytes: override of the kind's size limit (bytes).

    Returns:
        ``StoredFile`` with the path relative to ``data_dir``.

    Raises:
        ValidationError: naming ``file`` (empty, too large, wrong or unrecognised type) or
            ``kind``.
        OSError: the disk write failed (nothing is left behind).
    """
    content_type = validate_upload(data, kind, max_bytes=max_bytes)
    root = media_root(data_dir)
    today = local_date(utcnow())
    folder = root / "media" / f"{today:%Y}" / f"{today:%m}"
    name = uuid.uuid4().hex + EXTENSIONS[content_type]
    final = (folder / name).resolve()
    if not final.is_relative_to(root):  # cannot happen with a random name; belt and braces
        raise ValidationError({"file": "path outside the data directory"})
    folder.mkdir(parents=True, exist_ok=True)
    # Reserve the name: fails (FileExistsError) rather than overwrite an existing file.
    os.close(os.open(final, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640))
    tmp_name: str | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, final)
        tmp_name = None
    except BaseException:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
        with contextlib.suppress(OSError):
            os.unlink(final)
        raise
    return StoredFile(
        path=final.relative_to(root).as_posix(),
        content_type=content_type,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        original_name=original_name(declared_name),
    )


def remove_stored(relative: str, data_dir: Path | None = None) -> None:
    """Delete a stored file (used when the row that should point at it was not written).

    Missing files are ignored. Raises ``ValidationError`` for a path outside the data dir.
    """
    with contextlib.suppress(FileNotFoundError):
        absolute_path(relative, data_dir).unlink()
