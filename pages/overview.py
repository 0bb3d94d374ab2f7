"""Overview: the manager's KPI dashboard (counts, SLA %, revenue, backlog, 12-month trend).

Thin page: every figure comes from ``domain.kpi.queries.overview`` (aggregated in SQL); this
script only picks filters, caches the plain result for 60 s per actor scope and filters, and
draws metrics and plotly charts. ``oem_viewer`` users are fixed to their own OEM (enforced in
the domain query as well).
"""

from __future__ import annotations

import uuid

import pandas as pd
import plotly.express as px
import streamlit as st

from app.runtime import current_actor, get_engine, session_scope
from app.widgets import md_escape
from domain.actor import Actor
from domain.errors import DomainError
from domain.kpi import queries as kpi
from domain.kpi.dto import FilterOptions, Overview, PeriodCounts
from domain.money import format_inr, format_inr_compact

ALL = "All"


def _db_key() -> str:
    return str(get_engine().url)


@st.cache_data(ttl=60, show_spinner=False)
def _options(db_key: str, role: str, scope_oem: str | None, _actor: Actor) -> FilterOptions:
    """Filter choices for the actor's scope (cache key: database, role, OEM scope)."""
    with session_scope(readonly=True) as s:
        return kpi.filter_options(s, _actor)


@st.cache_data(ttl=60, show_spinner=False)
def _overview(
    db_key: str,
    role: str,
    scope_oem: str | None,
    oem_id: str | None,
    zone_id: str | None,
    _actor: Actor,
) -> Overview:
    """The overview for the actor's scope and filters (plain frozen dataclasses only)."""
    with session_scope(readonly=True) as s:
        return kpi.overview(
            s,
            _actor,
            oem_id=uuid.UUID(oem_id) if oem_id else None,
            zone_id=uuid.UUID(zone_id) if zone_id else None,
        )


def _metric_row(title: str, pairs: list[tuple[str, PeriodCounts]], week: bool) -> None:
    st.subheader(title)
    cols = st.columns(len(pairs))
    for col, (label, c) in zip(cols, pairs, strict=True):
        now, before = (c.this_week, c.last_week) if week else (c.this_month, c.last_month)
        col.metric(
            label, now, delta=now - before, help="vs previous " + ("week" if week else "month")
        )


actor = current_actor()
st.title("Overview")
scope_oem = str(actor.oem_id) if actor.oem_id else None

try:
    options = _options(_db_key(), actor.role, scope_oem, actor)
except DomainError as e:
    st.error(str(e))
    st.stop()

f1, f2 = st.columns(2)
oem_labels = {o.label: str(o.id) for o in options.oems}
zone_labels = {z.label: str(z.id) for z in options.zones}
if options.oem_fixed:
    f1.markdown(f"**OEM:** {md_escape(', '.join(oem_labels)) or '-'}")
    oem_choice = None
else:
    picked = f1.selectbox("OEM", [ALL, *oem_labels], key="overview_oem")
    oem_choice = oem_labels.get(picked)
zone_picked = f2.selectbox("Zone", [ALL, *zone_labels], key="overview_zone")
zone_choice = zone_labels.get(zone_picked)

try:
    ov = _overview(_db_key(), actor.role, scope_oem, oem_choice, zone_choice, actor)
except DomainError as e:
    st.error(str(e))
    st.stop()

st.caption(
    f"Week from {ov.week_start:%a %d %b %Y}, month of {ov.month_start:%B %Y} (local time). "
    "Deltas compare with the previous week / month."
)
pairs = [
    ("Leads received", ov.leads_received),
    ("Surveys completed", ov.surveys_completed),
    ("Installations completed", ov.installations_completed),
    ("Closure packs submitted", ov.closure_packs_submitted),
]
_metric_row("This week", pairs, week=True)
_metric_row("This month", pairs, week=False)

m1, m2, m3 = st.columns(3)
m1.metric(
    "Installation SLA compliance (month)",
    "-" if ov.sla_compliance_rate is None else f"{ov.sla_compliance_rate}%",
    help="Installations completed this month within the OEM's target business days",
)
m2.metric(
    "Revenue (month)",
    format_inr_compact(ov.total_revenue),
    help=f"Exactly {format_inr(ov.total_revenue)} (L = lakh, Cr = crore)",
)
m3.metric("Installations this month", ov.installations_this_month)

by_oem = pd.DataFrame(
    [
        {
            "OEM": f.oem_code,
            "Name": f.oem_name,
            "Target (business days)": f.sla_install_days,
            "Installations": f.installations_completed,
            "Within SLA": f.sla_met,
            "SLA %": None if f.sla_compliance_rate is None else float(f.sla_compliance_rate),
            "Revenue": format_inr(f.total_revenue),
            "Revenue INR": float(f.total_revenue),
            "Unpriced": f.unpriced_installations,
            "Avg days lead to install": (
                None
                if f.average_installation_time_days is None
                else float(f.average_installation_time_days)
            ),
        }
        for f in ov.by_oem
    ],
    columns=[
        "OEM",
        "Name",
        "Target (business days)",
        "Installations",
        "Within SLA",
        "SLA %",
        "Revenue",
        "Revenue INR",
        "Unpriced",
        "Avg days lead to install",
    ],
)

c1, c2 = st.columns(2)
with c1:
    st.subheader("SLA compliance by OEM (this month)")
    fig = px.bar(by_oem, x="OEM", y="SLA %", text="SLA %", range_y=[0, 100])
    fig.update_traces(texttemplate="%{text:.1f}%")
    st.plotly_chart(fig, width="stretch")
with c2:
    st.subheader("Revenue by OEM (this month)")
    fig = px.bar(by_oem, x="OEM", y="Revenue INR", text="Revenue")
    fig.update_layout(yaxis_title="INR")
    st.plotly_chart(fig, width="stretch")

st.dataframe(by_oem.drop(columns=["Revenue INR"]), hide_index=True, width="stretch")

c3, c4 = st.columns(2)
with c3:
    st.subheader("Open backlog by status")
    backlog = pd.DataFrame(
        [{"Kind": b.entity, "Status": b.status, "Count": b.count} for b in ov.backlog],
        columns=["Kind", "Status", "Count"],
    )
    fig = px.bar(backlog, x="Status", y="Count", color="Kind", text="Count")
    st.plotly_chart(fig, width="stretch")
with c4:
    st.subheader("Installations completed, last 12 months")
    trend = pd.DataFrame(
        [
            {
                "Month": p.month.strftime("%Y-%m"),
                "OEM": p.oem_code,
                "Installations": p.installations_completed,
                "Revenue INR": float(p.revenue),
            }
            for p in ov.trend
        ],
        columns=["Month", "OEM", "Installations", "Revenue INR"],
    )
    fig = px.line(trend, x="Month", y="Installations", color="OEM", markers=True)
    st.plotly_chart(fig, width="stretch")

st.subheader("Revenue, last 12 months")
fig = px.line(trend, x="Month", y="Revenue INR", color="OEM", markers=True)
fig.update_layout(yaxis_title="INR")
st.plotly_chart(fig, width="stretch")
