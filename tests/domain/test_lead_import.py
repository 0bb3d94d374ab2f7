"""OEM lead-sheet import on SQLite and PostgreSQL: messy CSV, XLSX, re-import, 10k rows."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, func, select

from db.engine import session_scope
from domain.accounts.models import AuditEvent, RefCounter
from domain.accounts.zones import load_district_map, pincode_info, zone_for_pincode
from domain.calendar import local_zone
from domain.errors import PermissionDenied, ValidationError
from domain.leads.importer import errors_to_csv, import_leads, read_sheet
from domain.leads.models import Lead, LeadImport
from tests.fixtures.lead_sheets import (
    EXPECTED_ERRORS,
    EXPECTED_GOOD_REFS,
    HEADER,
    MESSY_TOTAL,
    csv_bytes,
    generated_rows,
    messy_rows,
    seed_reference,
    today_local,
    xlsx_bytes,
)


@pytest.fixture
def ref(engine: Engine) -> dict:
    with session_scope(engine) as s:
        return seed_reference(s)


def _errors_by_row(result) -> dict[int, set[str]]:  # type: ignore[no-untyped-def]
    out: dict[int, set[str]] = defaultdict(set)
    for e in result.errors:
        out[e.row].add(e.field)
    return dict(out)


def _tata_leads(engine: Engine, tata_id) -> dict[str, Lead]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        leads = s.execute(select(Lead).where(Lead.oem_id == tata_id)).scalars().all()
        return {lead.oem_lead_ref: lead for lead in leads}


def test_test_pincodes_are_real_and_zoned(engine: Engine, ref: dict) -> None:
    with session_scope(engine) as s:
        dmap = load_district_map(s)
        for pin in ("560001", "560034", "560066", "562157", "562110"):
            info = pincode_info(pin)
            assert info is not None and info.state == "KARNATAKA"
            match = zone_for_pincode(s, pin, district_map=dmap)
            assert match is not None and match.zone_id == ref["zone_id"]
        assert zone_for_pincode(s, "110001") is None  # New Delhi: real, but no zone
        assert zone_for_pincode(s, "999999") is None  # not a pincode


def test_messy_csv_imports_exactly_the_good_rows(engine: Engine, ref: dict) -> None:
    content = csv_bytes(messy_rows())
    assert content.startswith(b"\xef\xbb\xbf")
    with session_scope(engine) as s:
        result = import_leads(
            s, ref["ops"], oem_id=ref["tata_id"], filename="tata.csv", content=content
        )

    assert result.total == MESSY_TOTAL
    assert result.imported == len(EXPECTED_GOOD_REFS)
    assert result.rejected == len(EXPECTED_ERRORS)
    assert _errors_by_row(result) == EXPECTED_ERRORS
    reasons = {(e.row, e.field): e.reason for e in result.errors}
    assert "outside every service zone" in reasons[(8, "pincode")]
    assert "NEW DELHI" in reasons[(8, "pincode")]
    assert "repeats row 2" in reasons[(9, "oem_lead_ref")]
    assert "already imported" in reasons[(10, "oem_lead_ref")]
    assert "repeats row 3" in reasons[(11, "phone")]
    assert "LEAD-" in reasons[(12, "phone")]
    assert "future" in reasons[(14, "received_at")]
    assert {e.value for e in result.errors if e.row == 6} == {"12345"}

    leads = _tata_leads(engine, ref["tata_id"])
    assert set(leads) == set(EXPECTED_GOOD_REFS) | {"T-OLD-1"}
    assert leads["T-001"].phone == "+919845011111"
    assert leads["T-002"].phone == "+919845022222"
    assert leads["T-002"].email is None
    assert leads["T-003"].phone == "+919845033333"
    assert leads["T-003"].pincode == "560066"
    assert leads["T-009"].phone == "+919845044444"
    assert leads["T-018"].phone == "+919845077777"
    assert leads["T-018"].email == "UPPER@example.com"
    assert all(lead.zone_id == ref["zone_id"] for lead in leads.values())
    assert all(lead.status == "new" for lead in leads.values())
    imported = [lead for lead in leads.values() if lead.oem_lead_ref != "T-OLD-1"]
    assert all(lead.source == "import" for lead in imported)
    assert all(lead.lead_import_id == result.lead_import_id for lead in imported)
    assert all(re.fullmatch(r"LEAD-\d{4}-\d{5}", lead.ref) for lead in imported)
    assert len({lead.ref for lead in leads.values()}) == len(leads)

    # Dates: local Asia/Kolkata, stored aware UTC.
    t = today_local()
    ist = local_zone()
    assert leads["T-001"].received_at == datetime.combine(t, datetime.min.time(), ist)
    expected_t003 = datetime.combine(t - timedelta(days=1), datetime.min.time(), ist).replace(
        hour=14, minute=30
    )
    assert leads["T-003"].received_at == expected_t003
    assert leads["T-003"].received_at.utcoffset() == timedelta(0)
    assert leads["T-014"].received_at.astimezone(ist).strftime("%H:%M") == "09:15"

    with session_scope(engine) as s:
        record = s.get(LeadImport, result.lead_import_id)
        assert record is not None
        assert (record.rows_total, record.rows_imported, record.rows_rejected) == (
            MESSY_TOTAL,
            len(EXPECTED_GOOD_REFS),
            len(EXPECTED_ERRORS),
        )
        assert record.sha256 == hashlib.sha256(content).hexdigest()
        assert record.imported_by_id == ref["ops"].user_id
        events = s.execute(select(AuditEvent).where(AuditEvent.action == "lead.import")).scalars()
        (event,) = list(events)
        assert event.entity_id == str(result.lead_import_id)
        assert event.after["rows_imported"] == len(EXPECTED_GOOD_REFS)


def test_errors_csv_lists_every_error(engine: Engine, ref: dict) -> None:
    with session_scope(engine) as s:
        result = import_leads(
            s,
            ref["admin"],
            oem_id=ref["tata_id"],
            filename="x.csv",
            content=csv_bytes(messy_rows()),
        )
    data = errors_to_csv(result)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == len(result.errors)
    assert {(int(r["row"]), r["field"]) for r in rows} == {
        (row, field) for row, fields in EXPECTED_ERRORS.items() for field in fields
    }
    assert result.errors_frame().shape == (len(result.errors), 4)


def test_second_import_of_same_file_changes_nothing(engine: Engine, ref: dict) -> None:
    content = csv_bytes(messy_rows())
    with session_scope(engine) as s:
        first = import_leads(
            s, ref["ops"], oem_id=ref["tata_id"], filename="a.csv", content=content
        )
    before = {k: (v.ref, v.id) for k, v in _tata_leads(engine, ref["tata_id"]).items()}
    with session_scope(engine) as s:
        counter_before = s.execute(
            select(RefCounter.prefix, RefCounter.year, RefCounter.last_value)
        )
        counter_before = sorted(counter_before.all())
    with session_scope(engine) as s:
        second = import_leads(
            s, ref["ops"], oem_id=ref["tata_id"], filename="a.csv", content=content
        )
    assert first.imported == len(EXPECTED_GOOD_REFS)
    assert second.imported == 0
    assert second.rejected == second.total == MESSY_TOTAL
    good_rows = {2, 3, 5, 13, 18, 19, 20, 21, 23}
    dup_reasons = {e.row: e.reason for e in second.errors if e.row in good_rows}
    assert set(dup_reasons) == good_rows
    assert all("already imported" in r for r in dup_reasons.values())
    after = {k: (v.ref, v.id) for k, v in _tata_leads(engine, ref["tata_id"]).items()}
    assert after == before
    with session_scope(engine) as s:
        counter_after = sorted(
            s.execute(select(RefCounter.prefix, RefCounter.year, RefCounter.last_value)).all()
        )
        assert counter_after == counter_before
        assert s.get(LeadImport, second.lead_import_id).rows_imported == 0


def test_xlsx_with_numeric_cells(engine: Engine, ref: dict) -> None:
    t = today_local()
    received = datetime.combine(t - timedelta(days=3), datetime.min.time()).replace(hour=11)
    rows = [
        [
            "X-001",
            "Numeric Cells",
            9845088888,
            "",
            "5 Lake View",
            "Bengaluru",
            560001,
            "EV",
            received,
            "extra",
        ],
        None,  # empty row 3
        [
            "X-002",
            "Float Cells",
            9845099999.0,
            "x2@example.com",
            "6 Lake View",
            "Bengaluru",
            560034.0,
            "EV",
            (t - timedelta(days=4)).strftime("%d/%m/%Y"),
            None,
        ],
        [
            "X-003",
            "Bad Pin",
            9845099990,
            "",
            "7 Lake View",
            "Bengaluru",
            110001,
            "EV",
            received,
            None,
        ],
    ]
    content = xlsx_bytes(rows)
    with session_scope(engine) as s:
        result = import_leads(
            s, ref["ops"], oem_id=ref["tata_id"], filename="tata.xlsx", content=content
        )
    assert (result.total, result.imported, result.rejected) == (3, 2, 1)
    assert _errors_by_row(result) == {5: {"pincode"}}
    leads = _tata_leads(engine, ref["tata_id"])
    assert leads["X-001"].phone == "+919845088888"
    assert leads["X-001"].pincode == "560001"
    assert leads["X-001"].received_at == received.replace(tzinfo=local_zone()).astimezone(UTC)
    assert leads["X-002"].phone == "+919845099999"
    assert leads["X-002"].pincode == "560034"


def test_header_variants_and_missing_columns() -> None:
    header = [
        "lead_id",
        "CUSTOMER_NAME",
        "phone",
        "email",
        "address",
        "city",
        "Pincode",
        "vehicle model",
        "date",
        "Remarks",
    ]
    rows = read_sheet(
        "x.csv",
        csv_bytes(
            [["L1", "A", "9845012345", "", "addr", "c", "560001", "", "21/11/2026", "r"]],
            header=header,
            bom=False,
        ),
    )
    assert rows[0].row == 2
    assert rows[0].values["oem_lead_ref"] == "L1"
    assert rows[0].values["received_at"] == "21/11/2026"
    assert "Remarks" not in rows[0].values

    with pytest.raises(ValidationError) as exc:
        read_sheet("x.csv", csv_bytes([["L1", "A"]], header=["Lead ID", "Customer Name"]))
    assert "file" in exc.value.errors
    assert "phone" in exc.value.errors["file"]
    with pytest.raises(ValidationError):
        read_sheet("x.csv", b"")
    with pytest.raises(ValidationError):
        read_sheet("x.xlsx", b"PK\x03\x04 not really a zip")

    # Semicolon-separated sheets (Excel in some locales) are sniffed.
    semi = "Lead ID;Name;Phone;Address;City;PIN;Date\nL9;B;9845012345;a;c;560001;1/11/2026\n"
    assert read_sheet("s.csv", semi.encode())[0].values["pincode"] == "560001"


def test_file_errors_import_nothing(engine: Engine, ref: dict) -> None:
    bad = csv_bytes([["L1", "A"]], header=["Lead ID", "Customer Name"])
    with pytest.raises(ValidationError), session_scope(engine) as s:
        import_leads(s, ref["ops"], oem_id=ref["tata_id"], filename="bad.csv", content=bad)
    with session_scope(engine) as s:
        assert s.execute(select(func.count(LeadImport.id))).scalar_one() == 0


@pytest.mark.parametrize("role", ["field_engineer", "oem_viewer"])
def test_roles_without_lead_import_are_refused(engine: Engine, ref: dict, role: str) -> None:
    actor = ref["engineer"] if role == "field_engineer" else ref["tata_viewer"]
    with pytest.raises(PermissionDenied), session_scope(engine) as s:
        import_leads(s, actor, oem_id=ref["tata_id"], filename="a.csv", content=csv_bytes([]))
    with session_scope(engine) as s:
        assert s.execute(select(func.count(LeadImport.id))).scalar_one() == 0


@pytest.mark.slow
def test_ten_thousand_rows_in_one_go(engine: Engine, ref: dict) -> None:
    n = 10_000
    content = csv_bytes(generated_rows(n))
    started = time.perf_counter()
    with session_scope(engine) as s:
        result = import_leads(
            s, ref["ops"], oem_id=ref["mg_id"], filename="big.csv", content=content
        )
    elapsed = time.perf_counter() - started
    assert result.errors == ()
    assert (result.total, result.imported, result.rejected) == (n, n, 0)
    assert elapsed < 60, f"10k-row import took {elapsed:.1f}s"
    with session_scope(engine) as s:
        count = s.execute(
            select(func.count(Lead.id)).where(Lead.lead_import_id == result.lead_import_id)
        ).scalar_one()
        assert count == n
        refs = s.execute(
            select(func.count(func.distinct(Lead.ref))).where(Lead.oem_id == ref["mg_id"])
        ).scalar_one()
        assert refs == n + 1


def test_xlsx_with_blank_leading_rows_and_workbook_api(engine: Engine, ref: dict) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append([])  # row 1 blank: header is row 2
    ws.append(HEADER)
    ws.append(
        ["Y-1", "Lead Y", "98450 12121", "", "addr", "Bengaluru", "562157", "", "2026-01-05", ""]
    )
    ws.append(
        ["Y-2", "Lead Z", "98450 12122", "", "addr", "Bengaluru", "560001", "", "someday", ""]
    )
    buf = io.BytesIO()
    wb.save(buf)
    with session_scope(engine) as s:
        result = import_leads(
            s, ref["ops"], oem_id=ref["tata_id"], filename="odd.xlsx", content=buf.getvalue()
        )
    assert result.imported == 1
    assert [(e.row, e.field) for e in result.errors] == [(4, "received_at")]
