"""Short-lived caching of read-only page data, and clearing it after writes.

Pages cache plain DTOs (never ORM objects) with ``@st.cache_data(ttl=DATA_CACHE_TTL_S)``,
keyed by the database, the actor's scope and the filters (see ``pages/overview.py`` and
``pages/kpis.py``). ``app.runtime.session_scope`` calls ``clear_data_caches()`` after every
write transaction that commits, so a user who changes data sees fresh figures on the next
rerun; writes made by another process (the scheduler sidecar) show within the TTL.
"""

from __future__ import annotations

import streamlit as st

DATA_CACHE_TTL_S = 60
"""Seconds a cached read (KPI figures, filter choices) may be reused."""


def clear_data_caches() -> None:
    """Drop every ``st.cache_data`` entry of this process (all pages, all sessions).

    Writes are rare next to reads, and any write may change an aggregate (a completed
    installation moves SLA, revenue, funnel and backlog at once), so everything is dropped
    rather than guessing which cached figures a write touched. ``st.cache_resource`` (the
    engine) is kept.
    """
    st.cache_data.clear()
