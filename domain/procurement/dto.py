"""Plain data returned by the stock and allocation commands and queries (seed 004).

Quantities are whole numbers in the material's unit (piece, meter, kg, set). Issue-4B keeps
its own DTOs in its own modules.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class StockEdit:
    """One row edit of the Stock page: new count and/or reorder level, on the version seen.

    ``quantity_available`` / ``reorder_level``: None leaves the value unchanged. The values
    are validated by the command (whole numbers >= 0), so any input type is accepted here.
    """

    stock_id: uuid.UUID
    expected_version: int
    quantity_available: Any = None
    reorder_level: Any = None


@dataclass(frozen=True)
class StockRowDTO:
    """One ``material_stock`` row with its projection.

    * ``quantity_available``: free stock (the ledger sum);
    * ``allocated_not_dispatched``: reserved for installations, still in the store;
    * ``on_hand`` = free + allocated-not-dispatched (what a physical count finds);
    * ``on_order``: procurement requests approved or ordered, not yet received;
    * ``projected`` = on_hand + on_order - allocated_not_dispatched
      = ``quantity_available + on_order``;
    * ``below_reorder``: ``projected <= reorder_level``;
    * ``suggested_order``: see ``stock_queries.suggested_order_quantity`` (0 when not below).
    """

    id: uuid.UUID
    material_id: uuid.UUID
    zone_id: uuid.UUID
    sku: str
    name: str
    category: str
    unit: str
    quantity_available: int
    reorder_level: int
    allocated_not_dispatched: int
    on_order: int
    projected: int
    below_reorder: bool
    suggested_order: int
    version: int
    updated_at: datetime | None

    @property
    def on_hand(self) -> int:
        return self.quantity_available + self.allocated_not_dispatched


@dataclass(frozen=True)
class MovementDTO:
    """One ledger row of a stock row (``quantity_delta`` signed) and the running balance."""

    id: uuid.UUID
    created_at: datetime
    kind: str
    quantity_delta: int
    balance: int
    reason: str | None
    actor_username: str | None
    allocation_id: uuid.UUID | None
    procurement_request_id: uuid.UUID | None


@dataclass(frozen=True)
class AllocationDTO:
    """A material allocation of an installation."""

    id: uuid.UUID
    installation_id: uuid.UUID
    material_id: uuid.UUID
    zone_id: uuid.UUID
    sku: str
    material_name: str
    unit: str
    quantity: int
    status: str
    allocated_at: datetime
    dispatched_at: datetime | None
    delivered_at: datetime | None
    returned_at: datetime | None


@dataclass(frozen=True)
class BomLine:
    """One bill-of-materials line of an installation (all quantities in the material's unit).

    * ``required``: what the installation needs (kit/survey merge, see ``allocations``);
    * ``allocated``: active allocations (status allocated, dispatched or delivered);
    * ``delivered``: the delivered part of ``allocated``;
    * ``missing`` = max(required - allocated, 0);
    * ``free``: the zone's free stock of the material now;
    * ``shortfall`` = max(missing - free, 0): what must be procured.
    """

    material_id: uuid.UUID
    sku: str
    name: str
    unit: str
    required: int
    allocated: int
    delivered: int
    missing: int
    free: int
    shortfall: int


@dataclass(frozen=True)
class BillOfMaterials:
    """The bill of materials of one installation in its zone."""

    installation_id: uuid.UUID
    installation_ref: str
    installation_status: str
    material_ready: bool
    zone_id: uuid.UUID
    charger_id: uuid.UUID | None
    lines: tuple[BomLine, ...]

    @property
    def fully_allocated(self) -> bool:
        return all(line.missing == 0 for line in self.lines)

    @property
    def total_shortfall(self) -> int:
        return sum(line.shortfall for line in self.lines)


@dataclass(frozen=True)
class LineOutcome:
    """What ``allocate_installation`` did for one BOM line.

    ``allocated``: quantity allocated now (0 or the whole missing quantity);
    ``shortfall``: quantity the zone could not cover (nothing of it was allocated).
    """

    material_id: uuid.UUID
    sku: str
    missing: int
    allocated: int
    shortfall: int
    allocation_id: uuid.UUID | None


@dataclass(frozen=True)
class AllocationRun:
    """Result of ``allocate_installation``: one outcome per BOM line that was missing."""

    installation_id: uuid.UUID
    installation_status: str
    outcomes: tuple[LineOutcome, ...]

    @property
    def shortfall(self) -> dict[str, int]:
        """SKU -> quantity still missing (lines with a shortfall only)."""
        return {o.sku: o.shortfall for o in self.outcomes if o.shortfall > 0}


@dataclass(frozen=True)
class InstallationOption:
    """An installation to pick on the Allocations page."""

    id: uuid.UUID
    ref: str
    customer_name: str
    status: str
    zone_id: uuid.UUID
    zone_code: str

    @property
    def label(self) -> str:
        return f"{self.ref} · {self.customer_name} · {self.status} ({self.zone_code})"
