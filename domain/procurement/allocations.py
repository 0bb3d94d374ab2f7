"""Material allocations of installations (seed 004) and their effect on the installation.

**Bill of materials** of an installation (``bill_of_materials``): the recommended charger
itself (1 piece), its charger-kit lines (``charger_kit_line`` of the charger recommended in
the survey report; the installation report's charger model when the survey names none) and
the survey report's recommended material lines. A material listed more than once is needed
once, at the **largest** quantity listed (not the sum): the survey's lines are the kit adapted
to the site (e.g. cable cut to the measured run), so they restate kit lines rather than add to
them. Allocations of materials outside the BOM (spares) are shown as lines with required 0.

**Allocation** takes free stock of the installation's zone (the lead's zone) through the
ledger: one conditional ``UPDATE`` that never goes below zero, so concurrent allocations can
never oversell, on PostgreSQL and on SQLite. ``allocate_installation`` allocates, in one
transaction, every missing line the zone can cover *in full*; a line the zone cannot fully
cover is not allocated at all and is reported with its shortfall (missing - free), which is
what ``requests.raise_requests_for_shortfall`` orders. ``allocate`` allocates one line of any
quantity (it is not capped by the BOM).

**Lifecycle** ``allocated -> dispatched -> delivered``; ``returned`` from any of them while
the installation has not started (status ``planned``, ``material_pending``,
``material_ready``, ``confirmed``, ``rescheduled`` or ``cancelled``). Every status change is
one conditional ``UPDATE ... WHERE status IN (...)``, so a return restocks exactly once even
when two users return the same allocation at the same time (the second gets
``TransitionError``).

**Installation**: the first allocation moves it ``planned -> material_pending``; when every
BOM line is delivered in full, ``material_ready`` is set and ``material_pending ->
material_ready``; a return that leaves a BOM line short clears ``material_ready`` and moves
``material_ready``/``confirmed`` back to ``material_pending``. These moves are recorded as
``installation_status_change`` rows by the acting procurement user (the installation
lifecycle's own apply path, since procurement may not run ``installation.transition``) and
audited as ``installation.transition``.

Lock order (no deadlocks on PostgreSQL): installation row, then allocation row, then stock
rows in material-id order.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db.types import utcnow
from domain import audit
from domain.actor import Actor
from domain.errors import NotFound, TransitionError, ValidationError
from domain.installations.models import Installation, InstallationReport
from domain.installations.service import apply_material_transition
from domain.leads.models import Lead
from domain.permissions import require
from domain.procurement.dto import (
    AllocationDTO,
    AllocationRun,
    BillOfMaterials,
    BomLine,
    LineOutcome,
)
from domain.procurement.ledger import InsufficientStock, apply_movement
from domain.procurement.models import (
    ChargerKitLine,
    Material,
    MaterialAllocation,
    MaterialStock,
)
from domain.procurement.stock import whole_number
from domain.procurement.stock_queries import allocation_dto
from domain.reporting.months import require_installation_month_open, require_month_open
from domain.surveys.models import SurveyReport, SurveyReportLine

__all__ = [
    "ACTIVE_STATUSES",
    "NOT_STARTED_STATUSES",
    "allocate",
    "allocate_installation",
    "bill_of_materials",
    "deliver",
    "dispatch",
    "return_allocation",
]

ACTIVE_STATUSES = ("allocated", "dispatched", "delivered")
"""Allocation states that hold material for the installation."""

NOT_STARTED_STATUSES = (
    "planned",
    "material_pending",
    "material_ready",
    "confirmed",
    "rescheduled",
    "cancelled",
)
"""Installation states in which material may still be returned (the job has not started)."""

NO_ALLOCATION_STATUSES = ("cancelled", "closed")
"""Installation states that refuse new allocations and dispatches."""


# --- installation context ----------------------------------------------------------------------


def _lock_installation(session: Session, installation_id: uuid.UUID) -> Installation:
    inst = session.get(Installation, installation_id, with_for_update=True, populate_existing=True)
    if inst is None:
        raise NotFound("installation not found")
    return inst


def _zone_of(session: Session, inst: Installation) -> uuid.UUID:
    return session.execute(select(Lead.zone_id).where(Lead.id == inst.lead_id)).scalar_one()


def _required(
    session: Session, inst: Installation
) -> tuple[uuid.UUID | None, dict[uuid.UUID, int]]:
    """(charger id, material id -> required quantity) per the module's merge rule."""
    report = session.execute(
        select(SurveyReport.id, SurveyReport.recommended_charger_id).where(
            SurveyReport.survey_id == inst.survey_id
        )
    ).one_or_none()
    charger_id = report.recommended_charger_id if report else None
    if charger_id is None:
        charger_id = session.execute(
            select(InstallationReport.charger_model_id).where(
                InstallationReport.installation_id == inst.id
            )
        ).scalar_one_or_none()
    need: dict[uuid.UUID, int] = {}

    def merge(material_id: uuid.UUID, qty: int) -> None:
        need[material_id] = max(need.get(material_id, 0), int(qty))

    if charger_id is not None:
        merge(charger_id, 1)
        for material_id, qty in session.execute(
            select(ChargerKitLine.material_id, ChargerKitLine.quantity).where(
                ChargerKitLine.charger_id == charger_id
            )
        ).all():
            merge(material_id, qty)
    if report is not None:
        for material_id, qty in session.execute(
            select(SurveyReportLine.material_id, SurveyReportLine.quantity).where(
                SurveyReportLine.survey_report_id == report.id
            )
        ).all():
            merge(material_id, qty)
    return charger_id, need


def _bom(session: Session, inst: Installation) -> BillOfMaterials:
    zone_id = _zone_of(session, inst)
    charger_id, need = _required(session, inst)
    allocated: dict[uuid.UUID, int] = defaultdict(int)
    delivered: dict[uuid.UUID, int] = defaultdict(int)
    for material_id, status, qty in session.execute(
        select(
            MaterialAllocation.material_id,
            MaterialAllocation.status,
            func.sum(MaterialAllocation.quantity),
        )
        .where(
            MaterialAllocation.installation_id == inst.id,
            MaterialAllocation.status.in_(ACTIVE_STATUSES),
        )
        .group_by(MaterialAllocation.material_id, MaterialAllocation.status)
    ).all():
        allocated[material_id] += int(qty)
        if status == "delivered":
            delivered[material_id] += int(qty)
    ids = set(need) | set(allocated)
    materials = {
        m.id: m
        for m in session.execute(
            select(Material.id, Material.sku, Material.name, Material.unit).where(
                Material.id.in_(ids)
            )
        ).all()
    }
    free = dict(
        session.execute(
            select(MaterialStock.material_id, MaterialStock.quantity_available).where(
                MaterialStock.zone_id == zone_id, MaterialStock.material_id.in_(ids)
            )
        ).all()
    )
    lines = []
    for material_id in sorted(ids, key=lambda i: materials[i].sku):
        required = need.get(material_id, 0)
        missing = max(required - allocated[material_id], 0)
        available = int(free.get(material_id, 0))
        m = materials[material_id]
        lines.append(
            BomLine(
                material_id=material_id,
                sku=m.sku,
                name=m.name,
                unit=m.unit,
                required=required,
                allocated=allocated[material_id],
                delivered=delivered[material_id],
                missing=missing,
                free=available,
                shortfall=max(missing - available, 0),
            )
        )
    return BillOfMaterials(
        installation_id=inst.id,
        installation_ref=inst.ref,
        installation_status=inst.status,
        material_ready=bool(inst.material_ready),
        zone_id=zone_id,
        charger_id=charger_id,
        lines=tuple(lines),
    )


def bill_of_materials(
    session: Session, installation_id: uuid.UUID, *, actor: Actor | None = None
) -> BillOfMaterials:
    """The installation's bill of materials with, per line: required, allocated (not
    returned), delivered, missing, free stock in its zone and shortfall (see ``BomLine``).

    Args:
        actor: when given, must hold ``allocation.read``.

    Raises:
        NotFound: unknown installation. PermissionDenied: actor without ``allocation.read``.
    """
    if actor is not None:
        require(actor, "allocation.read")
    inst = session.get(Installation, installation_id)
    if inst is None:
        raise NotFound("installation not found")
    return _bom(session, inst)


def _all_delivered(bom: BillOfMaterials) -> bool:
    needed = [line for line in bom.lines if line.required > 0]
    return bool(needed) and all(line.delivered >= line.required for line in needed)


# --- installation moves --------------------------------------------------------------------------


def _move(session: Session, actor: Actor, inst: Installation, to_status: str, reason: str) -> None:
    """Apply one material-driven lifecycle transition (status-change row by ``actor``)."""
    apply_material_transition(session, actor, inst, to_status=to_status, reason=reason)


def _after_allocation(session: Session, actor: Actor, inst: Installation) -> None:
    if inst.status == "planned":
        _move(session, actor, inst, "material_pending", "material allocated")


def _refresh_readiness(session: Session, actor: Actor, inst: Installation, why: str) -> None:
    """Set or clear ``material_ready`` from the BOM and move the installation accordingly."""
    session.flush()
    ready = _all_delivered(_bom(session, inst))
    if ready and not inst.material_ready:
        if inst.status == "planned":
            _move(session, actor, inst, "material_pending", "material allocated")
        if inst.status == "material_pending":
            _move(session, actor, inst, "material_ready", why)
        elif inst.status not in ("closed", "cancelled"):
            inst.material_ready = True
    elif not ready and inst.material_ready and inst.status not in ("closed", "cancelled"):
        if inst.status in ("material_ready", "confirmed"):
            _move(session, actor, inst, "material_pending", why)
        else:
            inst.material_ready = False


# --- allocation ----------------------------------------------------------------------------------


def _check_allocatable(inst: Installation) -> None:
    if inst.status in NO_ALLOCATION_STATUSES:
        raise TransitionError(f"{inst.ref} is {inst.status}: material cannot be allocated to it")


def _allocate_line(
    session: Session,
    actor: Actor,
    inst_id: uuid.UUID,
    inst_ref: str,
    zone_id: uuid.UUID,
    material_id: uuid.UUID,
    quantity: int,
    now: datetime,
    *,
    stock_id: uuid.UUID | None = None,
    allocation_id: uuid.UUID | None = None,
    field: str = "quantity",
) -> MaterialAllocation:
    """Take ``quantity`` from the zone's free stock into a new allocation (pending insert,
    flushed with its movement).

    Raises:
        InsufficientStock: the zone's free stock is smaller (nothing written).
    """
    if actor.user_id is None:
        raise ValidationError({"allocated_by": "an allocation needs a user"})
    if stock_id is None:
        stock_id = session.execute(
            select(MaterialStock.id).where(
                MaterialStock.material_id == material_id, MaterialStock.zone_id == zone_id
            )
        ).scalar_one_or_none()
    if stock_id is None:
        raise InsufficientStock(field, quantity, 0)
    alloc = MaterialAllocation(
        id=allocation_id or uuid.uuid4(),
        installation_id=inst_id,
        material_id=material_id,
        zone_id=zone_id,
        quantity=quantity,
        allocated_by_id=actor.user_id,
        status="allocated",
        allocated_at=now,
    )
    # The stock UPDATE runs before the allocation row is inserted: a refusal leaves nothing
    # to undo; on success the flush inserts the allocation, then its movement.
    with session.no_autoflush:
        session.add(alloc)
        try:
            apply_movement(
                session,
                material_stock_id=stock_id,
                kind="allocation",
                quantity_delta=-quantity,
                actor_id=actor.user_id,
                reason=f"Allocated to {inst_ref}",
                allocation_id=alloc.id,
                field=field,
            )
        except InsufficientStock:
            session.expunge(alloc)
            raise
    return alloc


def allocate(
    session: Session,
    actor: Actor,
    *,
    installation_id: uuid.UUID,
    material_id: uuid.UUID,
    quantity: Any,
) -> AllocationDTO:
    """Allocate ``quantity`` of one material from the installation's zone (seed 004).

    Not capped by the BOM. The first allocation of a ``planned`` installation moves it to
    ``material_pending``. Concurrency-safe: the stock never goes below zero. Kept to a few
    statements (installation lock + zone, material + stock row, the conditional update, the
    inserts): it is the hot path of the concurrency tests and the benchmark.

    Args:
        quantity: whole number > 0 in the material's unit.

    Returns:
        The new allocation (status ``allocated``).

    Raises:
        PermissionDenied: without ``allocation.allocate``.
        ValidationError: quantity not a whole number > 0.
        InsufficientStock: the zone's free stock is smaller (``.available``; nothing written).
        TransitionError: the installation is cancelled or closed.
        NotFound: unknown installation or material.
    """
    require(actor, "allocation.allocate")
    qty = whole_number(quantity, "quantity", minimum=1)
    head = session.execute(
        select(
            Installation.ref,
            Installation.status,
            Lead.zone_id,
            Installation.completed_at,
            Lead.oem_id,
        )
        .join(Lead, Lead.id == Installation.lead_id)
        .where(Installation.id == installation_id)
        .with_for_update(of=Installation)
    ).one_or_none()
    if head is None:
        raise NotFound("installation not found")
    ref, status, zone_id, completed_at, oem_id = head
    if completed_at is not None:  # seed 003: a closed month's installations are locked
        require_month_open(session, oem_id=oem_id, day=completed_at)
    if status in NO_ALLOCATION_STATUSES:
        raise TransitionError(f"{ref} is {status}: material cannot be allocated to it")
    material = session.execute(
        select(Material.sku, Material.name, Material.unit, MaterialStock.id)
        .outerjoin(
            MaterialStock,
            (MaterialStock.material_id == Material.id) & (MaterialStock.zone_id == zone_id),
        )
        .where(Material.id == material_id)
    ).one_or_none()
    if material is None:
        raise NotFound("material not found")
    sku, name, unit, stock_id = material
    if stock_id is None:
        raise InsufficientStock("quantity", qty, 0)
    now = utcnow()
    alloc_id = uuid.uuid4()
    # Pending until the ledger's flush, so it costs no extra round trip under the row lock.
    event = audit.record(
        session,
        actor,
        "allocation.allocate",
        entity_type="material_allocation",
        entity_id=alloc_id,
        after={"installation": ref, "sku": sku, "quantity": qty},
    )
    try:
        _allocate_line(
            session,
            actor,
            installation_id,
            ref,
            zone_id,
            material_id,
            qty,
            now,
            stock_id=stock_id,
            allocation_id=alloc_id,
        )
    except InsufficientStock:
        session.expunge(event)
        raise
    if status == "planned":
        inst = _lock_installation(session, installation_id)
        _after_allocation(session, actor, inst)
        session.flush()
    return AllocationDTO(
        id=alloc_id,
        installation_id=installation_id,
        material_id=material_id,
        zone_id=zone_id,
        sku=sku,
        material_name=name,
        unit=unit,
        quantity=qty,
        status="allocated",
        allocated_at=now,
        dispatched_at=None,
        delivered_at=None,
        returned_at=None,
    )


def allocate_installation(
    session: Session, actor: Actor, *, installation_id: uuid.UUID
) -> AllocationRun:
    """Allocate every missing BOM line the zone can cover in full, in one transaction.

    A line whose missing quantity exceeds the zone's free stock is not allocated (no partial
    allocation) and is reported with ``shortfall`` = missing - free. Lines are taken in
    material-id order. If anything was allocated, a ``planned`` installation moves to
    ``material_pending``.

    Returns:
        One ``LineOutcome`` per line that was missing (empty when fully allocated).

    Raises:
        PermissionDenied: without ``allocation.allocate``.
        TransitionError: the installation is cancelled or closed.
        NotFound: unknown installation.
    """
    require(actor, "allocation.allocate")
    inst = _lock_installation(session, installation_id)
    require_installation_month_open(session, inst)
    _check_allocatable(inst)
    bom = _bom(session, inst)
    now = utcnow()
    outcomes: list[LineOutcome] = []
    for line in sorted(bom.lines, key=lambda x: str(x.material_id)):
        if line.missing <= 0:
            continue
        try:
            aid = _allocate_line(
                session, actor, inst.id, inst.ref, bom.zone_id, line.material_id, line.missing, now
            ).id
        except InsufficientStock as e:
            outcomes.append(
                LineOutcome(
                    line.material_id, line.sku, line.missing, 0, line.missing - e.available, None
                )
            )
            continue
        outcomes.append(LineOutcome(line.material_id, line.sku, line.missing, line.missing, 0, aid))
    if any(o.allocated for o in outcomes):
        _after_allocation(session, actor, inst)
        audit.record(
            session,
            actor,
            "allocation.allocate_installation",
            entity_type="installation",
            entity_id=inst.id,
            after={
                "installation": inst.ref,
                "allocated": {o.sku: o.allocated for o in outcomes if o.allocated},
                "shortfall": {o.sku: o.shortfall for o in outcomes if o.shortfall},
            },
        )
    session.flush()
    outcomes.sort(key=lambda o: o.sku)
    return AllocationRun(inst.id, inst.status, tuple(outcomes))


# --- lifecycle -----------------------------------------------------------------------------------


def _locked_allocation(session: Session, allocation_id: uuid.UUID) -> tuple[Installation, Any]:
    row = session.execute(
        select(MaterialAllocation.installation_id).where(MaterialAllocation.id == allocation_id)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("allocation not found")
    inst = _lock_installation(session, row)
    return inst, row


def _move_allocation(
    session: Session,
    allocation_id: uuid.UUID,
    *,
    from_statuses: tuple[str, ...],
    values: dict[str, Any],
    verb: str,
) -> Any:
    """Conditional status change of one allocation; the row's (material, zone, qty)."""
    row = session.execute(
        update(MaterialAllocation)
        .where(
            MaterialAllocation.id == allocation_id,
            MaterialAllocation.status.in_(from_statuses),
        )
        .values(**values, updated_at=utcnow())
        .returning(
            MaterialAllocation.material_id,
            MaterialAllocation.zone_id,
            MaterialAllocation.quantity,
        )
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if row is None:
        status = session.execute(
            select(MaterialAllocation.status).where(MaterialAllocation.id == allocation_id)
        ).scalar_one()
        raise TransitionError(f"the allocation is {status}: it cannot be {verb}")
    loaded = session.identity_map.get(session.identity_key(MaterialAllocation, allocation_id))
    if loaded is not None:
        session.expire(loaded)
    return row


def _stock_id(session: Session, material_id: uuid.UUID, zone_id: uuid.UUID) -> uuid.UUID:
    return session.execute(
        select(MaterialStock.id).where(
            MaterialStock.material_id == material_id, MaterialStock.zone_id == zone_id
        )
    ).scalar_one()


def dispatch(session: Session, actor: Actor, *, allocation_id: uuid.UUID) -> AllocationDTO:
    """``allocated -> dispatched``: the goods leave the zone store (a 0 ``dispatch`` movement
    records it; free stock is unchanged).

    Raises:
        PermissionDenied: without ``allocation.dispatch``.
        TransitionError: the allocation is not ``allocated``; the installation is cancelled
            or closed.
        NotFound: unknown allocation.
    """
    require(actor, "allocation.dispatch")
    inst, _ = _locked_allocation(session, allocation_id)
    require_installation_month_open(session, inst)
    if inst.status in NO_ALLOCATION_STATUSES:
        raise TransitionError(f"{inst.ref} is {inst.status}: material cannot be dispatched")
    now = utcnow()
    row = _move_allocation(
        session,
        allocation_id,
        from_statuses=("allocated",),
        values={"status": "dispatched", "dispatched_at": now},
        verb="dispatched",
    )
    apply_movement(
        session,
        material_stock_id=_stock_id(session, row.material_id, row.zone_id),
        kind="dispatch",
        quantity_delta=0,
        actor_id=actor.user_id,
        reason=f"Dispatched to {inst.ref} ({row.quantity})",
        allocation_id=allocation_id,
    )
    audit.record(
        session,
        actor,
        "allocation.dispatch",
        entity_type="material_allocation",
        entity_id=allocation_id,
        before={"status": "allocated"},
        after={"status": "dispatched"},
    )
    session.flush()
    return allocation_dto(session, allocation_id)


def deliver(session: Session, actor: Actor, *, allocation_id: uuid.UUID) -> AllocationDTO:
    """``dispatched -> delivered`` at the site. When every BOM line is then delivered in full,
    the installation gets ``material_ready`` (and ``material_pending -> material_ready``).

    Raises:
        PermissionDenied: without ``allocation.deliver``.
        TransitionError: the allocation is not ``dispatched``.
        NotFound: unknown allocation.
    """
    require(actor, "allocation.deliver")
    inst, _ = _locked_allocation(session, allocation_id)
    require_installation_month_open(session, inst)
    _move_allocation(
        session,
        allocation_id,
        from_statuses=("dispatched",),
        values={"status": "delivered", "delivered_at": utcnow()},
        verb="delivered",
    )
    audit.record(
        session,
        actor,
        "allocation.deliver",
        entity_type="material_allocation",
        entity_id=allocation_id,
        before={"status": "dispatched"},
        after={"status": "delivered"},
    )
    _refresh_readiness(session, actor, inst, "all material delivered")
    session.flush()
    return allocation_dto(session, allocation_id)


def return_allocation(
    session: Session, actor: Actor, *, allocation_id: uuid.UUID, reason: str | None = None
) -> AllocationDTO:
    """``allocated | dispatched | delivered -> returned``: the quantity goes back to the zone's
    free stock (one ``return`` movement), exactly once.

    Allowed while the installation has not started (``NOT_STARTED_STATUSES``). If a BOM line
    is then short, ``material_ready`` is cleared and a ``material_ready``/``confirmed``
    installation moves back to ``material_pending``.

    Args:
        reason: optional note kept on the movement (max 300 characters).

    Raises:
        PermissionDenied: without ``allocation.return``.
        TransitionError: already returned (also when two users return it at once: one wins),
            or the installation has started.
        NotFound: unknown allocation.
    """
    require(actor, "allocation.return")
    inst, _ = _locked_allocation(session, allocation_id)
    require_installation_month_open(session, inst)
    if inst.status not in NOT_STARTED_STATUSES:
        raise TransitionError(f"{inst.ref} is {inst.status}: material can no longer be returned")
    text = " ".join((reason or "").split())[:300] or None
    before = session.execute(
        select(MaterialAllocation.status).where(MaterialAllocation.id == allocation_id)
    ).scalar_one()
    row = _move_allocation(
        session,
        allocation_id,
        from_statuses=ACTIVE_STATUSES,
        values={"status": "returned", "returned_at": utcnow()},
        verb="returned",
    )
    apply_movement(
        session,
        material_stock_id=_stock_id(session, row.material_id, row.zone_id),
        kind="return",
        quantity_delta=int(row.quantity),
        actor_id=actor.user_id,
        reason=f"Returned from {inst.ref}" + (f": {text}" if text else ""),
        allocation_id=allocation_id,
    )
    audit.record(
        session,
        actor,
        "allocation.return",
        entity_type="material_allocation",
        entity_id=allocation_id,
        before={"status": before},
        after={"status": "returned", "reason": text},
    )
    _refresh_readiness(session, actor, inst, "material returned")
    session.flush()
    return allocation_dto(session, allocation_id)
