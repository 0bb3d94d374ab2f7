"""Plain data returned by installation commands and queries (never ORM objects)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import ClassVar

import pandas as pd

from domain.installations.models import Installation
from domain.paging import Page


@dataclass(frozen=True)
class InstallationDTO:
    """One installation as stored; datetimes aware UTC, ``scheduled_date`` a local date."""

    id: uuid.UUID
    ref: str
    survey_id: uuid.UUID
    lead_id: uuid.UUID
    status: str
    scheduled_date: date | None
    time_slot: str | None
    material_ready: bool
    customer_confirmed: bool
    confirmed_at: datetime | None
    confirmed_by_id: uuid.UUID | None
    demo_completed: bool
    install_level: str | None
    completed_at: datetime | None
    closed_at: datetime | None
    cancel_reason: str | None
    reschedule_reason: str | None

    @classmethod
    def from_row(cls, inst: Installation) -> InstallationDTO:
        """Copy the columns of an ``Installation``."""
        return cls(**{f.name: getattr(inst, f.name) for f in fields(cls)})


@dataclass(frozen=True)
class InstallationRow:
    """A line of the installations table; ``team_code`` is the active primary team."""

    id: uuid.UUID
    ref: str
    status: str
    scheduled_date: date | None
    time_slot: str | None
    lead_ref: str
    customer_name: str
    city: str
    oem_code: str
    zone_name: str
    team_code: str | None
    material_ready: bool
    customer_confirmed: bool
    completed_at: datetime | None


@dataclass(frozen=True)
class InstallationPage(Page):
    """One page of installations and the total matching the filters."""

    row_type: ClassVar[type] = InstallationRow
    rows: tuple[InstallationRow, ...]


@dataclass(frozen=True)
class AssignmentInfo:
    """A team on the installation (active when ``released_at`` is None)."""

    team_id: uuid.UUID
    team_code: str
    team_name: str
    role: str
    work_date: date
    time_slot: str
    assigned_at: datetime
    released_at: datetime | None
    reason: str | None


@dataclass(frozen=True)
class ReportSummary:
    """The installation report in brief (seed 001)."""

    charger_serial: str
    charger_model: str
    success: bool
    issues: str | None
    demo_done: bool
    demo_signed_off: bool
    has_signature: bool
    submitted_at: datetime | None


@dataclass(frozen=True)
class TimelineEntry:
    """One event on the installation's timeline.

    ``kind`` is ``"status"`` (a lifecycle transition: ``from_status`` -> ``to_status``) or
    ``"confirmation_call"`` (``outcome`` confirmed / no_answer / declined, no status change).
    ``note`` is the transition reason or the call notes.
    """

    at: datetime
    kind: str
    from_status: str | None
    to_status: str | None
    outcome: str | None
    by: str
    note: str | None


TIMELINE_COLUMNS = tuple(f.name for f in fields(TimelineEntry))


@dataclass(frozen=True)
class ApprovedSurvey:
    """An approved survey that has no installation yet (for the create form)."""

    survey_id: uuid.UUID
    survey_ref: str
    survey_date: date
    lead_ref: str
    customer_name: str
    city: str
    oem_code: str


@dataclass(frozen=True)
class InstallationDetail:
    """An installation with its customer, survey, teams, report and timeline.

    ``allowed_actions``: what the actor may do now: target statuses whose guards pass, plus
    ``"confirmation_call"`` and ``"demo"`` where allowed. ``blocked_actions``: legal targets
    the actor's role could take but whose guard fails, as ``(target, message)``.
    """

    installation: InstallationDTO
    lead_ref: str
    customer_name: str
    phone: str
    address: str
    city: str
    pincode: str
    lead_status: str
    oem_code: str
    oem_name: str
    zone_name: str
    survey_ref: str
    survey_date: date
    assignments: tuple[AssignmentInfo, ...]
    report: ReportSummary | None
    timeline: tuple[TimelineEntry, ...]
    allowed_actions: tuple[str, ...]
    blocked_actions: tuple[tuple[str, str], ...]

    def timeline_frame(self) -> pd.DataFrame:
        """The timeline as a DataFrame with the ``TimelineEntry`` columns, oldest first."""
        return pd.DataFrame([asdict(e) for e in self.timeline], columns=list(TIMELINE_COLUMNS))
