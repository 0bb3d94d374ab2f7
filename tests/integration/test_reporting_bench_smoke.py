"""Smoke test of bench/reporting_bench.py: the bulk builder and the three KPI variants (a).

A tiny data set (2,000 leads over 5 years) is loaded with the benchmark's own loader on SQLite
and PostgreSQL; the domain's SLA/revenue sections, the hand-written statement and the pandas
variant must agree, and the loaded rows must read back through the ORM.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, func, select

from bench import reporting_bench as rb
from db.engine import session_scope
from domain.installations.models import Installation
from domain.leads.models import Lead
from domain.reporting.models import ClosurePack

TODAY = date(2026, 11, 18)


@pytest.fixture(scope="module")
def data() -> tuple[rb.Rows, rb.Rows]:
    return rb.generate(2_000, seed=7, today=TODAY)


def test_builder_and_kpi_variants_agree(engine: Engine, data: tuple[rb.Rows, rb.Rows]) -> None:
    small, big = data
    counts = rb.build(engine, small, big)
    assert counts["lead"] == 2_000
    assert 0 < counts["closure_pack"] < counts["installation"] < counts["lead"]

    with session_scope(engine, readonly=True) as s:
        # raw-loaded values read back with the ORM's types (UUIDs, aware datetimes, dates)
        lead = s.execute(select(Lead).order_by(Lead.ref).limit(1)).scalar_one()
        assert lead.received_at.tzinfo is not None
        done = s.execute(
            select(Installation).where(Installation.completed_at.is_not(None)).limit(1)
        ).scalar_one()
        assert done.lead_id is not None and done.scheduled_date is not None
        submitted = s.execute(
            select(func.count())
            .select_from(ClosurePack)
            .where(ClosurePack.submitted_to_oem_at.is_not(None))
        ).scalar_one()
        assert submitted > 0

    first, last = date(2021, 11, 1), date(2026, 11, 1)
    results = {}
    for name, fn in (
        ("domain", rb.kpi_domain),
        ("handwritten", rb.kpi_handwritten),
        ("pandas", rb.kpi_pandas),
    ):
        with session_scope(engine, readonly=True) as s:
            results[name] = fn(s, rb.MANAGER, first, last, TODAY)
    domain = results["domain"]
    completed, met = domain["total"]
    assert completed > 1_000 and 0 < met < completed  # some breaches, some met
    assert any(v[2] > 0 for v in domain["revenue"].values())  # unpriced completions exist
    assert results["handwritten"] == domain
    assert results["pandas"] == domain


def test_variants_detect_a_difference(engine: Engine, data: tuple[rb.Rows, rb.Rows]) -> None:
    """The comparison can fail: a changed completion moves the domain and the baselines alike,
    while a stale result no longer equals them."""
    small, big = data
    rb.build(engine, small, big)
    first, last = date(2021, 11, 1), date(2026, 11, 1)
    with session_scope(engine, readonly=True) as s:
        before = rb.kpi_domain(s, rb.MANAGER, first, last, TODAY)
    with session_scope(engine) as s:
        inst = s.execute(
            select(Installation)
            .where(Installation.install_level == "basic")
            .order_by(Installation.ref)
            .limit(1)
        ).scalar_one()
        inst.install_level = "premium"
    with session_scope(engine, readonly=True) as s:
        after = rb.kpi_domain(s, rb.MANAGER, first, last, TODAY)
        hand = rb.kpi_handwritten(s, rb.MANAGER, first, last, TODAY)
        pand = rb.kpi_pandas(s, rb.MANAGER, first, last, TODAY)
    assert after != before
    assert hand == after and pand == after
