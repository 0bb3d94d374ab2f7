"""The app's link to the database and to the logged-in user.

Pages use exactly these: ``session_scope()`` for one unit of work per user action, and
``current_actor()`` for the ``Actor`` to pass to domain commands. Only plain data (the frozen
``Actor``, ids) is kept in ``st.session_state``; never ORM objects or sessions.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.cache import clear_data_caches
from db import engine as db_engine
from db.settings import get_settings
from domain import audit
from domain.actor import Actor
from domain.errors import PermissionDenied

ACTOR_KEY = "actor"


@st.cache_resource(show_spinner=False)
def _engine_for(url: str) -> Engine:
    return db_engine.make_engine(url)


def get_engine() -> Engine:
    """The engine for ``DATABASE_URL`` (one per process and URL, via ``st.cache_resource``)."""
    url = os.environ.get("DATABASE_URL") or get_settings().database_url
    return _engine_for(url)


@contextmanager
def session_scope(*, readonly: bool = False) -> Iterator[Session]:
    """One transaction for one user action; see ``db.engine.session_scope``.

    After a write scope commits, the cached page data is cleared
    (``app.cache.clear_data_caches``) so the next rerun shows the change; read-only scopes and
    scopes that raise (rolled back) leave the caches alone.

    A ``PermissionDenied`` raised inside the scope is audited: after the rollback, one
    ``permission.denied`` event (actor, command, role) is written in a fresh short transaction
    (``domain.audit.record_refusal``), then the error propagates to the page as before. The
    actor is the one the error names (``require`` sets it), else this session's user.
    """
    engine = get_engine()
    try:
        with db_engine.session_scope(engine, readonly=readonly) as s:
            yield s
    except PermissionDenied as exc:
        audit.record_refusal(engine, _refused_actor(exc), exc)
        raise
    if not readonly:
        clear_data_caches()


def _refused_actor(exc: PermissionDenied) -> Actor:
    """The refused actor: the one ``require`` recorded on the error, else this session's."""
    if isinstance(exc.actor, Actor):
        return exc.actor
    actor = st.session_state.get(ACTOR_KEY)
    if isinstance(actor, Actor):
        return actor
    return Actor(user_id=None, username="(not logged in)", role=exc.role or "anonymous")


def current_actor() -> Actor:
    """The logged-in user's ``Actor``; stops the script if nobody is logged in."""
    actor = st.session_state.get(ACTOR_KEY)
    if not isinstance(actor, Actor):
        st.error("Please log in.")
        st.stop()
    return actor
