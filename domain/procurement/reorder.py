"""Reorder alerts (seed 004): stock rows whose projected quantity fell to the reorder level.

Definitions (per stock row = one material in one zone, whole units of the material):

* on hand = free (``quantity_available``) + allocated-not-dispatched;
* on order = quantities of procurement requests for that material and zone that are
  ``approved`` or ``ordered`` (not received, not cancelled);
* projected = on hand + on order - allocated-not-dispatched = ``quantity_available`` +
  on order (computed in SQL);
* the row needs reordering when projected <= ``reorder_level`` (active materials only);
* suggested order quantity = ``max(2 * reorder_level - projected, 1)`` (back up to twice the
  reorder level, at least one unit; the catalogue has no pack size, so the pack is one unit;
  the rule is ``stock_queries.suggested_order_quantity``, shared with the Stock page).

Alerts: ``raise_reorder_alerts`` (the hourly job) creates ONE ``reorder_alert`` notification
to role ``procurement`` per row and *episode*. The episode is keyed by the latest movement
that raised the row's stock above its reorder level (a receipt, return or upward adjustment
whose running balance ended above the level), or ``init`` when none ever did:
``reorder:<stock_id>:<movement_id|init>``. Running the job every hour while the row stays low
creates nothing new; after the row is replenished above the level and falls again, the
key changes and one new alert is created.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.types import utcnow
from domain import audit
from domain.accounts.models import Zone
from domain.actor import SYSTEM
from domain.notifications.service import insert_notifications
from domain.procurement.models import Material, MaterialStock, ProcurementRequest, StockMovement
from domain.procurement.stock_queries import ON_ORDER_STATUSES, suggested_order_quantity

__all__ = [
    "ReorderRow",
    "raise_reorder_alerts",
    "reorder_dedupe_key",
    "stock_below_reorder",
]

RECIPIENT_ROLE = "procurement"


@dataclass(frozen=True)
class ReorderRow:
    """A stock row at or below its reorder level, with the suggested order quantity."""

    stock_id: uuid.UUID
    material_id: uuid.UUID
    sku: str
    name: str
    unit: str
    zone_id: uuid.UUID
    zone_code: str
    quantity_available: int
    on_order: int
    projected: int
    reorder_level: int
    suggested_order: int


def _on_order_sub() -> Any:
    return (
        select(
            ProcurementRequest.material_id,
            ProcurementRequest.zone_id,
            func.sum(ProcurementRequest.quantity).label("qty"),
        )
        .where(ProcurementRequest.status.in_(ON_ORDER_STATUSES))
        .group_by(ProcurementRequest.material_id, ProcurementRequest.zone_id)
        .subquery("on_order")
    )


def stock_below_reorder(session: Session, zone_id: uuid.UUID | None = None) -> list[ReorderRow]:
    """Stock rows of active materials whose projected quantity is <= their reorder level.

    The projection (``quantity_available + on order``) and the filter run in SQL.

    Args:
        zone_id: only this zone (all zones when None).

    Returns:
        Rows ordered by zone code, then by how far below the level (deepest first), then SKU.
    """
    order = _on_order_sub()
    on_order = func.coalesce(order.c.qty, 0)
    projected = MaterialStock.quantity_available + on_order
    stmt = (
        select(
            MaterialStock.id,
            MaterialStock.material_id,
            Material.sku,
            Material.name,
            Material.unit,
            MaterialStock.zone_id,
            Zone.code,
            MaterialStock.quantity_available,
            on_order.label("on_order"),
            projected.label("projected"),
            MaterialStock.reorder_level,
        )
        .join(Material, Material.id == MaterialStock.material_id)
        .join(Zone, Zone.id == MaterialStock.zone_id)
        .outerjoin(
            order,
            (order.c.material_id == MaterialStock.material_id)
            & (order.c.zone_id == MaterialStock.zone_id),
        )
        .where(Material.active.is_(True), projected <= MaterialStock.reorder_level)
        .order_by(Zone.code, (projected - MaterialStock.reorder_level), Material.sku)
    )
    if zone_id is not None:
        stmt = stmt.where(MaterialStock.zone_id == zone_id)
    out: list[ReorderRow] = []
    for r in session.execute(stmt).all():
        proj, level = int(r.projected), int(r.reorder_level)
        out.append(
            ReorderRow(
                stock_id=r[0],
                material_id=r[1],
                sku=r[2],
                name=r[3],
                unit=r[4],
                zone_id=r[5],
                zone_code=r[6],
                quantity_available=int(r[7]),
                on_order=int(r[8]),
                projected=proj,
                reorder_level=level,
                suggested_order=suggested_order_quantity(proj, level),
            )
        )
    return out


def _episode_starts(session: Session, stock_ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Per stock row, the latest positive movement after which its running balance (sum of
    its movements in ledger order) was above the row's current reorder level."""
    if not stock_ids:
        return {}
    balance = (
        func.sum(StockMovement.quantity_delta)
        .over(
            partition_by=StockMovement.material_stock_id,
            order_by=(StockMovement.created_at, StockMovement.id),
        )
        .label("balance")
    )
    ledger = (
        select(
            StockMovement.id,
            StockMovement.material_stock_id,
            StockMovement.quantity_delta,
            StockMovement.created_at,
            balance,
        )
        .where(StockMovement.material_stock_id.in_(stock_ids))
        .subquery("ledger")
    )
    rows = session.execute(
        select(ledger.c.material_stock_id, ledger.c.id)
        .join(MaterialStock, MaterialStock.id == ledger.c.material_stock_id)
        .where(ledger.c.quantity_delta > 0, ledger.c.balance > MaterialStock.reorder_level)
        .order_by(ledger.c.created_at, ledger.c.id)
    ).all()
    return {stock_id: movement_id for stock_id, movement_id in rows}  # latest wins


def reorder_dedupe_key(stock_id: uuid.UUID, episode: uuid.UUID | None) -> str:
    """``reorder:<stock_id>:<movement id | init>`` — one alert per stock row and episode."""
    return f"reorder:{stock_id}:{episode or 'init'}"


def _row(r: ReorderRow, episode: uuid.UUID | None, now: Any) -> dict[str, Any]:
    subject = (
        f"Reorder {r.sku} in {r.zone_code}: projected {r.projected} {r.unit}, "
        f"level {r.reorder_level}"
    )
    body = (
        f"{r.sku} ({r.name}) in zone {r.zone_code}: {r.quantity_available} {r.unit} free, "
        f"{r.on_order} on order, so {r.projected} projected, at or below the reorder level of "
        f"{r.reorder_level}. Suggested order: {r.suggested_order} {r.unit} "
        f"(back up to twice the reorder level)."
    )
    return {
        "id": uuid.uuid4(),
        "created_at": now,
        "kind": "reorder_alert",
        "recipient_user_id": None,
        "recipient_role": RECIPIENT_ROLE,
        "subject": subject[:200],
        "body": body,
        "entity_type": "material_stock",
        "entity_id": str(r.stock_id),
        "due_at": None,
        "read_at": None,
        "sent_at": None,
        "dedupe_key": reorder_dedupe_key(r.stock_id, episode),
    }


def raise_reorder_alerts(session: Session) -> int:
    """Job: notify procurement of every stock row at or below its reorder level, once per
    episode (see the module doc); idempotent, also across two sidecars at once.

    Writes one ``notification.reorder_alert`` audit event (actor SYSTEM) when it created any.

    Returns:
        Number of notifications created by this call.
    """
    rows = stock_below_reorder(session)
    episodes = _episode_starts(session, [r.stock_id for r in rows])
    now = utcnow()
    created = insert_notifications(session, [_row(r, episodes.get(r.stock_id), now) for r in rows])
    session.flush()
    if created:
        audit.record(
            session,
            SYSTEM,
            "notification.reorder_alert",
            entity_type="notification",
            after={"below_reorder": len(rows), "created": created},
        )
        session.flush()
    return created
