"""Plain data returned by service-call commands and queries (seed 002; never ORM objects).

Dates are calendar dates; ``*_days`` figures are whole calendar days (averages may be
fractional); ``completed_at`` / ``created_at`` are aware UTC datetimes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import ClassVar

from domain.paging import Page
from domain.service.models import ServiceTicket, ServiceVisit


@dataclass(frozen=True)
class TicketDTO:
    """One service ticket as stored (the *what* of seed 002); phone E.164."""

    id: uuid.UUID
    ref: str
    installation_id: uuid.UUID | None
    lead_id: uuid.UUID
    contact: str
    contact_phone: str | None
    fault_reported_date: date
    nature_of_fault: str
    equipment_details: str | None
    maintenance: bool
    notes: str | None
    install_level: str | None
    status: str
    resolved_date: date | None
    customer_satisfied: bool | None
    invoice_received_date: date | None
    invoice_authorised_date: date | None
    created_by_id: uuid.UUID | None
    cancel_reason: str | None = None
    cancelled_at: datetime | None = None

    @classmethod
    def from_row(cls, row: ServiceTicket) -> TicketDTO:
        """Copy the columns of a ``ServiceTicket``."""
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


@dataclass(frozen=True)
class VisitDTO:
    """One visit (booking) of a ticket: date, time slot, team (the *when and who*)."""

    id: uuid.UUID
    service_ticket_id: uuid.UUID
    visit_date: date
    time_slot: str
    team_id: uuid.UUID
    status: str
    notes: str | None
    completed_at: datetime | None

    @classmethod
    def from_row(cls, row: ServiceVisit) -> VisitDTO:
        """Copy the columns of a ``ServiceVisit``."""
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


@dataclass(frozen=True)
class VisitRow:
    """A visit of a ticket as shown in its detail, with the team's code and name."""

    id: uuid.UUID
    visit_date: date
    time_slot: str
    team_id: uuid.UUID
    team_code: str
    team_name: str
    status: str
    notes: str | None
    completed_at: datetime | None


@dataclass(frozen=True)
class TicketRow:
    """A line of the service-ticket list.

    ``response_days``: days from fault reported to the first visit that is not cancelled
    (None without one); ``resolution_days``: days from fault reported to resolved (None until
    resolved).
    """

    id: uuid.UUID
    ref: str
    installation_ref: str | None
    lead_ref: str
    customer_name: str
    city: str
    zone_name: str
    fault_reported_date: date
    nature_of_fault: str
    maintenance: bool
    status: str
    first_visit_date: date | None
    response_days: int | None
    resolved_date: date | None
    resolution_days: int | None


@dataclass(frozen=True)
class TicketPage(Page):
    """One page of tickets (latest fault reported first) and the total matching the filters."""

    row_type: ClassVar[type] = TicketRow
    rows: tuple[TicketRow, ...]


@dataclass(frozen=True)
class TicketDetail:
    """A ticket with its installation, customer, zone and visits (oldest visit first).

    ``response_days`` / ``resolution_days`` as in ``TicketRow``.
    """

    ticket: TicketDTO
    installation_ref: str | None
    installation_status: str | None
    lead_ref: str
    oem_code: str
    customer_name: str
    customer_phone: str
    address: str
    city: str
    pincode: str
    zone_id: uuid.UUID
    zone_code: str
    zone_name: str
    visits: tuple[VisitRow, ...]
    first_visit_date: date | None
    response_days: int | None
    resolution_days: int | None


@dataclass(frozen=True)
class InstalledOption:
    """An installed charger a ticket can be opened against (for a select box)."""

    id: uuid.UUID
    ref: str
    status: str
    lead_ref: str
    customer_name: str
    city: str

    @property
    def label(self) -> str:
        return f"{self.ref} · {self.customer_name} ({self.city})"


@dataclass(frozen=True)
class ServiceTimes:
    """Response and resolution times over tickets reported in a period (seed 002 metrics).

    ``tickets``: tickets considered; ``responded``: those with a visit that is not cancelled;
    ``resolved``: those with a resolved date. Averages are calendar days (None when there is
    nothing to average), computed in SQL.
    """

    tickets: int
    responded: int
    resolved: int
    avg_response_days: float | None
    avg_resolution_days: float | None
