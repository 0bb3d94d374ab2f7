"""Journey in a real browser (issue 6, field engineer): the engineer of team BLR-T1 opens an
in-progress job on My jobs, files the installation report (serial, model, demo, a signature
image) and uploads two photos, which the gallery then shows.

The job is made ready with domain calls before the browser is driven (as a planner would):
an in-progress job of BLR-T1 from today on is reused, otherwise a ``material_ready`` or
``confirmed`` installation of the team's zone is booked for the team on a free slot from
today on, its confirmation call recorded and moved to ``in_progress``. The serial is new on
every run (a re-run corrects the report). The database and the stored files are checked:
the report, the signature and photos as ``installation_media`` rows whose files under
``DATA_DIR`` have the uploaded bytes (sha256).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    choose,
    click,
    db_session,
    demo_user,
    fill,
    flash,
    jpeg,
    login,
    open_tab,
    settle,
    snapshot,
    widget,
)

pytestmark = pytest.mark.e2e

READY = ("material_ready", "confirmed")


@dataclass(frozen=True)
class Job:
    installation_id: uuid.UUID
    ref: str
    model_label: str
    model_id: uuid.UUID


def _prepare(database_url: str, team_code: str) -> Job:
    """An in-progress job of the team from today on (made so with domain calls if needed)."""
    from sqlalchemy import select

    from db.types import utcnow
    from domain.accounts.models import AppUser, FieldTeam
    from domain.actor import Actor
    from domain.calendar import local_date
    from domain.installations import scheduling, service
    from domain.installations.models import Installation, InstallationAssignment
    from domain.installations.reports import list_charger_models
    from domain.leads.models import Lead
    from domain.scheduling import team_unavailability_reason, time_slots
    from domain.slots import TeamSlotBooking

    today = local_date(utcnow())
    with db_session(database_url) as s:
        admin_id = s.execute(select(AppUser.id).where(AppUser.username == "admin")).scalar_one()
        admin = Actor(user_id=admin_id, username="admin", role="admin")
        team = s.execute(select(FieldTeam).where(FieldTeam.code == team_code)).scalar_one()
        model = list_charger_models(s)[0]
        job = s.execute(
            select(Installation.id, Installation.ref)
            .join(InstallationAssignment, InstallationAssignment.installation_id == Installation.id)
            .where(
                InstallationAssignment.team_id == team.id,
                InstallationAssignment.released_at.is_(None),
                InstallationAssignment.work_date >= today,
                InstallationAssignment.work_date <= today + timedelta(days=14),
                Installation.status == "in_progress",
            )
            .order_by(Installation.ref)
            .limit(1)
        ).first()
        if job is not None:
            return Job(job.id, job.ref, model.label, model.id)
        inst = s.scalars(
            select(Installation)
            .join(Lead, Lead.id == Installation.lead_id)
            .where(Lead.zone_id == team.zone_id, Installation.status.in_(READY))
            .order_by(Installation.ref)
            .limit(1)
        ).first()
        if inst is None:
            pytest.fail(f"no material_ready/confirmed installation in the zone of {team_code}")
        held = set(
            s.execute(
                select(TeamSlotBooking.slot_date, TeamSlotBooking.time_slot).where(
                    TeamSlotBooking.team_id == team.id, TeamSlotBooking.slot_date >= today
                )
            ).all()
        )
        free = next(
            (day, slot)
            for day in (today + timedelta(days=n) for n in range(14))
            if not team_unavailability_reason(s, team.id, day)
            for slot in time_slots()
            if (day, slot) not in held
        )
        scheduling.book(
            s,
            admin,
            installation_id=inst.id,
            work_date=free[0],
            time_slot=free[1],
            team_id=team.id,
            allow_mismatch=True,
            reason="e2e: field engineer journey",
        )
        if not inst.customer_confirmed:
            service.record_customer_confirmation(
                s, admin, installation_id=inst.id, outcome="confirmed", notes="e2e"
            )
        if inst.status == "material_ready":
            service.transition(s, admin, installation_id=inst.id, to_status="confirmed")
        service.transition(s, admin, installation_id=inst.id, to_status="in_progress")
        return Job(inst.id, inst.ref, model.label, model.id)


def _stored(database_url: str, installation_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """(report serial and model, [(kind, caption, file_path, sha256)] of the media)."""
    from sqlalchemy import select

    from domain.installations.models import InstallationMedia, InstallationReport

    with db_session(database_url, readonly=True) as s:
        report = s.execute(
            select(InstallationReport.charger_serial, InstallationReport.charger_model_id).where(
                InstallationReport.installation_id == installation_id
            )
        ).one()
        media = s.execute(
            select(
                InstallationMedia.kind,
                InstallationMedia.caption,
                InstallationMedia.file_path,
                InstallationMedia.sha256,
            ).where(InstallationMedia.installation_id == installation_id)
        ).all()
        return tuple(report), [tuple(m) for m in media]


def test_field_engineer_files_report_with_photos(
    page,  # type: ignore[no-untyped-def]
    app_url: str,
    e2e_database: str,
    e2e_data_dir: Path,
    tmp_path: Path,
) -> None:
    engineer = demo_user(role="field_engineer")
    job = _prepare(e2e_database, engineer.team_code)
    serial = f"E2E-{uuid.uuid4().hex[:10].upper()}"
    tag = uuid.uuid4().hex[:6]
    signature = jpeg(tmp_path / "sig.jpg", "white", (400, 200))
    photos = [jpeg(tmp_path / "wall.jpg", "teal"), jpeg(tmp_path / "plate.jpg", "orange")]
    captions = [f"Wallbox mounted {tag}", f"Serial plate {tag}"]

    login(page, app_url, engineer.username, engineer.password)
    page.get_by_role("heading", name="My jobs", exact=True, level=1).wait_for(timeout=60_000)
    settle(page)
    choose(page, "myjobs_job", f"{job.ref} · ", then_settle=True)
    page.get_by_role("heading", name=job.ref).wait_for()

    # the installation report, with the customer's signature as an image
    open_tab(page, "Installation report")
    fill(page, f"myjobs_serial_{job.installation_id}", serial)
    choose(page, f"myjobs_model_{job.installation_id}", job.model_label)
    demo = widget(page, f"myjobs_demo_{job.installation_id}").get_by_role("checkbox")
    if not demo.is_checked():
        widget(page, f"myjobs_demo_{job.installation_id}").locator("label").click()
    expect(demo).to_be_checked()
    upload = widget(page, f"myjobs_signature_{job.installation_id}_0")
    if upload.count() == 0:  # a re-run in the same browser session would have moved the key
        upload = page.locator(f'[class*="st-key-myjobs_signature_{job.installation_id}_"]')
    upload.locator('input[type="file"]').set_input_files(signature)
    upload.get_by_text(signature.name).wait_for()
    click(page, "myjobs_report_submit")
    flash(page, f"Installation report for {job.ref} saved (serial {serial}).")
    (stored_serial, stored_model), media = _stored(e2e_database, job.installation_id)
    assert (stored_serial, stored_model) == (serial, job.model_id)
    digest = hashlib.sha256(signature.read_bytes()).hexdigest()
    assert any(kind == "signature" and sha == digest for kind, _, _, sha in media)

    # two photos with captions; the gallery shows them
    for photo, caption in zip(photos, captions, strict=True):
        open_tab(page, "Photos & videos")
        choose(page, "myjobs_media_kind", "photo")
        widget(page, "myjobs_media_file").locator('input[type="file"]').set_input_files(photo)
        widget(page, "myjobs_media_file").get_by_text(photo.name).wait_for()
        fill(page, "myjobs_media_caption", caption)
        click(page, "myjobs_media_submit")
        open_tab(page, "Photos & videos")  # the tabs fall back to the first after a rerun
        flash(page, f"Photo uploaded ({photo.stat().st_size:,} bytes).")
    open_tab(page, "Photos & videos")
    for caption in captions:
        page.get_by_test_id("stImage").filter(has_text=caption).first.wait_for()

    _, media = _stored(e2e_database, job.installation_id)
    by_caption = {c: (kind, path, sha) for kind, c, path, sha in media}
    for photo, caption in zip(photos, captions, strict=True):
        kind, path, sha = by_caption[caption]
        assert kind == "photo"
        data = photo.read_bytes()
        assert sha == hashlib.sha256(data).hexdigest()
        assert (e2e_data_dir / path).read_bytes() == data
    snapshot(page, "field-engineer-report", tour="my_jobs")
