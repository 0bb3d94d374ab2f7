"""Reads for the Materials, Vendors and Procurement requests pages (seed 004).

Plain dataclasses out, never ORM objects. Reading needs ``material.read``, ``vendor.read`` or
``procurement_request.read`` (staff; an ``oem_viewer`` is refused). Money is Decimal INR,
quantities are whole units of the material.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from domain.accounts.models import AppUser, Zone
from domain.actor import Actor
from domain.errors import NotFound, ValidationError
from domain.installations.models import Installation
from domain.paging import MAX_PAGE_SIZE, Page, check_page, matches_any
from domain.permissions import require
from domain.procurement.catalogue import KitLineDTO, MaterialDTO, kit_lines
from domain.procurement.models import (
    MATERIAL_CATEGORIES,
    REQUEST_STATUSES,
    Material,
    ProcurementRequest,
    Vendor,
)

EXPORT_MAX = 50_000


# --- materials -------------------------------------------------------------------------------


def list_materials(
    session: Session,
    actor: Actor,
    *,
    search: str | None = None,
    category: str | None = None,
    active_only: bool = False,
) -> list[MaterialDTO]:
    """Catalogue items ordered by category then SKU.

    Args:
        search: case-insensitive "contains" over SKU and name.
        category: one of ``MATERIAL_CATEGORIES``.

    Raises:
        PermissionDenied: without ``material.read``.
        ValidationError: unknown ``category``.
    """
    require(actor, "material.read")
    if category is not None and category not in MATERIAL_CATEGORIES:
        raise ValidationError({"category": f"unknown category {category!r}"})
    stmt = select(Material).order_by(Material.category, Material.sku)
    cond = matches_any(search, [Material.sku, Material.name])
    if cond is not None:
        stmt = stmt.where(cond)
    if category is not None:
        stmt = stmt.where(Material.category == category)
    if active_only:
        stmt = stmt.where(Material.active.is_(True))
    return [MaterialDTO.from_row(m) for m in session.execute(stmt).scalars().all()]


def get_material(session: Session, actor: Actor, material_id: uuid.UUID) -> MaterialDTO:
    """One material.

    Raises:
        PermissionDenied: without ``material.read``.
        NotFound: no such material.
    """
    require(actor, "material.read")
    mat = session.get(Material, material_id)
    if mat is None:
        raise NotFound("material not found")
    return MaterialDTO.from_row(mat)


def charger_kit(session: Session, actor: Actor, charger_id: uuid.UUID) -> list[KitLineDTO]:
    """A charger's kit lines by SKU (``catalogue.kit_lines``).

    Raises:
        PermissionDenied: without ``material.read``.
    """
    require(actor, "material.read")
    return kit_lines(session, charger_id)


def materials_export_rows(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Every material as a dict for CSV (columns of ``MaterialDTO`` without the id)."""
    rows = []
    for m in list_materials(session, actor):
        d = asdict(m)
        d.pop("id")
        rows.append(d)
    return rows


# --- vendors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class VendorRow:
    """A vendor with its zone and how many procurement requests name it."""

    id: uuid.UUID
    name: str
    phone: str
    zone_id: uuid.UUID
    zone_code: str
    upi_id: str | None
    bank_account: str | None
    bank_ifsc: str | None
    is_active: bool
    requests: int

    @property
    def label(self) -> str:
        return f"{self.name} ({self.zone_code})" + ("" if self.is_active else " — inactive")


def list_vendors(
    session: Session,
    actor: Actor,
    *,
    zone_id: uuid.UUID | None = None,
    active_only: bool = False,
    search: str | None = None,
) -> list[VendorRow]:
    """Vendors ordered by zone code then name.

    Raises:
        PermissionDenied: without ``vendor.read``.
    """
    require(actor, "vendor.read")
    counts = (
        select(ProcurementRequest.vendor_id, func.count().label("n"))
        .where(ProcurementRequest.vendor_id.is_not(None))
        .group_by(ProcurementRequest.vendor_id)
        .subquery()
    )
    stmt = (
        select(
            Vendor.id,
            Vendor.name,
            Vendor.phone,
            Vendor.zone_id,
            Zone.code,
            Vendor.upi_id,
            Vendor.bank_account,
            Vendor.bank_ifsc,
            Vendor.is_active,
            func.coalesce(counts.c.n, 0),
        )
        .join(Zone, Zone.id == Vendor.zone_id)
        .outerjoin(counts, counts.c.vendor_id == Vendor.id)
        .order_by(Zone.code, Vendor.name)
    )
    if zone_id is not None:
        stmt = stmt.where(Vendor.zone_id == zone_id)
    if active_only:
        stmt = stmt.where(Vendor.is_active.is_(True))
    cond = matches_any(search, [Vendor.name, Vendor.phone])
    if cond is not None:
        stmt = stmt.where(cond)
    return [VendorRow(*r[:9], int(r[9])) for r in session.execute(stmt).all()]


def vendors_export_rows(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Every vendor as a dict for CSV (without ids)."""
    out = []
    for v in list_vendors(session, actor):
        d = asdict(v)
        d.pop("id")
        d.pop("zone_id")
        out.append(d)
    return out


# --- procurement requests --------------------------------------------------------------------


@dataclass(frozen=True)
class RequestRow:
    """A procurement request with the names a list shows; costs Decimal INR or None."""

    id: uuid.UUID
    ref: str
    status: str
    installation_id: uuid.UUID
    installation_ref: str
    zone_id: uuid.UUID
    zone_code: str
    material_id: uuid.UUID
    sku: str
    material_name: str
    unit: str
    quantity: int
    vendor_id: uuid.UUID | None
    vendor_name: str | None
    estimated_cost: Decimal | None
    actual_cost: Decimal | None
    requested_by: str | None
    approved_by: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class RequestPage(Page):
    """One page of ``RequestRow`` (latest first)."""

    row_type: ClassVar[type] = RequestRow


def _request_stmt() -> Any:
    requester = aliased(AppUser)
    approver = aliased(AppUser)
    return (
        select(
            ProcurementRequest.id,
            ProcurementRequest.ref,
            ProcurementRequest.status,
            ProcurementRequest.installation_id,
            Installation.ref,
            ProcurementRequest.zone_id,
            Zone.code,
            ProcurementRequest.material_id,
            Material.sku,
            Material.name,
            Material.unit,
            ProcurementRequest.quantity,
            ProcurementRequest.vendor_id,
            Vendor.name,
            ProcurementRequest.estimated_cost,
            ProcurementRequest.actual_cost,
            requester.username,
            approver.username,
            ProcurementRequest.created_at,
            ProcurementRequest.updated_at,
        )
        .join(Installation, Installation.id == ProcurementRequest.installation_id)
        .join(Zone, Zone.id == ProcurementRequest.zone_id)
        .join(Material, Material.id == ProcurementRequest.material_id)
        .outerjoin(Vendor, Vendor.id == ProcurementRequest.vendor_id)
        .outerjoin(requester, requester.id == ProcurementRequest.requested_by_id)
        .outerjoin(approver, approver.id == ProcurementRequest.approved_by_id)
    )


def _request_filters(
    status: str | None,
    zone_id: uuid.UUID | None,
    installation_id: uuid.UUID | None,
    search: str | None,
) -> list[Any]:
    if status is not None and status not in REQUEST_STATUSES:
        raise ValidationError({"status": f"unknown status {status!r}"})
    conds: list[Any] = []
    if status is not None:
        conds.append(ProcurementRequest.status == status)
    if zone_id is not None:
        conds.append(ProcurementRequest.zone_id == zone_id)
    if installation_id is not None:
        conds.append(ProcurementRequest.installation_id == installation_id)
    cond = matches_any(search, [ProcurementRequest.ref, Installation.ref, Material.sku])
    if cond is not None:
        conds.append(cond)
    return conds


def list_requests(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    zone_id: uuid.UUID | None = None,
    installation_id: uuid.UUID | None = None,
    search: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> RequestPage:
    """Procurement requests, latest first, filtered and paged.

    Args:
        status: one of ``REQUEST_STATUSES``.
        search: "contains" over the request ref, installation ref and SKU.

    Raises:
        PermissionDenied: without ``procurement_request.read``.
        ValidationError: unknown status, bad paging.
    """
    require(actor, "procurement_request.read")
    check_page(page, page_size)
    conds = _request_filters(status, zone_id, installation_id, search)
    total = session.execute(
        select(func.count())
        .select_from(ProcurementRequest)
        .join(Installation, Installation.id == ProcurementRequest.installation_id)
        .join(Material, Material.id == ProcurementRequest.material_id)
        .where(*conds)
    ).scalar_one()
    rows = session.execute(
        _request_stmt()
        .where(*conds)
        .order_by(ProcurementRequest.created_at.desc(), ProcurementRequest.ref.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return RequestPage(
        rows=tuple(RequestRow(*r) for r in rows), total=total, page=page, page_size=page_size
    )


def get_request(session: Session, actor: Actor, request_id: uuid.UUID) -> RequestRow:
    """One request with its names.

    Raises:
        PermissionDenied: without ``procurement_request.read``.
        NotFound: no such request.
    """
    require(actor, "procurement_request.read")
    row = session.execute(_request_stmt().where(ProcurementRequest.id == request_id)).one_or_none()
    if row is None:
        raise NotFound("procurement request not found")
    return RequestRow(*row)


def requests_export_rows(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    zone_id: uuid.UUID | None = None,
    search: str | None = None,
) -> list[dict[str, Any]]:
    """Every request matching the filters (at most 50,000, latest first) as dicts for CSV,
    without the internal ids.

    Raises:
        PermissionDenied: without ``procurement_request.read``.
        ValidationError: unknown status.
    """
    require(actor, "procurement_request.read")
    conds = _request_filters(status, zone_id, None, search)
    rows = session.execute(
        _request_stmt()
        .where(*conds)
        .order_by(ProcurementRequest.created_at.desc(), ProcurementRequest.ref.desc())
        .limit(EXPORT_MAX)
    ).all()
    out = []
    for r in rows:
        d = asdict(RequestRow(*r))
        for key in ("id", "installation_id", "zone_id", "material_id", "vendor_id"):
            d.pop(key)
        out.append(d)
    return out


__all__ = [
    "MAX_PAGE_SIZE",
    "RequestPage",
    "RequestRow",
    "VendorRow",
    "charger_kit",
    "get_material",
    "get_request",
    "list_materials",
    "list_requests",
    "list_vendors",
    "materials_export_rows",
    "requests_export_rows",
    "vendors_export_rows",
]
