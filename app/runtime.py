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

from db import engine as db_engine
from db.settings import get_settings
from domain.actor import Actor

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
    """One transaction for one user action; see ``db.engine.session_scope``."""
    with db_engine.session_scope(get_engine(), readonly=readonly) as s:
        yield s


def current_actor() -> Actor:
    """The logged-in user's ``Actor``; stops the script if nobody is logged in."""
    actor = st.session_state.get(ACTOR_KEY)
    if not isinstance(actor, Actor):
        st.error("Please log in.")
        st.stop()
    return actor
