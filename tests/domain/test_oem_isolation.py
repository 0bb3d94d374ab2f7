"""Issue 6 item 1: ``oem_viewer`` data isolation in every query, tried with other OEMs' ids.

On a small demo world, an OEM viewer of one OEM asks for everything of ANOTHER OEM: lists
(with the other OEM as filter), details by id and by ref, exports, the closure-pack PDF and the
report PDF, KPIs. Lists come back with only its own OEM's rows; details and downloads raise
``NotFound`` (the same as for an id that does not exist: nothing leaks). Each check is paired
with the viewer's OWN record, so a query that refused everything would fail too.

Module-specific isolation tests also live in test_leads, test_surveys, test_installations,
test_closure_packs, test_reports, test_kpi and test_kpi_dashboards.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.seed import seed_all
from domain.accounts.dto import actor_for
from domain.accounts.models import AppUser, Oem
from domain.actor import Actor
from domain.errors import NotFound, PermissionDenied
from domain.installations import queries as inst_queries
from domain.installations import reports as inst_reports
from domain.installations.models import Installation
from domain.kpi import queries as kpi_queries
from domain.leads import queries as lead_queries
from domain.leads.models import Lead
from domain.reporting import pack_pdf, packs
from domain.reporting import reports as report_svc
from domain.reporting.models import ClosurePack
from domain.service import queries as service_queries
from domain.surveys import queries as survey_queries
from domain.surveys.models import Survey

TODAY = date(2026, 11, 20)


def _ids_of(s: Session, model: Any, oem_id: uuid.UUID, *, where: Any = None) -> uuid.UUID:
    """An id of ``model`` (lead, survey, installation, pack) whose lead belongs to ``oem_id``."""
    stmt = select(model.id)
    if model is not Lead:
        stmt = stmt.join(Lead, Lead.id == model.lead_id)
    stmt = stmt.where(Lead.oem_id == oem_id)
    if where is not None:
        stmt = stmt.where(where)
    found = s.execute(stmt.order_by(model.id).limit(1)).scalar()
    assert found is not None, f"demo world has no {model.__name__} of that OEM"
    return found


@pytest.fixture
def iso(engine: Engine, tmp_path: Path) -> dict[str, Any]:
    seed_all(engine, seed=7, scale=0.03, today=TODAY)
    w: dict[str, Any] = {"data_dir": tmp_path / "data", "engine": engine}
    with session_scope(engine) as s:
        viewer = s.execute(
            select(AppUser).where(AppUser.role == "oem_viewer").order_by(AppUser.username)
        ).scalar()
        reporter = s.execute(select(AppUser).where(AppUser.role == "oem_reporting")).scalar()
        w["viewer"] = actor_for(viewer)
        w["reporter"] = actor_for(reporter)
        own = viewer.oem_id
        # the other OEM with the most leads
        other = s.execute(
            select(Lead.oem_id).where(Lead.oem_id != own).group_by(Lead.oem_id).limit(1)
        ).scalar()
        assert other is not None
        w["own"], w["other"] = own, other
        w["own_code"] = s.get(Oem, own).code
        for key, model, where in (
            ("lead", Lead, None),
            ("survey", Survey, None),
            ("installation", Installation, None),
            ("reported_installation", Installation, Installation.status == "closed"),
            ("pack", ClosurePack, None),
        ):
            w[f"own_{key}"] = _ids_of(s, model, own, where=where)
            w[f"other_{key}"] = _ids_of(s, model, other, where=where)
        for side in ("own", "other"):
            w[f"{side}_lead_ref"] = s.get(Lead, w[f"{side}_lead"]).ref
            w[f"{side}_installation_ref"] = s.get(Installation, w[f"{side}_installation"]).ref
    return w


Detail = Callable[[Session, Actor, dict[str, Any], str], Any]

# Each takes the side ("own" / "other") whose record to fetch.
DETAILS: dict[str, Detail] = {
    "lead by id": lambda s, a, w, side: lead_queries.get_lead(s, a, w[f"{side}_lead"]),
    "lead by ref": lambda s, a, w, side: lead_queries.find_lead_id(s, a, w[f"{side}_lead_ref"]),
    "survey by id": lambda s, a, w, side: survey_queries.get_survey(s, a, w[f"{side}_survey"]),
    "installation by id": lambda s, a, w, side: inst_queries.get_installation(
        s, a, w[f"{side}_installation"]
    ),
    "installation by ref": lambda s, a, w, side: inst_queries.find_installation_id(
        s, a, w[f"{side}_installation_ref"]
    ),
    "installation report": lambda s, a, w, side: inst_reports.get_report(
        s, a, w[f"{side}_reported_installation"]
    ),
    "installation media": lambda s, a, w, side: inst_reports.list_media(
        s, a, w[f"{side}_reported_installation"]
    ),
    "closure pack by id": lambda s, a, w, side: packs.get_pack(s, a, w[f"{side}_pack"]),
    "closure pack of installation": lambda s, a, w, side: packs.pack_for_installation(
        s, a, w[f"{side}_reported_installation"]
    ),
    "closure pack PDF": lambda s, a, w, side: pack_pdf.pack_pdf_bytes(
        s, a, pack_id=w[f"{side}_pack"], data_dir=w["data_dir"]
    ),
}


ID_KEYS = {
    "lead by id": "lead",
    "survey by id": "survey",
    "installation by id": "installation",
    "closure pack by id": "pack",
    "closure pack PDF": "pack",
}


def test_details_and_downloads_of_another_oem_are_not_found(iso: dict[str, Any]) -> None:
    problems: list[str] = []
    with session_scope(iso["engine"], readonly=True) as s:
        for name, fetch in DETAILS.items():
            try:
                mine = fetch(s, iso["viewer"], iso, "own")
            except NotFound as exc:
                # the demo packs have no PDF file yet: the file check comes after the scope
                if "no PDF" not in str(exc):
                    problems.append(f"{name}: own record refused: {exc}")
                    continue
                mine = exc
            if mine is None:
                problems.append(f"{name}: own record missing")
            try:
                fetch(s, iso["viewer"], iso, "other")
                problems.append(f"{name}: another OEM's record was returned")
            except NotFound as exc:
                if "no PDF" in str(exc):
                    problems.append(f"{name}: another OEM's pack got as far as its file")
            # ... exactly like an id that does not exist (nothing tells the rows apart)
            if name in ID_KEYS:
                try:
                    fetch(s, iso["viewer"], {**iso, f"own_{ID_KEYS[name]}": uuid.uuid4()}, "own")
                    problems.append(f"{name}: a random id was returned")
                except NotFound:
                    pass
    assert not problems, "\n".join(problems)


def test_lists_and_exports_show_only_the_viewers_oem(iso: dict[str, Any]) -> None:
    viewer, own_code = iso["viewer"], iso["own_code"]
    with session_scope(iso["engine"], readonly=True) as s:
        pages = {
            "leads": lead_queries.list_leads(s, viewer, oem_id=iso["other"], page_size=500),
            "installations": inst_queries.list_installations(
                s, viewer, oem_id=iso["other"], page_size=500
            ),
            "packs": packs.list_packs(s, viewer, oem_id=iso["other"], page_size=500),
            "surveys": survey_queries.list_surveys(s, viewer, page_size=500),
        }
        unfiltered = {
            "leads": lead_queries.list_leads(s, viewer, page_size=500),
            "installations": inst_queries.list_installations(s, viewer, page_size=500),
            "packs": packs.list_packs(s, viewer, page_size=500),
        }
        for name, page in pages.items():
            codes = {r.oem_code for r in page.rows}
            assert codes <= {own_code}, f"{name}: {codes}"
            # the export is the page's frame: the same rows
            assert set(page.to_frame()["oem_code"]) <= {own_code}
        for name, page in unfiltered.items():
            assert {r.oem_code for r in page.rows} == {own_code}, name
        oems = lead_queries.list_oems_for(s, viewer)
        assert [o.id for o in oems] == [iso["own"]]
        search = lead_queries.list_leads(s, viewer, search=iso["other_lead_ref"])
        assert search.total == 0


def test_kpis_are_forced_to_the_viewers_oem(iso: dict[str, Any]) -> None:
    viewer = iso["viewer"]
    with session_scope(iso["engine"], readonly=True) as s:
        forced = kpi_queries.overview(s, viewer, today=TODAY, oem_id=iso["other"])
        own = kpi_queries.overview(s, viewer, today=TODAY, oem_id=iso["own"])
        assert forced.oem_id == iso["own"]
        assert forced == own
        options = kpi_queries.filter_options(s, viewer)
        assert {o.id for o in options.oems} == {iso["own"]}


def test_reports_of_another_oem_are_invisible(iso: dict[str, Any]) -> None:
    """A submitted weekly report of the other OEM: not listed, not readable, no PDF."""
    monday = TODAY - timedelta(days=TODAY.weekday() + 7)
    with session_scope(iso["engine"]) as s:
        ids = {}
        for side in ("own", "other"):
            rep = report_svc.compile_weekly(s, iso["reporter"], oem_id=iso[side], week_start=monday)
            report_svc.submit_report(s, iso["reporter"], report_type="weekly", report_id=rep.id)
            ids[side] = rep.id
    viewer = iso["viewer"]
    with session_scope(iso["engine"], readonly=True) as s:
        listed = report_svc.list_reports(s, viewer, report_type="weekly", oem_id=iso["other"])
        assert [r.id for r in listed] == [ids["own"]]
        assert report_svc.get_report(s, viewer, report_type="weekly", report_id=ids["own"])
        assert report_svc.report_pdf(s, viewer, report_type="weekly", report_id=ids["own"])
        for fetch in (report_svc.get_report, report_svc.report_pdf):
            with pytest.raises(NotFound):
                fetch(s, viewer, report_type="weekly", report_id=ids["other"])
        assert [o[0] for o in report_svc.visible_oems(s, viewer)] == [iso["own"]]


def test_internal_data_is_refused_not_filtered(iso: dict[str, Any]) -> None:
    """Service calls, stock, procurement, the month folder: no access at all for viewers."""
    viewer = iso["viewer"]
    with session_scope(iso["engine"], readonly=True) as s:
        with pytest.raises(PermissionDenied):
            service_queries.list_tickets(s, viewer)
        from domain.procurement import queries as proc_queries
        from domain.reporting import months

        with pytest.raises(PermissionDenied):
            proc_queries.requests_export_rows(s, viewer)
        with pytest.raises(PermissionDenied):
            months.list_months(s, viewer, oem_id=iso["own"])
