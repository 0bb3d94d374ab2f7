"""Journey in a real browser (issue 6, planner): central ops imports an OEM lead sheet (a CSV
built here: two good rows and one with a bad phone), sees the import result with the rejected
row, finds the new leads in the list, and schedules a site survey for one of them.

The planner's emergency (a team unavailable, its job handed to a backup team in one click)
is the planner journey of ``test_dispatch_journey.py``.

Every run uses fresh data: lead ids and phone numbers are random, so a re-run on the same
database imports new leads; the survey's team, date and slot are picked from the database
(a team of the lead's zone, available that day, with the slot free).
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    choose,
    click,
    db_session,
    demo_user,
    flash,
    login,
    open_page,
    open_tab,
    set_date,
    snapshot,
    widget,
)
from tests.fixtures.lead_sheets import HEADER, csv_bytes, dmy

pytestmark = pytest.mark.e2e

OEM_CODE = "TATA"
PINCODE = "560001"  # Bengaluru: mapped to the BLR zone


@dataclass(frozen=True)
class Slot:
    team_label: str
    team_id: uuid.UUID
    day: date
    time_slot: str


def _sheet(path: Path, tag: str) -> tuple[Path, list[str]]:
    """A lead sheet with two good rows and one bad phone; returns it and the good lead ids."""
    phones = random.sample(range(10_000_000, 99_999_999), 3)
    ids = [f"E2E-{tag}-{n}" for n in (1, 2, 3)]
    rows = [
        [ids[0], "Meera Pillai", f"98{phones[0]}", "", "7 Residency Rd", "Bengaluru",
         PINCODE, "Nexon EV", dmy(0), "D9"],
        [ids[1], "Arjun Shetty", f"+91 97{phones[1]}", "arjun@example.com", "22 Brigade Rd",
         "Bengaluru", PINCODE, "Punch EV", dmy(1), "D9"],
        [ids[2], "Bad Phone", "12345", "", "1 Church St", "Bengaluru", PINCODE, "Tiago EV",
         dmy(0), "D9"],
    ]  # fmt: skip
    path.write_bytes(csv_bytes(rows, HEADER))
    return path, ids[:2]


def _oem_label(database_url: str, code: str) -> str:
    """The OEM as the import form lists it: ``Name (CODE)``."""
    from sqlalchemy import select

    from domain.accounts.models import Oem

    with db_session(database_url, readonly=True) as s:
        name = s.execute(select(Oem.name).where(Oem.code == code)).scalar_one()
    return f"{name} ({code})"


def _imported(database_url: str, oem_lead_refs: list[str]) -> dict[str, tuple[str, uuid.UUID]]:
    """OEM lead id -> (lead ref, zone id) of the imported leads."""
    from sqlalchemy import select

    from domain.leads.models import Lead

    with db_session(database_url, readonly=True) as s:
        rows = s.execute(
            select(Lead.oem_lead_ref, Lead.ref, Lead.zone_id).where(
                Lead.oem_lead_ref.in_(oem_lead_refs)
            )
        ).all()
        return {r.oem_lead_ref: (r.ref, r.zone_id) for r in rows}


def _free_slot(database_url: str, zone_id: uuid.UUID) -> Slot:
    """The first (day from tomorrow, team of the zone, slot) with the team available and the
    slot not held by any job (``team_slot_booking``)."""
    from sqlalchemy import select

    from db.types import utcnow
    from domain.accounts import queries as account_queries
    from domain.calendar import local_date
    from domain.scheduling import team_unavailability_reason, time_slots
    from domain.slots import TeamSlotBooking

    first = local_date(utcnow()) + timedelta(days=1)
    with db_session(database_url, readonly=True) as s:
        teams = [t for t in account_queries.list_teams(s, active_only=True) if t.zone_id == zone_id]
        held = set(
            s.execute(
                select(
                    TeamSlotBooking.team_id, TeamSlotBooking.slot_date, TeamSlotBooking.time_slot
                ).where(TeamSlotBooking.slot_date >= first)
            ).all()
        )
        for offset in range(30):
            day = first + timedelta(days=offset)
            for team in teams:
                if team_unavailability_reason(s, team.id, day):
                    continue
                for slot in time_slots():
                    if (team.id, day, slot) not in held:
                        return Slot(team.label, team.id, day, slot)
    pytest.fail("no free survey slot in the lead's zone in the next 30 days")


def _surveys(database_url: str, lead_ref: str) -> list[tuple[str, uuid.UUID, date, str, str]]:
    """(status, team id, date, slot, lead status) of the lead's surveys."""
    from sqlalchemy import select

    from domain.leads.models import Lead
    from domain.surveys.models import Survey

    with db_session(database_url, readonly=True) as s:
        rows = s.execute(
            select(Survey.status, Survey.team_id, Survey.survey_date, Survey.time_slot, Lead.status)
            .join(Lead, Lead.id == Survey.lead_id)
            .where(Lead.ref == lead_ref)
        ).all()
        return [tuple(r) for r in rows]


def test_planner_imports_lead_sheet_and_schedules_a_survey(
    page,  # type: ignore[no-untyped-def]
    app_url: str,
    e2e_database: str,
    tmp_path: Path,
) -> None:
    tag = uuid.uuid4().hex[:8].upper()
    sheet, good_ids = _sheet(tmp_path / f"{tag[:6]}.csv", tag)  # short: shown untruncated
    planner = demo_user(role="central_ops")
    login(page, app_url, planner.username, planner.password)
    open_page(page, "Leads")

    # 1. import the sheet: two rows in, the bad phone listed as rejected
    open_tab(page, "Import lead sheet")
    oem_label = _oem_label(e2e_database, OEM_CODE)
    choose(page, "leads_import_oem", oem_label)
    widget(page, "leads_import_file").locator('input[type="file"]').set_input_files(sheet)
    widget(page, "leads_import_file").get_by_text(sheet.name).wait_for()
    click(page, "leads_import_submit")
    flash(page, f"{sheet.name} for {oem_label}: 2 of 3 rows imported, 1 rejected.")
    page.get_by_role("heading", name="Rows not imported").wait_for()
    expect(page.get_by_role("button", name="Download errors (CSV)")).to_be_visible()
    imported = _imported(e2e_database, good_ids)
    assert sorted(imported) == sorted(good_ids)
    lead_ref, zone_id = imported[good_ids[0]]

    # 2. the new lead is in the list (search by its OEM lead id)
    open_tab(page, "Browse")
    widget(page, "leads_f_search").locator("input").fill(good_ids[0])
    click(page, "leads_f_submit")
    page.get_by_text("Leads 1–1 of 1").wait_for()
    choose(page, "leads_detail_ref", lead_ref, then_settle=True)
    page.get_by_text(f"{lead_ref} · Meera Pillai").wait_for()
    page.get_by_text(f"({sheet.name})").wait_for()  # the source names the imported file
    widget(page, "leads_f_search").locator("input").fill("")
    click(page, "leads_f_submit")
    snapshot(page, "planner-leads", tour="leads")

    # 3. schedule the survey on a free team slot of the lead's zone
    slot = _free_slot(e2e_database, zone_id)
    open_page(page, "Surveys")
    open_tab(page, "Schedule")
    choose(page, "sv_new_lead", f"{lead_ref} · ", then_settle=True)
    choose(page, "sv_new_team", slot.team_label)
    set_date(page, "sv_new_date", slot.day)
    choose(page, "sv_new_slot", slot.time_slot)
    click(page, "sv_new_submit")
    flash(
        page,
        re.compile(
            rf"Survey \S+ scheduled for {re.escape(lead_ref)} on {slot.day:%d %b %Y} "
            rf"\({re.escape(slot.time_slot)}\) with {re.escape(slot.team_label)}\."
        ),
    )
    surveys = _surveys(e2e_database, lead_ref)
    assert [(st, team, d, ts) for st, team, d, ts, _ in surveys] == [
        ("scheduled", slot.team_id, slot.day, slot.time_slot)
    ]
    snapshot(page, "planner-survey-scheduled")
