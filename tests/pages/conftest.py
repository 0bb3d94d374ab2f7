"""Page-test fixtures: the app under AppTest reads ``DATABASE_URL``, so each test points it at
its own SQLite file database with the whole schema, and clears the cached settings and data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine

from db.base import Base
from db.engine import make_engine
from db.settings import get_settings


@pytest.fixture
def app_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """An empty SQLite file database (schema only) that pages under AppTest will use."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    st.cache_data.clear()
    yield engine
    engine.dispose()
    get_settings.cache_clear()
    st.cache_data.clear()
