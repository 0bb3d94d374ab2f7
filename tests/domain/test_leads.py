"""Lead commands and queries on SQLite and PostgreSQL: create/cancel, list, detail, isolation."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from db.engine import session_scope
from domain.accounts.models import AuditEvent
from domain.accounts.queries import list_zones
from domain.calendar import local_zone
from domain.errors import NotFound, PermissionDenied, TransitionError, ValidationError
from domain.installations.models import Installation
from domain.leads import queries
from domain.leads.importer import import_leads
from domain.leads.models import Lead
from domain.leads.service import cancel_lead, create_lead
from domain.leads.validation import normalise_phone, parse_received_at
from domain.surveys.models import Survey
from tests.fixtures.lead_sheets import (
    DB_PHONE_TATA,
    csv_bytes,
    generated_rows,
    seed_reference,
    today_local,
)


@pytest.fixture
def ref(engine: Engine) -> dict:
    with session_scope(engine) as s:
        return seed_reference(s)


def _form(**overrides):  # type: ignore[no-untyped-def]
    values = {
        "oem_lead_ref": "F-1",
        "customer_name": "Form Customer",
        "phone": "98450 70001",
        "email": "form@example.com",
        "address": "3 Church Street",
        "city": "Bengaluru",
        "pincode": "560001",
        "vehicle_model": "Nexon EV",
        "requested_charger_type": "7.2kw ac",
        "received_at": "01/11/2026 10:30",
    }
    values.update(overrides)
    return values


def test_create_lead_stores_normalised_values(engine: Engine, ref: dict) -> None:
    with session_scope(engine) as s:
        dto = create_lead(s, ref["ops"], oem_id=ref["tata_id"], **_form())
    assert dto.phone == "+919845070001"
    assert dto.requested_charger_type == "7.2kW AC"
    assert dto.zone_id == ref["zone_id"]
    assert dto.source == "manual" and dto.status == "new"
    assert dto.ref.startswith("LEAD-2026-")
    assert dto.received_at == datetime(2026, 11, 1, 5, 0, tzinfo=UTC)
    with session_scope(engine) as s:
        event = s.execute(
            select(AuditEvent).where(
                AuditEvent.action == "lead.create", AuditEvent.entity_id == str(dto.id)
            )
        ).scalar_one()
        assert event.actor_username == ref["ops"].username


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"phone": "12345"}, "phone", "not a valid Indian"),
        ({"pincode": "56001"}, "pincode", "six digits"),
        ({"pincode": "999999"}, "pincode", "does not exist"),
        ({"pincode": "600001"}, "pincode", "outside every service zone"),
        ({"email": "nobody@"}, "email", "not valid"),
        ({"customer_name": "  "}, "customer_name", "required"),
        ({"address": ""}, "address", "required"),
        ({"received_at": "2099-01-01"}, "received_at", "future"),
        ({"received_at": "yesterday"}, "received_at", "not a date"),
        ({"requested_charger_type": "50kW DC"}, "requested_charger_type", "not one of"),
        ({"oem_lead_ref": "T-OLD-1"}, "oem_lead_ref", "already exists"),
        ({"phone": DB_PHONE_TATA, "received_at": date.today()}, "phone", "within 90 days"),
    ],
)
def test_create_lead_validation_names_the_field(
    engine: Engine, ref: dict, overrides: dict, field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as exc, session_scope(engine) as s:
        create_lead(s, ref["ops"], oem_id=ref["tata_id"], **_form(**overrides))
    assert field in exc.value.errors
    assert words in exc.value.errors[field]


def test_create_lead_reports_every_bad_field_at_once(engine: Engine, ref: dict) -> None:
    with pytest.raises(ValidationError) as exc, session_scope(engine) as s:
        create_lead(s, ref["ops"], oem_id=ref["tata_id"], **_form(phone="", city="", pincode="abc"))
    assert set(exc.value.errors) == {"phone", "city", "pincode"}


def test_create_lead_permission_and_unknown_oem(engine: Engine, ref: dict) -> None:
    with pytest.raises(PermissionDenied), session_scope(engine) as s:
        create_lead(s, ref["tata_viewer"], oem_id=ref["tata_id"], **_form())
    with pytest.raises(NotFound), session_scope(engine) as s:
        create_lead(s, ref["ops"], oem_id=uuid.uuid4(), **_form())


def test_same_phone_other_oem_and_cancelled_leads_do_not_block(engine: Engine, ref: dict) -> None:
    with session_scope(engine) as s:
        mg = create_lead(s, ref["ops"], oem_id=ref["mg_id"], **_form(phone=DB_PHONE_TATA))
        assert mg.phone == DB_PHONE_TATA
        cancel_lead(s, ref["ops"], lead_id=ref["old_lead_id"], reason="customer withdrew")
    with session_scope(engine) as s:
        again = create_lead(s, ref["ops"], oem_id=ref["tata_id"], **_form(phone=DB_PHONE_TATA))
    assert again.oem_id == ref["tata_id"]


def test_cancel_lead(engine: Engine, ref: dict) -> None:
    with pytest.raises(ValidationError) as exc, session_scope(engine) as s:
        cancel_lead(s, ref["ops"], lead_id=ref["old_lead_id"], reason="  ")
    assert "reason" in exc.value.errors
    with pytest.raises(PermissionDenied), session_scope(engine) as s:
        cancel_lead(s, ref["engineer"], lead_id=ref["old_lead_id"], reason="x")
    with pytest.raises(NotFound), session_scope(engine) as s:
        cancel_lead(s, ref["ops"], lead_id=uuid.uuid4(), reason="x")
    with session_scope(engine) as s:
        dto = cancel_lead(s, ref["ops"], lead_id=ref["old_lead_id"], reason="duplicate booking")
    assert dto.status == "cancelled" and dto.cancel_reason == "duplicate booking"
    with pytest.raises(TransitionError), session_scope(engine) as s:
        cancel_lead(s, ref["ops"], lead_id=ref["old_lead_id"], reason="again")
    with session_scope(engine) as s:
        assert s.get(Lead, ref["old_lead_id"]).status == "cancelled"
        assert (
            s.execute(select(AuditEvent).where(AuditEvent.action == "lead.cancel")).scalar_one()
        ).before == {"status": "new", "cancel_reason": None}


def test_cancel_refused_while_a_survey_is_open(engine: Engine, ref: dict) -> None:
    with session_scope(engine) as s:
        s.add(
            Survey(
                ref="SUR-2026-00001",
                lead_id=ref["old_lead_id"],
                survey_date=date(2026, 11, 25),
                time_slot="morning",
                status="scheduled",
            )
        )
    with pytest.raises(TransitionError, match="SUR-2026-00001"), session_scope(engine) as s:
        cancel_lead(s, ref["ops"], lead_id=ref["old_lead_id"], reason="x")


def _import_many(engine: Engine, ref: dict, n: int = 120) -> None:
    with session_scope(engine) as s:
        result = import_leads(
            s,
            ref["ops"],
            oem_id=ref["tata_id"],
            filename="many.csv",
            content=csv_bytes(generated_rows(n)),
        )
    assert result.imported == n


def test_list_leads_paginates_in_sql_newest_first(engine: Engine, ref: dict) -> None:
    _import_many(engine, ref)
    with session_scope(engine, readonly=True) as s:
        first = queries.list_leads(s, ref["admin"], oem_id=ref["tata_id"], page_size=50)
        last = queries.list_leads(s, ref["admin"], oem_id=ref["tata_id"], page=3, page_size=50)
        everything = queries.list_leads(s, ref["admin"], page_size=500)
    assert first.total == 121 and first.pages == 3
    assert len(first.rows) == 50 and len(last.rows) == 21
    received = [r.received_at for r in first.rows]
    assert received == sorted(received, reverse=True)
    assert first.rows[-1].received_at >= last.rows[0].received_at
    assert everything.total == 122  # + MG's lead
    assert {r.oem_code for r in everything.rows} == {"TATA", "MG"}
    frame = first.to_frame()
    assert list(frame.columns)[:3] == ["id", "ref", "oem_lead_ref"]
    assert len(frame) == 50


def test_list_leads_filters(engine: Engine, ref: dict) -> None:
    _import_many(engine, ref)
    t = today_local()
    with session_scope(engine) as s:
        cancel_lead(s, ref["ops"], lead_id=ref["old_lead_id"], reason="test")
    with session_scope(engine, readonly=True) as s:
        admin = ref["admin"]
        by_search = queries.list_leads(s, admin, search="g-000007")
        assert [r.oem_lead_ref for r in by_search.rows] == ["G-000007"]
        by_phone = queries.list_leads(s, admin, search="98000 00012")
        assert [r.oem_lead_ref for r in by_phone.rows] == ["G-000012"]
        by_status = queries.list_leads(s, admin, status="cancelled")
        assert [r.oem_lead_ref for r in by_status.rows] == ["T-OLD-1"]
        today_only = queries.list_leads(s, admin, received_from=t, received_to=t)
        # generated rows i % 60 == 0 are received today (i = 0, 60)
        assert {r.oem_lead_ref for r in today_only.rows} == {"G-000000", "G-000060"}
        week = queries.list_leads(
            s, admin, oem_id=ref["tata_id"], received_from=t - timedelta(days=6), received_to=t
        )
        assert week.total == 14  # two generated rows per day for 7 days
        assert queries.list_leads(s, admin, zone_id=ref["zone_id"]).total == 122
        assert queries.list_leads(s, admin, zone_id=uuid.uuid4()).total == 0
        assert queries.list_leads(s, admin, search="100%_").total == 0
        with pytest.raises(ValidationError):
            queries.list_leads(s, admin, status="bogus")
        with pytest.raises(ValidationError):
            queries.list_leads(s, admin, page=0)


def test_oem_viewer_sees_only_its_own_oem(engine: Engine, ref: dict) -> None:
    _import_many(engine, ref, n=10)
    with session_scope(engine, readonly=True) as s:
        mg_viewer, tata_viewer = ref["mg_viewer"], ref["tata_viewer"]
        mine = queries.list_leads(s, mg_viewer)
        assert mine.total == 1 and {r.oem_code for r in mine.rows} == {"MG"}
        # Asking for another OEM explicitly yields nothing, never the other OEM's rows.
        assert queries.list_leads(s, mg_viewer, oem_id=ref["tata_id"]).total == 0
        assert queries.list_leads(s, mg_viewer, search="T-OLD-1").total == 0
        assert queries.list_leads(s, tata_viewer).total == 11
        # By id: another OEM's lead is NotFound (not PermissionDenied), own lead is visible.
        with pytest.raises(NotFound):
            queries.get_lead(s, mg_viewer, ref["old_lead_id"])
        assert queries.get_lead(s, mg_viewer, ref["mg_lead_id"]).oem_code == "MG"
        old_ref = queries.get_lead(s, ref["admin"], ref["old_lead_id"]).lead.ref
        with pytest.raises(NotFound):
            queries.find_lead_id(s, mg_viewer, old_ref)
        assert queries.find_lead_id(s, tata_viewer, old_ref) == ref["old_lead_id"]
        assert [o.code for o in queries.list_oems_for(s, mg_viewer)] == ["MG"]
        assert {o.code for o in queries.list_oems_for(s, ref["admin"])} == {"MG", "TATA"}


def test_get_lead_detail_with_related_work(engine: Engine, ref: dict) -> None:
    with session_scope(engine) as s:
        survey = Survey(
            ref="SUR-2026-00007",
            lead_id=ref["old_lead_id"],
            survey_date=date(2026, 10, 10),
            time_slot="morning",
            status="reviewed_approved",
        )
        s.add(survey)
        s.flush()
        s.add(
            Installation(
                ref="INS-2026-00003",
                survey_id=survey.id,
                lead_id=ref["old_lead_id"],
                status="planned",
                scheduled_date=date(2026, 11, 28),
            )
        )
    with session_scope(engine, readonly=True) as s:
        detail = queries.get_lead(s, ref["tata_viewer"], ref["old_lead_id"])
        with pytest.raises(NotFound):
            queries.get_lead(s, ref["admin"], uuid.uuid4())
    assert (detail.oem_name, detail.zone_name) == ("Tata Motors", "Bengaluru")
    assert [(r.ref, r.status) for r in detail.surveys] == [("SUR-2026-00007", "reviewed_approved")]
    assert [(r.ref, r.status, r.on) for r in detail.installations] == [
        ("INS-2026-00003", "planned", date(2026, 11, 28))
    ]
    assert detail.lead.oem_lead_ref == "T-OLD-1"
    with pytest.raises(TransitionError, match="INS-2026-00003"), session_scope(engine) as s:
        cancel_lead(s, ref["ops"], lead_id=ref["old_lead_id"], reason="x")


def test_list_zones_and_permissions(engine: Engine, ref: dict) -> None:
    with session_scope(engine, readonly=True) as s:
        assert [z.code for z in list_zones(s, active_only=False)] == ["BLR"]
        engineer = ref["engineer"]  # lead.read is for every role
        assert queries.list_leads(s, engineer).total == 2


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("98450 12345", "+919845012345"),
        ("+91-98450-12345", "+919845012345"),
        ("09845012345", "+919845012345"),
        ("919845012345", "+919845012345"),
        ("9845012345.0", "+919845012345"),
        ("9.845012345E9", "+919845012345"),
        (9845012345.0, "+919845012345"),
    ],
)
def test_phone_normalisation(raw: object, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["21/11/2025", "21-11-2025", "2025-11-21", "21 Nov 2025", "21 November 2025", "21.11.2025"],
)
def test_date_formats_are_local_day_first(raw: str) -> None:
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    got = parse_received_at(raw, now=now)
    assert got == datetime(2025, 11, 21, tzinfo=local_zone()).astimezone(UTC)
    assert got.tzinfo is not None and got.utcoffset() == timedelta(0)


def test_ambiguous_slash_dates_are_day_first() -> None:
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    got = parse_received_at("03/04/2026 18:45", now=now)
    assert got == datetime(2026, 4, 3, 13, 15, tzinfo=UTC)
