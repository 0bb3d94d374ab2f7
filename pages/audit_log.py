"""Audit log (admins and managers, permission ``audit.read``): every audited command, login
and refusal, newest first; filter by actor, action, entity type, text and local date range;
page through them, see one event's before/after, export the matching events as CSV.
Read-only: nothing here changes data."""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from app.cache import DATA_CACHE_TTL_S
from app.runtime import current_actor, get_engine, session_scope
from app.widgets import local_time, md_escape, show_domain_error
from domain import audit
from domain.actor import Actor
from domain.errors import DomainError
from domain.permissions import can

ALL = "All"
NONE = "—"
PAGE_SIZE = 50
PAGE_KEY = "audit_page"
# Filters another page asks for (the Admin page's "Audit trail" of one user): {"search": ...},
# applied once before the filter widgets are drawn. (A comment: Streamlit's "magic" would
# show a bare string on the page.)
PRESET_KEY = "audit_log_preset"
GROUP_SUFFIX = "* (all)"
COLUMN_TITLES = {
    "at": "When",
    "actor_username": "Actor",
    "action": "Action",
    "entity_type": "Entity",
    "entity_id": "Entity id",
    "before": "Before",
    "after": "After",
}

actor = current_actor()
st.title("Audit log")
if not can(actor, "audit.read"):
    st.error("Only administrators and managers can read the audit log.")
    st.stop()


@st.cache_data(ttl=DATA_CACHE_TTL_S, show_spinner=False)
def _choices(db_key: str, role: str, _actor: Actor) -> audit.AuditFilterChoices:
    """The filter choices, cached per database and role for ``DATA_CACHE_TTL_S`` seconds."""
    with session_scope(readonly=True) as s:
        return audit.audit_filter_choices(s, _actor)


choices = _choices(str(get_engine().url), actor.role, actor)
preset = st.session_state.pop(PRESET_KEY, None)
if isinstance(preset, dict):
    st.session_state.update(
        {
            "audit_f_actor": "",
            "audit_f_action": ALL,
            "audit_f_type": ALL,
            "audit_f_search": str(preset.get("search") or ""),
            "audit_f_from": None,
            "audit_f_to": None,
            PAGE_KEY: 1,
        }
    )
action_options = [
    ALL,
    *(prefix + GROUP_SUFFIX for prefix in choices.action_prefixes),
    *choices.actions,
]

with st.form("audit_filters"):
    f1, f2, f3 = st.columns(3)
    f_actor = f1.text_input("Actor (part of the username)", key="audit_f_actor")
    f_action = f2.selectbox("Action", action_options, key="audit_f_action")
    f_type = f3.selectbox("Entity type", [ALL, *choices.entity_types], key="audit_f_type")
    f4, f5, f6 = st.columns(3)
    f_search = f4.text_input("Search (entity id, text in before/after)", key="audit_f_search")
    f_from = f5.date_input("From", value=None, key="audit_f_from")
    f_to = f6.date_input("To", value=None, key="audit_f_to")
    if st.form_submit_button("Apply filters", key="audit_f_submit"):
        st.session_state[PAGE_KEY] = 1

filters: dict[str, Any] = {
    "actor_username": f_actor or None,
    "action": None,
    "action_prefix": None,
    "entity_type": None if f_type == ALL else f_type,
    "search": f_search or None,
    "date_from": f_from if isinstance(f_from, date) else None,
    "date_to": f_to if isinstance(f_to, date) else None,
}
if f_action and f_action.endswith(GROUP_SUFFIX):
    filters["action_prefix"] = f_action.removesuffix(GROUP_SUFFIX)
elif f_action and f_action != ALL:
    filters["action"] = f_action

page_no = int(st.session_state.get(PAGE_KEY, 1))
error: DomainError | None = None
events = None
try:
    with session_scope(readonly=True) as s:
        events = audit.list_events_page(s, actor, page=page_no, page_size=PAGE_SIZE, **filters)
        if page_no > events.pages:
            page_no = 1
            events = audit.list_events_page(s, actor, page=1, page_size=PAGE_SIZE, **filters)
except DomainError as e:
    error = e
if error is not None:
    show_domain_error(error)
    st.stop()
assert events is not None

if events.total == 0:
    st.info("No audit events match these filters.")
    st.stop()

first = (events.page - 1) * events.page_size + 1
st.caption(f"Events {first}–{first + len(events.rows) - 1} of {events.total} (newest first)")
frame = events.to_frame().drop(columns=["id"])
frame["at"] = [local_time(r.at, "%d %b %Y %H:%M:%S") for r in events.rows]
for column in ("before", "after"):  # JSON text: a table cell shows it as plain text
    frame[column] = [audit.json_text(getattr(r, column)) for r in events.rows]
st.dataframe(
    frame.rename(columns=COLUMN_TITLES), hide_index=True, width="stretch", key="audit_table"
)
if events.pages > 1:
    st.session_state[PAGE_KEY] = page_no
    pager, _ = st.columns([1, 3])
    pager.number_input(
        f"Page (of {events.pages})", min_value=1, max_value=events.pages, step=1, key=PAGE_KEY
    )


def _export() -> bytes:
    """The CSV of every matching event (newest ``EXPORT_MAX_ROWS``), built on click."""
    with session_scope(readonly=True) as s:
        return audit.events_csv(s, actor, **filters)


st.download_button(
    f"Download CSV (the newest {min(events.total, audit.EXPORT_MAX_ROWS)} matching events)",
    data=_export,
    file_name="audit_log.csv",
    mime="text/csv",
    on_click="ignore",
    key="audit_csv",
)

st.subheader("Event detail")
by_id = {str(r.id): (n, r) for n, r in enumerate(events.rows, start=first)}
picked = st.selectbox(
    "Event on this page",
    list(by_id),  # the events' ids: a new page or filter resets the choice
    format_func=lambda i: (
        f"{by_id[i][0]}. {local_time(by_id[i][1].at, '%d %b %Y %H:%M:%S')} · {by_id[i][1].action}"
    ),
    key="audit_detail",
)
if picked is not None:
    event = by_id[picked][1]
    st.markdown(
        f"**{md_escape(event.action)}** by **{md_escape(event.actor_username)}** on "
        f"{md_escape(event.entity_type)} {md_escape(event.entity_id or NONE)} · "
        f"{local_time(event.at, '%d %b %Y %H:%M:%S')}"
    )
    d1, d2 = st.columns(2)
    for col, title, value in ((d1, "Before", event.before), (d2, "After", event.after)):
        with col:
            st.markdown(f"**{title}**")
            if value is None:
                st.caption(NONE)
            else:
                st.json(value, expanded=True)
