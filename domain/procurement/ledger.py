"""The stock ledger (seed 004): every change of a zone's stock is one ``stock_movement``.

``material_stock.quantity_available`` is the *free* stock of one material in one zone, in the
material's unit (pieces, metres, kg, sets). It always equals the sum of the row's movements:

* ``receipt`` (+q): goods received into the zone store (opening stock, a procurement receipt);
* ``allocation`` (-q): reserved for an installation, so no one else can take it;
* ``dispatch`` (0): the reserved goods leave the store for the site; free stock does not change,
  the movement records when and by whom;
* ``return`` (+q): an allocation given back (job cancelled or rescheduled), exactly once;
* ``adjustment`` (±q, reason required): a stock count corrected by hand.

The change is one conditional ``UPDATE`` that refuses to go below zero, so concurrent writers
on PostgreSQL (row lock taken by the update) and on SQLite (``BEGIN IMMEDIATE``) can never
oversell; the ``quantity_available >= 0`` CHECK is the backstop.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.types import utcnow
from domain.errors import Conflict, NotFound, ValidationError
from domain.procurement.models import MOVEMENT_KINDS, MaterialStock, StockMovement


class InsufficientStock(ValidationError):
    """The zone does not hold enough free stock for a withdrawal.

    ``available`` is the free quantity seen at the time of the refusal and ``requested`` the
    quantity asked for, both in the material's unit.
    """

    def __init__(self, field: str, requested: int, available: int) -> None:
        self.requested = requested
        self.available = available
        super().__init__({field: f"only {available} available in the zone, {requested} requested"})


@dataclass(frozen=True)
class MovementResult:
    """The outcome of one ledger entry: stock row, movement id and the new free quantity."""

    material_stock_id: uuid.UUID
    movement_id: uuid.UUID
    quantity_available: int
    version: int


def ensure_stock_row(
    session: Session, *, material_id: uuid.UUID, zone_id: uuid.UUID, reorder_level: int = 5
) -> uuid.UUID:
    """Id of the ``material_stock`` row for (material, zone), created at 0 if missing.

    Safe under concurrency: an ``INSERT ... ON CONFLICT DO NOTHING`` on the unique
    (material, zone) pair, then a read, so two sessions creating the same row both get its id.
    """
    dialect = session.get_bind().dialect.name
    ins = (postgresql if dialect == "postgresql" else sqlite).insert(MaterialStock)
    now = utcnow()
    session.execute(
        ins.values(
            id=uuid.uuid4(),
            material_id=material_id,
            zone_id=zone_id,
            quantity_available=0,
            reorder_level=reorder_level,
            version=1,
            created_at=now,
            updated_at=now,
        ).on_conflict_do_nothing(index_elements=["material_id", "zone_id"])
    )
    return session.execute(
        select(MaterialStock.id).where(
            MaterialStock.material_id == material_id, MaterialStock.zone_id == zone_id
        )
    ).scalar_one()


def apply_movement(
    session: Session,
    *,
    material_stock_id: uuid.UUID,
    kind: str,
    quantity_delta: int,
    actor_id: uuid.UUID | None,
    reason: str | None = None,
    allocation_id: uuid.UUID | None = None,
    procurement_request_id: uuid.UUID | None = None,
    expected_version: int | None = None,
    field: str = "quantity",
) -> MovementResult:
    """Change one stock row by ``quantity_delta`` and write the matching ledger row.

    Args:
        quantity_delta: signed, whole units of the material; negative withdraws.
        expected_version: when given, the update only applies if the row still has this
            version (optimistic check for edits made on a possibly stale view).
        field: the input field named in error messages.

    Returns:
        A ``MovementResult`` with the new free quantity and version.

    Raises:
        ValidationError: unknown kind, a non-integer delta, a blank reason on an adjustment.
        InsufficientStock: the withdrawal would take the free stock below zero.
        StaleStock: ``expected_version`` no longer matches (someone changed the row).
        NotFound: no such stock row.
    """
    if kind not in MOVEMENT_KINDS:
        raise ValidationError({"kind": f"'{kind}' is not a stock movement kind"})
    if isinstance(quantity_delta, bool) or not isinstance(quantity_delta, int):
        raise ValidationError({field: "must be a whole number"})
    if kind == "adjustment" and not (reason or "").strip():
        raise ValidationError({"reason": "an adjustment needs a reason"})
    now = utcnow()
    stmt = (
        update(MaterialStock)
        .where(
            MaterialStock.id == material_stock_id,
            MaterialStock.quantity_available + quantity_delta >= 0,
        )
        .values(
            quantity_available=MaterialStock.quantity_available + quantity_delta,
            version=MaterialStock.version + 1,
            updated_at=now,
        )
        .returning(MaterialStock.quantity_available, MaterialStock.version)
    )
    if expected_version is not None:
        stmt = stmt.where(MaterialStock.version == expected_version)
    row = session.execute(stmt.execution_options(synchronize_session=False)).one_or_none()
    if row is None:
        current = session.execute(
            select(MaterialStock.quantity_available, MaterialStock.version).where(
                MaterialStock.id == material_stock_id
            )
        ).one_or_none()
        if current is None:
            raise NotFound("stock row not found")
        if expected_version is not None and current.version != expected_version:
            raise StaleStock(current.quantity_available, current.version)
        if kind == "adjustment":
            raise ValidationError({field: "stock cannot go below zero"})
        raise InsufficientStock(field, -quantity_delta, current.quantity_available)
    movement = StockMovement(
        id=uuid.uuid4(),
        material_stock_id=material_stock_id,
        kind=kind,
        quantity_delta=quantity_delta,
        reason=(reason or "").strip()[:300] or None,
        allocation_id=allocation_id,
        procurement_request_id=procurement_request_id,
        actor_id=actor_id,
        created_at=now,
    )
    session.add(movement)
    session.flush()
    # Keep any loaded ORM copy of the row in step with the database.
    loaded = session.identity_map.get(session.identity_key(MaterialStock, material_stock_id))
    if loaded is not None:
        session.expire(loaded)
    return MovementResult(material_stock_id, movement.id, row[0], row[1])


class StaleStock(Conflict):
    """The stock row changed since the editor's view was loaded (optimistic check failed).

    ``quantity_available`` and ``version`` are the row's current values.
    """

    def __init__(self, quantity_available: int, version: int) -> None:
        self.quantity_available = quantity_available
        self.version = version
        super().__init__(
            "quantity_available: someone changed this stock row since you loaded it "
            f"(now {quantity_available}); reload and apply your change again"
        )
