"""Materials (seed 004): the catalogue (list, add, edit, deactivate, CSV export) and the kit
lines of each charger (edited with ``st.data_editor``). Every action is one domain call in one
transaction; permissions and validation are the domain's."""

from __future__ import annotations

from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from app.runtime import current_actor, session_scope
from app.widgets import money, run_command, show_domain_error
from domain.errors import DomainError
from domain.permissions import can
from domain.procurement import queries
from domain.procurement.catalogue import (
    create_material,
    deactivate_material,
    reactivate_material,
    set_kit_lines,
    update_material,
)
from domain.procurement.models import MATERIAL_CATEGORIES, MATERIAL_UNITS

T = TypeVar("T")
ALL = "All"
NONE = "—"
FLASH_KEY = "mat_flash"
COLUMN_TITLES = {
    "sku": "SKU",
    "name": "Name",
    "category": "Category",
    "unit": "Unit",
    "unit_cost": "Unit cost",
    "power_kw": "Power (kW)",
    "active": "Active",
    "description": "Description",
}


def _done(message: str) -> None:
    st.session_state[FLASH_KEY] = message
    st.rerun()


def _text(value: Any) -> str:
    return "" if value is None else str(value)


actor = current_actor()
st.title("Materials")
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash)
may_manage = can(actor, "material.manage")

# --- Catalogue -----------------------------------------------------------------------------
f1, f2, f3 = st.columns([2, 1, 1])
f_search = f1.text_input("Search SKU or name", key="mat_f_search")
f_category = f2.selectbox("Category", [ALL, *MATERIAL_CATEGORIES], key="mat_f_category")
f_inactive = f3.checkbox("Show deactivated", key="mat_f_inactive")
error: DomainError | None = None
materials = []
all_materials = []
export: list[dict[str, Any]] = []
try:
    with session_scope(readonly=True) as s:
        materials = queries.list_materials(
            s,
            actor,
            search=f_search or None,
            category=None if f_category == ALL else f_category,
            active_only=not f_inactive,
        )
        all_materials = queries.list_materials(s, actor)
        export = queries.materials_export_rows(s, actor)
except DomainError as e:
    error = e
if error is not None:
    show_domain_error(error)
    st.stop()

if not materials:
    st.info("No material matches.")
else:
    frame = pd.DataFrame(
        [
            {
                "sku": m.sku,
                "name": m.name,
                "category": m.category,
                "unit": m.unit,
                "unit_cost": money(m.unit_cost) if m.unit_cost is not None else NONE,
                "power_kw": f"{m.power_kw.normalize():f}" if m.power_kw is not None else "",
                "active": m.active,
            }
            for m in materials
        ]
    )
    st.caption(f"{len(materials)} materials")
    st.dataframe(frame.rename(columns=COLUMN_TITLES), hide_index=True, width="stretch")
st.download_button(
    "Download catalogue (CSV)",
    data=pd.DataFrame(export).to_csv(index=False),
    file_name="materials.csv",
    mime="text/csv",
    key="mat_csv",
)

by_label = {m.label: m for m in all_materials}
chargers = {m.label: m for m in all_materials if m.category == "charger"}

tab_names = ["Charger kits"]
if may_manage:
    tab_names = ["Add material", "Edit material", *tab_names]
tabs = dict(zip(tab_names, st.tabs(tab_names), strict=True))

# --- Add ---------------------------------------------------------------------------------------
if may_manage:
    with tabs["Add material"], st.form("mat_new_form"):
        c1, c2 = st.columns(2)
        new_sku = c1.text_input("SKU", key="mat_new_sku")
        new_name = c2.text_input("Name", key="mat_new_name")
        new_category = c1.selectbox("Category", MATERIAL_CATEGORIES, key="mat_new_category")
        new_unit = c2.selectbox("Unit", MATERIAL_UNITS, key="mat_new_unit")
        new_cost = c1.text_input("Unit cost (INR, optional)", key="mat_new_cost")
        new_power = c2.text_input("Power (kW, chargers only)", key="mat_new_power")
        new_desc = st.text_area("Description", key="mat_new_desc")
        add_clicked = st.form_submit_button("Add material", key="mat_new_submit")
    if add_clicked:
        created = run_command(
            lambda s: create_material(
                s,
                actor,
                sku=new_sku,
                name=new_name,
                category=new_category,
                unit=new_unit,
                description=new_desc,
                unit_cost=new_cost or None,
                power_kw=new_power or None,
            )
        )
        if created is not None:
            _done(f"Material {created.sku} added.")

# --- Edit --------------------------------------------------------------------------------------
if may_manage:
    with tabs["Edit material"]:
        picked = st.selectbox("Material", [NONE, *by_label], key="mat_edit_pick")
        current = by_label.get(picked) if picked != NONE else None
        if current is not None:
            k = str(current.id)
            with st.form(f"mat_edit_form_{k}"):
                c1, c2 = st.columns(2)
                e_sku = c1.text_input("SKU", value=current.sku, key="mat_edit_sku")
                e_name = c2.text_input("Name", value=current.name, key="mat_edit_name")
                e_category = c1.selectbox(
                    "Category",
                    MATERIAL_CATEGORIES,
                    index=MATERIAL_CATEGORIES.index(current.category),
                    key="mat_edit_category",
                )
                e_unit = c2.selectbox(
                    "Unit",
                    MATERIAL_UNITS,
                    index=MATERIAL_UNITS.index(current.unit),
                    key="mat_edit_unit",
                )
                e_cost = c1.text_input(
                    "Unit cost (INR, optional)", value=_text(current.unit_cost), key="mat_edit_cost"
                )
                e_power = c2.text_input(
                    "Power (kW, chargers only)", value=_text(current.power_kw), key="mat_edit_power"
                )
                e_desc = st.text_area("Description", value=current.description, key="mat_edit_desc")
                save_clicked = st.form_submit_button("Save changes", key="mat_edit_submit")
            if save_clicked:
                saved = run_command(
                    lambda s: update_material(
                        s,
                        actor,
                        material_id=current.id,
                        sku=e_sku,
                        name=e_name,
                        category=e_category,
                        unit=e_unit,
                        description=e_desc,
                        unit_cost=e_cost or None,
                        power_kw=e_power or None,
                    )
                )
                if saved is not None:
                    _done(f"Material {saved.sku} saved.")
            if current.active:
                if st.button("Deactivate", key="mat_deactivate"):
                    done = run_command(
                        lambda s: deactivate_material(s, actor, material_id=current.id)
                    )
                    if done is not None:
                        _done(f"Material {done.sku} deactivated.")
            elif st.button("Reactivate", key="mat_reactivate"):
                done = run_command(lambda s: reactivate_material(s, actor, material_id=current.id))
                if done is not None:
                    _done(f"Material {done.sku} reactivated.")

# --- Charger kits --------------------------------------------------------------------------------
with tabs["Charger kits"]:
    if not chargers:
        st.info("No charger in the catalogue yet.")
    else:
        kit_pick = st.selectbox("Charger", list(chargers), key="mat_kit_pick")
        charger = chargers[kit_pick]
        with session_scope(readonly=True) as s:
            lines = queries.charger_kit(s, actor, charger.id)
        kit_frame = pd.DataFrame(
            [{"sku": x.sku, "quantity": x.quantity, "name": x.name, "unit": x.unit} for x in lines],
            columns=["sku", "quantity", "name", "unit"],
        )
        if not may_manage:
            st.dataframe(kit_frame.rename(columns=COLUMN_TITLES), hide_index=True, width="stretch")
        else:
            st.caption(
                "Edit quantities, add lines by SKU (whole numbers in the material's unit) or "
                "delete rows, then save. Name and unit are filled in from the catalogue."
            )
            edited = st.data_editor(
                kit_frame,
                key=f"mat_kit_editor_{charger.id}",
                num_rows="dynamic",
                hide_index=True,
                width="stretch",
                column_config={
                    "sku": st.column_config.TextColumn("SKU", required=True),
                    "quantity": st.column_config.NumberColumn(
                        "Quantity", required=True, min_value=1, step=1, format="%d"
                    ),
                    "name": st.column_config.TextColumn("Name", disabled=True),
                    "unit": st.column_config.TextColumn("Unit", disabled=True),
                },
            )
            if st.button("Save kit", key="mat_kit_save"):
                rows = [
                    {"sku": r.get("sku"), "quantity": r.get("quantity")}
                    for r in edited.to_dict("records")
                ]
                rows = [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in rows]
                saved_lines = run_command(
                    lambda s: set_kit_lines(s, actor, charger_id=charger.id, lines=rows)
                )
                if saved_lines is not None:
                    _done(f"Kit of {charger.sku} saved: {len(saved_lines)} lines.")
