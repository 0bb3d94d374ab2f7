"""procurement (seed 004): materials, zone stock and its ledger, allocations, requests, vendors."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, IdMixin, TimestampMixin, one_of

MATERIAL_CATEGORIES = ("charger", "cable", "mounting", "electrical", "misc")
MATERIAL_UNITS = ("piece", "meter", "kg", "set")
ALLOCATION_STATUSES = ("allocated", "dispatched", "delivered", "returned")
REQUEST_STATUSES = ("requested", "approved", "ordered", "received", "cancelled")
MOVEMENT_KINDS = ("receipt", "allocation", "dispatch", "return", "adjustment")


class Material(TimestampMixin, Base):
    """A catalogue item. Chargers carry their rated power in kW."""

    __tablename__ = "material"
    __table_args__ = (
        one_of("category", MATERIAL_CATEGORIES),
        one_of("unit", MATERIAL_UNITS),
        CheckConstraint("unit_cost IS NULL OR unit_cost >= 0", name="unit_cost_not_negative"),
    )
    name: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str] = mapped_column(String(50), unique=True)
    category: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    power_kw: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    unit_cost: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ChargerKitLine(IdMixin, Base):
    """Bill of materials: a charger model's standard material lines."""

    __tablename__ = "charger_kit_line"
    __table_args__ = (
        UniqueConstraint("charger_id", "material_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )
    charger_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("material.id", ondelete="CASCADE"))
    material_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("material.id", ondelete="RESTRICT"))
    quantity: Mapped[int] = mapped_column(Integer)


class MaterialStock(TimestampMixin, Base):
    """Stock of one material in one zone; equals the sum of its ``stock_movement`` rows."""

    __tablename__ = "material_stock"
    __table_args__ = (
        UniqueConstraint("material_id", "zone_id"),
        CheckConstraint("quantity_available >= 0", name="quantity_available_not_negative"),
        CheckConstraint("reorder_level >= 0", name="reorder_level_not_negative"),
    )
    material_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("material.id", ondelete="CASCADE"))
    zone_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("zone.id", ondelete="RESTRICT"), index=True
    )
    quantity_available: Mapped[int] = mapped_column(Integer, default=0)
    reorder_level: Mapped[int] = mapped_column(Integer, default=5)
    version: Mapped[int] = mapped_column(Integer, default=1)


class MaterialAllocation(TimestampMixin, Base):
    """Material reserved for an installation from its zone's stock."""

    __tablename__ = "material_allocation"
    __table_args__ = (
        one_of("status", ALLOCATION_STATUSES),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_material_allocation_installation", "installation_id"),
        Index("ix_material_allocation_status", "status"),
    )
    installation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("installation.id", ondelete="CASCADE")
    )
    material_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("material.id", ondelete="RESTRICT"))
    zone_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("zone.id", ondelete="RESTRICT"))
    quantity: Mapped[int] = mapped_column(Integer)
    allocated_by_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("app_user.id", ondelete="RESTRICT")
    )
    status: Mapped[str] = mapped_column(String(20), default="allocated")
    allocated_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    returned_at: Mapped[datetime | None]


class Vendor(TimestampMixin, Base):
    """A local supplier. At least one payment method: UPI id, or bank account + IFSC."""

    __tablename__ = "vendor"
    __table_args__ = (
        CheckConstraint(
            "upi_id IS NOT NULL OR (bank_account IS NOT NULL AND bank_ifsc IS NOT NULL)",
            name="has_payment_method",
        ),
    )
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(16))
    zone_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("zone.id", ondelete="RESTRICT"), index=True
    )
    upi_id: Mapped[str | None] = mapped_column(String(100))
    bank_account: Mapped[str | None] = mapped_column(String(20))
    bank_ifsc: Mapped[str | None] = mapped_column(String(15))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class ProcurementRequest(TimestampMixin, Base):
    """Request to buy material locally when zone stock is short (costs in INR)."""

    __tablename__ = "procurement_request"
    __table_args__ = (
        one_of("status", REQUEST_STATUSES),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "estimated_cost IS NULL OR estimated_cost >= 0", name="estimated_cost_not_negative"
        ),
        CheckConstraint("actual_cost IS NULL OR actual_cost >= 0", name="actual_cost_not_negative"),
        Index("ix_procurement_request_status", "status"),
    )
    ref: Mapped[str] = mapped_column(String(20), unique=True)
    installation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("installation.id", ondelete="CASCADE"), index=True
    )
    material_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("material.id", ondelete="RESTRICT"))
    zone_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("zone.id", ondelete="RESTRICT"))
    quantity: Mapped[int] = mapped_column(Integer)
    vendor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vendor.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(20), default="requested")
    estimated_cost: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    actual_cost: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    requested_by_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("app_user.id", ondelete="RESTRICT")
    )
    approved_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )


class StockMovement(IdMixin, Base):
    """Ledger of every stock change; ``quantity_delta`` is signed, in the material's unit."""

    __tablename__ = "stock_movement"
    __table_args__ = (
        one_of("kind", MOVEMENT_KINDS),
        Index("ix_stock_movement_stock_created", "material_stock_id", "created_at"),
    )
    material_stock_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("material_stock.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(20))
    quantity_delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(300))
    allocation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("material_allocation.id", ondelete="SET NULL")
    )
    procurement_request_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("procurement_request.id", ondelete="SET NULL")
    )
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )
