"""Closure packs (seed 000, issue 5 item 1): one per installation, bundled for the OEM.

Lifecycle::

    (none) --compile--> compiled --submit--> submitted --accepted--> accepted
                ^                                |
                |                                +--revision_needed--> draft (version + 1)
                +-------------- compile -----------------------------------+

* ``compile_pack`` builds (or rebuilds) the pack of a ``report_submitted`` installation from
  its survey report and installation report, computes the OEM's evidence checklist and writes
  the PDF (``reports/closure_packs/<ref>-v<version>.pdf`` under the data dir, atomically).
  A pack may be compiled while evidence is missing; it shows what is missing.
* ``submit_pack`` refuses while any checklist item is missing (``TransitionError`` listing
  them), otherwise writes a ``report_submission`` (type ``closure_pack``), sets
  ``submitted_to_oem_at`` and rewrites the PDF.
* ``record_oem_response``: ``accepted`` -> pack ``accepted`` and the installation
  ``report_submitted -> closed``; ``revision_needed`` (reason required) keeps the current
  version in ``closure_pack_revision`` (checklist snapshot, PDF path, reason), bumps
  ``version`` and reopens the pack as ``draft``: add the evidence, compile, submit again.
  The latest submission is marked acknowledged either way.
* ``add_pack_evidence`` stores a missing photo, signature or demo sign-off through
  ``domain.media.store_upload`` (the installations' upload rules: type from the bytes,
  Pillow check, random name, atomic write) as an ``installation_media`` row of the pack's
  installation; ``record_confirmation_call`` records the post-installation confirmation call.
  Both only while the pack is editable (``draft``, ``compiled``, or a demo pack left
  ``rejected`` with a revision request).

Checklist items (the OEM's ``required_evidence`` keys, see ``db/reference.py``):

* ``site_photo``: a ``photo`` whose caption does not mention "serial";
* ``serial_plate_photo`` (alias ``serial_photo``): a ``photo`` whose caption mentions "serial";
* ``signature``: the installation report's signature, or any ``signature`` media;
* ``demo_signoff``: the report's ``demo_signed_off``, or a media file captioned "demo ...";
* ``confirmation_call``: ``closure_pack.confirmation_call_completed``.

An unknown key is listed as missing ("unknown evidence item"), so a misconfigured OEM
cannot be submitted to silently.

oem_viewer sees only its own OEM's packs: another OEM's pack is ``NotFound`` everywhere.
Every command audits (``closure_pack.*``) and never commits; every command refuses
(``MonthLocked``) a pack whose installation was completed in a closed or invoiced month.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.settings import get_settings
from db.types import utcnow
from domain import audit
from domain.accounts.models import AppUser, Oem, Zone
from domain.actor import Actor
from domain.calendar import local_date
from domain.errors import Conflict, NotFound, PermissionDenied, TransitionError, ValidationError
from domain.installations.models import Installation, InstallationMedia, InstallationReport
from domain.installations.reports import MediaDTO, media_dto, store_media
from domain.installations.service import CONFIRMATION_OUTCOMES, close_after_pack_acceptance
from domain.leads.models import Lead
from domain.media import IMAGE_TYPES
from domain.notifications.service import insert_notifications
from domain.paging import check_page, matches_any
from domain.permissions import require
from domain.procurement.models import Material
from domain.refs import next_ref
from domain.reporting.dto import (
    ChecklistItem,
    CompilableInstallation,
    PackDetail,
    PackPage,
    PackPhoto,
    PackRevisionDTO,
    PackRow,
    PackSubmissionDTO,
)
from domain.reporting.models import (
    OEM_RESPONSES,
    PACK_STATUSES,
    ClosurePack,
    ClosurePackRevision,
    ReportSubmission,
)
from domain.reporting.months import require_installation_month_open
from domain.surveys.models import Survey, SurveyReport

EVIDENCE_LABELS: dict[str, str] = {
    "site_photo": "Site photo",
    "serial_plate_photo": "Serial-plate photo",
    "signature": "Customer signature",
    "demo_signoff": "Demo sign-off",
    "confirmation_call": "Confirmation call",
}
"""Display names of the known evidence keys."""

EVIDENCE_ALIASES: dict[str, str] = {"serial_photo": "serial_plate_photo"}
"""Other spellings of a key found in OEM configurations."""

UPLOADABLE_EVIDENCE: dict[str, tuple[str, str]] = {
    "site_photo": ("photo", "Site photo"),
    "serial_plate_photo": ("photo", "Serial plate photo"),
    "signature": ("signature", "Customer signature"),
    "demo_signoff": ("document", "Demo sign-off"),
}
"""Evidence that is added by uploading a file: key -> (media kind, caption)."""

EDITABLE_STATUSES = ("draft", "compiled", "rejected")
"""Pack statuses in which it can be (re)compiled and evidence added."""

RESPONSES = ("accepted", "revision_needed")
"""What the OEM may answer to a submitted pack."""

MAX_REASON = 1000
MAX_NOTES = 500
PDF_FOLDER = "reports/closure_packs"


# --- checklist ---------------------------------------------------------------------------------


def canonical_key(key: str) -> str:
    """The evidence key with aliases resolved (``serial_photo`` -> ``serial_plate_photo``)."""
    return EVIDENCE_ALIASES.get(key, key)


def evidence_label(key: str) -> str:
    """Display name of an evidence key (the key itself when unknown)."""
    return EVIDENCE_LABELS.get(canonical_key(key), key)


def compute_checklist(
    required: list[str] | tuple[str, ...],
    media: list[tuple[str, str | None]],
    *,
    report_signature: bool,
    demo_signed_off: bool,
    confirmation_call: bool,
) -> tuple[ChecklistItem, ...]:
    """Evaluate an OEM's evidence checklist against the data (pure; no database).

    Args:
        required: the OEM's ``required_evidence`` keys, in display order (duplicates dropped).
        media: ``(kind, caption)`` of every media file of the installation.
        report_signature: the installation report has a signature image.
        demo_signed_off: the installation report says the demo was signed off.
        confirmation_call: the pack's post-installation confirmation call is done.

    Returns:
        One ``ChecklistItem`` per distinct key, ``present`` computed as in the module docstring.
    """
    photos = [(c or "").lower() for k, c in media if k == "photo"]
    site = [c for c in photos if "serial" not in c]
    serial = [c for c in photos if "serial" in c]
    signatures = [c for k, c in media if k == "signature"]
    demo_files = [c for k, c in media if "demo" in (c or "").lower()]
    items: list[ChecklistItem] = []
    seen: set[str] = set()
    for raw in required:
        key = canonical_key(raw)
        if key in seen:
            continue
        seen.add(key)
        label = evidence_label(key)
        if key == "site_photo":
            ok = bool(site)
            detail = f"{len(site)} site photo(s)" if ok else "upload a photo of the site"
        elif key == "serial_plate_photo":
            ok = bool(serial)
            detail = (
                f"{len(serial)} serial-plate photo(s)"
                if ok
                else "upload a photo of the charger's serial plate"
            )
        elif key == "signature":
            ok = report_signature or bool(signatures)
            detail = "signature on file" if ok else "upload the customer's signature"
        elif key == "demo_signoff":
            ok = demo_signed_off or bool(demo_files)
            detail = (
                "signed off in the installation report"
                if demo_signed_off
                else ("sign-off document on file" if ok else "upload the demo sign-off")
            )
        elif key == "confirmation_call":
            ok = confirmation_call
            detail = "call done" if ok else "record the customer confirmation call"
        else:
            ok = False
            detail = "unknown evidence item; an admin must fix the OEM's checklist"
        items.append(ChecklistItem(key=key, label=label, present=ok, detail=detail))
    return tuple(items)


# --- loading -----------------------------------------------------------------------------------


def _oem_of_installation(session: Session, inst: Installation) -> uuid.UUID:
    return session.execute(select(Lead.oem_id).where(Lead.id == inst.lead_id)).scalar_one()


def _installation(session: Session, actor: Actor, installation_id: uuid.UUID) -> Installation:
    inst = session.get(Installation, installation_id)
    if inst is None:
        raise NotFound("installation not found")
    if actor.role == "oem_viewer" and (
        actor.oem_id is None or _oem_of_installation(session, inst) != actor.oem_id
    ):
        raise NotFound("installation not found")
    return inst


def load_pack(
    session: Session, actor: Actor, pack_id: uuid.UUID, *, lock: bool = False
) -> ClosurePack:
    """Load a pack the actor may see (permission checks are the caller's).

    Raises:
        NotFound: no such pack, or another OEM's for an oem_viewer.
    """
    pack = session.get(ClosurePack, pack_id, with_for_update=lock, populate_existing=lock)
    if pack is None:
        raise NotFound("closure pack not found")
    if actor.role == "oem_viewer":
        oem_id = session.execute(select(Lead.oem_id).where(Lead.id == pack.lead_id)).scalar()
        if actor.oem_id is None or oem_id != actor.oem_id:
            raise NotFound("closure pack not found")
    return pack


def _reports(
    session: Session, inst: Installation
) -> tuple[Survey, SurveyReport, InstallationReport]:
    survey = session.get(Survey, inst.survey_id)
    survey_report = session.execute(
        select(SurveyReport).where(SurveyReport.survey_id == inst.survey_id)
    ).scalar_one_or_none()
    report = session.execute(
        select(InstallationReport).where(InstallationReport.installation_id == inst.id)
    ).scalar_one_or_none()
    missing = []
    if survey is None or survey_report is None:
        missing.append("survey report")
    if report is None:
        missing.append("installation report")
    if missing:
        raise TransitionError(f"installation {inst.ref} has no {' and no '.join(missing)}")
    assert survey is not None and survey_report is not None and report is not None
    return survey, survey_report, report


def _fmt_bool(value: bool) -> str:
    return "yes" if value else "no"


def _survey_findings(session: Session, sr: SurveyReport) -> tuple[tuple[str, str], ...]:
    recommended = None
    if sr.recommended_charger_id is not None:
        recommended = session.execute(
            select(Material.name).where(Material.id == sr.recommended_charger_id)
        ).scalar()
    return (
        ("Site type", sr.site_type.replace("_", " ")),
        ("Parking", sr.parking.replace("_", " ")),
        ("Meter distance", f"{sr.meter_distance_m} m"),
        ("Sanctioned load", f"{sr.sanctioned_load_kw} kW"),
        ("Earthing OK", _fmt_bool(sr.earthing_ok)),
        ("Cable length", f"{sr.cable_length_m} m"),
        ("Load enhancement needed", _fmt_bool(sr.load_enhancement_needed)),
        ("Recommended charger", recommended or "—"),
        ("Surveyor notes", sr.notes or "—"),
    )


def _user_name(session: Session, user_id: uuid.UUID | None) -> str | None:
    if user_id is None:
        return None
    return session.execute(select(AppUser.full_name).where(AppUser.id == user_id)).scalar()


def _build_detail(
    session: Session,
    inst: Installation,
    pack: ClosurePack | None,
    *,
    confirmation_call: bool | None = None,
) -> PackDetail:
    """The pack's detail from the current data (``pack`` may be None: a preview)."""
    survey, sr, report = _reports(session, inst)
    lead = session.get(Lead, inst.lead_id)
    assert lead is not None
    oem = session.get(Oem, lead.oem_id)
    assert oem is not None
    zone_name = session.execute(select(Zone.name).where(Zone.id == lead.zone_id)).scalar() or ""
    model_name = (
        session.execute(
            select(Material.name).where(Material.id == report.charger_model_id)
        ).scalar()
        or "—"
    )
    media_rows = (
        session.execute(
            select(InstallationMedia)
            .where(InstallationMedia.installation_id == inst.id)
            .order_by(InstallationMedia.created_at, InstallationMedia.id)
        )
        .scalars()
        .all()
    )
    call_done = (
        confirmation_call
        if confirmation_call is not None
        else bool(pack.confirmation_call_completed)
        if pack is not None
        else False
    )
    checklist = compute_checklist(
        list(oem.required_evidence or []),
        [(m.kind, m.caption) for m in media_rows],
        report_signature=report.signature_media_id is not None,
        demo_signed_off=bool(report.demo_signed_off),
        confirmation_call=call_done,
    )
    photos = tuple(
        PackPhoto(
            media_id=m.id,
            kind=m.kind,
            caption=m.caption,
            file_path=m.file_path,
            content_type=m.content_type,
            created_at=m.created_at,
        )
        for m in media_rows
        if m.content_type in IMAGE_TYPES
    )
    revisions: tuple[PackRevisionDTO, ...] = ()
    submissions: tuple[PackSubmissionDTO, ...] = ()
    if pack is not None:
        revisions = tuple(
            PackRevisionDTO(
                version=r.version,
                reason=r.reason,
                created_at=r.created_at,
                report_file=r.report_file,
                missing=tuple((r.snapshot or {}).get("missing", [])),
                snapshot=dict(r.snapshot or {}),
            )
            for r in session.execute(
                select(ClosurePackRevision)
                .where(ClosurePackRevision.closure_pack_id == pack.id)
                .order_by(ClosurePackRevision.version)
            ).scalars()
        )
        submissions = tuple(
            PackSubmissionDTO(
                id=sub.id,
                submitted_at=sub.submitted_at,
                submitted_by=name,
                acknowledged=sub.acknowledged,
                acknowledged_at=sub.acknowledged_at,
            )
            for sub, name in session.execute(
                select(ReportSubmission, AppUser.full_name)
                .outerjoin(AppUser, AppUser.id == ReportSubmission.submitted_by_id)
                .where(
                    ReportSubmission.report_type == "closure_pack",
                    ReportSubmission.report_id == pack.id,
                )
                .order_by(ReportSubmission.submitted_at, ReportSubmission.id)
            ).all()
        )
    return PackDetail(
        id=pack.id if pack is not None else uuid.UUID(int=0),
        ref=pack.ref if pack is not None else "(not compiled)",
        status=pack.status if pack is not None else "draft",
        oem_response=pack.oem_response if pack is not None else "pending",
        version=pack.version if pack is not None else 1,
        revision_reason=pack.revision_reason if pack is not None else None,
        confirmation_call_completed=call_done,
        compiled_at=pack.compiled_at if pack is not None else None,
        compiled_by=_user_name(session, pack.compiled_by_id) if pack is not None else None,
        submitted_to_oem_at=pack.submitted_to_oem_at if pack is not None else None,
        report_file=pack.report_file if pack is not None else None,
        installation_id=inst.id,
        installation_ref=inst.ref,
        installation_status=inst.status,
        completed_at=inst.completed_at,
        lead_ref=lead.ref,
        oem_id=oem.id,
        oem_code=oem.code,
        oem_name=oem.name,
        customer_name=lead.customer_name,
        phone=lead.phone,
        address=lead.address,
        city=lead.city,
        pincode=lead.pincode,
        zone_name=zone_name,
        survey_ref=survey.ref,
        survey_findings=_survey_findings(session, sr),
        charger_serial=report.charger_serial,
        charger_model=model_name,
        installation_success=bool(report.success),
        installation_issues=report.issues,
        signature_media_id=report.signature_media_id,
        checklist=checklist,
        photos=photos,
        revisions=revisions,
        submissions=submissions,
    )


def _detail_of(session: Session, pack: ClosurePack) -> PackDetail:
    inst = session.get(Installation, pack.installation_id)
    if inst is None:  # pragma: no cover - RESTRICT foreign key
        raise NotFound("installation not found")
    return _build_detail(session, inst, pack)


def _snapshot(d: PackDetail) -> dict[str, Any]:
    return {
        "ref": d.ref,
        "version": d.version,
        "status": d.status,
        "oem_response": d.oem_response,
        "installation_ref": d.installation_ref,
        "customer_name": d.customer_name,
        "charger_serial": d.charger_serial,
        "charger_model": d.charger_model,
        "confirmation_call_completed": d.confirmation_call_completed,
        "checklist": [
            {"key": i.key, "label": i.label, "present": i.present, "detail": i.detail}
            for i in d.checklist
        ],
        "missing": list(d.missing),
        "compiled_at": d.compiled_at.isoformat() if d.compiled_at else None,
        "submitted_to_oem_at": (
            d.submitted_to_oem_at.isoformat() if d.submitted_to_oem_at else None
        ),
        "report_file": d.report_file,
    }


def _data_root(data_dir: Path | None) -> Path:
    return Path(data_dir if data_dir is not None else get_settings().data_dir).resolve()


def pdf_relative_path(ref: str, version: int) -> str:
    """Where a pack version's PDF lives, relative to the data dir."""
    return f"{PDF_FOLDER}/{ref}-v{version}.pdf"


def _write_pdf(detail: PackDetail, data_dir: Path | None) -> str:
    # local import: pack_pdf imports this module
    from domain.reporting.pack_pdf import render_pack_pdf
    from domain.reporting.pdf import write_atomically

    root = _data_root(data_dir)
    relative = pdf_relative_path(detail.ref, detail.version)
    write_atomically(render_pack_pdf(detail, data_dir=root), root / relative)
    return relative


def _month_open(session: Session, installation_id: uuid.UUID) -> None:
    """Refuse (``MonthLocked``) a change to a pack whose installation's month is closed."""
    inst = session.get(Installation, installation_id)
    if inst is not None:
        require_installation_month_open(session, inst)


def _editable(pack: ClosurePack, what: str) -> None:
    if pack.status not in EDITABLE_STATUSES:
        raise TransitionError(
            f"closure pack {pack.ref} is {pack.status}: {what} only while "
            f"{', '.join(EDITABLE_STATUSES)}"
        )


def _clean(value: str | None, field: str, limit: int) -> str | None:
    text = " ".join((value or "").split())
    if len(text) > limit:
        raise ValidationError({field: f"at most {limit} characters"})
    return text or None


# --- commands ----------------------------------------------------------------------------------


def compile_pack(
    session: Session,
    actor: Actor,
    *,
    installation_id: uuid.UUID,
    data_dir: Path | None = None,
) -> PackDetail:
    """Compile (or recompile) the closure pack of a ``report_submitted`` installation.

    A new pack gets ref ``CP-<local year>-NNNNN``, status ``compiled``, version 1. An existing
    pack is recompiled while ``draft``/``compiled``/``rejected`` (after a revision request,
    or to refresh its checklist and PDF). Writes the PDF atomically to
    ``<data_dir>/reports/closure_packs/<ref>-v<version>.pdf`` and stores that relative path
    in ``report_file``. Compiling with evidence missing is allowed (the checklist shows it).
    Audits ``closure_pack.compile``.

    Args:
        data_dir: root for the PDF (default ``settings.data_dir``).

    Raises:
        PermissionDenied: without ``closure_pack.compile``, or a system actor (no user).
        NotFound: unknown installation.
        TransitionError: installation not ``report_submitted``; no survey or installation
            report; the pack is already submitted/accepted.
        Conflict: another user created the pack at the same moment.
        OSError: the PDF could not be written (the transaction should be rolled back).
    """
    require(actor, "closure_pack.compile")
    if actor.user_id is None:
        raise PermissionDenied("a closure pack is compiled by a user")
    inst = _installation(session, actor, installation_id)
    require_installation_month_open(session, inst)
    pack = session.execute(
        select(ClosurePack).where(ClosurePack.installation_id == inst.id).with_for_update()
    ).scalar_one_or_none()
    if pack is not None:
        session.refresh(pack)
        _editable(pack, "it can be recompiled")
    if inst.status != "report_submitted":
        raise TransitionError(
            f"installation {inst.ref} is {inst.status}: a closure pack is compiled once the "
            "installation is report_submitted"
        )
    survey, sr, report = _reports(session, inst)
    now = utcnow()
    before = None if pack is None else {"status": pack.status, "version": pack.version}
    if pack is None:
        pack = ClosurePack(
            ref=next_ref(session, "CP", local_date(now).year),
            installation_id=inst.id,
            lead_id=inst.lead_id,
            survey_report_id=sr.id,
            installation_report_id=report.id,
            compiled_by_id=actor.user_id,
            confirmation_call_completed=False,
            status="compiled",
            oem_response="pending",
            version=1,
        )
        try:
            with session.begin_nested():
                session.add(pack)
                session.flush()
        except IntegrityError as exc:
            raise Conflict(
                f"installation {inst.ref} was just given a closure pack by someone else"
            ) from exc
    pack.survey_report_id = sr.id
    pack.installation_report_id = report.id
    pack.compiled_by_id = actor.user_id
    pack.compiled_at = now
    pack.status = "compiled"
    session.flush()
    detail = _build_detail(session, inst, pack)
    pack.report_file = _write_pdf(detail, data_dir)
    session.flush()
    audit.record(
        session,
        actor,
        "closure_pack.compile",
        entity_type="closure_pack",
        entity_id=pack.id,
        before=before,
        after={
            "ref": pack.ref,
            "installation": inst.ref,
            "status": pack.status,
            "version": pack.version,
            "missing": list(detail.missing),
            "report_file": pack.report_file,
        },
    )
    session.flush()
    return _detail_of(session, pack)


def submit_pack(
    session: Session, actor: Actor, *, pack_id: uuid.UUID, data_dir: Path | None = None
) -> PackDetail:
    """Submit a compiled, complete pack to its OEM.

    Sets ``submitted``, ``submitted_to_oem_at`` (now) and ``oem_response`` ``pending``, writes
    one ``report_submission`` (type ``closure_pack``, the pack's OEM), rewrites the PDF and
    audits ``closure_pack.submit``.

    Raises:
        PermissionDenied: without ``closure_pack.submit``, or a system actor.
        NotFound: unknown pack.
        TransitionError: the pack is not ``compiled`` (a draft must be compiled first); the
            installation is no longer ``report_submitted``; any checklist item is missing
            (the message lists them).
    """
    require(actor, "closure_pack.submit")
    if actor.user_id is None:
        raise PermissionDenied("a closure pack is submitted by a user")
    pack = load_pack(session, actor, pack_id, lock=True)
    _month_open(session, pack.installation_id)
    if pack.status != "compiled":
        hint = " (compile it first)" if pack.status in EDITABLE_STATUSES else ""
        raise TransitionError(
            f"closure pack {pack.ref} is {pack.status}: only a compiled pack is submitted{hint}"
        )
    detail = _detail_of(session, pack)
    if detail.installation_status != "report_submitted":
        raise TransitionError(
            f"installation {detail.installation_ref} is {detail.installation_status}, not "
            "report_submitted"
        )
    if detail.missing:
        raise TransitionError(
            f"closure pack {pack.ref} cannot be submitted: missing {', '.join(detail.missing)}"
        )
    now = utcnow()
    before = {"status": pack.status, "oem_response": pack.oem_response}
    pack.status = "submitted"
    pack.submitted_to_oem_at = now
    pack.oem_response = "pending"
    submission = ReportSubmission(
        report_type="closure_pack",
        report_id=pack.id,
        submitted_by_id=actor.user_id,
        oem_id=detail.oem_id,
        submitted_at=now,
        acknowledged=False,
    )
    session.add(submission)
    session.flush()
    pack.report_file = _write_pdf(_detail_of(session, pack), data_dir)
    audit.record(
        session,
        actor,
        "closure_pack.submit",
        entity_type="closure_pack",
        entity_id=pack.id,
        before=before,
        after={
            "ref": pack.ref,
            "status": pack.status,
            "version": pack.version,
            "report_submission_id": submission.id,
            "report_file": pack.report_file,
        },
    )
    session.flush()
    return _detail_of(session, pack)


def record_oem_response(
    session: Session,
    actor: Actor,
    *,
    pack_id: uuid.UUID,
    response: str,
    reason: str | None = None,
) -> PackDetail:
    """Record the OEM's answer to a submitted pack.

    ``accepted``: pack ``accepted`` / response ``accepted`` and the installation
    ``report_submitted -> closed`` (status-change row, lead closed). ``revision_needed``: the
    current version is kept in ``closure_pack_revision`` (checklist snapshot, PDF path,
    ``reason``), ``version`` + 1, status ``draft``, response ``revision_needed``,
    ``revision_reason`` = reason, ``report_file`` cleared until recompiled. Either way the
    latest unacknowledged ``report_submission`` of the pack is acknowledged (now). Audits
    ``closure_pack.oem_response``.

    Raises:
        PermissionDenied: without ``closure_pack.record_response``.
        NotFound: unknown pack.
        ValidationError: ``response`` not accepted/revision_needed; ``reason`` missing for a
            revision or longer than 1000 characters.
        TransitionError: the pack is not ``submitted``; the installation cannot be closed.
    """
    require(actor, "closure_pack.record_response")
    if response not in RESPONSES:
        raise ValidationError({"response": f"use one of {', '.join(RESPONSES)}"})
    text = _clean(reason, "reason", MAX_REASON)
    if response == "revision_needed" and not text:
        raise ValidationError({"reason": "say what the OEM wants revised"})
    pack = load_pack(session, actor, pack_id, lock=True)
    _month_open(session, pack.installation_id)
    if pack.status != "submitted":
        raise TransitionError(
            f"closure pack {pack.ref} is {pack.status}: the OEM answers a submitted pack"
        )
    now = utcnow()
    before = {"status": pack.status, "oem_response": pack.oem_response, "version": pack.version}
    latest = session.execute(
        select(ReportSubmission)
        .where(
            ReportSubmission.report_type == "closure_pack",
            ReportSubmission.report_id == pack.id,
        )
        .order_by(ReportSubmission.submitted_at.desc(), ReportSubmission.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if latest is not None and not latest.acknowledged:
        latest.acknowledged = True
        latest.acknowledged_at = now
    if response == "accepted":
        pack.status = "accepted"
        pack.oem_response = "accepted"
        session.flush()
        close_after_pack_acceptance(
            session,
            actor,
            installation_id=pack.installation_id,
            reason=f"closure pack {pack.ref} accepted by the OEM",
        )
    else:
        detail = _detail_of(session, pack)
        session.add(
            ClosurePackRevision(
                closure_pack_id=pack.id,
                version=pack.version,
                reason=text,
                snapshot=_snapshot(detail),
                report_file=pack.report_file,
                created_by_id=actor.user_id,
                created_at=now,
            )
        )
        pack.version = pack.version + 1
        pack.status = "draft"
        pack.oem_response = "revision_needed"
        pack.revision_reason = text
        pack.report_file = None
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError as exc:  # pragma: no cover - the row lock serialises this
            raise Conflict(f"closure pack {pack.ref} was changed meanwhile; reload") from exc
        _notify_revision_needed(session, pack, text, now)
    session.flush()
    audit.record(
        session,
        actor,
        "closure_pack.oem_response",
        entity_type="closure_pack",
        entity_id=pack.id,
        before=before,
        after={
            "ref": pack.ref,
            "response": response,
            "reason": text,
            "status": pack.status,
            "version": pack.version,
        },
    )
    session.flush()
    return _detail_of(session, pack)


def _notify_revision_needed(session: Session, pack: ClosurePack, reason: str, now: Any) -> None:
    """One ``revision_needed`` notification to reporting staff per pack version sent back."""
    insert_notifications(
        session,
        [
            {
                "id": uuid.uuid4(),
                "created_at": now,
                "kind": "revision_needed",
                "recipient_user_id": None,
                "recipient_role": "oem_reporting",
                "subject": f"Closure pack {pack.ref}: the OEM asks for a revision",
                "body": f"Version {pack.version - 1} was sent back: {reason} "
                f"Fix it and resubmit version {pack.version}.",
                "entity_type": "closure_pack",
                "entity_id": str(pack.id),
                "due_at": None,
                "read_at": None,
                "sent_at": None,
                "dedupe_key": f"revision_needed:{pack.id}:v{pack.version - 1}",
            }
        ],
    )


def add_pack_evidence(
    session: Session,
    actor: Actor,
    *,
    pack_id: uuid.UUID,
    evidence: str,
    data: bytes,
    filename: str,
    data_dir: Path | None = None,
) -> MediaDTO:
    """Add a missing evidence file to the pack's installation.

    ``evidence`` is one of ``UPLOADABLE_EVIDENCE`` (``site_photo``, ``serial_plate_photo``,
    ``signature``, ``demo_signoff``); the file is stored with ``domain.media.store_upload``
    (same rules and limits as installation media: photo/signature JPEG, PNG, WebP, HEIC
    ≤ 10 MB; the demo sign-off a PDF or image ≤ 20 MB) as an ``installation_media`` row with
    the evidence's kind and caption ("Site photo", "Serial plate photo", ...), so the
    checklist finds it. Recompile the pack to refresh its PDF. Audits
    ``closure_pack.add_evidence``.

    Raises:
        PermissionDenied: without ``closure_pack.add_evidence``.
        NotFound: unknown pack.
        ValidationError: ``evidence`` unknown; ``file`` empty, too large or of a wrong type.
        TransitionError: the pack is not editable (submitted or accepted).
    """
    require(actor, "closure_pack.add_evidence")
    key = canonical_key(evidence)
    if key not in UPLOADABLE_EVIDENCE:
        raise ValidationError(
            {"evidence": f"'{evidence}' is not one of {', '.join(UPLOADABLE_EVIDENCE)}"}
        )
    pack = load_pack(session, actor, pack_id, lock=True)
    _month_open(session, pack.installation_id)
    _editable(pack, "evidence is added")
    kind, caption = UPLOADABLE_EVIDENCE[key]
    media = store_media(
        session,
        actor,
        installation_id=pack.installation_id,
        data=data,
        filename=filename,
        kind=kind,
        caption=caption,
        data_dir=data_dir,
    )
    audit.record(
        session,
        actor,
        "closure_pack.add_evidence",
        entity_type="closure_pack",
        entity_id=pack.id,
        after={
            "ref": pack.ref,
            "evidence": key,
            "media_id": media.id,
            "kind": kind,
            "file_path": media.file_path,
            "content_type": media.content_type,
            "size_bytes": media.size_bytes,
            "sha256": media.sha256,
        },
    )
    session.flush()
    return media_dto(media)


def record_confirmation_call(
    session: Session,
    actor: Actor,
    *,
    pack_id: uuid.UUID,
    outcome: str,
    notes: str | None = None,
) -> PackDetail:
    """Record the post-installation confirmation call of a pack (seed 000).

    ``confirmed`` sets ``confirmation_call_completed``; ``declined`` clears it; ``no_answer``
    changes nothing (the attempt is kept in the audit event ``closure_pack.confirmation_call``
    with its notes). The pre-installation call (``installations.service.
    record_customer_confirmation``) is a different call and does not count.

    Raises:
        PermissionDenied: without ``closure_pack.confirm_call``.
        NotFound: unknown pack.
        ValidationError: unknown ``outcome``; ``notes`` longer than 500 characters.
        TransitionError: the pack is not editable.
    """
    require(actor, "closure_pack.confirm_call")
    if outcome not in CONFIRMATION_OUTCOMES:
        raise ValidationError(
            {"outcome": f"unknown outcome {outcome!r}; use {', '.join(CONFIRMATION_OUTCOMES)}"}
        )
    text = _clean(notes, "notes", MAX_NOTES)
    pack = load_pack(session, actor, pack_id, lock=True)
    _month_open(session, pack.installation_id)
    _editable(pack, "the confirmation call is recorded")
    before = {"confirmation_call_completed": pack.confirmation_call_completed}
    if outcome == "confirmed":
        pack.confirmation_call_completed = True
    elif outcome == "declined":
        pack.confirmation_call_completed = False
    session.flush()
    audit.record(
        session,
        actor,
        "closure_pack.confirmation_call",
        entity_type="closure_pack",
        entity_id=pack.id,
        before=before,
        after={
            "ref": pack.ref,
            "outcome": outcome,
            "notes": text,
            "confirmation_call_completed": pack.confirmation_call_completed,
        },
    )
    session.flush()
    return _detail_of(session, pack)


# --- queries -----------------------------------------------------------------------------------


def _visible(stmt: Select[Any], actor: Actor) -> Select[Any]:
    if actor.role == "oem_viewer":
        if actor.oem_id is None:
            return stmt.where(Lead.id.is_(None))
        return stmt.where(Lead.oem_id == actor.oem_id)
    return stmt


def list_packs(
    session: Session,
    actor: Actor,
    *,
    oem_id: uuid.UUID | None = None,
    status: str | None = None,
    oem_response: str | None = None,
    search: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> PackPage:
    """Closure packs, newest first, filtered by OEM, status, OEM response and a search over
    pack ref, installation ref and customer name (case-insensitive contains).

    An oem_viewer sees only its own OEM's packs (another ``oem_id`` gives an empty page).

    Raises:
        PermissionDenied: without ``closure_pack.read``.
        ValidationError: unknown ``status``/``oem_response``; bad paging.
    """
    require(actor, "closure_pack.read")
    check_page(page, page_size)
    if status is not None and status not in PACK_STATUSES:
        raise ValidationError({"status": f"use one of {', '.join(PACK_STATUSES)}"})
    if oem_response is not None and oem_response not in OEM_RESPONSES:
        raise ValidationError({"oem_response": f"use one of {', '.join(OEM_RESPONSES)}"})
    base = (
        select(
            ClosurePack.id,
            ClosurePack.ref,
            ClosurePack.installation_id,
            Installation.ref.label("installation_ref"),
            Oem.code.label("oem_code"),
            Lead.customer_name,
            ClosurePack.status,
            ClosurePack.oem_response,
            ClosurePack.version,
            ClosurePack.compiled_at,
            ClosurePack.submitted_to_oem_at,
        )
        .join(Installation, Installation.id == ClosurePack.installation_id)
        .join(Lead, Lead.id == ClosurePack.lead_id)
        .join(Oem, Oem.id == Lead.oem_id)
    )
    base = _visible(base, actor)
    if oem_id is not None:
        base = base.where(Lead.oem_id == oem_id)
    if status is not None:
        base = base.where(ClosurePack.status == status)
    if oem_response is not None:
        base = base.where(ClosurePack.oem_response == oem_response)
    cond = matches_any(search, [ClosurePack.ref, Installation.ref, Lead.customer_name])
    if cond is not None:
        base = base.where(cond)
    total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    rows = session.execute(
        base.order_by(ClosurePack.created_at.desc(), ClosurePack.ref.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return PackPage(
        rows=tuple(PackRow(**r._mapping) for r in rows),
        total=total,
        page=page,
        page_size=page_size,
    )


def get_pack(session: Session, actor: Actor, pack_id: uuid.UUID) -> PackDetail:
    """One pack with its live checklist, photos, revisions and submissions.

    Raises:
        PermissionDenied: without ``closure_pack.read``.
        NotFound: unknown pack, or another OEM's for an oem_viewer.
    """
    require(actor, "closure_pack.read")
    return _detail_of(session, load_pack(session, actor, pack_id))


def pack_for_installation(
    session: Session, actor: Actor, installation_id: uuid.UUID
) -> PackDetail | None:
    """The installation's pack, or None when none was compiled yet.

    Raises:
        PermissionDenied: without ``closure_pack.read``.
        NotFound: unknown installation, or another OEM's for an oem_viewer.
    """
    require(actor, "closure_pack.read")
    inst = _installation(session, actor, installation_id)
    pack = session.execute(
        select(ClosurePack).where(ClosurePack.installation_id == inst.id)
    ).scalar_one_or_none()
    return None if pack is None else _detail_of(session, pack)


def list_compilable(
    session: Session, actor: Actor, *, search: str | None = None, limit: int = 50
) -> list[CompilableInstallation]:
    """``report_submitted`` installations without a pack or with an editable one (newest
    completed first), optionally searched by installation ref or customer name.

    Raises:
        PermissionDenied: without ``closure_pack.compile``.
    """
    require(actor, "closure_pack.compile")
    stmt = (
        select(
            Installation.id,
            Installation.ref,
            Lead.customer_name,
            Oem.code,
            ClosurePack.ref,
            ClosurePack.status,
        )
        .join(Lead, Lead.id == Installation.lead_id)
        .join(Oem, Oem.id == Lead.oem_id)
        .outerjoin(ClosurePack, ClosurePack.installation_id == Installation.id)
        .where(Installation.status == "report_submitted")
        .where((ClosurePack.id.is_(None)) | (ClosurePack.status.in_(EDITABLE_STATUSES)))
    )
    stmt = _visible(stmt, actor)
    cond = matches_any(search, [Installation.ref, Lead.customer_name])
    if cond is not None:
        stmt = stmt.where(cond)
    rows = session.execute(
        stmt.order_by(Installation.completed_at.desc(), Installation.ref.desc()).limit(limit)
    ).all()
    return [CompilableInstallation(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]
