"""Stock commands (seed 004): correct a count or a reorder level, receive goods.

Every change of ``quantity_available`` goes through the ledger (``ledger.apply_movement``), so
a row always equals the sum of its ``stock_movement`` rows. Edits carry the row ``version``
the user saw; if the row changed meanwhile the edit is refused (``StaleStock`` /
``StaleStockEdits``) and nothing is written, instead of overwriting someone else's change.
Quantities are whole numbers >= 0 in the material's unit. No command commits.
"""

from __future__ import annotations

import math
import numbers
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.types import utcnow
from domain import audit
from domain.accounts.models import Zone
from domain.actor import Actor
from domain.errors import Conflict, NotFound, ValidationError
from domain.permissions import require
from domain.procurement.dto import StockEdit, StockRowDTO
from domain.procurement.ledger import (
    MovementResult,
    StaleStock,
    apply_movement,
    ensure_stock_row,
)
from domain.procurement.models import Material, MaterialStock
from domain.procurement.stock_queries import stock_row

__all__ = [
    "MAX_REASON",
    "StaleStockEdits",
    "adjust_stock",
    "apply_stock_edits",
    "receive_stock",
    "whole_number",
]

MAX_REASON = 300
MAX_QUANTITY = 1_000_000_000
"""Upper bound of a count (keeps values inside a 32-bit INTEGER column)."""


class StaleStockEdits(Conflict):
    """Some edited rows changed since the page loaded them; ``rows`` lists their SKUs."""

    def __init__(self, rows: list[str]) -> None:
        self.rows = rows
        super().__init__(
            "someone changed these stock rows since you loaded them: "
            + ", ".join(rows)
            + ". Nothing was saved; reload and apply your changes again."
        )


def whole_number(value: Any, field: str, *, minimum: int = 0) -> int:
    """``value`` as an int >= ``minimum``; accepts ints, integral floats/Decimals and digit
    strings (a data-editor cell may give any of these).

    Raises:
        ValidationError: ``{field: reason}`` for a bool, non-number, NaN, fraction, a value
            below ``minimum`` or above ``MAX_QUANTITY``.
    """
    if isinstance(value, bool) or value is None:
        raise ValidationError({field: "must be a whole number"})
    number: Any = value
    if isinstance(value, str):
        text = value.strip()
        try:
            number = Decimal(text)
        except ArithmeticError:
            raise ValidationError({field: f"'{value}' is not a number"}) from None
    if isinstance(number, numbers.Integral):
        result = int(number)
    elif isinstance(number, Decimal | numbers.Real):
        finite = number.is_finite() if isinstance(number, Decimal) else math.isfinite(float(number))
        if not finite:
            raise ValidationError({field: "must be a whole number"})
        if number != int(number):
            raise ValidationError({field: f"{number} is not a whole number"})
        result = int(number)
    else:
        raise ValidationError({field: f"'{value}' is not a number"})
    if result < minimum:
        raise ValidationError({field: f"must be {minimum} or more (got {result})"})
    if result > MAX_QUANTITY:
        raise ValidationError({field: f"must be at most {MAX_QUANTITY}"})
    return result


def _reason(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise ValidationError({"reason": "a reason is required for a stock change"})
    if len(text) > MAX_REASON:
        raise ValidationError({"reason": f"reason is longer than {MAX_REASON} characters"})
    return text


def _set_reorder_level(
    session: Session, stock_id: uuid.UUID, level: int, expected_version: int
) -> int:
    row = session.execute(
        update(MaterialStock)
        .where(MaterialStock.id == stock_id, MaterialStock.version == expected_version)
        .values(reorder_level=level, version=MaterialStock.version + 1, updated_at=utcnow())
        .returning(MaterialStock.version)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if row is None:
        current = session.execute(
            select(MaterialStock.quantity_available, MaterialStock.version).where(
                MaterialStock.id == stock_id
            )
        ).one_or_none()
        if current is None:
            raise NotFound("stock row not found")
        raise StaleStock(current.quantity_available, current.version)
    loaded = session.identity_map.get(session.identity_key(MaterialStock, stock_id))
    if loaded is not None:
        session.expire(loaded)
    return int(row[0])


def _apply_one(
    session: Session,
    actor: Actor,
    *,
    stock_id: uuid.UUID,
    expected_version: int,
    quantity: int | None,
    level: int | None,
    reason: str,
) -> dict[str, Any]:
    current = session.execute(
        select(
            MaterialStock.quantity_available, MaterialStock.reorder_level, MaterialStock.version
        ).where(MaterialStock.id == stock_id)
    ).one_or_none()
    if current is None:
        raise NotFound("stock row not found")
    if current.version != expected_version:
        raise StaleStock(current.quantity_available, current.version)
    version = expected_version
    changes: dict[str, Any] = {}
    if quantity is not None and quantity != current.quantity_available:
        result = apply_movement(
            session,
            material_stock_id=stock_id,
            kind="adjustment",
            quantity_delta=quantity - current.quantity_available,
            actor_id=actor.user_id,
            reason=reason,
            expected_version=version,
            field="quantity_available",
        )
        version = result.version
        changes["quantity_available"] = (current.quantity_available, quantity)
    if level is not None and level != current.reorder_level:
        version = _set_reorder_level(session, stock_id, level, version)
        changes["reorder_level"] = (current.reorder_level, level)
    if changes:
        audit.record(
            session,
            actor,
            "stock.adjust",
            entity_type="material_stock",
            entity_id=stock_id,
            before={k: v[0] for k, v in changes.items()} | {"version": expected_version},
            after={k: v[1] for k, v in changes.items()} | {"version": version, "reason": reason},
        )
    return changes


def adjust_stock(
    session: Session,
    actor: Actor,
    *,
    stock_id: uuid.UUID,
    expected_version: int,
    quantity_available: Any = None,
    reorder_level: Any = None,
    reason: str,
) -> StockRowDTO:
    """Set a stock row's counted free quantity and/or its reorder level (seed 004).

    The count is written as one ``adjustment`` movement of ``new - current`` with the reason
    (none when unchanged); the reorder level is not a stock movement (audited only). Both
    only apply if the row is still at ``expected_version``.

    Args:
        quantity_available: new free count, whole number >= 0 (None: unchanged).
        reorder_level: new reorder threshold, whole number >= 0 (None: unchanged).
        reason: why, required (max 300 characters), kept on the movement and audit event.

    Returns:
        The row after the change.

    Raises:
        PermissionDenied: without ``stock.adjust``.
        ValidationError: negative, fractional or non-number value (field named), blank
            reason.
        StaleStock: the row changed since ``expected_version`` (nothing written).
        NotFound: unknown row.
    """
    require(actor, "stock.adjust")
    quantity = (
        None
        if quantity_available is None
        else whole_number(quantity_available, "quantity_available")
    )
    level = None if reorder_level is None else whole_number(reorder_level, "reorder_level")
    text = _reason(reason)
    _apply_one(
        session,
        actor,
        stock_id=stock_id,
        expected_version=expected_version,
        quantity=quantity,
        level=level,
        reason=text,
    )
    session.flush()
    return stock_row(session, actor, stock_id=stock_id)


def apply_stock_edits(
    session: Session, actor: Actor, *, edits: list[StockEdit], reason: str
) -> list[StockRowDTO]:
    """Apply the Stock page's row edits: all of them or none (seed 004).

    Every value is validated first (errors keyed ``"<SKU> quantity_available"`` /
    ``"<SKU> reorder_level"``), then every row's version is checked, then each row is written
    as in ``adjust_stock`` (rows in (zone, material) order, the order allocations lock them).
    Any error leaves the caller's transaction to roll back, so nothing is written.

    Returns:
        The changed rows after the edits (unchanged edits are skipped).

    Raises:
        PermissionDenied: without ``stock.adjust``.
        ValidationError: bad values (all of them listed) or a blank reason.
        StaleStockEdits: one or more rows changed since they were loaded (SKUs named).
        NotFound: an unknown row.
    """
    require(actor, "stock.adjust")
    text = _reason(reason)
    ids = [e.stock_id for e in edits]
    rows = {
        r.id: r
        for r in session.execute(
            select(
                MaterialStock.id,
                MaterialStock.zone_id,
                MaterialStock.material_id,
                MaterialStock.version,
                Material.sku,
            )
            .join(Material, Material.id == MaterialStock.material_id)
            .where(MaterialStock.id.in_(ids))
        ).all()
    }
    missing = [e.stock_id for e in edits if e.stock_id not in rows]
    if missing:
        raise NotFound(f"stock row not found: {missing[0]}")
    errors: dict[str, str] = {}
    parsed: list[tuple[StockEdit, int | None, int | None]] = []
    for e in edits:
        sku = rows[e.stock_id].sku
        quantity = level = None
        try:
            if e.quantity_available is not None:
                quantity = whole_number(e.quantity_available, f"{sku} quantity_available")
        except ValidationError as err:
            errors.update(err.errors)
        try:
            if e.reorder_level is not None:
                level = whole_number(e.reorder_level, f"{sku} reorder_level")
        except ValidationError as err:
            errors.update(err.errors)
        parsed.append((e, quantity, level))
    if errors:
        raise ValidationError(errors)
    stale = sorted(
        rows[e.stock_id].sku for e in edits if rows[e.stock_id].version != e.expected_version
    )
    if stale:
        raise StaleStockEdits(stale)
    parsed.sort(
        key=lambda p: (str(rows[p[0].stock_id].zone_id), str(rows[p[0].stock_id].material_id))
    )
    changed: list[uuid.UUID] = []
    for e, quantity, level in parsed:
        try:
            done = _apply_one(
                session,
                actor,
                stock_id=e.stock_id,
                expected_version=e.expected_version,
                quantity=quantity,
                level=level,
                reason=text,
            )
        except StaleStock:
            raise StaleStockEdits([rows[e.stock_id].sku]) from None
        if done:
            changed.append(e.stock_id)
    session.flush()
    return [stock_row(session, actor, stock_id=i) for i in changed]


def receive_stock(
    session: Session,
    actor: Actor,
    *,
    material_id: uuid.UUID,
    zone_id: uuid.UUID,
    quantity: Any,
    reason: str | None,
    procurement_request_id: uuid.UUID | None = None,
) -> MovementResult:
    """Add received goods to a zone's stock as one ``receipt`` movement (seed 004).

    Creates the (material, zone) stock row at 0 if it does not exist yet. Used for opening
    stock and by procurement-request receipt (4B passes ``procurement_request_id``).

    Args:
        quantity: whole number > 0 in the material's unit.
        reason: optional note (max 300 characters), e.g. the vendor or the delivery note.

    Returns:
        The ledger result (stock row id, movement id, new free quantity, version).

    Raises:
        PermissionDenied: without ``stock.receive``.
        ValidationError: quantity not a whole number > 0, reason too long.
        NotFound: unknown material or zone.
    """
    require(actor, "stock.receive")
    qty = whole_number(quantity, "quantity", minimum=1)
    text = " ".join((reason or "").split()) or None
    if text is not None and len(text) > MAX_REASON:
        raise ValidationError({"reason": f"reason is longer than {MAX_REASON} characters"})
    if session.get(Material, material_id) is None:
        raise NotFound("material not found")
    if session.get(Zone, zone_id) is None:
        raise NotFound("zone not found")
    stock_id = ensure_stock_row(session, material_id=material_id, zone_id=zone_id)
    result = apply_movement(
        session,
        material_stock_id=stock_id,
        kind="receipt",
        quantity_delta=qty,
        actor_id=actor.user_id,
        reason=text,
        procurement_request_id=procurement_request_id,
    )
    audit.record(
        session,
        actor,
        "stock.receive",
        entity_type="material_stock",
        entity_id=stock_id,
        after={
            "quantity": qty,
            "quantity_available": result.quantity_available,
            "procurement_request_id": procurement_request_id,
            "reason": text,
        },
    )
    session.flush()
    return result
