"""KPIs: the managers' dashboards (issue 5 item 6) with filters, plotly charts and CSV exports.

Thin page: every figure comes from ``domain.kpi.dashboards.dashboard`` (aggregated in SQL) in
one read-only transaction; the plain result is cached for ``DATA_CACHE_TTL_S`` seconds per
database, actor scope, filters and local date, and dropped after any write
(``app.runtime.session_scope`` -> ``app.cache.clear_data_caches``). ``oem_viewer`` users are
fixed to their own OEM (enforced in the domain query) and see no team utilisation or stock.
"""

from __future__ import annotations

import uuid
from datetime import date

import pandas as pd
import plotly.express as px
import streamlit as st

from app.cache import DATA_CACHE_TTL_S
from app.runtime import current_actor, get_engine, session_scope
from app.widgets import md_escape, show_domain_error
from db.types import utcnow
from domain.actor import Actor
from domain.calendar import add_months, local_date, month_start
from domain.errors import DomainError
from domain.kpi import queries as kpi
from domain.kpi.dashboards import dashboard
from domain.kpi.dto import FilterOptions, KpiDashboard, SlaGroup
from domain.money import format_inr, format_inr_compact

ALL = "All"


def _db_key() -> str:
    return str(get_engine().url)


@st.cache_data(ttl=DATA_CACHE_TTL_S, show_spinner=False)
def _options(db_key: str, role: str, scope_oem: str | None, _actor: Actor) -> FilterOptions:
    """Filter choices for the actor's scope (cache key: database, role, OEM scope)."""
    with session_scope(readonly=True) as s:
        return kpi.filter_options(s, _actor)


@st.cache_data(ttl=DATA_CACHE_TTL_S, show_spinner=False)
def _dashboard(
    db_key: str,
    role: str,
    scope_oem: str | None,
    oem_id: str | None,
    zone_id: str | None,
    from_month: str,
    to_month: str,
    today: str,
    _actor: Actor,
) -> KpiDashboard:
    """The KPIs for the actor's scope and filters (plain frozen dataclasses only)."""
    with session_scope(readonly=True) as s:
        return dashboard(
            s,
            _actor,
            from_month=date.fromisoformat(from_month),
            to_month=date.fromisoformat(to_month),
            oem_id=uuid.UUID(oem_id) if oem_id else None,
            zone_id=uuid.UUID(zone_id) if zone_id else None,
            today=date.fromisoformat(today),
        )


def _pct(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def _table(frame: pd.DataFrame, name: str, key: str, period: str) -> None:
    """The table and its CSV download (raw values: INR amounts without the ₹ formatting)."""
    st.dataframe(frame, hide_index=True, width="stretch")
    st.download_button(
        f"Download {name} (CSV)",
        data=frame.to_csv(index=False).encode("utf-8"),
        file_name=f"kpi_{key}_{period}.csv",
        mime="text/csv",
        key=f"kpi_csv_{key}",
    )


SLA_COLUMNS = ["Installations", "Within SLA", "Breached", "SLA %"]


def _sla_frame(groups: tuple[SlaGroup, ...], label: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                label: g.key,
                "Installations": g.installations_completed,
                "Within SLA": g.sla_met,
                "Breached": g.sla_breached,
                "SLA %": _pct(g.sla_compliance_rate),
            }
            for g in groups
        ],
        columns=[label, *SLA_COLUMNS],
    )


actor = current_actor()
st.title("KPIs")
scope_oem = str(actor.oem_id) if actor.oem_id else None
today = local_date(utcnow())
this_month = month_start(today)

try:
    options = _options(_db_key(), actor.role, scope_oem, actor)
except DomainError as e:
    show_domain_error(e)
    st.stop()

oem_labels = {o.label: str(o.id) for o in options.oems}
zone_labels = {z.label: str(z.id) for z in options.zones}
with st.form("kpi_filters"):
    f1, f2, f3, f4 = st.columns(4)
    if options.oem_fixed:
        f1.markdown(f"**OEM:** {md_escape(', '.join(oem_labels)) or '-'}")
        oem_picked = ALL
    else:
        oem_picked = f1.selectbox("OEM", [ALL, *oem_labels], key="kpi_oem")
    zone_picked = f2.selectbox("Zone", [ALL, *zone_labels], key="kpi_zone")
    from_day = f3.date_input(
        "From month", value=add_months(this_month, -11), key="kpi_from", format="YYYY-MM-DD"
    )
    to_day = f4.date_input("To month", value=this_month, key="kpi_to", format="YYYY-MM-DD")
    st.form_submit_button("Apply filters", key="kpi_apply")

oem_choice = None if options.oem_fixed else oem_labels.get(oem_picked)
zone_choice = zone_labels.get(zone_picked)
first = month_start(from_day if isinstance(from_day, date) else this_month)
last = month_start(to_day if isinstance(to_day, date) else this_month)

try:
    d = _dashboard(
        _db_key(),
        actor.role,
        scope_oem,
        oem_choice,
        zone_choice,
        first.isoformat(),
        last.isoformat(),
        today.isoformat(),
        actor,
    )
except DomainError as e:
    show_domain_error(e)
    st.stop()

period = f"{d.from_month:%Y-%m}_{d.to_month:%Y-%m}"
st.caption(
    f"Local months {d.from_month:%b %Y} to {d.to_month:%b %Y} (installations by completion "
    f"date). Backlog ages as of {d.today:%d %b %Y}. Figures are cached for "
    f"{DATA_CACHE_TTL_S} s and refreshed after any change you save."
)

m1, m2, m3, m4 = st.columns(4)
rate = d.sla_total.sla_compliance_rate
m1.metric(
    "Installation SLA compliance",
    "-" if rate is None else f"{rate}%",
    help="Installations completed within the OEM's target business days",
)
m2.metric("SLA breaches", d.breach_count)
m3.metric(
    "Revenue",
    format_inr_compact(d.total_revenue),
    help=f"Exactly {format_inr(d.total_revenue)} (L = lakh, Cr = crore)",
)
m4.metric(
    "Avg days lead to installation",
    "-" if d.install_time_average is None else str(d.install_time_average),
)

tab_names = ["SLA", "Revenue", "Installation time", "Funnel", "Backlog ageing"]
if d.internal_visible:
    tab_names += ["Team utilisation", "Stock below reorder"]
tabs = st.tabs(tab_names)

with tabs[0]:
    by_oem = _sla_frame(d.sla_by_oem, "OEM")
    by_zone = _sla_frame(d.sla_by_zone, "Zone")
    by_month = _sla_frame(d.sla_by_month, "Month")
    c1, c2 = st.columns(2)
    with c1:
        st.subheader("SLA compliance by OEM")
        fig = px.bar(by_oem, x="OEM", y="SLA %", text="SLA %", range_y=[0, 100])
        st.plotly_chart(fig, width="stretch", key="kpi_chart_sla_oem")
        _table(by_oem, "SLA by OEM", "sla_by_oem", period)
    with c2:
        st.subheader("SLA compliance by zone")
        fig = px.bar(by_zone, x="Zone", y="SLA %", text="SLA %", range_y=[0, 100])
        st.plotly_chart(fig, width="stretch", key="kpi_chart_sla_zone")
        _table(by_zone, "SLA by zone", "sla_by_zone", period)
    st.subheader("SLA compliance by month")
    fig = px.line(by_month, x="Month", y="SLA %", markers=True, range_y=[0, 100])
    st.plotly_chart(fig, width="stretch", key="kpi_chart_sla_month")
    _table(by_month, "SLA by month", "sla_by_month", period)
    st.subheader(f"Breaches ({d.breach_count})")
    if len(d.breaches) < d.breach_count:
        st.caption(f"Showing the latest {len(d.breaches)} of {d.breach_count}.")
    breaches = pd.DataFrame(
        [
            {
                "Installation": b.installation_ref,
                "OEM": b.oem_code,
                "Zone": b.zone_code,
                "Lead received": b.lead_received.strftime("%Y-%m-%d %H:%M"),
                "Completed": b.completed.strftime("%Y-%m-%d %H:%M"),
                "Business days": b.business_days,
                "Target": b.target_days,
                "Calendar days": b.calendar_days,
            }
            for b in d.breaches
        ],
        columns=[
            "Installation",
            "OEM",
            "Zone",
            "Lead received",
            "Completed",
            "Business days",
            "Target",
            "Calendar days",
        ],
    )
    _table(breaches, "SLA breaches", "sla_breaches", period)

with tabs[1]:
    st.subheader("Revenue by OEM and month (rate in force on the completion date)")
    revenue = pd.DataFrame(
        [
            {
                "Month": p.month.strftime("%Y-%m"),
                "OEM": p.oem_code,
                "Installations": p.installations_completed,
                "Revenue INR": p.revenue,
                "Unpriced": p.unpriced_installations,
            }
            for p in d.revenue
        ],
        columns=["Month", "OEM", "Installations", "Revenue INR", "Unpriced"],
    )
    fig = px.bar(
        revenue.assign(**{"Revenue INR": revenue["Revenue INR"].astype(float)}),
        x="Month",
        y="Revenue INR",
        color="OEM",
    )
    fig.update_layout(yaxis_title="INR")
    st.plotly_chart(fig, width="stretch", key="kpi_chart_revenue")
    st.markdown(f"**Total:** {format_inr(d.total_revenue)}")
    _table(revenue, "revenue", "revenue", period)

with tabs[2]:
    st.subheader("Calendar days from lead received to installation completed")
    histogram = pd.DataFrame(
        [{"Days": b.label, "Installations": b.count} for b in d.install_time_histogram],
        columns=["Days", "Installations"],
    )
    fig = px.bar(histogram, x="Days", y="Installations", text="Installations")
    st.plotly_chart(fig, width="stretch", key="kpi_chart_install_days")
    _table(histogram, "distribution", "install_days_distribution", period)
    times = pd.DataFrame(
        [
            {
                "OEM": t.oem_code,
                "Installations": t.installations_completed,
                "Total days": t.total_days,
                "Average days": _pct(t.average_days),
            }
            for t in d.install_time_by_oem
        ],
        columns=["OEM", "Installations", "Total days", "Average days"],
    )
    _table(times, "average days by OEM", "install_days_by_oem", period)

with tabs[3]:
    st.subheader("Funnel of the leads received in the period")
    funnel = pd.DataFrame(
        [
            {"Stage": f.stage, "Leads": f.count, "% of leads": _pct(f.percent_of_leads)}
            for f in d.funnel
        ],
        columns=["Stage", "Leads", "% of leads"],
    )
    fig = px.funnel(funnel, x="Leads", y="Stage")
    st.plotly_chart(fig, width="stretch", key="kpi_chart_funnel")
    _table(funnel, "funnel", "funnel", period)

with tabs[4]:
    st.subheader("Open installations by age of the lead (days) and status")
    ageing = pd.DataFrame(
        [
            {"Status": c.status, "Age (days)": c.bucket, "Installations": c.count}
            for c in d.backlog_ageing
        ],
        columns=["Status", "Age (days)", "Installations"],
    )
    fig = px.bar(ageing, x="Age (days)", y="Installations", color="Status")
    st.plotly_chart(fig, width="stretch", key="kpi_chart_ageing")
    _table(ageing, "backlog ageing", "backlog_ageing", period)

if d.internal_visible:
    with tabs[5]:
        st.subheader("Booked / available slots per team and week")
        util = pd.DataFrame(
            [
                {
                    "Team": u.team_code,
                    "Zone": u.zone_code,
                    "Week from": u.week_start.isoformat(),
                    "Working days": u.working_days,
                    "Available slots": u.available_slots,
                    "Booked slots": u.booked_slots,
                    "Utilisation %": _pct(u.utilisation_rate),
                }
                for u in d.utilisation
            ],
            columns=[
                "Team",
                "Zone",
                "Week from",
                "Working days",
                "Available slots",
                "Booked slots",
                "Utilisation %",
            ],
        )
        if util.empty:
            st.info("No active teams in this zone.")
        else:
            fig = px.line(util, x="Week from", y="Utilisation %", color="Team", markers=True)
            st.plotly_chart(fig, width="stretch", key="kpi_chart_utilisation")
        _table(util, "team utilisation", "team_utilisation", period)
    with tabs[6]:
        st.subheader("Stock at or below its reorder level (projected = free + on order)")
        stock = pd.DataFrame(
            [
                {
                    "Zone": r.zone_code,
                    "SKU": r.sku,
                    "Material": r.name,
                    "Unit": r.unit,
                    "Free": r.quantity_available,
                    "On order": r.on_order,
                    "Projected": r.projected,
                    "Reorder level": r.reorder_level,
                    "Suggested order": r.suggested_order,
                }
                for r in d.stock_below_reorder
            ],
            columns=[
                "Zone",
                "SKU",
                "Material",
                "Unit",
                "Free",
                "On order",
                "Projected",
                "Reorder level",
                "Suggested order",
            ],
        )
        if stock.empty:
            st.success("No stock below its reorder level.")
        else:
            fig = px.bar(
                stock.assign(Item=stock["Zone"] + " " + stock["SKU"]),
                x="Item",
                y=["Projected", "Reorder level"],
                barmode="group",
            )
            st.plotly_chart(fig, width="stretch", key="kpi_chart_stock")
        _table(stock, "stock below reorder", "stock_below_reorder", period)
