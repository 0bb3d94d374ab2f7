"""Role-filtered navigation: which pages each role sees in the menu.

Hiding a page is convenience only; the domain layer checks every command's permission.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from domain.actor import ROLES as _ROLES

ROLES = frozenset(_ROLES)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class PageSpec:
    """One page: its file (relative to the project root), menu title, icon and roles."""

    file: str
    title: str
    icon: str
    roles: frozenset[str]


PAGES: tuple[PageSpec, ...] = (
    PageSpec(
        "pages/overview.py",
        "Overview",
        ":material/dashboard:",
        frozenset({"admin", "manager", "central_ops", "oem_reporting", "oem_viewer"}),
    ),
    PageSpec(
        "pages/my_jobs.py",
        "My jobs",
        ":material/construction:",
        frozenset({"admin", "central_ops", "field_engineer"}),
    ),
    PageSpec("pages/leads.py", "Leads", ":material/contact_page:", frozenset(ROLES)),
    PageSpec(
        "pages/surveys.py", "Surveys", ":material/fact_check:", frozenset(ROLES - {"procurement"})
    ),
    PageSpec("pages/installations.py", "Installations", ":material/ev_station:", frozenset(ROLES)),
    PageSpec(
        "pages/dispatch_board.py",
        "Dispatch board",
        ":material/calendar_view_week:",
        frozenset({"admin", "manager", "central_ops"}),
    ),
    PageSpec(
        "pages/service_calls.py",
        "Service calls",
        ":material/build:",
        frozenset(ROLES - {"oem_viewer"}),
    ),
    PageSpec(
        "pages/notifications.py", "Notifications", ":material/notifications:", frozenset(ROLES)
    ),
    PageSpec("pages/admin.py", "Admin", ":material/admin_panel_settings:", frozenset({"admin"})),
    PageSpec("pages/account.py", "My account", ":material/person:", frozenset(ROLES)),
)
"""The menu, in order; the first page a role may see is its default (landing) page."""


def page_specs_for(role: str) -> list[PageSpec]:
    """The ``PageSpec``s ``role`` sees, in menu order.

    Raises:
        ValueError: unknown role.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    return [p for p in PAGES if role in p.roles]


def page_files_for(role: str) -> list[str]:
    """Page files (``pages/x.py``, relative to the project root) ``role`` sees, in menu order.

    Raises:
        ValueError: unknown role.
    """
    return [p.file for p in page_specs_for(role)]


def pages_for(role: str, root: Path | None = None) -> list[st.Page]:
    """``st.Page`` objects for ``st.navigation``; the first one is the default page.

    Args:
        role: the logged-in user's role.
        root: directory holding ``pages/`` (default the project root). Paths are absolute so
            they do not depend on where the entry script lives.

    Raises:
        ValueError: unknown role.
    """
    base = root or PROJECT_ROOT
    return [
        st.Page(base / spec.file, title=spec.title, icon=spec.icon, default=(i == 0))
        for i, spec in enumerate(page_specs_for(role))
    ]
