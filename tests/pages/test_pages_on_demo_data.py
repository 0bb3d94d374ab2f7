"""Every role's pages render on the demo data set without exceptions (AppTest)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from app.nav import page_files_for
from db.base import Base
from db.engine import make_engine, session_scope
from db.seed import seed_all
from db.settings import get_settings
from domain.accounts.dto import actor_for
from domain.accounts.models import AppUser
from domain.actor import ROLES, Actor

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    seed_all(engine, seed=7, scale=0.1)
    engine.dispose()
    yield url


@pytest.fixture
def demo_env(demo_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DATABASE_URL", demo_db)
    get_settings.cache_clear()
    yield demo_db
    get_settings.cache_clear()


def _actor_for_role(url: str, role: str) -> Actor:
    engine = make_engine(url)
    try:
        with session_scope(engine, readonly=True) as s:
            u = s.scalars(
                select(AppUser).where(AppUser.role == role, AppUser.active.is_(True))
            ).first()
            assert u is not None, f"demo data has no active {role}"
            return actor_for(u)
    finally:
        engine.dispose()


@pytest.mark.parametrize("role", ROLES)
def test_each_page_of_each_role_renders_on_demo_data(demo_env: str, role: str) -> None:
    actor = _actor_for_role(demo_env, role)
    files = page_files_for(role)
    assert files, f"role {role} has no pages"
    for rel in files:
        at = AppTest.from_file(str(ROOT / rel), default_timeout=60)
        at.session_state["actor"] = actor
        at.run()
        assert not at.exception, f"{rel} as {role}: {at.exception}"
        # every page shows a title/heading and some content
        assert at.title or at.header or at.subheader, f"{rel} as {role} shows no heading"
