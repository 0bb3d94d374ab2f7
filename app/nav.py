"""Role-filtered navigation: which pages each role sees in the menu, grouped in sections.

Hiding a page is convenience only; the domain layer checks every command's permission.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from domain.actor import ROLES as _ROLES

ROLES = frozenset(_ROLES)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


DASHBOARDS = "Dashboards"
OPERATIONS = "Operations"
STOCK = "Stock & procurement"
OEM_REPORTING = "OEM reporting"
SYSTEM = "System"
ACCOUNT = "Account"

SECTIONS: tuple[str, ...] = (DASHBOARDS, OPERATIONS, STOCK, OEM_REPORTING, SYSTEM, ACCOUNT)
"""Menu sections, in menu order (``st.navigation`` section headers). No section is titled
like a page, so a menu link can be found by its exact text."""


@dataclass(frozen=True)
class PageSpec:
    """One page: its file (relative to the project root), menu title, icon, roles and the
    menu section (one of ``SECTIONS``) it is listed under."""

    file: str
    title: str
    icon: str
    roles: frozenset[str]
    section: str


PAGES: tuple[PageSpec, ...] = (
    PageSpec(
        "pages/overview.py",
        "Overview",
        ":material/dashboard:",
        frozenset({"admin", "manager", "central_ops", "oem_reporting", "oem_viewer"}),
        DASHBOARDS,
    ),
    PageSpec(
        "pages/kpis.py",
        "KPIs",
        ":material/monitoring:",
        frozenset({"admin", "manager", "central_ops", "oem_reporting", "oem_viewer"}),
        DASHBOARDS,
    ),
    PageSpec(
        "pages/my_jobs.py",
        "My jobs",
        ":material/construction:",
        frozenset({"admin", "central_ops", "field_engineer"}),
        OPERATIONS,
    ),
    PageSpec("pages/leads.py", "Leads", ":material/contact_page:", ROLES, OPERATIONS),
    PageSpec(
        "pages/surveys.py",
        "Surveys",
        ":material/fact_check:",
        ROLES - {"procurement"},
        OPERATIONS,
    ),
    PageSpec("pages/installations.py", "Installations", ":material/ev_station:", ROLES, OPERATIONS),
    PageSpec(
        "pages/dispatch_board.py",
        "Dispatch board",
        ":material/calendar_view_week:",
        frozenset({"admin", "manager", "central_ops"}),
        OPERATIONS,
    ),
    PageSpec(
        "pages/service_calls.py",
        "Service calls",
        ":material/build:",
        ROLES - {"oem_viewer"},
        OPERATIONS,
    ),
    PageSpec(
        "pages/stock.py",
        "Stock",
        ":material/inventory_2:",
        frozenset({"admin", "manager", "central_ops", "procurement"}),
        STOCK,
    ),
    PageSpec(
        "pages/allocations.py",
        "Allocations",
        ":material/assignment_turned_in:",
        frozenset({"admin", "manager", "central_ops", "procurement"}),
        STOCK,
    ),
    PageSpec(
        "pages/procurement_requests.py",
        "Procurement requests",
        ":material/shopping_cart:",
        frozenset({"admin", "manager", "central_ops", "procurement"}),
        STOCK,
    ),
    PageSpec(
        "pages/materials.py",
        "Materials",
        ":material/category:",
        frozenset({"admin", "manager", "central_ops", "procurement"}),
        STOCK,
    ),
    PageSpec(
        "pages/vendors.py",
        "Vendors",
        ":material/storefront:",
        frozenset({"admin", "manager", "procurement"}),
        STOCK,
    ),
    PageSpec(
        "pages/closure_packs.py",
        "Closure packs",
        ":material/folder_zip:",
        frozenset({"admin", "manager", "oem_reporting", "oem_viewer"}),
        OEM_REPORTING,
    ),
    PageSpec(
        "pages/reports.py",
        "Reports",
        ":material/summarize:",
        frozenset({"admin", "manager", "oem_reporting", "oem_viewer"}),
        OEM_REPORTING,
    ),
    PageSpec(
        "pages/month_closure.py",
        "Month closure",
        ":material/event_available:",
        frozenset({"admin", "manager", "oem_reporting"}),
        OEM_REPORTING,
    ),
    PageSpec(
        "pages/admin.py",
        "Admin",
        ":material/admin_panel_settings:",
        frozenset({"admin"}),
        SYSTEM,
    ),
    PageSpec(
        "pages/audit_log.py",
        "Audit log",
        ":material/history:",
        frozenset({"admin", "manager"}),  # PERMISSIONS["audit.read"]
        SYSTEM,
    ),
    PageSpec(
        "pages/scheduler.py", "Scheduler", ":material/schedule:", frozenset({"admin"}), SYSTEM
    ),
    PageSpec("pages/notifications.py", "Notifications", ":material/notifications:", ROLES, ACCOUNT),
    PageSpec("pages/account.py", "My account", ":material/person:", ROLES, ACCOUNT),
)
"""The menu, in order and grouped by section (a section's pages are contiguous, sections in
``SECTIONS`` order); the first page a role may see is its default (landing) page unless
``LANDING`` names another one."""

LANDING: dict[str, str] = {"procurement": "pages/stock.py"}
"""Roles whose landing page is not their first menu entry (procurement starts on Stock)."""


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


def menu_for(role: str) -> dict[str, list[PageSpec]]:
    """The role's menu as data: section title -> its ``PageSpec``s, sections in ``SECTIONS``
    order, pages in menu order; sections without a page for the role are left out.

    Raises:
        ValueError: unknown role.
    """
    menu: dict[str, list[PageSpec]] = {}
    for spec in page_specs_for(role):
        menu.setdefault(spec.section, []).append(spec)
    return menu


PASSWORD_CHANGE_PAGE = "pages/account.py"
"""The only page of a user who must replace a password an admin set (every role has it)."""


def pages_for(
    role: str, root: Path | None = None, *, password_change_only: bool = False
) -> dict[str, list[st.Page]]:
    """The role's menu for ``st.navigation``: ``menu_for(role)`` with each spec made an
    ``st.Page``. Exactly one page (the landing page, ``landing_file_for``) is the default.

    Args:
        role: the logged-in user's role.
        root: directory holding ``pages/`` (default the project root). Paths are absolute so
            they do not depend on where the entry script lives.
        password_change_only: the user still has a password an admin set: the menu is only
            ``PASSWORD_CHANGE_PAGE`` (My account), its default page; no other page can run.

    Raises:
        ValueError: unknown role.
    """
    base = root or PROJECT_ROOT
    landing = landing_file_for(role)
    if password_change_only:
        spec = next(p for p in PAGES if p.file == PASSWORD_CHANGE_PAGE)
        return {
            spec.section: [
                st.Page(base / spec.file, title=spec.title, icon=spec.icon, default=True)
            ]
        }
    return {
        section: [
            st.Page(
                base / spec.file, title=spec.title, icon=spec.icon, default=spec.file == landing
            )
            for spec in specs
        ]
        for section, specs in menu_for(role).items()
    }


def landing_file_for(role: str) -> str:
    """The page file ``role`` lands on after login (``LANDING`` or its first menu page).

    Raises:
        ValueError: unknown role.
    """
    files = page_files_for(role)
    wanted = LANDING.get(role)
    return wanted if wanted in files else files[0]
