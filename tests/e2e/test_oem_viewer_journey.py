"""Journey in a real browser (issue 6, OEM viewer): ``tata.viewer`` browses Leads,
Installations, Closure packs and Reports and sees only Tata's data.

What "only Tata's" means is computed independently of the viewer's scoping: the admin's
lists filtered on the Tata OEM give the totals each page must show, and another OEM's
(JSW MG's) lead, installation and pack refs must find nothing when the viewer searches for
them, while a Tata ref finds exactly one row. No other OEM's name appears on any page, and a
URL carrying the other OEM's id as query parameters (no page reads query parameters) changes
nothing.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    click,
    db_session,
    demo_user,
    flash,
    login,
    open_page,
    settle,
    snapshot,
    widget,
)

pytestmark = pytest.mark.e2e

OTHER = "MG"


@dataclass(frozen=True)
class Scope:
    """Tata's totals and one ref of each kind, the other OEMs' names and refs."""

    oem_id: uuid.UUID
    oem_label: str
    other_id: uuid.UUID
    other_names: tuple[str, ...]
    leads: int
    lead_ref: str
    other_lead_ref: str
    installations: int
    installation_ref: str
    other_installation_ref: str
    packs: int
    pack_ref: str
    other_pack_ref: str


def _scope(database_url: str, oem_code: str) -> Scope:
    from sqlalchemy import select

    from domain.accounts.models import Oem
    from domain.actor import Actor
    from domain.installations.queries import list_installations
    from domain.leads.queries import list_leads
    from domain.reporting.packs import list_packs

    admin = Actor(user_id=None, username="e2e-admin", role="admin")
    with db_session(database_url, readonly=True) as s:
        oems = {o.code: o for o in s.scalars(select(Oem))}
        own, other = oems[oem_code], oems[OTHER]
        leads = list_leads(s, admin, oem_id=own.id, page_size=1)
        other_leads = list_leads(s, admin, oem_id=other.id, page_size=1)
        insts = list_installations(s, admin, oem_id=own.id, page_size=1)
        other_insts = list_installations(s, admin, oem_id=other.id, page_size=1)
        packs = list_packs(s, admin, oem_id=own.id, page_size=1)
        other_packs = list_packs(s, admin, oem_id=other.id, page_size=1)
        assert min(leads.total, insts.total, packs.total) > 0
        assert other_leads.rows and other_insts.rows and other_packs.rows
        return Scope(
            oem_id=own.id,
            oem_label=f"{own.name} ({own.code})",
            other_id=other.id,
            other_names=tuple(o.name for code, o in oems.items() if code != oem_code),
            leads=leads.total,
            lead_ref=leads.rows[0].ref,
            other_lead_ref=other_leads.rows[0].ref,
            installations=insts.total,
            installation_ref=insts.rows[0].ref,
            other_installation_ref=other_insts.rows[0].ref,
            packs=packs.total,
            pack_ref=packs.rows[0].ref,
            other_pack_ref=other_packs.rows[0].ref,
        )


def _no_other_oem(page, scope: Scope) -> None:  # type: ignore[no-untyped-def]
    text = page.locator('[data-testid="stMain"]').inner_text()
    for name in scope.other_names:
        assert name not in text, f"{name} shown to the Tata viewer"


def _search(page, field: str, submit: str, ref: str) -> None:  # type: ignore[no-untyped-def]
    widget(page, field).locator("input").fill(ref)
    click(page, submit)


def test_oem_viewer_sees_only_its_own_oem(page, app_url: str, e2e_database: str) -> None:  # type: ignore[no-untyped-def]
    viewer = demo_user(username="tata.viewer")
    scope = _scope(e2e_database, viewer.oem_code)
    login(page, app_url, viewer.username, viewer.password)
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.wait_for(timeout=60_000)
    for hidden in ("Dispatch board", "Stock", "Admin", "Month closure"):
        assert nav.get_by_text(hidden, exact=True).count() == 0

    # Leads: Tata's total only; the other OEM's lead is not found, a Tata lead is
    open_page(page, "Leads")
    page.get_by_text(re.compile(rf"^Leads 1–\d+ of {scope.leads} ")).wait_for()
    expect(widget(page, "leads_f_oem").locator("input")).to_have_value(scope.oem_label)
    _no_other_oem(page, scope)
    _search(page, "leads_f_search", "leads_f_submit", scope.other_lead_ref)
    flash(page, "No leads match these filters.")
    _search(page, "leads_f_search", "leads_f_submit", scope.lead_ref)
    page.get_by_text("Leads 1–1 of 1 ").wait_for()

    # Installations
    open_page(page, "Installations")
    page.get_by_text(re.compile(rf"^Installations 1–\d+ of {scope.installations} ")).wait_for()
    _no_other_oem(page, scope)
    _search(page, "inst_f_search", "inst_f_submit", scope.other_installation_ref)
    flash(page, "No installations match these filters.")
    _search(page, "inst_f_search", "inst_f_submit", scope.installation_ref)
    page.get_by_text(re.compile(r"^Installations 1–1 of 1\b")).wait_for()

    # Closure packs
    open_page(page, "Closure packs")
    page.get_by_text(re.compile(rf"^Packs 1–\d+ of {scope.packs}$")).wait_for()
    _no_other_oem(page, scope)
    _search(page, "cp_f_search", "cp_f_submit", scope.other_pack_ref)
    flash(page, "No closure pack matches these filters.")
    _search(page, "cp_f_search", "cp_f_submit", scope.pack_ref)
    page.get_by_text("Packs 1–1 of 1", exact=True).wait_for()

    # Reports: fixed to Tata; no other OEM's report is listed
    open_page(page, "Reports")
    expect(widget(page, "rep_weekly_oemfix").locator("input")).to_have_value(
        re.compile(rf"^{viewer.oem_code} - ")
    )
    _no_other_oem(page, scope)
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert f"{OTHER} · " not in text
    snapshot(page, "oem-viewer-reports")

    # a URL with the other OEM's id as query parameters still shows Tata's leads only
    page.goto(f"{app_url}/leads?oem_id={scope.other_id}&oem={OTHER}")
    page.get_by_role("heading", name="Leads", exact=True, level=1).wait_for(timeout=60_000)
    settle(page)
    page.get_by_text(re.compile(rf"^Leads 1–\d+ of {scope.leads} ")).wait_for()
    _no_other_oem(page, scope)
    snapshot(page, "oem-viewer-leads")
