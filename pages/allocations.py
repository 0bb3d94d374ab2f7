"""Allocations (seed 004): pick an installation, see its bill of materials against its zone's
stock (required / allocated / delivered / free / shortfall), allocate every line the zone can
cover, raise procurement requests for exactly the shortfall, and move each allocation along
allocated -> dispatched -> delivered (or return it). Every action is one domain call in one
transaction; rules and permissions live in the domain."""

from __future__ import annotations

from typing import TypeVar

import pandas as pd
import streamlit as st

from app.runtime import current_actor, session_scope
from app.widgets import localise_columns, run_command
from domain.permissions import can
from domain.procurement.allocations import (
    allocate_installation,
    bill_of_materials,
    deliver,
    dispatch,
    return_allocation,
)
from domain.procurement.requests import raise_requests_for_shortfall
from domain.procurement.stock_queries import find_installations, list_allocations

T = TypeVar("T")
FLASH_KEY = "alloc_flash"


def _done(message: str) -> None:
    st.session_state[FLASH_KEY] = message
    st.rerun()


actor = current_actor()
st.title("Allocations")
if not can(actor, "allocation.read"):
    st.error("Your role may not see allocations.")
    st.stop()
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash)

search = st.text_input("Find the installation (ref, lead ref or customer)", key="alloc_search")
with session_scope(readonly=True) as s:
    options = find_installations(s, actor, search=search or None)
if not options:
    st.info("No installation matches.")
    st.stop()
by_label = {o.label: o.id for o in options}
label = st.selectbox("Installation", list(by_label), key="alloc_inst")
installation_id = by_label[label]

with session_scope(readonly=True) as s:
    bom = bill_of_materials(s, installation_id, actor=actor)
    allocations = list_allocations(s, actor, installation_id=installation_id)

c1, c2, c3 = st.columns(3)
c1.metric("Status", bom.installation_status)
c2.metric("Material ready", "Yes" if bom.material_ready else "No")
c3.metric("Shortfall (units)", bom.total_shortfall)

st.subheader("Bill of materials")
if not bom.lines:
    st.info("No bill of materials: the survey recommends no charger or material.")
else:
    bom_table = pd.DataFrame(
        [
            {
                "SKU": line.sku,
                "Material": line.name,
                "Unit": line.unit,
                "Required": line.required,
                "Allocated": line.allocated,
                "Delivered": line.delivered,
                "Missing": line.missing,
                "Free in zone": line.free,
                "Shortfall": line.shortfall,
            }
            for line in bom.lines
        ]
    )
    st.dataframe(bom_table, hide_index=True, width="stretch")
    st.download_button(
        "Download bill of materials (CSV)",
        bom_table.to_csv(index=False).encode("utf-8"),
        file_name=f"bom-{bom.installation_ref}.csv",
        mime="text/csv",
        key="alloc_bom_csv",
    )

b1, b2 = st.columns(2)
may_allocate = can(actor, "allocation.allocate") and not bom.fully_allocated
if may_allocate and b1.button("Allocate", key="alloc_allocate", type="primary"):
    run = run_command(lambda s: allocate_installation(s, actor, installation_id=installation_id))
    if run is not None:
        done = [f"{o.sku} × {o.allocated}" for o in run.outcomes if o.allocated]
        short = [f"{sku} short by {qty}" for sku, qty in run.shortfall.items()]
        _done(
            "Allocated: "
            + (", ".join(done) or "nothing")
            + (". Not allocated: " + ", ".join(short) if short else ".")
        )
may_raise = can(actor, "procurement_request.create") and bom.total_shortfall > 0
if may_raise and b2.button("Raise procurement requests for the shortfall", key="alloc_raise"):
    created = run_command(
        lambda s: raise_requests_for_shortfall(s, actor, installation_id=installation_id)
    )
    if created is not None:
        if created:
            _done("Raised " + ", ".join(f"{r.ref} ({r.quantity})" for r in created))
        else:
            _done("The shortfall is already requested; nothing new raised.")

st.subheader("Allocations")
if not allocations:
    st.info("Nothing allocated yet.")
else:
    table = pd.DataFrame(
        [
            {
                "SKU": a.sku,
                "Material": a.material_name,
                "Quantity": a.quantity,
                "Unit": a.unit,
                "Status": a.status,
                "Allocated": a.allocated_at,
                "Dispatched": a.dispatched_at,
                "Delivered": a.delivered_at,
                "Returned": a.returned_at,
            }
            for a in allocations
        ]
    )
    st.dataframe(
        localise_columns(table, ["Allocated", "Dispatched", "Delivered", "Returned"]),
        hide_index=True,
        width="stretch",
    )
    live = [a for a in allocations if a.status != "returned"]
    if live:
        by_alloc = {f"{a.sku} × {a.quantity} {a.unit} ({a.status})": a for a in live}
        # The labels carry the status, so after each action the picker starts again: on the
        # first line that still needs a step (allocated or dispatched), not on a done one.
        pending = next((i for i, a in enumerate(live) if a.status != "delivered"), 0)
        picked = st.selectbox("Allocation", list(by_alloc), index=pending, key="alloc_pick")
        chosen = by_alloc[picked]
        d1, d2, d3 = st.columns(3)
        if (
            can(actor, "allocation.dispatch")
            and chosen.status == "allocated"
            and d1.button("Dispatch", key="alloc_dispatch")
            and run_command(lambda s: dispatch(s, actor, allocation_id=chosen.id)) is not None
        ):
            _done(f"{chosen.sku} dispatched.")
        if (
            can(actor, "allocation.deliver")
            and chosen.status == "dispatched"
            and d2.button("Mark delivered", key="alloc_deliver")
            and run_command(lambda s: deliver(s, actor, allocation_id=chosen.id)) is not None
        ):
            _done(f"{chosen.sku} delivered.")
        if can(actor, "allocation.return"):
            with d3.form("alloc_return_form"):
                reason = st.text_input("Return reason", key="alloc_return_reason")
                returned = st.form_submit_button("Return to stock", key="alloc_return")
            if returned:
                result = run_command(
                    lambda s: return_allocation(
                        s, actor, allocation_id=chosen.id, reason=reason or None
                    )
                )
                if result is not None:
                    _done(f"{chosen.sku} × {chosen.quantity} returned to stock.")
