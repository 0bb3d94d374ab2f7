"""Procurement requests (seed 004): buying material locally when a zone's stock is short.

Lifecycle ``requested -> approved -> ordered -> received``; ``cancelled`` from ``requested``,
``approved`` or ``ordered``. Anything else is a ``TransitionError`` naming the current state.

Rules:

* a request is for one installation and one material, a whole quantity > 0 in the
  material's unit; its zone is the installation's (the lead's) zone; ref ``PR-YYYY-NNNNN``;
* the vendor is optional, must be active and of the request's zone;
* approval needs an estimated cost (given at creation or at approval); an estimate above
  ``settings.procurement_approval_limit_inr`` (INR) needs the permission
  ``procurement_request.approve_above_limit`` (manager/admin): anyone else gets
  ``PermissionDenied`` saying a manager must approve;
* ordering needs the estimated cost (it may be revised then; raising it above the limit and
  above the approved estimate again needs a manager's permission);
* receipt needs the actual cost and adds the quantity to the zone's stock through the ledger
  (a ``receipt`` movement linked to the request) exactly once.

Every state change is one conditional ``UPDATE ... WHERE status = <expected>``, so two
concurrent receipts (or a receipt racing a cancellation) cannot both succeed: the loser sees
zero rows updated and gets a ``TransitionError``. Every command writes one audit event and
never commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db.settings import get_settings
from db.types import utcnow
from domain import audit
from domain.actor import Actor
from domain.errors import NotFound, PermissionDenied, TransitionError, ValidationError
from domain.installations.models import Installation
from domain.leads.models import Lead
from domain.money import format_inr
from domain.permissions import can, require
from domain.procurement.catalogue import parse_money, parse_quantity
from domain.procurement.models import Material, ProcurementRequest, Vendor
from domain.refs import next_ref

__all__ = [
    "CANCELLABLE",
    "OPEN_STATUSES",
    "RequestDTO",
    "approve_request",
    "cancel_request",
    "create_request",
    "order_request",
    "raise_requests_for_shortfall",
    "receive_request",
]

OPEN_STATUSES = ("requested", "approved", "ordered")
"""Requests still on their way (not received, not cancelled)."""
CANCELLABLE = OPEN_STATUSES
CLOSED_INSTALLATION_STATUSES = ("cancelled", "closed")
REASON_MAX = 300


@dataclass(frozen=True)
class RequestDTO:
    """One procurement request; costs in INR (Decimal) or None; quantity in material units."""

    id: uuid.UUID
    ref: str
    installation_id: uuid.UUID
    material_id: uuid.UUID
    zone_id: uuid.UUID
    quantity: int
    vendor_id: uuid.UUID | None
    status: str
    estimated_cost: Decimal | None
    actual_cost: Decimal | None
    requested_by_id: uuid.UUID
    approved_by_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: ProcurementRequest) -> RequestDTO:
        """Copy the columns of a ``ProcurementRequest``."""
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


def _get(session: Session, request_id: uuid.UUID) -> ProcurementRequest:
    row = session.get(ProcurementRequest, request_id)
    if row is None:
        raise NotFound("procurement request not found")
    return row


def _installation_zone(session: Session, installation_id: uuid.UUID) -> tuple[str, str, uuid.UUID]:
    """``(ref, status, zone_id)`` of an installation (zone of its lead)."""
    row = session.execute(
        select(Installation.ref, Installation.status, Lead.zone_id)
        .join(Lead, Lead.id == Installation.lead_id)
        .where(Installation.id == installation_id)
    ).one_or_none()
    if row is None:
        raise NotFound("installation not found")
    return row[0], row[1], row[2]


def _check_vendor(
    session: Session, vendor_id: uuid.UUID | None, zone_id: uuid.UUID, errors: dict[str, str]
) -> None:
    if vendor_id is None:
        return
    vendor = session.get(Vendor, vendor_id)
    if vendor is None:
        errors["vendor_id"] = "unknown vendor"
    elif not vendor.is_active:
        errors["vendor_id"] = f"vendor {vendor.name} is deactivated"
    elif vendor.zone_id != zone_id:
        errors["vendor_id"] = f"vendor {vendor.name} does not operate in the request's zone"


def _ensure(row: ProcurementRequest, from_statuses: tuple[str, ...], action: str) -> None:
    """Raise ``TransitionError`` naming the state unless the request is in ``from_statuses``."""
    if row.status not in from_statuses:
        raise TransitionError(
            f"request {row.ref} is {row.status}; it cannot be {action} "
            f"(only from {' or '.join(from_statuses)})"
        )


def _transition(
    session: Session,
    row: ProcurementRequest,
    *,
    from_statuses: tuple[str, ...],
    action: str,
    values: dict[str, Any],
) -> None:
    """Conditional ``UPDATE`` of the request from one of ``from_statuses``.

    Raises:
        TransitionError: the request is (or concurrently became) in another state.
    """
    _ensure(row, from_statuses, action)
    result = session.execute(
        update(ProcurementRequest)
        .where(ProcurementRequest.id == row.id, ProcurementRequest.status.in_(from_statuses))
        .values(updated_at=utcnow(), **values)
        .returning(ProcurementRequest.id)
        .execution_options(synchronize_session=False)
    ).first()
    if result is None:
        session.refresh(row)
        raise TransitionError(
            f"request {row.ref} is now {row.status} (changed by someone else); "
            f"it cannot be {action}"
        )
    session.refresh(row)


def create_request(
    session: Session,
    actor: Actor,
    *,
    installation_id: uuid.UUID,
    material_id: uuid.UUID,
    quantity: Any,
    vendor_id: uuid.UUID | None = None,
    estimated_cost: Any = None,
) -> RequestDTO:
    """Raise a request (status ``requested``) for an installation's material.

    Args:
        quantity: whole number > 0 in the material's unit.
        vendor_id: optional; an active vendor of the installation's zone.
        estimated_cost: optional INR >= 0 (needed later for approval).

    Returns:
        The new request (ref ``PR-YYYY-NNNNN``, zone = the installation's zone).

    Raises:
        PermissionDenied: without ``procurement_request.create``.
        NotFound: no such installation.
        ValidationError: on ``quantity`` (negative, zero, fractional), ``material_id``
            (unknown or deactivated), ``vendor_id``, ``estimated_cost`` or
            ``installation_id`` (cancelled/closed installation); nothing written.
    """
    require(actor, "procurement_request.create")
    inst_ref, inst_status, zone_id = _installation_zone(session, installation_id)
    errors: dict[str, str] = {}
    qty = 0
    cost: Decimal | None = None
    if inst_status in CLOSED_INSTALLATION_STATUSES:
        errors["installation_id"] = f"installation {inst_ref} is {inst_status}"
    try:
        qty = parse_quantity(quantity)
    except ValidationError as e:
        errors.update(e.errors)
    material = session.get(Material, material_id) if material_id is not None else None
    if material is None:
        errors["material_id"] = "unknown material"
    elif not material.active:
        errors["material_id"] = f"{material.sku} is deactivated"
    _check_vendor(session, vendor_id, zone_id, errors)
    try:
        cost = parse_money(estimated_cost, "estimated_cost")
    except ValidationError as e:
        errors.update(e.errors)
    if errors:
        raise ValidationError(errors)
    row = ProcurementRequest(
        id=uuid.uuid4(),
        ref=next_ref(session, "PR"),
        installation_id=installation_id,
        material_id=material_id,
        zone_id=zone_id,
        quantity=qty,
        vendor_id=vendor_id,
        status="requested",
        estimated_cost=cost,
        requested_by_id=actor.user_id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "procurement_request.create",
        entity_type="procurement_request",
        entity_id=row.ref,
        after={
            "installation": inst_ref,
            "material_id": material_id,
            "quantity": qty,
            "vendor_id": vendor_id,
            "estimated_cost": cost,
        },
    )
    session.flush()
    return RequestDTO.from_row(row)


def open_quantity(session: Session, installation_id: uuid.UUID, material_id: uuid.UUID) -> int:
    """Quantity of a material already requested for an installation and still open
    (``requested``, ``approved`` or ``ordered``)."""
    return int(
        session.execute(
            select(func.coalesce(func.sum(ProcurementRequest.quantity), 0)).where(
                ProcurementRequest.installation_id == installation_id,
                ProcurementRequest.material_id == material_id,
                ProcurementRequest.status.in_(OPEN_STATUSES),
            )
        ).scalar_one()
    )


def raise_requests_for_shortfall(
    session: Session, actor: Actor, *, installation_id: uuid.UUID
) -> list[RequestDTO]:
    """One request per bill-of-materials line the zone cannot cover, for exactly what is
    missing.

    For each line of ``allocations.bill_of_materials`` with ``shortfall`` > 0 (required -
    allocated - the zone's free stock), the request quantity is the shortfall minus what is
    already requested for this installation and material and still open. So a second call
    raises nothing new (idempotent), and a cancelled request's quantity is raised again.
    Costs are estimated from the material's unit cost when it has one.

    Returns:
        The requests created (empty when nothing is missing).

    Raises:
        PermissionDenied: without ``procurement_request.create``.
        NotFound: no such installation.
        ValidationError: the installation is cancelled or closed.
    """
    from domain.procurement.allocations import bill_of_materials

    require(actor, "procurement_request.create")
    inst_ref, inst_status, _zone = _installation_zone(session, installation_id)
    if inst_status in CLOSED_INSTALLATION_STATUSES:
        raise ValidationError({"installation_id": f"installation {inst_ref} is {inst_status}"})
    # Serialise concurrent clicks for the same installation: lock its row (PostgreSQL);
    # SQLite write transactions are already serial (BEGIN IMMEDIATE).
    session.execute(
        select(Installation.id).where(Installation.id == installation_id).with_for_update()
    )
    bom = bill_of_materials(session, installation_id)
    created: list[RequestDTO] = []
    for line in bom.lines:
        if line.shortfall <= 0:
            continue
        need = line.shortfall - open_quantity(session, installation_id, line.material_id)
        if need <= 0:
            continue
        unit_cost = session.execute(
            select(Material.unit_cost).where(Material.id == line.material_id)
        ).scalar_one()
        estimate = (unit_cost * need).quantize(Decimal("0.01")) if unit_cost is not None else None
        created.append(
            create_request(
                session,
                actor,
                installation_id=installation_id,
                material_id=line.material_id,
                quantity=need,
                estimated_cost=estimate,
            )
        )
    return created


def _approval_limit() -> Decimal:
    return Decimal(get_settings().procurement_approval_limit_inr)


def _require_limit(actor: Actor, estimate: Decimal, ref: str) -> None:
    limit = _approval_limit()
    if estimate > limit and not can(actor, "procurement_request.approve_above_limit"):
        raise PermissionDenied(
            f"request {ref} is estimated at {format_inr(estimate)}, above the approval limit of "
            f"{format_inr(limit)}: a manager must approve it",
            command="procurement_request.approve_above_limit",
            actor=actor,
        )


def approve_request(
    session: Session,
    actor: Actor,
    *,
    request_id: uuid.UUID,
    estimated_cost: Any = None,
) -> RequestDTO:
    """Approve a ``requested`` request.

    Args:
        estimated_cost: INR >= 0; sets/revises the estimate; required when the request has
            none yet.

    Raises:
        PermissionDenied: without ``procurement_request.approve``; or the estimate is above
            ``procurement_approval_limit_inr`` and the actor lacks
            ``procurement_request.approve_above_limit`` (a manager must approve).
        NotFound: no such request.
        ValidationError: on ``estimated_cost`` (missing or bad).
        TransitionError: the request is not ``requested``.
    """
    require(actor, "procurement_request.approve")
    row = _get(session, request_id)
    _ensure(row, ("requested",), "approved")
    cost = parse_money(estimated_cost, "estimated_cost")
    if cost is None:
        cost = row.estimated_cost
    if cost is None:
        raise ValidationError({"estimated_cost": "an estimated cost is required to approve"})
    _require_limit(actor, cost, row.ref)
    before = {"status": row.status, "estimated_cost": row.estimated_cost}
    _transition(
        session,
        row,
        from_statuses=("requested",),
        action="approved",
        values={"status": "approved", "estimated_cost": cost, "approved_by_id": actor.user_id},
    )
    audit.record(
        session,
        actor,
        "procurement_request.approve",
        entity_type="procurement_request",
        entity_id=row.ref,
        before=before,
        after={"status": "approved", "estimated_cost": cost, "limit": _approval_limit()},
    )
    session.flush()
    return RequestDTO.from_row(row)


def order_request(
    session: Session,
    actor: Actor,
    *,
    request_id: uuid.UUID,
    vendor_id: uuid.UUID | None = None,
    estimated_cost: Any = None,
) -> RequestDTO:
    """Mark an ``approved`` request as ordered (from the vendor, at the estimated cost).

    Args:
        vendor_id: the vendor ordered from (active, of the request's zone); None keeps the
            request's vendor.
        estimated_cost: INR >= 0; None keeps the approved estimate. Raising it above the
            approval limit (and above the approved estimate) needs a manager's permission.

    Raises:
        PermissionDenied: without ``procurement_request.order``; or a revised estimate above
            the limit by an actor who may not approve above it.
        NotFound: no such request.
        ValidationError: on ``estimated_cost`` (none at all) or ``vendor_id``.
        TransitionError: the request is not ``approved``.
    """
    require(actor, "procurement_request.order")
    row = _get(session, request_id)
    _ensure(row, ("approved",), "ordered")
    errors: dict[str, str] = {}
    cost: Decimal | None = None
    try:
        cost = parse_money(estimated_cost, "estimated_cost")
    except ValidationError as e:
        errors.update(e.errors)
    if cost is None and "estimated_cost" not in errors:
        cost = row.estimated_cost
        if cost is None:
            errors["estimated_cost"] = "an estimated cost is required before ordering"
    vendor = vendor_id if vendor_id is not None else row.vendor_id
    _check_vendor(session, vendor_id, row.zone_id, errors)
    if errors:
        raise ValidationError(errors)
    assert cost is not None
    approved = row.estimated_cost
    if approved is None or cost > approved:
        _require_limit(actor, cost, row.ref)
    before = {"status": row.status, "vendor_id": row.vendor_id, "estimated_cost": approved}
    _transition(
        session,
        row,
        from_statuses=("approved",),
        action="ordered",
        values={"status": "ordered", "vendor_id": vendor, "estimated_cost": cost},
    )
    audit.record(
        session,
        actor,
        "procurement_request.order",
        entity_type="procurement_request",
        entity_id=row.ref,
        before=before,
        after={"status": "ordered", "vendor_id": vendor, "estimated_cost": cost},
    )
    session.flush()
    return RequestDTO.from_row(row)


def receive_request(
    session: Session,
    actor: Actor,
    *,
    request_id: uuid.UUID,
    actual_cost: Any,
) -> RequestDTO:
    """Receive an ``ordered`` request: record the actual cost and add its quantity to the
    zone's stock as one ``receipt`` movement linked to the request.

    Exactly once: the status change ``ordered -> received`` is a conditional UPDATE, so of two
    concurrent receipts one succeeds and the other gets ``TransitionError`` (its transaction
    rolls back, no second movement).

    Raises:
        PermissionDenied: without ``procurement_request.receive`` (and ``stock.receive``).
        NotFound: no such request.
        ValidationError: on ``actual_cost`` (missing, negative, not an amount).
        TransitionError: the request is not ``ordered``.
    """
    from domain.procurement.stock import receive_stock

    require(actor, "procurement_request.receive")
    row = _get(session, request_id)
    _ensure(row, ("ordered",), "received")
    cost = parse_money(actual_cost, "actual_cost", required=True)
    _transition(
        session,
        row,
        from_statuses=("ordered",),
        action="received",
        values={"status": "received", "actual_cost": cost},
    )
    sku = session.execute(select(Material.sku).where(Material.id == row.material_id)).scalar_one()
    movement = receive_stock(
        session,
        actor,
        material_id=row.material_id,
        zone_id=row.zone_id,
        quantity=row.quantity,
        reason=f"Procurement request {row.ref} received",
        procurement_request_id=row.id,
    )
    audit.record(
        session,
        actor,
        "procurement_request.receive",
        entity_type="procurement_request",
        entity_id=row.ref,
        before={"status": "ordered"},
        after={
            "status": "received",
            "actual_cost": cost,
            "sku": sku,
            "quantity": row.quantity,
            "stock_movement_id": movement.movement_id,
            "quantity_available": movement.quantity_available,
        },
    )
    session.flush()
    return RequestDTO.from_row(row)


def cancel_request(
    session: Session,
    actor: Actor,
    *,
    request_id: uuid.UUID,
    reason: str | None = None,
) -> RequestDTO:
    """Cancel a request that is ``requested``, ``approved`` or ``ordered``.

    Args:
        reason: optional note kept in the audit event (max 300 characters).

    Raises:
        PermissionDenied: without ``procurement_request.cancel``.
        NotFound: no such request.
        ValidationError: reason too long.
        TransitionError: the request is already ``received`` or ``cancelled``.
    """
    require(actor, "procurement_request.cancel")
    row = _get(session, request_id)
    text = " ".join((reason or "").split()) or None
    if text is not None and len(text) > REASON_MAX:
        raise ValidationError({"reason": f"reason is longer than {REASON_MAX} characters"})
    before = {"status": row.status}
    _transition(
        session, row, from_statuses=CANCELLABLE, action="cancelled", values={"status": "cancelled"}
    )
    audit.record(
        session,
        actor,
        "procurement_request.cancel",
        entity_type="procurement_request",
        entity_id=row.ref,
        before=before,
        after={"status": "cancelled", "reason": text},
    )
    session.flush()
    return RequestDTO.from_row(row)
