"""Human-readable refs: format, per-year counters, and concurrency safety."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, select

from db.engine import session_scope
from domain.accounts.models import RefCounter
from domain.refs import format_ref, next_ref, next_refs


def test_refs_are_sequential_per_prefix_and_year(engine: Engine) -> None:
    with session_scope(engine) as s:
        assert next_ref(s, "LEAD", 2026) == "LEAD-2026-00001"
        assert next_ref(s, "LEAD", 2026) == "LEAD-2026-00002"
        assert next_ref(s, "INS", 2026) == "INS-2026-00001"
        assert next_ref(s, "LEAD", 2025) == "LEAD-2025-00001"
        assert next_refs(s, "LEAD", 3, 2026) == [format_ref("LEAD", 2026, n) for n in (3, 4, 5)]


def test_rolled_back_transaction_gives_its_number_back(engine: Engine) -> None:
    with session_scope(engine) as s:
        next_ref(s, "SVC", 2026)
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        next_ref(s, "SVC", 2026)
        raise RuntimeError("abort")
    with session_scope(engine) as s:
        assert next_ref(s, "SVC", 2026) == "SVC-2026-00002"


def test_unknown_prefix_is_refused(engine: Engine) -> None:
    with session_scope(engine) as s, pytest.raises(ValueError, match="prefix"):
        next_ref(s, "NOPE", 2026)


@pytest.mark.parametrize("threads,per_thread", [(8, 25)])
def test_concurrent_refs_have_no_duplicates_and_no_gaps(
    engine: Engine, threads: int, per_thread: int
) -> None:
    """8 threads, each in its own transactions, take refs at once: all distinct, 1..N."""
    got: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                with session_scope(engine) as s:
                    ref = next_ref(s, "CP", 2026)
                with lock:
                    got.append(ref)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=120)
    assert errors == []
    total = threads * per_thread
    assert len(got) == total
    assert sorted(got) == [format_ref("CP", 2026, n) for n in range(1, total + 1)]
    with session_scope(engine) as s:
        counter = s.scalars(
            select(RefCounter).where(RefCounter.prefix == "CP", RefCounter.year == 2026)
        ).one()
        assert counter.last_value == total
