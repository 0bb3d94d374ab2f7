"""Journey in a real browser (issue 4): procurement counts a stock row down on the Stock page,
allocates an installation's bill of materials on Allocations, sees the shortfall that count
left, raises a procurement request for it in one click, approves, orders and receives it on
Procurement requests, then allocates the rest, dispatches and delivers every line, and the
installation becomes material ready.

The installation is chosen from the e2e database with domain queries before the browser is
driven (planned, material_pending or material_ready, whose zone covers its whole bill of
materials; fewest allocations first, then by ref; allocations an earlier run or the demo data
left on it are returned first, so the journey also runs again on the same database). The
stock row edited in the browser is one of its bill-of-materials lines in its zone, set to half
the required quantity, so the shortfall is known in advance. The database is checked after
each step: the adjustment movement, the allocation shortfall, the request's states and costs,
the receipt, and the final readiness.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    choose,
    click,
    flash,
    login,
    open_page,
    settle,
    snapshot,
    widget,
)

pytestmark = pytest.mark.e2e

REASON = "Cycle count (e2e)"
ESTIMATE = Decimal("1500.00")
ACTUAL = Decimal("1425.50")
STARTABLE = ("planned", "material_pending", "material_ready")  # ends material_ready


@dataclass(frozen=True)
class Plan:
    """The installation, its zone, and the stock row (a BOM line) the journey counts down."""

    installation_id: uuid.UUID
    installation_ref: str
    zone_label: str
    zone_id: uuid.UUID
    stock_id: uuid.UUID
    sku: str
    row_index: int  # position of the row in the Stock page's grid (category, SKU order)
    before: int  # free quantity before the count
    counted: int  # the count typed in the grid
    shortfall: int  # required - counted
    lines: int  # bill-of-materials lines (allocations to dispatch and deliver)


def _engine(url: str):  # type: ignore[no-untyped-def]
    from db import make_engine

    return make_engine(url)


def _prepare(database_url: str) -> Plan:
    """Pick the installation (deterministically: fewest allocations, then ref) and, if an
    earlier run allocated to it, return that material with domain calls so it starts empty."""
    from sqlalchemy import select

    from db import session_scope
    from domain.accounts import queries as account_queries
    from domain.accounts.models import AppUser
    from domain.actor import Actor
    from domain.installations.models import Installation
    from domain.procurement.allocations import bill_of_materials, return_allocation
    from domain.procurement.stock_queries import list_allocations, stock_by_zone

    engine = _engine(database_url)
    try:
        with session_scope(engine) as s:
            user_id = s.execute(
                select(AppUser.id).where(AppUser.username == "procurement")
            ).scalar_one()
            actor = Actor(user_id=user_id, username="procurement", role="procurement")
            candidates = []
            for inst in s.scalars(
                select(Installation)
                .where(Installation.status.in_(STARTABLE))
                .order_by(Installation.ref)
            ):
                bom = bill_of_materials(s, inst.id)
                needed = [line for line in bom.lines if line.required > 0]
                if needed and all(line.free >= line.required for line in needed):
                    allocated = sum(line.allocated for line in bom.lines)
                    candidates.append((allocated, inst.ref, inst.id))
            if not candidates:
                pytest.fail("the e2e demo data has no not-started installation with a BOM")
            _, ref, inst_id = min(candidates)
            for a in list_allocations(s, actor, installation_id=inst_id):
                if a.status != "returned":
                    return_allocation(s, actor, allocation_id=a.id, reason="e2e reset")
            bom = bill_of_materials(s, inst_id)
            rows = stock_by_zone(s, actor, zone_id=bom.zone_id)
            index = {r.material_id: i for i, r in enumerate(rows)}
            needed = [line for line in bom.lines if line.required > 0]
            # the BOM line nearest the top of the grid: the fewest key presses to reach it
            line = min(needed, key=lambda x: index[x.material_id])
            row = rows[index[line.material_id]]
            zone = next(z for z in account_queries.list_zones(s) if z.id == bom.zone_id)
            counted = line.required // 2
            return Plan(
                installation_id=inst_id,
                installation_ref=ref,
                zone_label=f"{zone.name} ({zone.code})",
                zone_id=bom.zone_id,
                stock_id=row.id,
                sku=line.sku,
                row_index=index[line.material_id],
                before=row.quantity_available,
                counted=counted,
                shortfall=line.required - counted,
                lines=len(needed),
            )
    finally:
        engine.dispose()


def _stock(database_url: str, stock_id: uuid.UUID) -> tuple[int, list[tuple[str, int, str]]]:
    """(free quantity, ledger as ``(kind, delta, reason)`` oldest first) of one stock row."""
    from sqlalchemy import select

    from db import session_scope
    from domain.procurement.models import MaterialStock, StockMovement

    engine = _engine(database_url)
    try:
        with session_scope(engine, readonly=True) as s:
            qty = s.execute(
                select(MaterialStock.quantity_available).where(MaterialStock.id == stock_id)
            ).scalar_one()
            moves = s.execute(
                select(StockMovement.kind, StockMovement.quantity_delta, StockMovement.reason)
                .where(StockMovement.material_stock_id == stock_id)
                .order_by(StockMovement.created_at, StockMovement.id)
            ).all()
            return qty, [tuple(m) for m in moves]
    finally:
        engine.dispose()


def _requests(database_url: str, installation_id: uuid.UUID) -> list[dict]:
    """The installation's procurement requests (oldest first) as plain dicts."""
    from sqlalchemy import select

    from db import session_scope
    from domain.procurement.models import ProcurementRequest

    engine = _engine(database_url)
    try:
        with session_scope(engine, readonly=True) as s:
            rows = s.scalars(
                select(ProcurementRequest)
                .where(ProcurementRequest.installation_id == installation_id)
                .order_by(ProcurementRequest.created_at)
            ).all()
            return [
                {
                    "ref": r.ref,
                    "status": r.status,
                    "quantity": r.quantity,
                    "material_id": r.material_id,
                    "estimated_cost": r.estimated_cost,
                    "actual_cost": r.actual_cost,
                }
                for r in rows
            ]
    finally:
        engine.dispose()


def _installation(database_url: str, installation_id: uuid.UUID) -> tuple[str, bool, list[str]]:
    """(status, material_ready, statuses of its live allocations)."""
    from sqlalchemy import select

    from db import session_scope
    from domain.installations.models import Installation
    from domain.procurement.models import MaterialAllocation

    engine = _engine(database_url)
    try:
        with session_scope(engine, readonly=True) as s:
            inst = s.get(Installation, installation_id)
            assert inst is not None
            statuses = s.scalars(
                select(MaterialAllocation.status).where(
                    MaterialAllocation.installation_id == installation_id,
                    MaterialAllocation.status != "returned",
                )
            ).all()
            return inst.status, bool(inst.material_ready), list(statuses)
    finally:
        engine.dispose()


def _edit_grid_cell(page, key: str, row: int, column: int, value: str) -> None:  # type: ignore[no-untyped-def]
    """Type ``value`` into cell (row, column) of the data editor ``key``.

    The editor is a canvas (glide data grid) mirrored by an accessible table whose cells
    (``glide-cell-<col>-<row>``) carry ``aria-selected``, which the steps wait on: click the
    first body cell until it is selected (a click landing while the page is still laid out
    is lost), walk to the cell with the arrow keys (the grid scrolls itself), open its editor
    with Enter, fill in the value and press Enter to commit.
    """
    editor = widget(page, key)
    grid = editor.locator('[data-testid="stDataFrameResizable"]')
    first = editor.get_by_test_id("glide-cell-0-0")
    for _ in range(10):
        settle(page)
        grid.click(position={"x": 30, "y": 35 + 17})  # header and body rows are 35 px
        with contextlib.suppress(AssertionError):
            expect(first).to_have_attribute("aria-selected", "true", timeout=2_000)
            break
    expect(first).to_have_attribute("aria-selected", "true")
    for _ in range(column):
        page.keyboard.press("ArrowRight")
    for _ in range(row):
        page.keyboard.press("ArrowDown")
    target = editor.get_by_test_id(f"glide-cell-{column}-{row}")
    expect(target).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")  # open the cell's editor (an <input> over the canvas)
    cell_input = page.locator("input.gdg-input")
    cell_input.fill(value)
    expect(cell_input).to_have_value(value)
    cell_input.press("Enter")
    expect(cell_input).to_have_count(0)
    expect(target).to_have_text(value)


def test_procurement_counts_allocates_orders_shortfall_and_makes_installation_ready(
    page,  # type: ignore[no-untyped-def]
    app_url: str,
    e2e_database: str,
) -> None:
    from db.reference import DEMO_USERS

    plan = _prepare(e2e_database)
    user = next(u for u in DEMO_USERS if u.username == "procurement")
    _, ledger_before = _stock(e2e_database, plan.stock_id)

    login(page, app_url, user.username, user.password)
    page.get_by_role("heading", name="Stock", exact=True).wait_for(timeout=60_000)
    settle(page)

    # a) Stock: count the BOM line's row down in the data editor, with a reason
    choose(page, "stock_zone", plan.zone_label, then_settle=True)
    # the grid's columns: SKU, Material, Category, Unit, Available (index 4)
    _edit_grid_cell(page, "stock_editor", plan.row_index, 4, str(plan.counted))
    widget(page, "stock_reason").locator("input").fill(REASON)
    click(page, "stock_save")
    flash(page, f"Saved 1 row(s): {plan.sku}")
    qty, ledger = _stock(e2e_database, plan.stock_id)
    assert qty == plan.counted
    assert ledger[: len(ledger_before)] == ledger_before
    assert ledger[len(ledger_before) :] == [("adjustment", plan.counted - plan.before, REASON)]
    snapshot(page, "procurement-stock", tour="stock")

    # b) Allocations: allocate what the zone covers, see the shortfall, raise the request
    open_page(page, "Allocations")
    search = widget(page, "alloc_search").locator("input")
    search.fill(plan.installation_ref)
    search.press("Enter")
    settle(page)
    choose(page, "alloc_inst", plan.installation_ref, then_settle=True)
    click(page, "alloc_allocate")
    flash(page, f"Not allocated: {plan.sku} short by {plan.shortfall}")
    expect(page.get_by_test_id("stMetric").filter(has_text="Shortfall")).to_contain_text(
        str(plan.shortfall)
    )
    _, _, statuses = _installation(e2e_database, plan.installation_id)
    assert statuses == ["allocated"] * (plan.lines - 1)
    click(page, "alloc_raise")
    flash(page, re.compile(rf"^Raised \S+ \({plan.shortfall}\)$"))
    requests = _requests(e2e_database, plan.installation_id)
    open_requests = [r for r in requests if r["status"] == "requested"]
    assert len(open_requests) == 1
    request = open_requests[0]
    assert request["quantity"] == plan.shortfall
    flash(page, f"Raised {request['ref']} ({plan.shortfall})")

    # c) Procurement requests: approve (estimate), order, receive (actual cost)
    open_page(page, "Procurement requests")
    widget(page, "pr_f_search").locator("input").fill(request["ref"])
    click(page, "pr_f_submit")
    choose(page, "pr_pick", request["ref"], then_settle=True)
    page.get_by_role("heading", name=f"{request['ref']} · requested").wait_for()
    cost = widget(page, "pr_approve_cost").locator("input")
    cost.fill(str(ESTIMATE))
    click(page, "pr_approve_submit")
    flash(page, f"Request {request['ref']} approved.")
    choose(page, "pr_pick", request["ref"], then_settle=True)
    page.get_by_role("heading", name=f"{request['ref']} · approved").wait_for()
    click(page, "pr_order_submit")
    flash(page, f"Request {request['ref']} ordered.")
    choose(page, "pr_pick", request["ref"], then_settle=True)
    page.get_by_role("heading", name=f"{request['ref']} · ordered").wait_for()
    widget(page, "pr_receive_cost").locator("input").fill(str(ACTUAL))
    click(page, "pr_receive_submit")
    flash(page, f"Request {request['ref']} received")
    (row,) = [
        r for r in _requests(e2e_database, plan.installation_id) if r["ref"] == request["ref"]
    ]
    assert row["status"] == "received"
    assert (row["estimated_cost"], row["actual_cost"]) == (ESTIMATE, ACTUAL)
    qty, ledger = _stock(e2e_database, plan.stock_id)
    assert qty == plan.counted + plan.shortfall
    assert ledger[-1][:2] == ("receipt", plan.shortfall)

    # d) Allocations: allocate the rest, dispatch and deliver every line
    open_page(page, "Allocations")
    search = widget(page, "alloc_search").locator("input")
    search.fill(plan.installation_ref)
    search.press("Enter")
    settle(page)
    choose(page, "alloc_inst", plan.installation_ref, then_settle=True)
    click(page, "alloc_allocate")
    flash(page, f"Allocated: {plan.sku} × {plan.counted + plan.shortfall}.")
    _, _, statuses = _installation(e2e_database, plan.installation_id)
    assert statuses == ["allocated"] * plan.lines
    # the picker stands on the first line that still needs a step: dispatch it, deliver it
    box = widget(page, "alloc_pick").locator('input[role="combobox"]')
    for _ in range(plan.lines):
        for step, button, done in (
            ("allocated", "alloc_dispatch", "dispatched"),
            ("dispatched", "alloc_deliver", "delivered"),
        ):
            expect(box).to_have_count(1)
            expect(box).to_have_value(re.compile(rf" \({step}\)$"))
            sku = box.input_value().split(" × ")[0]
            click(page, button)
            flash(page, f"{sku} {done}.")
    status, ready, statuses = _installation(e2e_database, plan.installation_id)
    assert (status, ready) == ("material_ready", True)
    assert statuses == ["delivered"] * plan.lines
    expect(page.get_by_test_id("stMetric").filter(has_text="Status")).to_contain_text(
        "material_ready"
    )
    expect(page.get_by_test_id("stMetric").filter(has_text="Material ready")).to_contain_text("Yes")
    # a tall viewport so the picture holds the whole page (status metrics to allocations)
    page.set_viewport_size({"width": 1400, "height": 2400})
    page.get_by_role(
        "heading", name="Allocations", exact=True, level=1
    ).scroll_into_view_if_needed()
    snapshot(page, "procurement-journey", tour="allocations")
