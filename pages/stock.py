"""Stock (seed 004): a zone's stock with its projection, counts and reorder levels edited in a
data editor and saved as ledger adjustments with a reason (all rows or none), reorder alerts,
the ledger of one row and a CSV export.

The page keeps the rows it showed (plain data, with each row's version) in the session: a
save is checked against those versions, so a row someone changed meanwhile is refused and
named instead of being overwritten. "Reload" takes a fresh view.

Every view (a zone loaded, reloaded, or reloaded after a save) gets its own grid key
(``stock_grid_<zone code>_<token>``). Streamlit keeps a keyed fixed-size data editor's pending
cell edits, in the browser, across changes of its values; with one key for all views, an edit
typed into one zone's grid (or before a reload) would be sent with the next save and applied,
by row position, to another zone's row or over a newer version. A new key per view starts
the grid empty, so a save only ever carries edits typed into the rows it is checked against.
The grid sits in a container keyed ``stock_editor`` (a stable handle for browser tests).
"""

from __future__ import annotations

import uuid
from typing import Any

import pandas as pd
import streamlit as st

from app.runtime import current_actor, session_scope
from app.widgets import localise_columns, run_command
from domain.accounts import queries as account_queries
from domain.permissions import can
from domain.procurement.dto import StockEdit, StockRowDTO
from domain.procurement.stock import apply_stock_edits
from domain.procurement.stock_queries import stock_by_zone, stock_export_rows, stock_ledger

VIEW_KEY = "stock_view"
FLASH_KEY = "stock_flash"
EDITOR_KEY = "stock_editor"
"""Key of the container around the grid (the grid's own key changes with every view)."""
COLUMNS = {
    "sku": "SKU",
    "name": "Material",
    "category": "Category",
    "unit": "Unit",
    "quantity_available": "Available",
    "reorder_level": "Reorder level",
    "allocated_not_dispatched": "Allocated",
    "on_order": "On order",
    "projected": "Projected",
    "alert": "Alert",
    "suggested_order": "Suggested order",
}
EDITABLE = ("Available", "Reorder level")


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=[*COLUMNS, "id", "version"]).rename(columns=COLUMNS)
    # Float editable columns: a fractional entry reaches the domain and is refused there
    # instead of being silently truncated by an integer column.
    return df.astype({c: "float64" for c in EDITABLE})


def _view_rows(rows: list[StockRowDTO]) -> list[dict[str, Any]]:
    return [
        {
            "sku": r.sku,
            "name": r.name,
            "category": r.category,
            "unit": r.unit,
            "quantity_available": r.quantity_available,
            "reorder_level": r.reorder_level,
            "allocated_not_dispatched": r.allocated_not_dispatched,
            "on_order": r.on_order,
            "projected": r.projected,
            "alert": "⚠ below reorder" if r.below_reorder else "",
            "suggested_order": r.suggested_order,
            "id": str(r.id),
            "version": r.version,
        }
        for r in rows
    ]


def _edits(view: pd.DataFrame, edited: pd.DataFrame) -> list[StockEdit]:
    """Rows whose Available or Reorder level differ from the view (as typed by the user)."""
    out: list[StockEdit] = []
    for i in range(len(view)):
        before, after = view.iloc[i], edited.iloc[i]
        qty = after["Available"]
        level = after["Reorder level"]
        qty_changed = pd.isna(qty) or qty != before["Available"]
        level_changed = pd.isna(level) or level != before["Reorder level"]
        if qty_changed or level_changed:
            out.append(
                StockEdit(
                    stock_id=uuid.UUID(before["id"]),
                    expected_version=int(before["version"]),
                    quantity_available=_cell(qty) if qty_changed else None,
                    reorder_level=_cell(level) if level_changed else None,
                )
            )
    return out


def _grid_key(zone_code: str) -> str:
    """A fresh widget key for the data editor of one view: ``stock_grid_<zone>_<token>``."""
    code = "".join(c for c in zone_code if c.isalnum())
    return f"stock_grid_{code}_{uuid.uuid4().hex[:12]}"


def _cell(value: Any) -> Any:
    """A data-editor cell as a plain Python value (a cleared cell becomes "" -> refused)."""
    if pd.isna(value):
        return ""
    return value.item() if hasattr(value, "item") else value


actor = current_actor()
st.title("Stock")
if not can(actor, "stock.read"):
    st.error("Your role may not see stock.")
    st.stop()
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash)

with session_scope(readonly=True) as s:
    zones = account_queries.list_zones(s)
if not zones:
    st.info("No zones yet.")
    st.stop()
zone_by_label = {f"{z.name} ({z.code})": z for z in zones}
default = next((i for i, z in enumerate(zones) if z.id == actor.zone_id), 0)
zone_label = st.selectbox("Zone", list(zone_by_label), index=default, key="stock_zone")
zone = zone_by_label[zone_label]
zone_id = zone.id

view = st.session_state.get(VIEW_KEY)
reload = st.button("Reload", key="stock_reload")
if reload or view is None or view["zone"] != str(zone_id) or "grid" not in view:
    with session_scope(readonly=True) as s:
        rows = _view_rows(stock_by_zone(s, actor, zone_id=zone_id))
    # a new grid key per view: no pending edit of an earlier view can reach this one
    view = {"zone": str(zone_id), "rows": rows, "grid": _grid_key(zone.code)}
    st.session_state[VIEW_KEY] = view

frame = _frame(view["rows"])
alerts = frame[frame["Alert"] != ""]
c1, c2, c3 = st.columns(3)
c1.metric("Materials", len(frame))
c2.metric("Below reorder level", len(alerts))
c3.metric("Allocated, not dispatched", int(frame["Allocated"].sum()) if len(frame) else 0)
if frame.empty:
    st.info("This zone holds no stock rows yet; receive material to create them.")

may_edit = can(actor, "stock.adjust")
if not frame.empty:
    display = frame.drop(columns=["id", "version"])
    st.caption(
        "Projected = available + on order (requests approved or ordered). A row is below its "
        "reorder level when projected <= reorder level."
    )
    if may_edit:
        with st.form("stock_form"):
            with st.container(key=EDITOR_KEY):
                edited = st.data_editor(
                    display,
                    key=view["grid"],
                    hide_index=True,
                    num_rows="fixed",
                    disabled=[c for c in display.columns if c not in EDITABLE],
                    column_config={
                        "Available": st.column_config.NumberColumn(min_value=0, step=1),
                        "Reorder level": st.column_config.NumberColumn(min_value=0, step=1),
                    },
                    width="stretch",
                )
            reason = st.text_input("Reason for the change (required)", key="stock_reason")
            saved = st.form_submit_button("Save changes", key="stock_save")
        if saved:
            edits = _edits(frame, edited)
            if not edits:
                st.info("Nothing changed.")
            else:
                changed = run_command(
                    lambda s: apply_stock_edits(s, actor, edits=edits, reason=reason)
                )
                if changed is not None:
                    st.session_state.pop(VIEW_KEY, None)
                    st.session_state[FLASH_KEY] = f"Saved {len(changed)} row(s): " + ", ".join(
                        r.sku for r in changed
                    )
                    st.rerun()
    else:
        st.dataframe(display, hide_index=True, width="stretch")

    if not alerts.empty:
        st.subheader("Reorder alerts")
        shown = alerts[
            [
                "SKU",
                "Material",
                "Available",
                "On order",
                "Projected",
                "Reorder level",
                "Suggested order",
            ]
        ]
        st.dataframe(
            shown.style.apply(lambda row: ["background-color: #fde2e1"] * len(row), axis=1),
            hide_index=True,
            width="stretch",
            key="stock_alerts",
        )

    st.subheader("Ledger of one row")
    sku_to_id = dict(zip(frame["SKU"], frame["id"], strict=True))
    sku = st.selectbox("Material", list(sku_to_id), index=None, key="stock_ledger_sku")
    if sku is not None:
        with session_scope(readonly=True) as s:
            moves = stock_ledger(s, actor, stock_id=uuid.UUID(sku_to_id[sku]))
        ledger = pd.DataFrame(
            [
                {
                    "When": m.created_at,
                    "Kind": m.kind,
                    "Change": m.quantity_delta,
                    "Balance": m.balance,
                    "Reason": m.reason or "",
                    "By": m.actor_username or "",
                }
                for m in moves
            ],
            columns=["When", "Kind", "Change", "Balance", "Reason", "By"],
        )
        unit = dict(zip(frame["SKU"], frame["Unit"], strict=True))[sku]
        st.caption(f"{sku}: change and balance in {unit}, newest first.")
        st.dataframe(
            localise_columns(ledger, ["When"]), hide_index=True, width="stretch", key="stock_ledger"
        )

    with session_scope(readonly=True) as s:
        export = stock_export_rows(s, actor, zone_id=zone_id)
    st.download_button(
        "Export CSV",
        pd.DataFrame(export).to_csv(index=False).encode(),
        file_name=f"stock-{zone_label.split(' (')[-1].rstrip(')')}.csv",
        mime="text/csv",
        key="stock_export",
    )
