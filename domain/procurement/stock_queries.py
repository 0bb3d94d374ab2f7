"""Reads of zone stock, its ledger and allocations (seed 004); plain dataclasses out.

Definitions (per stock row = one material in one zone, whole units of the material):

* free = ``quantity_available`` (the ledger sum);
* allocated-not-dispatched = allocations of that material and zone with status ``allocated``;
* on hand = free + allocated-not-dispatched;
* on order = procurement requests of that material and zone that are ``approved`` or
  ``ordered`` (not yet received, not cancelled);
* projected = on hand + on order - allocated-not-dispatched = free + on order;
* reorder alert when projected <= reorder level;
* suggested order quantity = ``suggested_order_quantity(projected, reorder_level)``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.accounts.models import AppUser, Zone
from domain.actor import Actor
from domain.errors import NotFound
from domain.installations.models import Installation
from domain.leads.models import Lead
from domain.paging import matches_any
from domain.permissions import require
from domain.procurement.dto import (
    AllocationDTO,
    InstallationOption,
    MovementDTO,
    StockRowDTO,
)
from domain.procurement.models import (
    Material,
    MaterialAllocation,
    MaterialStock,
    ProcurementRequest,
    StockMovement,
)

ON_ORDER_STATUSES = ("approved", "ordered")
"""Procurement request states counted as on order."""


def suggested_order_quantity(projected: int, reorder_level: int) -> int:
    """How much to order for a row at or below its reorder level (0 otherwise).

    Rule: bring the projection back up to twice the reorder level, at least one unit:
    ``max(2 * reorder_level - projected, 1)`` when ``projected <= reorder_level``. There is
    no pack size in the catalogue, so one unit is the pack.
    """
    if projected > reorder_level:
        return 0
    return max(2 * reorder_level - projected, 1)


def _allocated_sub() -> Any:
    return (
        select(
            MaterialAllocation.material_id,
            MaterialAllocation.zone_id,
            func.sum(MaterialAllocation.quantity).label("qty"),
        )
        .where(MaterialAllocation.status == "allocated")
        .group_by(MaterialAllocation.material_id, MaterialAllocation.zone_id)
        .subquery()
    )


def _on_order_sub() -> Any:
    return (
        select(
            ProcurementRequest.material_id,
            ProcurementRequest.zone_id,
            func.sum(ProcurementRequest.quantity).label("qty"),
        )
        .where(ProcurementRequest.status.in_(ON_ORDER_STATUSES))
        .group_by(ProcurementRequest.material_id, ProcurementRequest.zone_id)
        .subquery()
    )


def _stock_rows(session: Session, *conditions: Any) -> list[StockRowDTO]:
    alloc = _allocated_sub()
    order = _on_order_sub()
    stmt = (
        select(
            MaterialStock.id,
            MaterialStock.material_id,
            MaterialStock.zone_id,
            Material.sku,
            Material.name,
            Material.category,
            Material.unit,
            MaterialStock.quantity_available,
            MaterialStock.reorder_level,
            func.coalesce(alloc.c.qty, 0),
            func.coalesce(order.c.qty, 0),
            MaterialStock.version,
            MaterialStock.updated_at,
        )
        .join(Material, Material.id == MaterialStock.material_id)
        .outerjoin(
            alloc,
            (alloc.c.material_id == MaterialStock.material_id)
            & (alloc.c.zone_id == MaterialStock.zone_id),
        )
        .outerjoin(
            order,
            (order.c.material_id == MaterialStock.material_id)
            & (order.c.zone_id == MaterialStock.zone_id),
        )
        .where(*conditions)
        .order_by(Material.category, Material.sku)
    )
    out: list[StockRowDTO] = []
    for r in session.execute(stmt).all():
        available, level = int(r[7]), int(r[8])
        allocated, on_order = int(r[9]), int(r[10])
        projected = available + on_order
        out.append(
            StockRowDTO(
                id=r[0],
                material_id=r[1],
                zone_id=r[2],
                sku=r[3],
                name=r[4],
                category=r[5],
                unit=r[6],
                quantity_available=available,
                reorder_level=level,
                allocated_not_dispatched=allocated,
                on_order=on_order,
                projected=projected,
                below_reorder=projected <= level,
                suggested_order=suggested_order_quantity(projected, level),
                version=int(r[11]),
                updated_at=r[12],
            )
        )
    return out


def stock_by_zone(
    session: Session,
    actor: Actor,
    *,
    zone_id: uuid.UUID,
    search: str | None = None,
    below_reorder_only: bool = False,
) -> list[StockRowDTO]:
    """Every stock row of a zone (by category, SKU) with its projection (module docstring).

    Args:
        search: case-insensitive part of the SKU or material name.
        below_reorder_only: only rows with projected <= reorder level.

    Raises:
        PermissionDenied: without ``stock.read``.
    """
    require(actor, "stock.read")
    conditions: list[Any] = [MaterialStock.zone_id == zone_id]
    match = matches_any(search, [Material.sku, Material.name])
    if match is not None:
        conditions.append(match)
    rows = _stock_rows(session, *conditions)
    if below_reorder_only:
        rows = [r for r in rows if r.below_reorder]
    return rows


def stock_row(session: Session, actor: Actor, *, stock_id: uuid.UUID) -> StockRowDTO:
    """One stock row with its projection.

    Raises:
        PermissionDenied: without ``stock.read``. NotFound: unknown row.
    """
    require(actor, "stock.read")
    rows = _stock_rows(session, MaterialStock.id == stock_id)
    if not rows:
        raise NotFound("stock row not found")
    return rows[0]


def stock_export_rows(session: Session, actor: Actor, *, zone_id: uuid.UUID) -> list[dict]:
    """The zone's stock as flat dicts (CSV export): SKU, name, category, unit, free, reorder
    level, allocated-not-dispatched, on hand, on order, projected, below reorder, suggested.

    Raises:
        PermissionDenied: without ``stock.read``.
    """
    return [
        {
            "sku": r.sku,
            "name": r.name,
            "category": r.category,
            "unit": r.unit,
            "quantity_available": r.quantity_available,
            "reorder_level": r.reorder_level,
            "allocated_not_dispatched": r.allocated_not_dispatched,
            "on_hand": r.on_hand,
            "on_order": r.on_order,
            "projected": r.projected,
            "below_reorder": r.below_reorder,
            "suggested_order": r.suggested_order,
        }
        for r in stock_by_zone(session, actor, zone_id=zone_id)
    ]


def stock_ledger(
    session: Session, actor: Actor, *, stock_id: uuid.UUID, limit: int = 500
) -> list[MovementDTO]:
    """The last ``limit`` movements of a stock row, newest first, with the running balance.

    Raises:
        PermissionDenied: without ``stock.read``. NotFound: unknown row.
    """
    require(actor, "stock.read")
    if session.get(MaterialStock, stock_id) is None:
        raise NotFound("stock row not found")
    running = (
        func.sum(StockMovement.quantity_delta)
        .over(order_by=(StockMovement.created_at, StockMovement.id))
        .label("balance")
    )
    inner = (
        select(
            StockMovement.id,
            StockMovement.created_at,
            StockMovement.kind,
            StockMovement.quantity_delta,
            running,
            StockMovement.reason,
            StockMovement.actor_id,
            StockMovement.allocation_id,
            StockMovement.procurement_request_id,
        )
        .where(StockMovement.material_stock_id == stock_id)
        .subquery()
    )
    stmt = (
        select(inner, AppUser.username)
        .outerjoin(AppUser, AppUser.id == inner.c.actor_id)
        .order_by(inner.c.created_at.desc(), inner.c.id.desc())
        .limit(limit)
    )
    return [
        MovementDTO(
            id=r.id,
            created_at=r.created_at,
            kind=r.kind,
            quantity_delta=int(r.quantity_delta),
            balance=int(r.balance),
            reason=r.reason,
            actor_username=r.username,
            allocation_id=r.allocation_id,
            procurement_request_id=r.procurement_request_id,
        )
        for r in session.execute(stmt).all()
    ]


def ledger_mismatches(session: Session) -> list[tuple[uuid.UUID, int, int]]:
    """Stock rows whose free quantity differs from the sum of their movements:
    ``(stock_id, quantity_available, ledger_sum)``; empty when the ledger is consistent."""
    sums = (
        select(
            StockMovement.material_stock_id.label("sid"),
            func.sum(StockMovement.quantity_delta).label("total"),
        )
        .group_by(StockMovement.material_stock_id)
        .subquery()
    )
    total = func.coalesce(sums.c.total, 0)
    rows = session.execute(
        select(MaterialStock.id, MaterialStock.quantity_available, total)
        .outerjoin(sums, sums.c.sid == MaterialStock.id)
        .where(MaterialStock.quantity_available != total)
    ).all()
    return [(r[0], int(r[1]), int(r[2])) for r in rows]


def ledger_consistent(session: Session) -> bool:
    """True when every stock row's free quantity equals the sum of its movements."""
    return not ledger_mismatches(session)


def _allocation_stmt() -> Any:
    return select(
        MaterialAllocation.id,
        MaterialAllocation.installation_id,
        MaterialAllocation.material_id,
        MaterialAllocation.zone_id,
        Material.sku,
        Material.name,
        Material.unit,
        MaterialAllocation.quantity,
        MaterialAllocation.status,
        MaterialAllocation.allocated_at,
        MaterialAllocation.dispatched_at,
        MaterialAllocation.delivered_at,
        MaterialAllocation.returned_at,
    ).join(Material, Material.id == MaterialAllocation.material_id)


def allocation_dto(session: Session, allocation_id: uuid.UUID) -> AllocationDTO:
    """One allocation as a DTO (no permission check: commands call it after theirs).

    Raises:
        NotFound: unknown allocation.
    """
    row = session.execute(
        _allocation_stmt().where(MaterialAllocation.id == allocation_id)
    ).one_or_none()
    if row is None:
        raise NotFound("allocation not found")
    return AllocationDTO(*row)


def list_allocations(
    session: Session, actor: Actor, *, installation_id: uuid.UUID
) -> list[AllocationDTO]:
    """Allocations of an installation, oldest first.

    Raises:
        PermissionDenied: without ``allocation.read``.
    """
    require(actor, "allocation.read")
    rows = session.execute(
        _allocation_stmt()
        .where(MaterialAllocation.installation_id == installation_id)
        .order_by(MaterialAllocation.allocated_at, Material.sku, MaterialAllocation.id)
    ).all()
    return [AllocationDTO(*r) for r in rows]


def find_installations(
    session: Session, actor: Actor, *, search: str | None = None, limit: int = 50
) -> list[InstallationOption]:
    """Installations whose ref, lead ref or customer name contains ``search`` (all when
    blank), newest first, for the Allocations page picker.

    Raises:
        PermissionDenied: without ``allocation.read``.
    """
    require(actor, "allocation.read")
    stmt = (
        select(
            Installation.id,
            Installation.ref,
            Lead.customer_name,
            Installation.status,
            Lead.zone_id,
            Zone.code,
        )
        .join(Lead, Lead.id == Installation.lead_id)
        .join(Zone, Zone.id == Lead.zone_id)
        .order_by(Installation.created_at.desc(), Installation.ref.desc())
        .limit(limit)
    )
    match = matches_any(search, [Installation.ref, Lead.ref, Lead.customer_name])
    if match is not None:
        stmt = stmt.where(match)
    return [InstallationOption(*r) for r in session.execute(stmt).all()]
