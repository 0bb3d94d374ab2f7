"""Import an OEM lead sheet (CSV or XLSX): validate every row, import the good ones in bulk.

A sheet has the columns an OEM sends (lead id, customer name, phone, email, address, city,
pincode, vehicle model, date received); headers are matched loosely (``validation.header_key``)
and unknown columns are ignored. Every cell is read as text, so Excel-formatted numbers are
normalised by the field rules rather than mangled by a float parser.

A row is rejected, with a ``RowError`` per problem naming the spreadsheet row (header = row 1),
the field and the reason, when a field is invalid, its pincode is outside every service zone,
its OEM lead id was already imported for the OEM or appears earlier in the file, or the same
phone already has a lead of the same OEM received within 90 days (in the database or earlier
in the file). Good rows are inserted with one bulk INSERT, so importing the same file twice
imports nothing the second time.
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.types import utcnow
from domain import audit
from domain.accounts.models import Oem
from domain.accounts.zones import load_district_map, match_zone, pincode_info
from domain.actor import Actor
from domain.business_calendar import business_day_ordinals, zone_calendar_keys
from domain.calendar import local_date, local_zone
from domain.errors import Conflict, NotFound, ValidationError
from domain.leads.dto import ImportResult, RowError
from domain.leads.models import Lead, LeadImport
from domain.leads.validation import (
    FIELD_LABELS,
    REQUIRED_FIELDS,
    CleanLead,
    clean_cell,
    header_key,
    validate_lead_fields,
)
from domain.permissions import require
from domain.refs import next_refs

DUPLICATE_PHONE_WINDOW = timedelta(days=90)
"""Same phone, same OEM, received within this many days of another lead = duplicate."""

MAX_ROWS = 50_000
"""Largest sheet accepted in one import (data rows)."""


@dataclass(frozen=True)
class SheetRow:
    """A non-blank data row: its spreadsheet row number and raw text per lead field."""

    row: int
    values: dict[str, str]


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1")


def _is_xlsx(filename: str, content: bytes) -> bool:
    if content[:4] == b"PK\x03\x04":
        return True
    return filename.lower().endswith((".xlsx", ".xlsm"))


def _guess_delimiter(text: str) -> str:
    """The delimiter of the header line: the most frequent of ``, ; TAB |`` (default comma)."""
    header = next((line for line in text.splitlines() if line.strip(" ,;\t|")), "")
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _csv_records(content: bytes) -> list[list[str]]:
    text = _decode(content)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_guess_delimiter(text))
    return [list(r) for r in reader]


def _xlsx_records(content: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ValidationError({"file": f"not a readable XLSX workbook ({exc})"}) from None
    try:
        ws = wb.active if wb.active is not None else wb.worksheets[0]
        return [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


def read_sheet(filename: str, content: bytes) -> list[SheetRow]:
    """Parse a CSV/XLSX lead sheet into rows of raw text keyed by lead field.

    The header is the first non-blank row; blank rows are skipped (but keep their row
    numbers); a field appearing in two columns takes the first non-blank cell.

    Raises:
        ValidationError: ``{"file": reason}`` for an empty/unreadable file, a missing
            required column, or more than ``MAX_ROWS`` data rows.
    """
    if not content or not content.strip():
        raise ValidationError({"file": "the file is empty"})
    records = _xlsx_records(content) if _is_xlsx(filename, content) else _csv_records(content)

    def blank(rec: list[Any]) -> bool:
        return all(clean_cell(v) == "" for v in rec)

    header_idx = next((i for i, rec in enumerate(records) if not blank(rec)), None)
    if header_idx is None:
        raise ValidationError({"file": "the file has no header row"})
    columns: dict[str, list[int]] = defaultdict(list)
    for col, name in enumerate(records[header_idx]):
        field = header_key(name)
        if field is not None:
            columns[field].append(col)
    missing = [FIELD_LABELS[f] for f in REQUIRED_FIELDS if f not in columns]
    if missing:
        raise ValidationError(
            {"file": f"missing column(s): {', '.join(missing)} (row {header_idx + 1})"}
        )
    rows: list[SheetRow] = []
    for i in range(header_idx + 1, len(records)):
        rec = records[i]
        if blank(rec):
            continue
        values: dict[str, str] = {}
        for field, cols in columns.items():
            cells = [clean_cell(rec[c]) if c < len(rec) else "" for c in cols]
            values[field] = next((c for c in cells if c), "")
        rows.append(SheetRow(row=i + 1, values=values))
        if len(rows) > MAX_ROWS:
            raise ValidationError({"file": f"more than {MAX_ROWS} rows; split the sheet"})
    return rows


@dataclass
class _Seen:
    """Existing and accepted leads of the OEM used for duplicate checks."""

    refs_in_db: dict[str, str]
    phones_in_db: dict[str, list[tuple[datetime, str]]]
    refs_in_file: dict[str, int]
    phones_in_file: dict[str, list[tuple[datetime, int]]]


def _load_seen(session: Session, oem_id: uuid.UUID) -> _Seen:
    """One query: every lead id, phone and received time of the OEM."""
    refs: dict[str, str] = {}
    phones: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for oem_ref, ref, phone, received_at, status in session.execute(
        select(Lead.oem_lead_ref, Lead.ref, Lead.phone, Lead.received_at, Lead.status).where(
            Lead.oem_id == oem_id
        )
    ):
        refs[oem_ref] = ref
        if status != "cancelled":
            phones[phone].append((received_at, ref))
    return _Seen(refs, phones, {}, defaultdict(list))


def _fmt_local(moment: datetime) -> str:
    return moment.astimezone(local_zone()).strftime("%d/%m/%Y")


def _duplicate_errors(
    row: int, lead: CleanLead, raw: dict[str, str], seen: _Seen
) -> list[RowError]:
    errors: list[RowError] = []
    if lead.oem_lead_ref in seen.refs_in_db:
        errors.append(
            RowError(
                row,
                "oem_lead_ref",
                f"duplicate: lead id {lead.oem_lead_ref} was already imported as "
                f"{seen.refs_in_db[lead.oem_lead_ref]}",
                lead.oem_lead_ref,
            )
        )
    elif lead.oem_lead_ref in seen.refs_in_file:
        errors.append(
            RowError(
                row,
                "oem_lead_ref",
                f"duplicate: lead id {lead.oem_lead_ref} repeats row "
                f"{seen.refs_in_file[lead.oem_lead_ref]} of this file",
                lead.oem_lead_ref,
            )
        )
    if errors:
        return errors
    window = DUPLICATE_PHONE_WINDOW
    for other_at, other_ref in seen.phones_in_db.get(lead.phone, ()):
        if abs(other_at - lead.received_at) <= window:
            errors.append(
                RowError(
                    row,
                    "phone",
                    f"duplicate: phone {lead.phone} already has lead {other_ref} received "
                    f"{_fmt_local(other_at)} (within {window.days} days)",
                    raw.get("phone", ""),
                )
            )
            return errors
    for other_at, other_row in seen.phones_in_file.get(lead.phone, ()):
        if abs(other_at - lead.received_at) <= window:
            errors.append(
                RowError(
                    row,
                    "phone",
                    f"duplicate: phone {lead.phone} repeats row {other_row} of this file "
                    f"(received within {window.days} days)",
                    raw.get("phone", ""),
                )
            )
            return errors
    return errors


def import_leads(
    session: Session, actor: Actor, *, oem_id: uuid.UUID, filename: str, content: bytes
) -> ImportResult:
    """Import an OEM lead sheet (CSV or XLSX bytes) for ``oem_id``.

    Every non-blank data row is validated (``validation.validate_lead_fields``: phone valid
    for IN -> E.164, pincode known to India Post and inside a service zone, optional email,
    day-first local date not in the future, required fields) and checked for duplicates
    (OEM lead id already imported or earlier in the file; same phone for the OEM received
    within 90 days, in the database or earlier in the file; cancelled leads do not block a
    phone). Good rows get refs ``LEAD-<received year>-NNNNN`` and are inserted in one bulk
    INSERT with status ``new`` and source ``import``. A ``LeadImport`` row records the
    filename, sha256 and counts; the audit action is ``lead.import``.

    Returns:
        ``ImportResult`` with counts and a ``RowError`` per problem (row = spreadsheet row,
        header = 1).

    Raises:
        PermissionDenied: without ``lead.import``.
        NotFound: unknown OEM.
        ValidationError: inactive OEM; ``{"file": ...}`` for an unreadable sheet or missing
            required columns (nothing is imported).
        Conflict: a concurrent import inserted the same lead id first (retry).
    """
    require(actor, "lead.import")
    oem = session.get(Oem, oem_id)
    if oem is None:
        raise NotFound("OEM not found")
    if not oem.active:
        raise ValidationError({"oem_id": f"OEM {oem.code} is inactive"})
    digest = hashlib.sha256(content or b"").hexdigest()
    sheet = read_sheet(filename, content)

    now = utcnow()
    district_map = load_district_map(session)
    seen = _load_seen(session, oem_id)
    errors: list[RowError] = []
    rejected_rows: set[int] = set()
    good: list[tuple[CleanLead, uuid.UUID]] = []

    for srow in sheet:
        raw = srow.values
        row_errors: list[RowError] = []
        lead, field_errors = validate_lead_fields(raw, now=now)
        for field, reason in field_errors.items():
            row_errors.append(RowError(srow.row, field, reason, raw.get(field, "")))
        zone_id: uuid.UUID | None = None
        if lead is not None:
            info = pincode_info(lead.pincode)
            match = match_zone(info, district_map) if info else None
            if match is None:
                label = info.label if info else "unknown district"
                row_errors.append(
                    RowError(
                        srow.row,
                        "pincode",
                        f"pincode {lead.pincode} ({label}) is outside every service zone",
                        raw.get("pincode", ""),
                    )
                )
            else:
                zone_id = match.zone_id
        if lead is not None and not row_errors:
            row_errors.extend(_duplicate_errors(srow.row, lead, raw, seen))
        ref_text = " ".join(raw.get("oem_lead_ref", "").split())
        if ref_text and ref_text not in seen.refs_in_file:
            seen.refs_in_file[ref_text] = srow.row
        if row_errors:
            errors.extend(row_errors)
            rejected_rows.add(srow.row)
            continue
        assert lead is not None and zone_id is not None
        seen.phones_in_file[lead.phone].append((lead.received_at, srow.row))
        good.append((lead, zone_id))

    record = LeadImport(
        id=uuid.uuid4(),
        oem_id=oem_id,
        filename=(filename or "upload")[:255],
        sha256=digest,
        imported_by_id=actor.user_id,
        rows_total=len(sheet),
        rows_imported=len(good),
        rows_rejected=len(rejected_rows),
    )
    session.add(record)
    session.flush()

    if good:
        by_year: dict[int, list[int]] = defaultdict(list)
        for idx, (lead, _zone) in enumerate(good):
            by_year[local_date(lead.received_at).year].append(idx)
        refs: dict[int, str] = {}
        for year in sorted(by_year):
            for idx, ref in zip(
                by_year[year], next_refs(session, "LEAD", len(by_year[year]), year), strict=True
            ):
                refs[idx] = ref
        # bulk insert bypasses the ORM flush hook: store the received business-day ordinals here
        zone_keys = zone_calendar_keys(session)
        received = [(zone_keys[zone_id], local_date(lead.received_at)) for lead, zone_id in good]
        ordinals = business_day_ordinals(session, received)
        stamp = utcnow()
        payload = [
            {
                "id": uuid.uuid4(),
                "created_at": stamp,
                "updated_at": stamp,
                "ref": refs[idx],
                "oem_id": oem_id,
                "oem_lead_ref": lead.oem_lead_ref,
                "customer_name": lead.customer_name,
                "phone": lead.phone,
                "email": lead.email,
                "address": lead.address,
                "city": lead.city,
                "pincode": lead.pincode,
                "zone_id": zone_id,
                "vehicle_model": lead.vehicle_model,
                "requested_charger_type": lead.requested_charger_type,
                "received_at": lead.received_at,
                "received_business_day": ordinals[received[idx]],
                "status": "new",
                "cancel_reason": None,
                "source": "import",
                "lead_import_id": record.id,
            }
            for idx, (lead, zone_id) in enumerate(good)
        ]
        try:
            with session.begin_nested():
                session.execute(insert(Lead), payload)
        except IntegrityError as exc:
            raise Conflict(
                "another import or edit added some of these leads at the same time; "
                "nothing was imported, please retry"
            ) from exc

    audit.record(
        session,
        actor,
        "lead.import",
        entity_type="lead_import",
        entity_id=record.id,
        after={
            "oem_id": oem_id,
            "filename": record.filename,
            "sha256": digest,
            "rows_total": record.rows_total,
            "rows_imported": record.rows_imported,
            "rows_rejected": record.rows_rejected,
        },
    )
    session.flush()
    errors.sort(key=lambda e: e.row)
    return ImportResult(
        imported=len(good),
        rejected=len(rejected_rows),
        total=len(sheet),
        errors=tuple(errors),
        lead_import_id=record.id,
        sha256=digest,
        filename=record.filename,
    )


def _csv_safe(value: str) -> str:
    """Neutralise spreadsheet formulas (``=..``, ``@..``, ``+cmd..``) in exported cells."""
    if not value:
        return value
    if value[0] in "=@\t\r":
        return "'" + value
    if value[0] in "+-" and any(ch not in "0123456789 -().+" for ch in value):
        return "'" + value
    return value


def errors_to_csv(result: ImportResult) -> bytes:
    """The error table as CSV bytes (UTF-8 with BOM for Excel): row, field, reason, value."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["row", "field", "reason", "value"])
    for e in result.errors:
        writer.writerow([e.row, e.field, _csv_safe(e.reason), _csv_safe(e.value)])
    return buf.getvalue().encode("utf-8-sig")
