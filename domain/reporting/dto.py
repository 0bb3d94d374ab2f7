"""Closure-pack DTOs (frozen dataclasses) returned by ``domain.reporting.packs``.

Other reporting modules keep their DTOs in their own modules.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from domain.paging import Page


@dataclass(frozen=True)
class ChecklistItem:
    """One required evidence item of the OEM's checklist.

    ``key`` is the OEM's evidence key (e.g. ``serial_plate_photo``), ``label`` its display
    name, ``present`` whether the data holds it, ``detail`` what was found or what to add.
    """

    key: str
    label: str
    present: bool
    detail: str


@dataclass(frozen=True)
class PackRow:
    """A closure pack in the list (times are aware UTC datetimes)."""

    id: uuid.UUID
    ref: str
    installation_id: uuid.UUID
    installation_ref: str
    oem_code: str
    customer_name: str
    status: str
    oem_response: str
    version: int
    compiled_at: datetime | None
    submitted_to_oem_at: datetime | None


@dataclass(frozen=True)
class PackPage(Page):
    """A page of closure packs."""

    row_type: ClassVar[type] = PackRow


@dataclass(frozen=True)
class CompilableInstallation:
    """A ``report_submitted`` installation whose pack can be compiled (new or reopened)."""

    installation_id: uuid.UUID
    installation_ref: str
    customer_name: str
    oem_code: str
    pack_ref: str | None
    pack_status: str | None

    @property
    def label(self) -> str:
        pack = f" · pack {self.pack_ref} ({self.pack_status})" if self.pack_ref else ""
        return f"{self.installation_ref} · {self.customer_name} · {self.oem_code}{pack}"


@dataclass(frozen=True)
class PackPhoto:
    """An image of the installation shown in the pack (path relative to the data dir)."""

    media_id: uuid.UUID
    kind: str
    caption: str | None
    file_path: str
    content_type: str
    created_at: datetime


@dataclass(frozen=True)
class PackRevisionDTO:
    """An earlier version of a pack kept when the OEM asked for a revision.

    ``missing`` lists the checklist labels missing at that version (from the snapshot).
    """

    version: int
    reason: str | None
    created_at: datetime
    report_file: str | None
    missing: tuple[str, ...]
    snapshot: dict


@dataclass(frozen=True)
class PackSubmissionDTO:
    """One ``report_submission`` of the pack to its OEM."""

    id: uuid.UUID
    submitted_at: datetime
    submitted_by: str | None
    acknowledged: bool
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class PackDetail:
    """Everything the pack page and the PDF show about one closure pack.

    ``survey_findings`` and ``charger`` are (label, value) pairs ready to print; ``photos``
    are the installation's images (photos, signatures, image documents), oldest first.
    """

    id: uuid.UUID
    ref: str
    status: str
    oem_response: str
    version: int
    revision_reason: str | None
    confirmation_call_completed: bool
    compiled_at: datetime | None
    compiled_by: str | None
    submitted_to_oem_at: datetime | None
    report_file: str | None
    installation_id: uuid.UUID
    installation_ref: str
    installation_status: str
    completed_at: datetime | None
    lead_ref: str
    oem_id: uuid.UUID
    oem_code: str
    oem_name: str
    customer_name: str
    phone: str
    address: str
    city: str
    pincode: str
    zone_name: str
    survey_ref: str
    survey_findings: tuple[tuple[str, str], ...]
    charger_serial: str
    charger_model: str
    installation_success: bool
    installation_issues: str | None
    signature_media_id: uuid.UUID | None
    checklist: tuple[ChecklistItem, ...]
    photos: tuple[PackPhoto, ...]
    revisions: tuple[PackRevisionDTO, ...] = ()
    submissions: tuple[PackSubmissionDTO, ...] = ()

    @property
    def missing(self) -> tuple[str, ...]:
        """Labels of the checklist items not present."""
        return tuple(i.label for i in self.checklist if not i.present)

    @property
    def complete(self) -> bool:
        """True when every required evidence item is present."""
        return not self.missing


@dataclass(frozen=True)
class PackFile:
    """A pack PDF to download: suggested file name and bytes."""

    filename: str
    data: bytes
