"""Benchmark: allocation throughput on PostgreSQL (seed 004 / issue 4).

Measures ``domain.procurement.allocations.allocate`` (the full command: permission, validation,
installation lock, conditional stock ``UPDATE`` through the ledger, allocation + movement +
audit rows, commit) with ``--threads`` threads on

* **one hot row**: every thread allocates 1 unit of the same material in the same zone;
* **100 rows**: each attempt picks one of ``--rows`` materials at random (seeded);

against a **bare SQL baseline** measured in the same run, with the same threads and the same
rows: a loop of ``UPDATE material_stock SET quantity_available = quantity_available - 1
WHERE id = %s AND quantity_available >= 1``, one committed transaction per update, on plain
psycopg connections (no ORM, no ledger, no allocation row). The ratio command / bare shows
what the command's bookkeeping costs over the database's own row-lock throughput.

Every measurement runs for ``--seconds`` after a short warm-up; stock is large enough never to
run out. The command threads draw from disjoint installations (already ``material_pending``),
so the only shared lock is the stock row, as in the baseline. At the end the ledger is checked
(stock == sum of movements) and the bare decrements are accounted for.

Prints ONE JSON document on stdout (progress on stderr).

Usage:
    .venv/bin/python -m bench.allocation_bench --threads 16 --seconds 8
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import domain.models  # noqa: E402,F401
from db.base import Base  # noqa: E402
from db.engine import make_engine, session_scope  # noqa: E402
from domain.accounts.models import AppUser, Oem, Zone  # noqa: E402
from domain.actor import Actor  # noqa: E402
from domain.installations.models import Installation  # noqa: E402
from domain.leads.models import Lead  # noqa: E402
from domain.procurement.allocations import allocate  # noqa: E402
from domain.procurement.ledger import InsufficientStock  # noqa: E402
from domain.procurement.models import Material, MaterialStock, StockMovement  # noqa: E402
from domain.procurement.stock_queries import ledger_mismatches  # noqa: E402
from domain.surveys.models import Survey  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", os.environ.get("TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
)
OPENING = 100_000_000


def log(msg: str) -> None:
    """Progress to stderr (stdout carries only the JSON document)."""
    print(msg, file=sys.stderr, flush=True)


def populate(engine: Engine, *, rows: int, jobs: int) -> dict[str, Any]:
    """Schema, one zone, ``rows`` materials with a big opening stock, ``jobs`` installations."""
    Base.metadata.create_all(engine)
    now = datetime.now(UTC)
    with session_scope(engine) as s:
        zone = Zone(code="BEN", name="Bench zone", state="KARNATAKA")
        oem = Oem(
            code="BOEM",
            name="Bench OEM",
            contact_email="bench@example.in",
            sla_survey_days=3,
            sla_install_days=7,
            required_evidence=[],
        )
        user = AppUser(
            username="bench-buyer",
            full_name="Bench Buyer",
            email="bench-buyer@example.in",
            role="procurement",
            password_hash="x",
        )
        s.add_all([zone, oem, user])
        s.flush()
        materials = [
            Material(name=f"Item {i}", sku=f"BEN-{i:04d}", category="misc", unit="piece")
            for i in range(rows)
        ]
        s.add_all(materials)
        s.flush()
        stock = [
            MaterialStock(
                id=uuid.uuid4(),
                material_id=m.id,
                zone_id=zone.id,
                quantity_available=OPENING,
                reorder_level=5,
                version=1,
            )
            for m in materials
        ]
        s.add_all(stock)
        s.flush()
        s.add_all(
            StockMovement(
                material_stock_id=r.id,
                kind="receipt",
                quantity_delta=OPENING,
                reason="bench opening",
                created_at=now,
            )
            for r in stock
        )
        installations = []
        for n in range(jobs):
            lead = Lead(
                ref=f"LEAD-2026-{n:05d}",
                oem_id=oem.id,
                oem_lead_ref=f"B-{n}",
                customer_name=f"Bench {n}",
                phone=f"+9198000{n:05d}",
                address="1 Bench Road",
                city="Bengaluru",
                pincode="560001",
                zone_id=zone.id,
                received_at=now,
                status="installation_scheduled",
                source="manual",
            )
            s.add(lead)
            s.flush()
            survey = Survey(
                ref=f"SUR-2026-{n:05d}",
                lead_id=lead.id,
                survey_date=date(2026, 11, 1),
                time_slot="09-12",
                status="reviewed_approved",
            )
            s.add(survey)
            s.flush()
            inst = Installation(
                ref=f"INS-2026-{n:05d}",
                survey_id=survey.id,
                lead_id=lead.id,
                status="material_pending",
                material_ready=False,
                customer_confirmed=False,
            )
            s.add(inst)
            s.flush()
            installations.append(inst.id)
        return {
            "actor": Actor(user_id=user.id, username=user.username, role="procurement"),
            "materials": [m.id for m in materials],
            "stock": [r.id for r in stock],
            "installations": installations,
        }


def run_threads(threads: int, seconds: float, op: Callable[[int, random.Random], bool]) -> dict:
    """Run ``op(thread_no, rng)`` in a loop on each thread for ``seconds``; ops/s."""
    stop = threading.Event()
    start = threading.Barrier(threads + 1)
    counts = [0] * threads
    errors: list[str] = []

    def worker(n: int) -> None:
        rng = random.Random(7_919 * (n + 1))
        start.wait()
        while not stop.is_set():
            try:
                if op(n, rng):
                    counts[n] += 1
            except Exception as e:  # noqa: BLE001 - reported in the JSON
                errors.append(repr(e))
                return

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - t0
    return {
        "ops": sum(counts),
        "seconds": round(elapsed, 2),
        "ops_per_s": round(sum(counts) / elapsed, 1),
        "errors": errors[:3],
    }


def measure(engine: Engine, url: str, data: dict, args: argparse.Namespace) -> dict[str, Any]:
    actor: Actor = data["actor"]
    jobs: list[uuid.UUID] = data["installations"]
    materials: list[uuid.UUID] = data["materials"]
    stock: list[uuid.UUID] = data["stock"]
    per_thread = len(jobs) // args.threads
    counters = [0] * args.threads

    def command(pick: Callable[[random.Random], int]) -> Callable[[int, random.Random], bool]:
        def op(n: int, rng: random.Random) -> bool:
            counters[n] += 1
            job = jobs[n * per_thread + counters[n] % per_thread]
            try:
                with session_scope(engine) as s:
                    allocate(
                        s, actor, installation_id=job, material_id=materials[pick(rng)], quantity=1
                    )
            except InsufficientStock:
                return False
            return True

        return op

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conns = [psycopg.connect(conninfo) for _ in range(args.threads)]
    sql = (
        "UPDATE material_stock SET quantity_available = quantity_available - 1, "
        "version = version + 1 WHERE id = %s AND quantity_available >= 1"
    )

    def bare(pick: Callable[[random.Random], int]) -> Callable[[int, random.Random], bool]:
        def op(n: int, rng: random.Random) -> bool:
            conn = conns[n]
            with conn.cursor() as cur:
                cur.execute(sql, (stock[pick(rng)],), prepare=True)
                ok = cur.rowcount == 1
            conn.commit()
            return ok

        return op

    def hot(rng: random.Random) -> int:
        return 0

    def spread(rng: random.Random) -> int:
        return rng.randrange(len(stock))

    results: dict[str, Any] = {}
    bare_total = 0
    for name, pick in (("hot_row", hot), (f"{len(stock)}_rows", spread)):
        log(f"  {name}: warm-up")
        run_threads(args.threads, 1.0, command(pick))
        bare_total += run_threads(args.threads, 1.0, bare(pick))["ops"]
        log(f"  {name}: allocate() x {args.threads} threads, {args.seconds}s")
        cmd = run_threads(args.threads, args.seconds, command(pick))
        log(f"    {cmd['ops_per_s']} ops/s")
        log(f"  {name}: bare conditional UPDATE x {args.threads} threads, {args.seconds}s")
        raw = run_threads(args.threads, args.seconds, bare(pick))
        log(f"    {raw['ops_per_s']} ops/s")
        bare_total += raw["ops"]
        results[name] = {
            "allocate": cmd,
            "bare_update": raw,
            "ratio_allocate_to_bare": round(cmd["ops_per_s"] / raw["ops_per_s"], 3)
            if raw["ops_per_s"]
            else None,
        }
    for c in conns:
        c.close()
    with session_scope(engine, readonly=True) as s:
        mismatched = len(ledger_mismatches(s))
    results["checks"] = {
        # the bare loop bypasses the ledger on purpose: exactly its decrements differ
        "rows_differing_from_ledger": mismatched,
        "bare_decrements": bare_total,  # warm-ups included
        "ledger_gap_units": _ledger_gap(engine),
    }
    results["checks"]["consistent"] = results["checks"]["ledger_gap_units"] == bare_total
    return results


def _ledger_gap(engine: Engine) -> int:
    with engine.connect() as c:
        return int(
            c.execute(
                text(
                    "SELECT COALESCE(SUM(m.total - s.quantity_available), 0) FROM material_stock s "
                    "JOIN (SELECT material_stock_id, SUM(quantity_delta) AS total "
                    "FROM stock_movement GROUP BY material_stock_id) m "
                    "ON m.material_stock_id = s.id"
                )
            ).scalar_one()
        )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse options, run on a private PostgreSQL database, print and return the JSON."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--rows", type=int, default=100, help="stock rows of the spread scenario")
    p.add_argument("--seconds", type=float, default=8.0, help="duration of each measurement")
    p.add_argument("--jobs", type=int, default=320, help="installations (split over threads)")
    args = p.parse_args(argv)
    name = f"chargeops_allocbench_{os.getpid()}"
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=False)
    doc: dict[str, Any] = {
        "benchmark": "allocation_bench",
        "database": "postgresql",
        "threads": args.threads,
        "rows": args.rows,
        "seconds_per_measurement": args.seconds,
        "cpus": os.cpu_count(),
    }
    try:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - no server: say so in the JSON
        doc["skipped"] = f"PostgreSQL unreachable: {exc}"
        print(json.dumps(doc, indent=2))
        return doc
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url, pool_size=args.threads + 4, max_overflow=4)
    try:
        log(f"populating {name}: {args.rows} stock rows, {args.jobs} installations")
        data = populate(engine, rows=args.rows, jobs=args.jobs)
        doc["results"] = measure(engine, url, data, args)
    finally:
        engine.dispose()
        with admin.connect() as c:
            c.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
    print(json.dumps(doc, indent=2))
    return doc


if __name__ == "__main__":
    main()
