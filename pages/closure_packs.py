"""Closure packs (seed 000, issue 5): list with filters (OEM, status, OEM response, search);
compile the pack of a report_submitted installation; open one to see its evidence checklist
(present / missing), add missing evidence (photo upload, confirmation call), recompile,
submit to the OEM, record the OEM's answer (accept / revision needed with a reason), see
earlier versions and submissions, and download the PDF of any version. Every action is one
domain call in one transaction; permissions, the lifecycle and oem_viewer isolation are the
domain's."""

from __future__ import annotations

import uuid
from typing import TypeVar

import pandas as pd
import streamlit as st

from app.runtime import current_actor, session_scope
from app.widgets import local_time, md_escape, run_command, show_domain_error
from domain.errors import DomainError
from domain.installations.service import CONFIRMATION_OUTCOMES
from domain.leads.queries import list_oems_for
from domain.permissions import can
from domain.reporting.models import OEM_RESPONSES, PACK_STATUSES
from domain.reporting.pack_pdf import pack_pdf_bytes
from domain.reporting.packs import (
    EDITABLE_STATUSES,
    EVIDENCE_LABELS,
    RESPONSES,
    UPLOADABLE_EVIDENCE,
    add_pack_evidence,
    compile_pack,
    get_pack,
    list_compilable,
    list_packs,
    record_confirmation_call,
    record_oem_response,
    submit_pack,
)

T = TypeVar("T")
ALL = "All"
NONE = "—"
PAGE_SIZE = 50
PAGE_KEY = "cp_page"
FLASH_KEY = "cp_flash"
FOCUS_KEY = "cp_focus"
COLUMN_TITLES = {
    "ref": "Ref",
    "installation_ref": "Installation",
    "oem_code": "OEM",
    "customer_name": "Customer",
    "status": "Status",
    "oem_response": "OEM response",
    "version": "Version",
    "compiled_at": "Compiled",
    "submitted_to_oem_at": "Submitted",
}
RESPONSE_LABELS = {"accepted": "Accepted", "revision_needed": "Revision needed"}
IMAGE_UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "heic"]


def _done(message: str, focus: tuple[str, uuid.UUID] | None = None) -> None:
    st.session_state[FLASH_KEY] = message
    if focus is not None:
        st.session_state[FOCUS_KEY] = focus
    st.rerun()


actor = current_actor()
st.title("Closure packs")
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash)
st.caption(
    "Lifecycle: compiled → submitted → accepted (the installation closes), or revision "
    "needed → draft → compiled again → resubmitted. A pack is submitted only when every "
    "item of its OEM's evidence checklist is present."
)

with session_scope(readonly=True) as s:
    oems = list_oems_for(s, actor)
oem_by_label = {f"{o.name} ({o.code})": o.id for o in oems}

may_compile = can(actor, "closure_pack.compile")
tab_names = ["Packs", *(["Compile"] if may_compile else [])]
tabs = dict(zip(tab_names, st.tabs(tab_names), strict=True))

# --- Compile -----------------------------------------------------------------------------------
if may_compile:
    with tabs["Compile"]:
        st.caption(
            "Installations that are report_submitted, without a pack or with a reopened one."
        )
        c_search = st.text_input("Find the installation (ref or customer)", key="cp_c_search")
        candidates = []
        error: DomainError | None = None
        try:
            with session_scope(readonly=True) as s:
                candidates = list_compilable(s, actor, search=c_search or None, limit=50)
        except DomainError as e:
            error = e
        if error is not None:
            show_domain_error(error)
        cand_by_label = {c.label: c for c in candidates}
        with st.form("cp_compile_form"):
            picked_inst = st.selectbox("Installation", [NONE, *cand_by_label], key="cp_c_inst")
            compile_clicked = st.form_submit_button("Compile pack", key="cp_c_submit")
        if compile_clicked:
            cand = cand_by_label.get(picked_inst)
            if cand is None:
                st.warning("Choose an installation first.")
            else:
                compiled = run_command(
                    lambda s: compile_pack(s, actor, installation_id=cand.installation_id)
                )
                if compiled is not None:
                    state = (
                        "complete"
                        if compiled.complete
                        else f"incomplete: missing {', '.join(compiled.missing)}"
                    )
                    _done(f"Pack {compiled.ref} compiled ({state}).", (compiled.ref, compiled.id))

# --- List --------------------------------------------------------------------------------------
with tabs["Packs"]:
    with st.form("cp_filters"):
        f1, f2, f3, f4 = st.columns(4)
        f_oem = f1.selectbox("OEM", [ALL, *oem_by_label], key="cp_f_oem")
        f_status = f2.selectbox("Status", [ALL, *PACK_STATUSES], key="cp_f_status")
        f_response = f3.selectbox("OEM response", [ALL, *OEM_RESPONSES], key="cp_f_response")
        f_search = f4.text_input("Pack, installation or customer", key="cp_f_search")
        if st.form_submit_button("Apply filters", key="cp_f_submit"):
            st.session_state[PAGE_KEY] = 1
    filters = {
        "oem_id": oem_by_label.get(f_oem) if f_oem != ALL else None,
        "status": None if f_status == ALL else f_status,
        "oem_response": None if f_response == ALL else f_response,
        "search": f_search or None,
    }
    page_no = int(st.session_state.get(PAGE_KEY, 1))
    result = None
    error = None
    try:
        with session_scope(readonly=True) as s:
            result = list_packs(s, actor, page=page_no, page_size=PAGE_SIZE, **filters)
            if page_no > result.pages:
                page_no = 1
                result = list_packs(s, actor, page=1, page_size=PAGE_SIZE, **filters)
    except DomainError as e:
        error = e
    if error is not None:
        show_domain_error(error)
        st.stop()
    assert result is not None
    if result.total == 0:
        st.info("No closure pack matches these filters.")
    else:
        first = (result.page - 1) * result.page_size + 1
        st.caption(f"Packs {first}–{first + len(result.rows) - 1} of {result.total}")
        frame = result.to_frame()[list(COLUMN_TITLES)]
        for col in ("compiled_at", "submitted_to_oem_at"):
            frame[col] = [local_time(v) for v in frame[col]]
        st.dataframe(frame.rename(columns=COLUMN_TITLES), hide_index=True, width="stretch")
    if result.pages > 1:
        st.session_state[PAGE_KEY] = page_no
        pager, _ = st.columns([1, 3])
        pager.number_input(
            f"Page (of {result.pages})", min_value=1, max_value=result.pages, step=1, key=PAGE_KEY
        )

    # --- One pack ------------------------------------------------------------------------------
    st.subheader("Pack")
    ids_by_ref = {r.ref: r.id for r in result.rows}
    focus = st.session_state.get(FOCUS_KEY)
    if focus is not None:
        ids_by_ref.setdefault(focus[0], focus[1])
        st.session_state["cp_pick"] = focus[0]
        del st.session_state[FOCUS_KEY]
    if st.session_state.get("cp_pick") not in (NONE, *ids_by_ref):
        st.session_state["cp_pick"] = NONE
    picked = st.selectbox("Pack", [NONE, *ids_by_ref], key="cp_pick", help="On this page")
    detail = None
    pdf_file = None
    if picked != NONE:
        error = None
        try:
            with session_scope(readonly=True) as s:
                detail = get_pack(s, actor, ids_by_ref[picked])
                if detail.report_file:
                    try:
                        pdf_file = pack_pdf_bytes(s, actor, pack_id=detail.id)
                    except DomainError:
                        pdf_file = None
        except DomainError as e:
            error = e
        if error is not None:
            show_domain_error(error)
    if detail is not None:
        d = detail
        st.markdown(
            f"#### {d.ref} · {d.status} · version {d.version}\n"
            f"**{md_escape(d.customer_name)}**, {md_escape(d.address)}, {md_escape(d.city)} "
            f"{d.pincode} ({md_escape(d.zone_name)}). "
            f"OEM {md_escape(d.oem_name)} ({d.oem_code}); installation {d.installation_ref} "
            f"({d.installation_status}); charger **{md_escape(d.charger_serial)}** · "
            f"{md_escape(d.charger_model)}. "
            f"OEM response: **{d.oem_response}**."
        )
        meta = [
            f"Compiled {local_time(d.compiled_at) or NONE} by {md_escape(d.compiled_by) or NONE}",
            f"submitted {local_time(d.submitted_to_oem_at) or NONE}",
        ]
        st.caption("; ".join(meta))
        if d.revision_reason and d.oem_response == "revision_needed":
            st.warning(f"Revision requested by the OEM: {md_escape(d.revision_reason)}")

        st.markdown("##### Evidence checklist")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Item": i.label,
                        "Status": "✅ present" if i.present else "❌ missing",
                        "Detail": i.detail,
                    }
                    for i in d.checklist
                ],
                columns=["Item", "Status", "Detail"],
            ),
            hide_index=True,
            width="stretch",
        )
        if d.missing:
            st.error(f"Incomplete: missing {', '.join(d.missing)}.")
        else:
            st.success("Complete: every required evidence item is present.")

        editable = d.status in EDITABLE_STATUSES
        tag = d.id.hex[:8]
        if editable and can(actor, "closure_pack.add_evidence"):
            missing_keys = [
                i.key for i in d.checklist if not i.present and i.key in UPLOADABLE_EVIDENCE
            ]
            keys = missing_keys + [k for k in UPLOADABLE_EVIDENCE if k not in missing_keys]
            with st.form(f"cp_evidence_{tag}", clear_on_submit=True):
                st.markdown("##### Add evidence")
                ev_key = st.selectbox(
                    "Evidence",
                    keys,
                    format_func=lambda k: (
                        EVIDENCE_LABELS.get(k, k) + (" (missing)" if k in missing_keys else "")
                    ),
                    key="cp_ev_key",
                )
                ev_file = st.file_uploader(
                    "Image (JPG, PNG, WebP, HEIC ≤ 10 MB; demo sign-off may be a PDF ≤ 20 MB)",
                    type=[*IMAGE_UPLOAD_TYPES, "pdf"],
                    key="cp_ev_file",
                )
                ev_clicked = st.form_submit_button("Upload evidence", key="cp_ev_submit")
            if ev_clicked:
                if ev_file is None:
                    st.warning("Choose a file first.")
                else:
                    added = run_command(
                        lambda s: add_pack_evidence(
                            s,
                            actor,
                            pack_id=d.id,
                            evidence=ev_key,
                            data=ev_file.getvalue(),
                            filename=ev_file.name,
                        )
                    )
                    if added is not None:
                        _done(
                            f"{EVIDENCE_LABELS.get(ev_key, ev_key)} added to {d.ref}; "
                            "recompile the pack to refresh its PDF.",
                            (d.ref, d.id),
                        )
        if (
            editable
            and can(actor, "closure_pack.confirm_call")
            and not d.confirmation_call_completed
        ):
            with st.form(f"cp_call_{tag}"):
                st.markdown("##### Customer confirmation call (after installation)")
                c1, c2 = st.columns([1, 2])
                outcome = c1.selectbox("Outcome", list(CONFIRMATION_OUTCOMES), key="cp_call_out")
                notes = c2.text_input("Notes (optional)", key="cp_call_notes")
                call_clicked = st.form_submit_button(
                    "Record confirmation call", key="cp_call_submit"
                )
            if call_clicked:
                called = run_command(
                    lambda s: record_confirmation_call(
                        s, actor, pack_id=d.id, outcome=outcome, notes=notes or None
                    )
                )
                if called is not None:
                    _done(f"Confirmation call ({outcome}) recorded on {d.ref}.", (d.ref, d.id))
        if editable and can(actor, "closure_pack.compile"):
            with st.form(f"cp_recompile_{tag}"):
                label = "Compile pack" if d.status != "compiled" else "Recompile pack"
                recompile_clicked = st.form_submit_button(label, key="cp_recompile_submit")
            if recompile_clicked:
                again = run_command(
                    lambda s: compile_pack(s, actor, installation_id=d.installation_id)
                )
                if again is not None:
                    _done(f"Pack {again.ref} compiled (version {again.version}).", (d.ref, d.id))
        if d.status == "compiled" and can(actor, "closure_pack.submit"):
            with st.form(f"cp_submit_{tag}"):
                submit_clicked = st.form_submit_button("Submit to OEM", key="cp_submit_submit")
            if submit_clicked:
                sent = run_command(lambda s: submit_pack(s, actor, pack_id=d.id))
                if sent is not None:
                    _done(f"Pack {sent.ref} submitted to {sent.oem_code}.", (d.ref, d.id))
        if d.status == "submitted" and can(actor, "closure_pack.record_response"):
            with st.form(f"cp_response_{tag}"):
                st.markdown("##### OEM response")
                response = st.radio(
                    "Response",
                    list(RESPONSES),
                    format_func=RESPONSE_LABELS.get,
                    horizontal=True,
                    key="cp_resp",
                )
                reason = st.text_area("Reason (required for a revision)", key="cp_resp_reason")
                resp_clicked = st.form_submit_button("Record OEM response", key="cp_resp_submit")
            if resp_clicked:
                answered = run_command(
                    lambda s: record_oem_response(
                        s, actor, pack_id=d.id, response=response, reason=reason or None
                    )
                )
                if answered is not None:
                    msg = (
                        f"Pack {answered.ref} accepted; installation {answered.installation_ref} "
                        "closed."
                        if response == "accepted"
                        else f"Revision requested on {answered.ref}: reopened as version "
                        f"{answered.version}."
                    )
                    _done(msg, (d.ref, d.id))

        st.markdown("##### PDF")
        if pdf_file is not None:
            st.download_button(
                f"Download PDF (version {d.version})",
                data=pdf_file.data,
                file_name=pdf_file.filename,
                mime="application/pdf",
                key="cp_pdf",
            )
        else:
            st.caption("No PDF for this version yet: compile the pack.")

        st.markdown("##### Versions")
        if not d.revisions:
            st.caption("No earlier version.")
        else:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "Version": r.version,
                            "Revision requested": local_time(r.created_at),
                            "Reason": r.reason or "",
                            "Missing then": ", ".join(r.missing) or NONE,
                        }
                        for r in d.revisions
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
            old_versions = [r.version for r in d.revisions if r.report_file]
            if old_versions:
                v1, v2 = st.columns([1, 2])
                chosen = v1.selectbox("Earlier version", old_versions, key="cp_old_version")
                old = None
                try:
                    with session_scope(readonly=True) as s:
                        old = pack_pdf_bytes(s, actor, pack_id=d.id, version=int(chosen))
                except DomainError as e:
                    v2.caption(str(e))
                if old is not None:
                    v2.download_button(
                        f"Download PDF (version {chosen})",
                        data=old.data,
                        file_name=old.filename,
                        mime="application/pdf",
                        key="cp_old_pdf",
                    )

        st.markdown("##### Submissions")
        if not d.submissions:
            st.caption("Not submitted yet.")
        else:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "Submitted": local_time(x.submitted_at),
                            "By": x.submitted_by or NONE,
                            "Acknowledged": local_time(x.acknowledged_at)
                            if x.acknowledged
                            else "no",
                        }
                        for x in d.submissions
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
