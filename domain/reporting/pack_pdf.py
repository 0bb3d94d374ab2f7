"""The closure-pack PDF (issue 5 item 2), built with ``domain.reporting.pdf.ReportPDF``.

Sections: pack summary (ref, version, status, OEM, installation, dates), customer and site,
survey findings, charger (serial and model, outcome), photos as thumbnails (Pillow shrinks
each image to at most 600 px and re-encodes it as JPEG; HEIC or damaged files are listed by
caption instead), the OEM's evidence checklist with present/missing, and the customer's
signature image when there is one.

``render_pack_pdf`` is pure (a ``PackDetail`` in, bytes out); ``domain.reporting.packs``
writes it atomically on compile and submit. ``pack_pdf_bytes`` serves a stored PDF for
download after the permission and oem_viewer isolation checks.
"""

from __future__ import annotations

import io
import uuid
import warnings
from pathlib import Path

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.settings import get_settings
from domain.actor import Actor
from domain.calendar import to_local
from domain.errors import NotFound, ValidationError
from domain.media import absolute_path
from domain.permissions import require
from domain.reporting.dto import PackDetail, PackFile, PackPhoto
from domain.reporting.models import ClosurePackRevision
from domain.reporting.packs import load_pack
from domain.reporting.pdf import ReportPDF

THUMB_PX = 600
THUMB_MM = 42.0
THUMBS_PER_ROW = 4
GAP_MM = 4.0
CAPTION_MM = 8.0


def _when(moment: object) -> str:
    if moment is None:
        return "—"
    return to_local(moment).strftime("%d %b %Y %H:%M")  # type: ignore[arg-type]


def thumbnail_jpeg(path: Path, max_px: int = THUMB_PX) -> tuple[bytes, float] | None:
    """A JPEG thumbnail of the image at ``path`` (longest side ≤ ``max_px``) and its
    height/width ratio, or None when Pillow cannot open it (HEIC, damaged, missing)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.thumbnail((max_px, max_px))
                rgb = img.convert("RGB")
    except Exception:  # Pillow raises many types; an unreadable image is listed, not drawn
        return None
    buf = io.BytesIO()
    rgb.save(buf, "JPEG", quality=80)
    return buf.getvalue(), rgb.height / max(rgb.width, 1)


def _thumbnails(pdf: ReportPDF, photos: list[PackPhoto], root: Path) -> None:
    """Draw the photos as a grid of thumbnails with their captions."""
    unreadable: list[str] = []
    col = 0
    row_top = pdf.get_y()
    for photo in photos:
        try:
            thumb = thumbnail_jpeg(absolute_path(photo.file_path, root))
        except ValidationError:
            thumb = None
        label = f"{photo.kind}: {photo.caption or '—'}"
        if thumb is None:
            unreadable.append(label)
            continue
        data, ratio = thumb
        if col == 0:
            row_top = pdf.get_y()
            if row_top + THUMB_MM + CAPTION_MM > pdf.page_break_trigger:
                pdf.add_page()
                row_top = pdf.get_y()
        x = pdf.l_margin + col * (THUMB_MM + GAP_MM)
        w, h = THUMB_MM, THUMB_MM * ratio
        if h > THUMB_MM:
            w, h = THUMB_MM / ratio, THUMB_MM
        pdf.image(io.BytesIO(data), x=x, y=row_top, w=w, h=h)
        pdf.set_xy(x, row_top + THUMB_MM + 1)
        pdf.set_font("DejaVu", "", 7)
        pdf.multi_cell(THUMB_MM, 3.2, label[:60], max_line_height=3.2)
        col += 1
        if col == THUMBS_PER_ROW:
            col = 0
            pdf.set_xy(pdf.l_margin, row_top + THUMB_MM + CAPTION_MM + 2)
    if col:
        pdf.set_xy(pdf.l_margin, row_top + THUMB_MM + CAPTION_MM + 2)
    if unreadable:
        pdf.paragraph("Not shown (no preview): " + "; ".join(unreadable), size=8)
    pdf.set_font("DejaVu", "", 10)


def render_pack_pdf(
    detail: PackDetail, *, data_dir: Path | None = None, generated_at: object = None
) -> bytes:
    """The closure pack as a PDF document.

    Args:
        detail: the pack as ``domain.reporting.packs`` builds it.
        data_dir: root of the stored media (default ``settings.data_dir``).
        generated_at: aware datetime for the footer stamp (default now).

    Returns:
        The PDF bytes (A4, DejaVu font so ₹ and Indian names render, "Page n of N").
    """
    root = Path(data_dir if data_dir is not None else get_settings().data_dir).resolve()
    pdf = ReportPDF(
        f"Closure pack {detail.ref} · version {detail.version} · {detail.oem_name}",
        generated_at=generated_at,  # type: ignore[arg-type]
    )
    pdf.heading(f"Closure pack {detail.ref}", size=16)
    pdf.key_values(
        [
            ("Status", f"{detail.status} (OEM response: {detail.oem_response})"),
            ("Version", str(detail.version)),
            ("OEM", f"{detail.oem_name} ({detail.oem_code})"),
            ("Installation", f"{detail.installation_ref} ({detail.installation_status})"),
            ("Lead", detail.lead_ref),
            ("Survey", detail.survey_ref),
            ("Installed on", _when(detail.completed_at)),
            ("Compiled", f"{_when(detail.compiled_at)} by {detail.compiled_by or '—'}"),
            ("Submitted to OEM", _when(detail.submitted_to_oem_at)),
        ]
    )
    if detail.revision_reason:
        pdf.key_values([("Revision requested", detail.revision_reason)])

    pdf.heading("Customer and site")
    pdf.key_values(
        [
            ("Customer", detail.customer_name),
            ("Phone", detail.phone),
            ("Address", f"{detail.address}, {detail.city} {detail.pincode}"),
            ("Zone", detail.zone_name),
        ]
    )

    pdf.heading("Survey findings")
    pdf.key_values(list(detail.survey_findings))

    pdf.heading("Charger")
    pdf.key_values(
        [
            ("Charger serial", detail.charger_serial),
            ("Charger model", detail.charger_model),
            ("Installation outcome", "successful" if detail.installation_success else "failed"),
            ("Issues", detail.installation_issues or "—"),
            ("Confirmation call", "done" if detail.confirmation_call_completed else "not done"),
        ]
    )

    pdf.heading("Evidence checklist")
    pdf.data_table(
        ["Item", "Status", "Detail"],
        [(i.label, "PRESENT" if i.present else "MISSING", i.detail) for i in detail.checklist],
        col_widths=(50, 25, 105),
    )
    missing = detail.missing
    pdf.paragraph(
        "Complete: every required item is present."
        if not missing
        else f"Incomplete: missing {', '.join(missing)}."
    )

    photos = [p for p in detail.photos if p.kind != "signature"]
    pdf.heading("Photos")
    if photos:
        _thumbnails(pdf, photos, root)
    else:
        pdf.paragraph("No photos.")

    signatures = [p for p in detail.photos if p.kind == "signature"]
    signature = next(
        (p for p in signatures if p.media_id == detail.signature_media_id),
        signatures[-1] if signatures else None,
    )
    pdf.heading("Customer signature")
    if signature is None:
        pdf.paragraph("No signature on file.")
    else:
        try:
            thumb = thumbnail_jpeg(absolute_path(signature.file_path, root))
        except ValidationError:
            thumb = None
        if thumb is None:
            pdf.paragraph("Signature on file (no preview).")
        else:
            data, ratio = thumb
            w = 60.0
            if pdf.get_y() + w * ratio > pdf.page_break_trigger:
                pdf.add_page()
            pdf.image(io.BytesIO(data), x=pdf.l_margin, w=w, h=w * ratio)
            pdf.paragraph(f"Signed by {detail.customer_name}", size=8)
    return pdf.to_bytes()


def pack_pdf_bytes(
    session: Session,
    actor: Actor,
    *,
    pack_id: uuid.UUID,
    version: int | None = None,
    data_dir: Path | None = None,
) -> PackFile:
    """The stored PDF of a pack (current version, or an earlier ``version`` kept by a
    revision request) for download.

    Returns:
        ``PackFile(filename="<ref>-v<version>.pdf", data=...)``.

    Raises:
        PermissionDenied: without ``closure_pack.read``.
        NotFound: unknown pack or version, another OEM's pack for an oem_viewer, or no PDF
            (a draft not compiled yet, or the file is gone).
    """
    require(actor, "closure_pack.read")
    pack = load_pack(session, actor, pack_id)
    if version is None or version == pack.version:
        relative, shown = pack.report_file, pack.version
    else:
        relative = session.execute(
            select(ClosurePackRevision.report_file).where(
                ClosurePackRevision.closure_pack_id == pack.id,
                ClosurePackRevision.version == version,
            )
        ).scalar()
        shown = version
    if not relative:
        raise NotFound(f"closure pack {pack.ref} version {shown} has no PDF; compile it first")
    root = Path(data_dir if data_dir is not None else get_settings().data_dir).resolve()
    path = absolute_path(relative, root)
    if not path.is_file():
        raise NotFound(f"the PDF of closure pack {pack.ref} version {shown} is missing")
    return PackFile(filename=f"{pack.ref}-v{shown}.pdf", data=path.read_bytes())
