"""Plain data returned by lead commands and queries (never ORM objects)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import ClassVar

import pandas as pd

from domain.leads.models import Lead
from domain.paging import Page


@dataclass(frozen=True)
class LeadDTO:
    """One lead as stored; ``received_at`` aware UTC, phone E.164."""

    id: uuid.UUID
    ref: str
    oem_id: uuid.UUID
    oem_lead_ref: str
    customer_name: str
    phone: str
    email: str | None
    address: str
    city: str
    pincode: str
    zone_id: uuid.UUID
    vehicle_model: str | None
    requested_charger_type: str | None
    received_at: datetime
    status: str
    cancel_reason: str | None
    source: str

    @classmethod
    def from_row(cls, lead: Lead) -> LeadDTO:
        """Copy the columns of a ``Lead``."""
        return cls(**{f.name: getattr(lead, f.name) for f in fields(cls)})


@dataclass(frozen=True)
class RowError:
    """One problem in an imported sheet: spreadsheet row (header = row 1), field, reason."""

    row: int
    field: str
    reason: str
    value: str


@dataclass(frozen=True)
class ImportResult:
    """Outcome of one lead-sheet import.

    ``total`` counts non-blank data rows; ``rejected`` counts rows with at least one error
    (a row may have several ``errors``).
    """

    imported: int
    rejected: int
    total: int
    errors: tuple[RowError, ...]
    lead_import_id: uuid.UUID
    sha256: str
    filename: str

    def errors_frame(self) -> pd.DataFrame:
        """The error table: columns row, field, reason, value."""
        return pd.DataFrame(
            [asdict(e) for e in self.errors], columns=["row", "field", "reason", "value"]
        )


@dataclass(frozen=True)
class LeadRow:
    """A line of the leads table."""

    id: uuid.UUID
    ref: str
    oem_lead_ref: str
    oem_code: str
    customer_name: str
    phone: str
    city: str
    pincode: str
    zone_name: str
    status: str
    received_at: datetime


@dataclass(frozen=True)
class LeadPage(Page):
    """One page of leads (newest received first) and the total matching the filters."""

    row_type: ClassVar[type] = LeadRow
    rows: tuple[LeadRow, ...]


@dataclass(frozen=True)
class RelatedRef:
    """A survey or installation of a lead: its ref, status and date (survey/scheduled)."""

    kind: str
    ref: str
    status: str
    on: date | None


@dataclass(frozen=True)
class LeadDetail:
    """A lead with its OEM and zone names and its surveys and installations."""

    lead: LeadDTO
    oem_code: str
    oem_name: str
    zone_code: str
    zone_name: str
    lead_import_filename: str | None
    surveys: tuple[RelatedRef, ...]
    installations: tuple[RelatedRef, ...]
