"""Materials catalogue and charger kits (seed 004).

A ``material`` has a unique SKU (stored trimmed and upper-case), a name, a category
(``MATERIAL_CATEGORIES``), a unit (``MATERIAL_UNITS``), a description, an optional unit cost
(Decimal INR >= 0) and, for chargers only, the rated power in kW. A charger's *kit* is its
standard bill of materials: ``charger_kit_line`` rows (material, whole quantity > 0 in the
material's unit); the charger itself is not one of its lines.

Every command checks its permission first (``material.manage``), validates all fields
(``ValidationError`` naming each bad field; nothing is written), changes rows, flushes and
writes one audit event; it never commits.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain import audit
from domain.activation import set_active
from domain.actor import Actor
from domain.errors import NotFound, ValidationError
from domain.permissions import require
from domain.procurement.models import (
    MATERIAL_CATEGORIES,
    MATERIAL_UNITS,
    ChargerKitLine,
    Material,
)

__all__ = [
    "KitLineDTO",
    "MaterialDTO",
    "create_material",
    "deactivate_material",
    "kit_lines",
    "material_by_sku",
    "normalise_sku",
    "parse_money",
    "parse_quantity",
    "reactivate_material",
    "set_kit_lines",
    "update_material",
]

SKU_MAX = 50
NAME_MAX = 200
SKU_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._/\-]*$")
MAX_MONEY = Decimal("99999999.99")  # Numeric(10, 2)
MAX_POWER_KW = Decimal("9999.9")  # Numeric(5, 1)
MAX_QUANTITY = 1_000_000


@dataclass(frozen=True)
class MaterialDTO:
    """One catalogue item. ``unit_cost`` in INR (or None), ``power_kw`` for chargers only."""

    id: uuid.UUID
    sku: str
    name: str
    category: str
    unit: str
    description: str
    power_kw: Decimal | None
    unit_cost: Decimal | None
    active: bool

    @classmethod
    def from_row(cls, row: Material) -> MaterialDTO:
        """Copy the columns of a ``Material``."""
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})

    @property
    def label(self) -> str:
        return f"{self.sku} · {self.name}"


@dataclass(frozen=True)
class KitLineDTO:
    """One line of a charger kit: the material and its whole quantity in the material's unit."""

    material_id: uuid.UUID
    sku: str
    name: str
    unit: str
    quantity: int


# --- field parsers (shared with vendors and requests) -----------------------------------------


def normalise_sku(value: Any) -> str:
    """A SKU trimmed and upper-cased (``" chg-ac-7k2 "`` -> ``"CHG-AC-7K2"``).

    Allowed: letters, digits and ``. _ / -``, starting with a letter or digit, at most 50.

    Raises:
        ValidationError: on ``sku`` when blank, too long or holding other characters.
    """
    text = str(value if value is not None else "").strip().upper()
    if not text:
        raise ValidationError({"sku": "SKU is required"})
    if len(text) > SKU_MAX:
        raise ValidationError({"sku": f"SKU is longer than {SKU_MAX} characters"})
    if not SKU_PATTERN.match(text):
        raise ValidationError(
            {"sku": f"SKU {text!r} may hold only letters, digits and . _ / - (no spaces)"}
        )
    return text


def parse_quantity(value: Any, field: str = "quantity") -> int:
    """A whole count > 0 in the material's unit.

    Accepts ints, integral Decimals/floats (``3.0``) and digit strings (``" 3 "``).

    Raises:
        ValidationError: on ``field`` for blank, non-numeric, fractional, zero or negative
            values, or more than 1,000,000.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError({field: "a quantity is required"})
    if isinstance(value, bool):
        raise ValidationError({field: "must be a whole number"})
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError({field: f"{value!r} is not a number"}) from None
    if not number.is_finite():
        raise ValidationError({field: f"{value!r} is not a number"})
    if number != number.to_integral_value():
        raise ValidationError({field: f"must be a whole number, not {value}"})
    qty = int(number)
    if qty <= 0:
        raise ValidationError({field: f"must be more than 0, not {qty}"})
    if qty > MAX_QUANTITY:
        raise ValidationError({field: f"must be at most {MAX_QUANTITY:,}"})
    return qty


def parse_money(value: Any, field: str, *, required: bool = False) -> Decimal | None:
    """An INR amount >= 0 as ``Decimal`` with 2 places, or None when blank and not required.

    Raises:
        ValidationError: on ``field`` for a missing required amount, a non-number, a negative
            amount, more than 2 decimal places or more than ₹99,999,999.99.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError({field: "an amount in INR is required"})
        return None
    if isinstance(value, bool):
        raise ValidationError({field: "must be an amount in INR"})
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationError({field: f"{value!r} is not an amount in INR"}) from None
    if not amount.is_finite():
        raise ValidationError({field: f"{value!r} is not an amount in INR"})
    if amount < 0:
        raise ValidationError({field: "cannot be negative"})
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError({field: "at most 2 decimal places (paise)"})
    if amount > MAX_MONEY:
        raise ValidationError({field: "is too large"})
    return amount.quantize(Decimal("0.01"))


# --- materials -------------------------------------------------------------------------------


def _get_material(session: Session, material_id: uuid.UUID) -> Material:
    mat = session.get(Material, material_id)
    if mat is None:
        raise NotFound("material not found")
    return mat


def _sku_taken(session: Session, sku: str, exclude_id: uuid.UUID | None = None) -> bool:
    stmt = select(Material.id).where(func.upper(Material.sku) == sku)
    if exclude_id is not None:
        stmt = stmt.where(Material.id != exclude_id)
    return session.execute(stmt.limit(1)).first() is not None


def _validated_fields(
    session: Session,
    *,
    sku: Any,
    name: Any,
    category: Any,
    unit: Any,
    description: Any,
    unit_cost: Any,
    power_kw: Any,
    exclude_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """All material fields checked together; raises one ``ValidationError`` listing each."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    try:
        values["sku"] = normalise_sku(sku)
        if _sku_taken(session, values["sku"], exclude_id):
            errors["sku"] = f"SKU {values['sku']} already exists"
    except ValidationError as e:
        errors.update(e.errors)
    name_text = " ".join(str(name or "").split())
    if not name_text:
        errors["name"] = "name is required"
    elif len(name_text) > NAME_MAX:
        errors["name"] = f"name is longer than {NAME_MAX} characters"
    values["name"] = name_text
    if category not in MATERIAL_CATEGORIES:
        errors["category"] = f"category must be one of {', '.join(MATERIAL_CATEGORIES)}"
    values["category"] = category
    if unit not in MATERIAL_UNITS:
        errors["unit"] = f"unit must be one of {', '.join(MATERIAL_UNITS)}"
    values["unit"] = unit
    values["description"] = str(description or "").strip()
    try:
        values["unit_cost"] = parse_money(unit_cost, "unit_cost")
    except ValidationError as e:
        errors.update(e.errors)
    power: Decimal | None = None
    if power_kw is not None and not (isinstance(power_kw, str) and not power_kw.strip()):
        try:
            power = Decimal(str(power_kw).strip())
            if not power.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            errors["power_kw"] = f"{power_kw!r} is not a number of kW"
    if "power_kw" not in errors:
        if category == "charger":
            if power is None:
                errors["power_kw"] = "a charger needs its rated power in kW"
            elif not Decimal("0") < power <= MAX_POWER_KW:
                errors["power_kw"] = f"power must be more than 0 and at most {MAX_POWER_KW} kW"
            elif power != power.quantize(Decimal("0.1")):
                errors["power_kw"] = "power has at most one decimal place"
        elif power is not None and power != 0:
            errors["power_kw"] = "only chargers have a rated power"
            power = None
        else:
            power = None
    values["power_kw"] = power
    if errors:
        raise ValidationError(errors)
    return values


def _flush_unique(session: Session, sku: str) -> None:
    """Flush; a unique violation (a concurrent insert of the same SKU) names ``sku``."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise ValidationError({"sku": f"SKU {sku} already exists"}) from exc


def create_material(
    session: Session,
    actor: Actor,
    *,
    sku: str,
    name: str,
    category: str,
    unit: str,
    description: str = "",
    unit_cost: Decimal | str | int | None = None,
    power_kw: Decimal | str | float | None = None,
) -> MaterialDTO:
    """Add a material to the catalogue.

    Args:
        sku: normalised with ``normalise_sku`` (trimmed, upper-case); must be unique.
        category / unit: one of ``MATERIAL_CATEGORIES`` / ``MATERIAL_UNITS``.
        unit_cost: INR >= 0, or None.
        power_kw: required for (and only for) category ``charger``; > 0, one decimal place.

    Returns:
        The new material.

    Raises:
        PermissionDenied: without ``material.manage``.
        ValidationError: naming every bad field (duplicate SKU on ``sku``); nothing written.
    """
    require(actor, "material.manage")
    values = _validated_fields(
        session,
        sku=sku,
        name=name,
        category=category,
        unit=unit,
        description=description,
        unit_cost=unit_cost,
        power_kw=power_kw,
    )
    mat = Material(id=uuid.uuid4(), active=True, **values)
    session.add(mat)
    _flush_unique(session, values["sku"])
    audit.record(
        session, actor, "material.create", entity_type="material", entity_id=mat.id, after=values
    )
    session.flush()
    return MaterialDTO.from_row(mat)


def update_material(
    session: Session,
    actor: Actor,
    *,
    material_id: uuid.UUID,
    sku: str,
    name: str,
    category: str,
    unit: str,
    description: str = "",
    unit_cost: Decimal | str | int | None = None,
    power_kw: Decimal | str | float | None = None,
) -> MaterialDTO:
    """Replace a material's fields (same rules as ``create_material``).

    A material that is a charger with kit lines cannot change to another category (its kit
    would no longer belong to a charger).

    Raises:
        PermissionDenied: without ``material.manage``.
        NotFound: no such material.
        ValidationError: naming every bad field; nothing written.
    """
    require(actor, "material.manage")
    mat = _get_material(session, material_id)
    values = _validated_fields(
        session,
        sku=sku,
        name=name,
        category=category,
        unit=unit,
        description=description,
        unit_cost=unit_cost,
        power_kw=power_kw,
        exclude_id=mat.id,
    )
    if mat.category == "charger" and values["category"] != "charger" and kit_lines(session, mat.id):
        raise ValidationError(
            {"category": "this charger has kit lines; remove them before changing its category"}
        )
    before = {k: getattr(mat, k) for k in values}
    for k, v in values.items():
        setattr(mat, k, v)
    _flush_unique(session, values["sku"])
    changed = {k: v for k, v in values.items() if before[k] != v}
    if changed:
        audit.record(
            session,
            actor,
            "material.update",
            entity_type="material",
            entity_id=mat.id,
            before={k: before[k] for k in changed},
            after=changed,
        )
        session.flush()
    return MaterialDTO.from_row(mat)


def _set_active(
    session: Session, actor: Actor, material_id: uuid.UUID, active: bool
) -> MaterialDTO:
    require(actor, "material.manage")
    mat = _get_material(session, material_id)
    set_active(session, actor, mat, active=active, entity_type="material")
    return MaterialDTO.from_row(mat)


def deactivate_material(session: Session, actor: Actor, *, material_id: uuid.UUID) -> MaterialDTO:
    """Retire a material: it stays on existing stock, allocations and requests, but new
    requests and kit lines refuse it. Idempotent (no audit when already inactive).

    Raises:
        PermissionDenied: without ``material.manage``.
        NotFound: no such material.
    """
    return _set_active(session, actor, material_id, False)


def reactivate_material(session: Session, actor: Actor, *, material_id: uuid.UUID) -> MaterialDTO:
    """Bring a deactivated material back. See ``deactivate_material``."""
    return _set_active(session, actor, material_id, True)


def material_by_sku(session: Session, sku: str) -> MaterialDTO:
    """The material with this SKU (matched trimmed and case-insensitively).

    Raises:
        ValidationError: on ``sku`` when the SKU is malformed or unknown.
    """
    code = normalise_sku(sku)
    mat = session.execute(
        select(Material).where(func.upper(Material.sku) == code)
    ).scalar_one_or_none()
    if mat is None:
        raise ValidationError({"sku": f"unknown SKU {code}"})
    return MaterialDTO.from_row(mat)


# --- charger kits ----------------------------------------------------------------------------


def kit_lines(session: Session, charger_id: uuid.UUID) -> list[KitLineDTO]:
    """The kit lines of a charger, by SKU (empty for a charger without a kit)."""
    rows = session.execute(
        select(
            ChargerKitLine.material_id,
            Material.sku,
            Material.name,
            Material.unit,
            ChargerKitLine.quantity,
        )
        .join(Material, Material.id == ChargerKitLine.material_id)
        .where(ChargerKitLine.charger_id == charger_id)
        .order_by(Material.sku)
    ).all()
    return [KitLineDTO(*r) for r in rows]


def _line_items(lines: Iterable[Any]) -> list[tuple[Any, Any]]:
    """``(sku, quantity)`` pairs from tuples or mappings with keys ``sku`` and ``quantity``."""
    out: list[tuple[Any, Any]] = []
    for line in lines:
        if isinstance(line, Mapping):
            out.append((line.get("sku"), line.get("quantity")))
        else:
            sku, qty = line
            out.append((sku, qty))
    return out


def set_kit_lines(
    session: Session,
    actor: Actor,
    *,
    charger_id: uuid.UUID,
    lines: Iterable[tuple[str, Any] | Mapping[str, Any]],
) -> list[KitLineDTO]:
    """Replace the kit of a charger with ``lines``.

    Args:
        lines: ``(sku, quantity)`` pairs or mappings ``{"sku", "quantity"}``; SKUs are
            normalised; a line with a blank SKU *and* a blank quantity is skipped (an empty
            editor row). Quantity: whole number > 0 in the material's unit.

    Returns:
        The charger's kit lines after the change.

    Raises:
        PermissionDenied: without ``material.manage``.
        NotFound: no such material.
        ValidationError: the material is not a charger (``charger_id``); a line with an
            unknown, inactive, repeated or self-referencing SKU (``sku``, the message names
            the line); a bad quantity (``quantity``). Nothing is written.
    """
    require(actor, "material.manage")
    charger = _get_material(session, charger_id)
    if charger.category != "charger":
        raise ValidationError({"charger_id": f"{charger.sku} is not a charger"})
    wanted: dict[uuid.UUID, int] = {}
    errors: dict[str, str] = {}
    for n, (raw_sku, raw_qty) in enumerate(_line_items(lines), start=1):
        blank_sku = raw_sku is None or not str(raw_sku).strip()
        blank_qty = raw_qty is None or (isinstance(raw_qty, str) and not raw_qty.strip())
        if blank_sku and blank_qty:
            continue
        try:
            mat = material_by_sku(session, raw_sku)
        except ValidationError as e:
            errors.setdefault("sku", f"line {n}: {e.errors['sku']}")
            continue
        try:
            qty = parse_quantity(raw_qty)
        except ValidationError as e:
            errors.setdefault("quantity", f"line {n} ({mat.sku}): {e.errors['quantity']}")
            continue
        if mat.id == charger.id:
            errors.setdefault("sku", f"line {n}: a charger's kit cannot contain the charger")
        elif not mat.active:
            errors.setdefault("sku", f"line {n}: {mat.sku} is deactivated")
        elif mat.id in wanted:
            errors.setdefault("sku", f"line {n}: {mat.sku} is listed twice")
        else:
            wanted[mat.id] = qty
    if errors:
        raise ValidationError(errors)
    before = {line.sku: line.quantity for line in kit_lines(session, charger.id)}
    session.execute(delete(ChargerKitLine).where(ChargerKitLine.charger_id == charger.id))
    for material_id, qty in wanted.items():
        session.add(
            ChargerKitLine(
                id=uuid.uuid4(), charger_id=charger.id, material_id=material_id, quantity=qty
            )
        )
    session.flush()
    after_lines = kit_lines(session, charger.id)
    after = {line.sku: line.quantity for line in after_lines}
    if after != before:
        audit.record(
            session,
            actor,
            "material.set_kit",
            entity_type="material",
            entity_id=charger.id,
            before={"kit": before},
            after={"kit": after},
        )
        session.flush()
    return after_lines
