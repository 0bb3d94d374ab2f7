"""The ``business_day`` calendar table (domain.business_calendar), on SQLite and PostgreSQL.

The SLA queries count business days as ``ordinal(completed) - ordinal(received)`` in this
table; these tests hold it to ``domain.calendar.business_days_between`` (the definition:
business days after the start up to and including the end, Monday-Saturday minus the Indian
public holidays of the zone's state) for thousands of date pairs over several years, and check
the fill (idempotent, extended at either end without touching existing rows, national
calendar for zones without a state), the coverage check the queries run, and the migration.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session

from db.engine import make_engine, session_scope
from db.migrate import downgrade, upgrade
from domain.business_calendar import (
    NO_SUBDIV,
    BusinessDay,
    calendar_covers,
    calendar_subdivs,
    ensure_business_calendar,
    require_business_calendar,
)
from domain.calendar import business_days_between, is_business_day
from tests.factories import make_oem, make_zone
from tests.integration.test_migrations import empty_db_url  # noqa: F401  (fixture)

SUBDIVS = [None, "KA", "MH", "DL"]
FIRST, LAST = date(2024, 1, 1), date(2027, 12, 31)


def _rows(s: Session, key: str) -> dict[date, tuple[bool, int, date]]:
    return {
        r.day: (r.business, r.ordinal, r.month)
        for r in s.scalars(select(BusinessDay).where(BusinessDay.subdiv == key))
    }


def _between(rows: dict[date, tuple[bool, int, date]], a: date, b: date) -> int:
    """What an SLA query computes: the difference of the ordinals (<= 0 counts as 0)."""
    return max(0, rows[b][1] - rows[a][1])


def test_ordinals_match_business_days_between(engine: Engine) -> None:
    with session_scope(engine) as s:
        added = ensure_business_calendar(s, first=FIRST, through=LAST, subdivs=SUBDIVS)
    days = (LAST - FIRST).days + 1
    assert added == len(SUBDIVS) * days
    rng = random.Random(20261121)
    with session_scope(engine, readonly=True) as s:
        for subdiv in SUBDIVS:
            rows = _rows(s, subdiv or NO_SUBDIV)
            assert len(rows) == days and min(rows) == FIRST and max(rows) == LAST
            for d, (business, _ordinal, month) in rows.items():
                assert business == is_business_day(d, subdiv)
                assert month == d.replace(day=1)
            pairs = [
                (FIRST + timedelta(days=rng.randrange(days)), timedelta(days=rng.randrange(60)))
                for _ in range(1500)
            ]
            pairs += [
                (date(2026, 10, 1), timedelta(days=4)),  # across Gandhi Jayanti (Fri 10-02)
                (date(2026, 10, 2), timedelta(days=3)),  # starting on the holiday
                (date(2026, 10, 4), timedelta(days=1)),  # starting on a Sunday
                (date(2026, 11, 9), timedelta(days=2)),  # 11-10: MH holiday, not KA
                (date(2026, 5, 5), timedelta(days=0)),  # same day
            ]
            for a, gap in pairs:
                b = min(a + gap, LAST)
                assert _between(rows, a, b) == business_days_between(a, b, subdiv), (a, b)
                # reversed: business_days_between gives 0, and so must the ordinals
                assert _between(rows, b, a) == 0 == business_days_between(b, a, subdiv)
        # the state calendars really differ from the national one (else the test proves little)
        national, ka, mh = _rows(s, NO_SUBDIV), _rows(s, "KA"), _rows(s, "MH")
        assert _between(mh, date(2026, 11, 2), date(2026, 11, 11)) == 7  # 11-10 MH holiday
        assert _between(ka, date(2026, 11, 2), date(2026, 11, 11)) == 8
        assert sum(b for b, _o, _m in ka.values()) != sum(b for b, _o, _m in national.values())


def test_fill_is_idempotent_and_extends_at_both_ends(engine: Engine) -> None:
    with session_scope(engine) as s:
        assert (
            ensure_business_calendar(
                s, first=date(2026, 1, 1), through=date(2026, 12, 31), subdivs=["KA"]
            )
            == 365
        )
    with session_scope(engine) as s:
        assert (
            ensure_business_calendar(
                s, first=date(2026, 3, 1), through=date(2026, 12, 31), subdivs=["KA"]
            )
            == 0
        )
        before = _rows(s, "KA")
    # earlier and later years (and the gap up to 2028-06-30) without changing a 2026 row
    with session_scope(engine) as s:
        added = ensure_business_calendar(
            s, first=date(2024, 7, 1), through=date(2028, 6, 30), subdivs=["KA"]
        )
    with session_scope(engine, readonly=True) as s:
        after = _rows(s, "KA")
    assert added == len(after) - 365 == (date(2028, 6, 30) - date(2024, 7, 1)).days + 1 - 365
    assert {d: after[d] for d in before} == before
    assert sorted(after) == [date(2024, 7, 1) + timedelta(days=i) for i in range(len(after))]
    for a, b in [
        (date(2024, 7, 1), date(2028, 6, 30)),
        (date(2025, 12, 20), date(2026, 1, 10)),  # across the first fill's start
        (date(2026, 12, 24), date(2027, 1, 5)),  # across its end
        (date(2024, 12, 31), date(2025, 1, 1)),
    ]:
        assert _between(after, a, b) == business_days_between(a, b, "KA"), (a, b)
    with pytest.raises(ValueError), session_scope(engine) as s:
        ensure_business_calendar(s, first=date(2026, 2, 1), through=date(2026, 1, 1))


def test_zone_subdivisions_and_unknown_state(engine: Engine) -> None:
    """Every zone's subdivision gets a calendar, a zone without a state the national one
    (key ''), and a subdivision unknown to ``holidays`` national holidays too."""
    with session_scope(engine) as s:
        make_zone(s, "BLR", subdiv="KA")
        make_zone(s, "XXX", "Nowhere", "NOWHERE", ("NOWHERE",), subdiv=None)
        make_zone(s, "ZZZ", "Unknown", "UNKNOWN", ("UNKNOWN",), subdiv="ZZ")
        assert calendar_subdivs(s) == ["", "KA", "ZZ"]
        ensure_business_calendar(s, first=date(2026, 1, 1), through=date(2026, 12, 31))
        national, unknown = _rows(s, NO_SUBDIV), _rows(s, "ZZ")
    assert {d: v[0] for d, v in unknown.items()} == {d: v[0] for d, v in national.items()}
    assert national[date(2026, 10, 2)][0] is False  # Gandhi Jayanti, a Friday
    assert national[date(2026, 10, 3)][0] is True  # Saturday
    assert national[date(2026, 10, 4)][0] is False  # Sunday


def _count(engine: Engine) -> int:
    with session_scope(engine, readonly=True) as s:
        return int(s.execute(select(func.count()).select_from(BusinessDay)).scalar_one())


def test_require_fills_whole_years_once_and_keeps_them_from_a_read_only_scope(
    engine: Engine,
) -> None:
    with session_scope(engine) as s:
        make_zone(s, "BLR", subdiv="KA")
    # A read-only scope that has not queried yet: the fill commits in its own transaction.
    with session_scope(engine, readonly=True) as s:
        span = require_business_calendar(s, first=date(2026, 3, 5), last=date(2026, 4, 1))
        assert span == (date(2026, 3, 5), date(2026, 4, 1))
        assert calendar_covers(
            s, first=date(2026, 1, 1), last=date(2026, 12, 31), subdivs=["", "KA"]
        )
    assert _count(engine) == 2 * 365  # '' and KA, the whole of 2026, kept
    with session_scope(engine, readonly=True) as s:
        require_business_calendar(s, first=date(2026, 6, 1), last=date(2026, 7, 1))
    assert _count(engine) == 2 * 365  # covered: nothing added
    # Inside a transaction the fill joins it (savepoint) and commits with it.
    with session_scope(engine) as s:
        make_zone(s, "MUM", "Mumbai", "MAHARASHTRA", ("MUMBAI",), subdiv="MH")
        require_business_calendar(s, first=date(2026, 6, 1), last=date(2027, 1, 1))
    with session_scope(engine, readonly=True) as s:
        assert calendar_covers(
            s, first=date(2026, 1, 1), last=date(2027, 12, 31), subdivs=["", "KA", "MH"]
        )
        assert not calendar_covers(
            s, first=date(2025, 12, 31), last=date(2026, 1, 1), subdivs=["KA"]
        )


def test_require_covers_every_lead_received_date(engine: Engine) -> None:
    """``lead_dates=True`` widens the span to the earliest and latest lead (local dates)."""
    from domain.leads.models import Lead

    with session_scope(engine) as s:
        zone = make_zone(s, "BLR", subdiv="KA")
        oem = make_oem(s)
        for k, at in enumerate(
            [
                datetime(2022, 12, 31, 19, 0, tzinfo=UTC),  # 2023-01-01 00:30 local
                datetime(2026, 11, 20, 5, 0, tzinfo=UTC),
            ]
        ):
            s.add(
                Lead(
                    ref=f"LEAD-2026-{k:05d}",
                    oem_id=oem.id,
                    oem_lead_ref=f"R{k}",
                    customer_name="C",
                    phone="+919876543210",
                    address="1 MG Road",
                    city="Bengaluru",
                    pincode="560001",
                    zone_id=zone.id,
                    received_at=at,
                    status="new",
                )
            )
    with session_scope(engine, readonly=True) as s:
        span = require_business_calendar(
            s, first=date(2026, 11, 1), last=date(2026, 12, 1), lead_dates=True
        )
    assert span == (date(2023, 1, 1), date(2026, 12, 1))
    with session_scope(engine, readonly=True) as s:
        assert calendar_covers(
            s, first=date(2023, 1, 1), last=date(2026, 12, 31), subdivs=["", "KA"]
        )
        assert not calendar_covers(
            s, first=date(2022, 12, 31), last=date(2023, 1, 1), subdivs=["KA"]
        )


def test_migration_0006_up_and_down(empty_db_url: str) -> None:  # noqa: F811
    upgrade(empty_db_url, "0006")
    eng = make_engine(empty_db_url)
    try:
        insp = inspect(eng)
        assert "business_day" in insp.get_table_names()
        assert insp.get_pk_constraint("business_day")["constrained_columns"] == ["subdiv", "day"]
        with session_scope(eng) as s:
            assert (
                ensure_business_calendar(
                    s, first=date(2026, 1, 1), through=date(2026, 1, 31), subdivs=["KA"]
                )
                == 31
            )
        downgrade(empty_db_url, "0005")
        assert "business_day" not in inspect(eng).get_table_names()
        assert "installation" in inspect(eng).get_table_names()
        upgrade(empty_db_url, "0006")
        assert "business_day" in inspect(eng).get_table_names()
    finally:
        eng.dispose()


def test_migration_0007_covering_indexes_up_and_down(empty_db_url: str) -> None:  # noqa: F811
    def indexes(eng: Engine, table: str) -> dict[str, list[str]]:
        return {
            str(i["name"]): [str(c) for c in i["column_names"]]
            for i in inspect(eng).get_indexes(table)
        }

    upgrade(empty_db_url, "0007")
    eng = make_engine(empty_db_url)
    try:
        assert indexes(eng, "lead")["ix_lead_sla_cover"] == [
            "id",
            "oem_id",
            "zone_id",
            "received_at",
        ]
        assert indexes(eng, "installation")["ix_installation_lead_completed"] == [
            "lead_id",
            "completed_at",
            "install_level",
        ]
        downgrade(empty_db_url, "0006")
        assert "ix_lead_sla_cover" not in indexes(eng, "lead")
        assert "ix_installation_lead_completed" not in indexes(eng, "installation")
        assert "business_day" in inspect(eng).get_table_names()
    finally:
        eng.dispose()
