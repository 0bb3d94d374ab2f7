"""Journey in a real browser (issue 5): reporting staff compile a closure pack, see it
incomplete, add the missing evidence (photo uploads through the page, the confirmation call),
submit it, record the OEM's revision request, recompile and resubmit, and download the PDF.

The installation is chosen from the e2e database with the domain queries before the browser
is driven: a ``report_submitted`` installation in an open month whose pack is not submitted
yet (none, or a demo pack left draft/compiled without a PDF), preferring an OEM whose
checklist includes the confirmation call. What is missing after the compile is read back
from the database, so the journey adds exactly those items. The database is checked after
each step, and the downloaded PDF is read back with pypdf.
"""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    choose,
    click,
    click_single,
    jpeg,
    login,
    open_page,
    open_tab,
    settle,
    snapshot,
    widget,
)

pytestmark = pytest.mark.e2e

REVISION_REASON = "Serial plate photo not legible (e2e)"


@dataclass(frozen=True)
class Plan:
    """The installation whose pack the journey compiles."""

    installation_id: uuid.UUID
    installation_ref: str
    customer_name: str
    charger_serial: str


def _engine(url: str):  # type: ignore[no-untyped-def]
    from db import make_engine

    return make_engine(url)


def _reporting_actor():  # type: ignore[no-untyped-def]
    from domain.actor import Actor

    return Actor(user_id=None, username="e2e-reporting", role="oem_reporting")


def _plan(database_url: str) -> Plan:
    from sqlalchemy import select

    from db import session_scope
    from domain.accounts.models import Oem
    from domain.errors import DomainError
    from domain.installations.models import Installation, InstallationReport
    from domain.leads.models import Lead
    from domain.reporting.months import require_installation_month_open
    from domain.reporting.packs import list_compilable

    engine = _engine(database_url)
    try:
        with session_scope(engine, readonly=True) as s:
            # no pack yet, or a demo pack not submitted yet (draft or compiled, no PDF)
            fresh = [
                c
                for c in list_compilable(s, _reporting_actor(), limit=500)
                if c.pack_status in (None, "draft", "compiled")
            ]
            ranked = []
            for c in fresh:
                inst = s.get(Installation, c.installation_id)
                try:
                    require_installation_month_open(s, inst)
                except DomainError:
                    continue
                required = s.execute(
                    select(Oem.required_evidence)
                    .join(Lead, Lead.oem_id == Oem.id)
                    .where(Lead.id == inst.lead_id)
                ).scalar_one()
                serial = s.execute(
                    select(InstallationReport.charger_serial).where(
                        InstallationReport.installation_id == inst.id
                    )
                ).scalar_one()
                required = list(required or [])
                has_call = "confirmation_call" in required
                order = (None, "draft", "compiled").index(c.pack_status)
                ranked.append((order, not has_call, len(required), c, serial))
            if not ranked:
                pytest.fail("the e2e demo data has no report_submitted installation to compile")
            ranked.sort(key=lambda r: r[:3])
            *_, c, serial = ranked[0]
            return Plan(c.installation_id, c.installation_ref, c.customer_name, serial)
    finally:
        engine.dispose()


def _pack_state(database_url: str, installation_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """The pack as the domain sees it (admin view), plus its submissions and revisions."""
    from db import session_scope
    from domain.actor import Actor
    from domain.reporting.packs import pack_for_installation

    engine = _engine(database_url)
    try:
        with session_scope(engine, readonly=True) as s:
            return pack_for_installation(
                s, Actor(user_id=None, username="e2e-admin", role="admin"), installation_id
            )
    finally:
        engine.dispose()


def _flash(page, pattern: str) -> None:  # type: ignore[no-untyped-def]
    """Wait for the success message matching ``pattern`` (regex) and for the rerun to end."""
    page.locator('[data-testid="stAlertContentSuccess"]').filter(
        has_text=re.compile(pattern)
    ).first.wait_for()
    settle(page)


def test_reporting_compiles_fixes_submits_revises_and_downloads(
    page,  # type: ignore[no-untyped-def]
    app_url: str,
    e2e_database: str,
    tmp_path: Path,
) -> None:
    from pypdf import PdfReader

    from db.reference import DEMO_USERS
    from domain.reporting.packs import EVIDENCE_LABELS, UPLOADABLE_EVIDENCE

    plan = _plan(e2e_database)
    reporting = next(u for u in DEMO_USERS if u.role == "oem_reporting")
    login(page, app_url, reporting.username, reporting.password)
    open_page(page, "Closure packs")

    # 1. compile: the pack is incomplete
    open_tab(page, "Compile")
    widget(page, "cp_c_search").locator("input").fill(plan.installation_ref)
    page.keyboard.press("Enter")
    settle(page)
    open_tab(page, "Compile")
    choose(page, "cp_c_inst", plan.installation_ref)
    click(page, "cp_c_submit", then_settle=False)
    _flash(page, r"Pack CP-\d{4}-\d{5} compiled \(incomplete: missing ")
    pack = _pack_state(e2e_database, plan.installation_id)
    assert pack is not None and pack.status == "compiled" and pack.missing
    page.get_by_text(f"Incomplete: missing {', '.join(pack.missing)}.").wait_for()
    snapshot(page, "closure-pack-incomplete")

    # submitting now is refused, naming what is missing
    click(page, "cp_submit_submit", then_settle=False)
    page.get_by_text(f"cannot be submitted: missing {', '.join(pack.missing)}").wait_for()
    settle(page)

    # 2. add the missing evidence through the page
    colours = iter(["teal", "orange", "navy", "olive", "maroon"])
    for n, item in enumerate(pack.checklist):
        if item.present:
            continue
        if item.key in UPLOADABLE_EVIDENCE:
            choose(page, "cp_ev_key", f"{EVIDENCE_LABELS[item.key]} (missing)")
            photo = jpeg(tmp_path / f"ev{n}.jpg", next(colours))  # short: shown untruncated
            widget(page, "cp_ev_file").locator('input[type="file"]').set_input_files(photo)
            widget(page, "cp_ev_file").get_by_text(photo.name).wait_for()
            click(page, "cp_ev_submit", then_settle=False)
            _flash(page, re.escape(f"{EVIDENCE_LABELS[item.key]} added to {pack.ref}"))
        elif item.key == "confirmation_call":
            choose(page, "cp_call_out", "confirmed")
            widget(page, "cp_call_notes").locator("input").fill("Charger working (e2e)")
            click(page, "cp_call_submit", then_settle=False)
            _flash(page, re.escape(f"Confirmation call (confirmed) recorded on {pack.ref}"))
        else:
            pytest.fail(f"the journey cannot add evidence {item.key!r}")
    page.get_by_text("Complete: every required evidence item is present.").wait_for()
    assert _pack_state(e2e_database, plan.installation_id).complete

    # 3. recompile (fresh PDF) and submit
    click(page, "cp_recompile_submit", then_settle=False)
    _flash(page, re.escape(f"Pack {pack.ref} compiled (version 1)"))
    click(page, "cp_submit_submit", then_settle=False)
    _flash(page, re.escape(f"Pack {pack.ref} submitted to "))
    state = _pack_state(e2e_database, plan.installation_id)
    assert state.status == "submitted" and len(state.submissions) == 1

    # 4. the OEM asks for a revision
    widget(page, "cp_resp").get_by_text("Revision needed").click()
    widget(page, "cp_resp_reason").locator("textarea").fill(REVISION_REASON)
    click(page, "cp_resp_submit", then_settle=False)
    _flash(page, re.escape(f"Revision requested on {pack.ref}: reopened as version 2"))
    page.get_by_text(f"Revision requested by the OEM: {REVISION_REASON}").wait_for()
    state = _pack_state(e2e_database, plan.installation_id)
    assert (state.status, state.oem_response, state.version) == ("draft", "revision_needed", 2)
    assert [(r.version, r.reason) for r in state.revisions] == [(1, REVISION_REASON)]
    assert state.submissions[0].acknowledged

    # 5. a clearer serial-plate photo, compile version 2, resubmit
    choose(page, "cp_ev_key", EVIDENCE_LABELS["serial_plate_photo"])
    plate = jpeg(tmp_path / "plate2.jpg", "white")
    widget(page, "cp_ev_file").locator('input[type="file"]').set_input_files(plate)
    widget(page, "cp_ev_file").get_by_text(plate.name).wait_for()
    click(page, "cp_ev_submit", then_settle=False)
    _flash(page, re.escape(f"{EVIDENCE_LABELS['serial_plate_photo']} added to {pack.ref}"))
    click(page, "cp_recompile_submit", then_settle=False)
    _flash(page, re.escape(f"Pack {pack.ref} compiled (version 2)"))
    click(page, "cp_submit_submit", then_settle=False)
    _flash(page, re.escape(f"Pack {pack.ref} submitted to "))
    state = _pack_state(e2e_database, plan.installation_id)
    assert (state.status, state.oem_response, state.version) == ("submitted", "pending", 2)
    assert len(state.submissions) == 2

    # 6. download the PDF and read it back
    button = widget(page, "cp_pdf").get_by_role("button")
    expect(button).to_have_text("Download PDF (version 2)")
    with page.expect_download() as info:
        click_single(page, button)
    download = info.value
    assert download.suggested_filename == f"{pack.ref}-v2.pdf"
    data = Path(download.path()).read_bytes()
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)
    assert pack.ref in text
    assert plan.charger_serial in text
    assert plan.customer_name in text
    assert "MISSING" not in text and text.count("PRESENT") == len(pack.checklist)
    snapshot(page, "closure-pack-resubmitted", tour="closure_packs")
