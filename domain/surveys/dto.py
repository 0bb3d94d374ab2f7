"""Plain data returned by survey commands and queries (never ORM objects)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

import pandas as pd

from domain.paging import Page
from domain.surveys.models import Survey


@dataclass(frozen=True)
class SurveyDTO:
    """One survey as stored; timestamps aware UTC, ``survey_date`` a local date."""

    id: uuid.UUID
    ref: str
    lead_id: uuid.UUID
    team_id: uuid.UUID | None
    survey_date: date
    time_slot: str
    status: str
    completed_at: datetime | None
    submitted_at: datetime | None
    reviewer_id: uuid.UUID | None
    reviewed_at: datetime | None
    review_notes: str | None
    cancel_reason: str | None

    @classmethod
    def from_row(cls, survey: Survey) -> SurveyDTO:
        """Copy the columns of a ``Survey``."""
        return cls(**{f.name: getattr(survey, f.name) for f in fields(cls)})


@dataclass(frozen=True)
class ReportLine:
    """A recommended material line: quantity in the material's unit (piece, meter...)."""

    material_id: uuid.UUID
    sku: str
    material_name: str
    unit: str
    quantity: int


@dataclass(frozen=True)
class SurveyReportDTO:
    """The findings of a survey: distances in metres, sanctioned load in kW."""

    id: uuid.UUID
    survey_id: uuid.UUID
    site_type: str
    parking: str
    meter_distance_m: Decimal
    sanctioned_load_kw: Decimal
    earthing_ok: bool
    recommended_charger_id: uuid.UUID | None
    recommended_charger_name: str | None
    cable_length_m: Decimal
    load_enhancement_needed: bool
    notes: str | None
    submitted_by_id: uuid.UUID | None
    lines: tuple[ReportLine, ...]

    def lines_frame(self) -> pd.DataFrame:
        """The lines as a DataFrame: sku, material_name, unit, quantity."""
        return pd.DataFrame(
            [
                {
                    "sku": line.sku,
                    "material_name": line.material_name,
                    "unit": line.unit,
                    "quantity": line.quantity,
                }
                for line in self.lines
            ],
            columns=["sku", "material_name", "unit", "quantity"],
        )


@dataclass(frozen=True)
class SurveyRow:
    """A line of the surveys table."""

    id: uuid.UUID
    ref: str
    lead_ref: str
    customer_name: str
    oem_code: str
    zone_name: str
    team_code: str | None
    survey_date: date
    time_slot: str
    status: str
    completed_at: datetime | None


@dataclass(frozen=True)
class SurveyPage(Page):
    """One page of surveys (latest survey date first) and the total matching the filters."""

    row_type: ClassVar[type] = SurveyRow
    rows: tuple[SurveyRow, ...]


@dataclass(frozen=True)
class SurveyDetail:
    """A survey with its lead (ref, customer, address), team, reviewer and report."""

    survey: SurveyDTO
    lead_ref: str
    lead_status: str
    customer_name: str
    phone: str
    address: str
    city: str
    pincode: str
    oem_code: str
    zone_id: uuid.UUID
    zone_name: str
    team_code: str | None
    team_name: str | None
    reviewer_username: str | None
    report: SurveyReportDTO | None


@dataclass(frozen=True)
class LeadAwaitingSurvey:
    """An open lead (new/contacted) with no active survey, for the scheduling form."""

    id: uuid.UUID
    ref: str
    customer_name: str
    city: str
    pincode: str
    zone_id: uuid.UUID
    zone_name: str
    oem_code: str
    status: str
    received_at: datetime

    @property
    def label(self) -> str:
        """``LEAD-2026-00001 · Name · City 560001 (TATA)`` for a select box."""
        return f"{self.ref} · {self.customer_name} · {self.city} {self.pincode} ({self.oem_code})"


@dataclass(frozen=True)
class MaterialOption:
    """An active catalogue material for a select box; ``power_kw`` set for chargers."""

    id: uuid.UUID
    sku: str
    name: str
    category: str
    unit: str
    power_kw: Decimal | None

    @property
    def label(self) -> str:
        """``Name (SKU)`` for a select box."""
        return f"{self.name} ({self.sku})"
