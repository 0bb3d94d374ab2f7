"""Installation reports and media (seed 001 "Capture installation reports ... media").

* ``submit_installation_report`` records the post-installation report: charger serial and
  model are mandatory, the serial is unique across all reports, the model is a charger from the
  material catalogue; demo completion is tracked but not blocking; the customer signature is
  recommended, not required (a missing one comes back as a warning). It does NOT change the
  installation's status: the lifecycle command's ``completed -> report_submitted`` transition
  checks that this report exists.
* ``add_installation_media`` stores a photo, video, signature or document (``domain.media``).

Field engineers act only on installations their team holds an active assignment for
(``installation_assignment.released_at IS NULL``); an oem_viewer reads only its own OEM's.

Files are written to disk before the database row that points at them. If the row cannot be
flushed, the file is removed before the error propagates. A file can still be orphaned when the
caller's transaction is rolled back *after* the command returned (e.g. a later command in the
same unit of work fails, or the commit itself fails); such files have no ``installation_media``
row and are harmless, and a sweep may delete media files no row points at.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.types import utcnow
from domain import audit
from domain.actor import Actor
from domain.errors import Conflict, NotFound, PermissionDenied, TransitionError, ValidationError
from domain.installations.models import (
    MEDIA_KINDS,
    Installation,
    InstallationAssignment,
    InstallationMedia,
    InstallationReport,
)
from domain.leads.models import Lead
from domain.media import StoredFile, remove_stored, store_upload
from domain.permissions import require
from domain.procurement.models import Material
from domain.reporting.months import require_installation_month_open

#: statuses in which the report may be recorded or corrected
REPORT_STATUSES = ("in_progress", "completed")
#: statuses in which no media may be added any more
MEDIA_CLOSED_STATUSES = ("closed", "cancelled")
SERIAL_RE = re.compile(r"^[A-Z0-9][A-Z0-9./_-]{2,63}$")
SIGNATURE_MISSING = "no customer signature: it is strongly recommended (seed 001)"


@dataclass(frozen=True)
class MediaDTO:
    """A stored media file of an installation; ``file_path`` is relative to the data dir."""

    id: uuid.UUID
    installation_id: uuid.UUID
    kind: str
    file_path: str
    content_type: str
    size_bytes: int
    sha256: str
    caption: str | None
    uploaded_by_id: uuid.UUID | None
    created_at: datetime


@dataclass(frozen=True)
class ReportDTO:
    """An installation report. ``warnings`` lists recommendations not met (no signature)."""

    id: uuid.UUID
    installation_id: uuid.UUID
    installation_ref: str
    charger_serial: str
    charger_model_id: uuid.UUID
    charger_model_name: str
    success: bool
    issues: str | None
    demo_done: bool
    demo_signed_off: bool
    signature_media_id: uuid.UUID | None
    submitted_by_id: uuid.UUID | None
    submitted_at: datetime | None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChargerModel:
    """A charger in the material catalogue (rated power in kW)."""

    id: uuid.UUID
    sku: str
    name: str
    power_kw: float | None

    @property
    def label(self) -> str:
        kw = f" ({self.power_kw:g} kW)" if self.power_kw is not None else ""
        return f"{self.name}{kw} [{self.sku}]"


def media_dto(m: InstallationMedia) -> MediaDTO:
    """The ``MediaDTO`` of a media row."""
    return MediaDTO(
        id=m.id,
        installation_id=m.installation_id,
        kind=m.kind,
        file_path=m.file_path,
        content_type=m.content_type,
        size_bytes=m.size_bytes,
        sha256=m.sha256,
        caption=m.caption,
        uploaded_by_id=m.uploaded_by_id,
        created_at=m.created_at,
    )


def _report_dto(
    r: InstallationReport, ref: str, model_name: str, warnings: tuple[str, ...] = ()
) -> ReportDTO:
    return ReportDTO(
        id=r.id,
        installation_id=r.installation_id,
        installation_ref=ref,
        charger_serial=r.charger_serial,
        charger_model_id=r.charger_model_id,
        charger_model_name=model_name,
        success=r.success,
        issues=r.issues,
        demo_done=r.demo_done,
        demo_signed_off=r.demo_signed_off,
        signature_media_id=r.signature_media_id,
        submitted_by_id=r.submitted_by_id,
        submitted_at=r.submitted_at,
        warnings=warnings,
    )


def team_holds(session: Session, team_id: uuid.UUID | None, installation_id: uuid.UUID) -> bool:
    """True when ``team_id`` has an active (unreleased) assignment on the installation."""
    if team_id is None:
        return False
    return bool(
        session.execute(
            select(
                exists().where(
                    InstallationAssignment.installation_id == installation_id,
                    InstallationAssignment.team_id == team_id,
                    InstallationAssignment.released_at.is_(None),
                )
            )
        ).scalar()
    )


def installation_for(session: Session, actor: Actor, installation_id: uuid.UUID) -> Installation:
    """Load an installation the actor may see/act on (permission checks are the caller's).

    Field engineers: only their team's (active assignment); oem_viewers: only their OEM's.

    Raises:
        NotFound: no such installation, or another OEM's for an oem_viewer.
        PermissionDenied: a field engineer whose team is not assigned to it.
    """
    inst = session.get(Installation, installation_id)
    if inst is None:
        raise NotFound("installation not found")
    if actor.role == "oem_viewer":
        oem_id = session.execute(select(Lead.oem_id).where(Lead.id == inst.lead_id)).scalar()
        if actor.oem_id is None or oem_id != actor.oem_id:
            raise NotFound("installation not found")
    if actor.role == "field_engineer" and not team_holds(session, actor.team_id, inst.id):
        raise PermissionDenied(f"installation {inst.ref} is not assigned to your team")
    return inst


def normalise_serial(value: str | None) -> str:
    """Charger serial stripped and upper-cased; 3-64 of ``A-Z 0-9 . / _ -``.

    Raises:
        ValidationError: ``charger_serial`` missing or malformed.
    """
    serial = (value or "").strip().upper()
    if not serial:
        raise ValidationError({"charger_serial": "the charger serial number is required"})
    if not SERIAL_RE.match(serial):
        raise ValidationError(
            {"charger_serial": "use 3-64 letters, digits, '.', '/', '_' or '-' (no spaces)"}
        )
    return serial


def list_charger_models(session: Session, *, active_only: bool = True) -> list[ChargerModel]:
    """Chargers of the material catalogue (category ``charger``), ordered by name."""
    stmt = (
        select(Material.id, Material.sku, Material.name, Material.power_kw)
        .where(Material.category == "charger")
        .order_by(Material.name, Material.sku)
    )
    if active_only:
        stmt = stmt.where(Material.active.is_(True))
    return [
        ChargerModel(r.id, r.sku, r.name, float(r.power_kw) if r.power_kw is not None else None)
        for r in session.execute(stmt).all()
    ]


def _cleanup(files: list[StoredFile], data_dir: Path | None) -> None:
    for f in files:
        remove_stored(f.path, data_dir)


def _add_media_row(
    session: Session,
    actor: Actor,
    installation_id: uuid.UUID,
    stored: StoredFile,
    kind: str,
    caption: str | None,
) -> InstallationMedia:
    media = InstallationMedia(
        installation_id=installation_id,
        kind=kind,
        file_path=stored.path,
        content_type=stored.content_type,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        caption=(caption or "").strip()[:200] or stored.original_name or None,
        uploaded_by_id=actor.user_id,
    )
    session.add(media)
    return media


def store_media(
    session: Session,
    actor: Actor,
    *,
    installation_id: uuid.UUID,
    data: bytes,
    filename: str | None,
    kind: str,
    caption: str | None,
    data_dir: Path | None = None,
) -> InstallationMedia:
    """Store an uploaded file (``domain.media.store_upload``: checked by content and size,
    random name, sha256) and add its ``installation_media`` row, flushed in a savepoint.
    The caller has checked permission and state, and audits.

    If the row cannot be written the stored file is removed again, so no file is left
    without its row.

    Returns:
        The flushed ``InstallationMedia`` row.

    Raises:
        ValidationError: ``file`` empty, too large or of a wrong type for ``kind``.
        Conflict: the row could not be recorded (a concurrent write); nothing is left.
    """
    stored = store_upload(data, declared_name=filename, kind=kind, data_dir=data_dir)  # type: ignore[arg-type]
    try:
        with session.begin_nested():
            media = _add_media_row(session, actor, installation_id, stored, kind, caption)
            session.flush()
    except IntegrityError as exc:
        remove_stored(stored.path, data_dir)
        raise Conflict("the file could not be recorded; try again") from exc
    except BaseException:
        remove_stored(stored.path, data_dir)
        raise
    return media


def submit_installation_report(
    session: Session,
    actor: Actor,
    *,
    installation_id: uuid.UUID,
    charger_serial: str,
    charger_model_id: uuid.UUID | None,
    success: bool,
    issues: str | None,
    demo_done: bool,
    demo_signed_off: bool,
    signature: bytes | None = None,
    signature_name: str | None = None,
    data_dir: Path | None = None,
) -> ReportDTO:
    """Record (or correct) the installation report of an in-progress or completed installation.

    Seed 001: serial and model mandatory; demo tracked, not blocking (``installation.
    demo_completed`` is set from ``demo_done``); signature recommended, not required.
    Resubmitting replaces the fields (a new signature replaces the old one; without a new
    signature the previous one is kept). The installation's status is not changed.

    Args:
        charger_serial: normalised to upper case; unique across all reports.
        charger_model_id: a ``material`` of category ``charger``.
        issues: free text (None/blank = none); required when ``success`` is False.
        signature: optional image bytes (JPEG/PNG/WebP/HEIC ≤ 10 MB), stored as media
            ``kind='signature'``; ``signature_name`` is the uploaded file's name.
        data_dir: media root (default ``settings.data_dir``).

    Returns:
        ``ReportDTO``; ``warnings`` names the missing signature when there is none.

    Raises:
        PermissionDenied: no ``installation.transition``, or a field engineer of another team.
        NotFound: no such installation.
        TransitionError: the installation is not ``in_progress`` or ``completed``.
        ValidationError: ``charger_serial``, ``charger_model_id``, ``issues`` or ``signature``
            (not an accepted image, too large).
        Conflict: the serial is already on another installation's report.
    """
    require(actor, "installation.transition")
    inst = installation_for(session, actor, installation_id)
    require_installation_month_open(session, inst)
    if inst.status not in REPORT_STATUSES:
        raise TransitionError(
            f"installation {inst.ref} is {inst.status}; the report is recorded while it is "
            "in progress or completed"
        )
    errors: dict[str, str] = {}
    serial = None
    try:
        serial = normalise_serial(charger_serial)
    except ValidationError as e:
        errors.update(e.errors)
    model = session.get(Material, charger_model_id) if charger_model_id else None
    if charger_model_id is None:
        errors["charger_model_id"] = "the charger model is required"
    elif model is None:
        errors["charger_model_id"] = "unknown material"
    elif model.category != "charger":
        errors["charger_model_id"] = f"{model.name} is not a charger ({model.category})"
    issues_text = (issues or "").strip() or None
    if not success and issues_text is None:
        errors["issues"] = "describe what went wrong when the installation did not succeed"
    if errors:
        raise ValidationError(errors)
    assert serial is not None and model is not None
    taken_by = session.execute(
        select(Installation.ref)
        .join(InstallationReport, InstallationReport.installation_id == Installation.id)
        .where(
            InstallationReport.charger_serial == serial,
            InstallationReport.installation_id != inst.id,
        )
    ).scalar()
    if taken_by is not None:
        raise Conflict(f"charger serial {serial} is already recorded on installation {taken_by}")

    report = session.execute(
        select(InstallationReport).where(InstallationReport.installation_id == inst.id)
    ).scalar_one_or_none()
    before = (
        None
        if report is None
        else {
            "charger_serial": report.charger_serial,
            "charger_model_id": report.charger_model_id,
            "success": report.success,
            "demo_done": report.demo_done,
            "demo_signed_off": report.demo_signed_off,
            "signature_media_id": report.signature_media_id,
        }
    )
    stored: list[StoredFile] = []
    if signature:
        try:
            stored.append(
                store_upload(
                    signature,
                    declared_name=signature_name or "signature",
                    kind="signature",
                    data_dir=data_dir,
                )
            )
        except ValidationError as e:  # name the form field: the signature, not a generic file
            raise ValidationError({"signature": e.errors.get("file", str(e))}) from e
    try:
        with session.begin_nested():
            sig = (
                _add_media_row(
                    session, actor, inst.id, stored[0], "signature", "Customer signature"
                )
                if stored
                else None
            )
            if sig is not None:
                session.flush()
            if report is None:
                report = InstallationReport(installation_id=inst.id)
                session.add(report)
            report.charger_serial = serial
            report.charger_model_id = model.id
            report.success = bool(success)
            report.issues = issues_text
            report.demo_done = bool(demo_done)
            report.demo_signed_off = bool(demo_signed_off)
            if sig is not None:
                report.signature_media_id = sig.id
            report.submitted_by_id = actor.user_id
            report.submitted_at = utcnow()
            inst.demo_completed = bool(demo_done)
            session.flush()
    except IntegrityError as exc:
        _cleanup(stored, data_dir)
        raise Conflict(
            f"charger serial {serial} is already recorded on another installation"
        ) from exc
    except BaseException:
        _cleanup(stored, data_dir)
        raise
    warnings = () if report.signature_media_id else (SIGNATURE_MISSING,)
    audit.record(
        session,
        actor,
        "installation.report",
        entity_type="installation",
        entity_id=inst.id,
        before=before,
        after={
            "ref": inst.ref,
            "charger_serial": serial,
            "charger_model_id": model.id,
            "success": report.success,
            "demo_done": report.demo_done,
            "demo_signed_off": report.demo_signed_off,
            "signature_media_id": report.signature_media_id,
            "warnings": list(warnings),
        },
    )
    session.flush()
    return _report_dto(report, inst.ref, model.name, warnings)


def get_report(session: Session, actor: Actor, installation_id: uuid.UUID) -> ReportDTO | None:
    """The installation's report, or None when none was recorded yet.

    ``warnings`` names a missing signature. Raises ``PermissionDenied`` (no
    ``installation.read``, or a field engineer of another team) or ``NotFound``.
    """
    require(actor, "installation.read")
    inst = installation_for(session, actor, installation_id)
    row = session.execute(
        select(InstallationReport, Material.name)
        .join(Material, Material.id == InstallationReport.charger_model_id)
        .where(InstallationReport.installation_id == inst.id)
    ).first()
    if row is None:
        return None
    report, model_name = row
    warnings = () if report.signature_media_id else (SIGNATURE_MISSING,)
    return _report_dto(report, inst.ref, model_name, warnings)


def add_installation_media(
    session: Session,
    actor: Actor,
    *,
    installation_id: uuid.UUID,
    data: bytes,
    filename: str,
    kind: str,
    caption: str | None = None,
    data_dir: Path | None = None,
) -> MediaDTO:
    """Store a photo, video, signature or document of an installation.

    The type is detected from the bytes (``domain.media.store_upload``); the file name is kept
    only as the caption when no caption is given.

    Raises:
        PermissionDenied: no ``installation.transition``, or a field engineer of another team.
        NotFound: no such installation.
        TransitionError: the installation is closed or cancelled.
        ValidationError: ``kind`` or ``file`` (empty, too large, wrong type).
    """
    require(actor, "installation.transition")
    inst = installation_for(session, actor, installation_id)
    require_installation_month_open(session, inst)
    if kind not in MEDIA_KINDS:
        raise ValidationError({"kind": f"'{kind}' is not one of {', '.join(MEDIA_KINDS)}"})
    if inst.status in MEDIA_CLOSED_STATUSES:
        raise TransitionError(f"installation {inst.ref} is {inst.status}; no media can be added")
    media = store_media(
        session,
        actor,
        installation_id=inst.id,
        data=data,
        filename=filename,
        kind=kind,
        caption=caption,
        data_dir=data_dir,
    )
    audit.record(
        session,
        actor,
        "installation.media_add",
        entity_type="installation_media",
        entity_id=media.id,
        after={
            "installation": inst.ref,
            "kind": kind,
            "file_path": media.file_path,
            "content_type": media.content_type,
            "size_bytes": media.size_bytes,
            "sha256": media.sha256,
        },
    )
    session.flush()
    return media_dto(media)


def list_media(
    session: Session, actor: Actor, installation_id: uuid.UUID, *, kind: str | None = None
) -> list[MediaDTO]:
    """Media of an installation, oldest first (optionally one ``kind``).

    Raises:
        PermissionDenied: no ``installation.read``, or a field engineer of another team.
        NotFound: no such installation (or another OEM's for an oem_viewer).
    """
    require(actor, "installation.read")
    inst = installation_for(session, actor, installation_id)
    stmt = select(InstallationMedia).where(InstallationMedia.installation_id == inst.id)
    if kind is not None:
        stmt = stmt.where(InstallationMedia.kind == kind)
    rows = session.execute(
        stmt.order_by(InstallationMedia.created_at, InstallationMedia.id)
    ).scalars()
    return [media_dto(m) for m in rows]
