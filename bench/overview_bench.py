"""Benchmark: KPI overview aggregated in SQL vs the pandas baseline (see bench/README.md).

For each database (SQLite file, PostgreSQL if reachable) and each size (multiples of the demo
data set), build a fresh database, then time ``domain.kpi.queries.overview`` (SQL GROUP BY)
and ``overview_pandas`` (load raw rows, aggregate in pandas): one warm-up call each, then the
median of ``--repeat`` calls. Both results must be equal. Prints ONE JSON document on stdout;
progress goes to stderr. Exit status 1 when any run's figures differ.

Usage:
    .venv/bin/python bench/overview_bench.py --sizes 1,10 --repeat 5 --db sqlite,postgresql
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import domain.models  # noqa: E402,F401
from db.base import Base  # noqa: E402
from db.engine import make_engine, session_scope  # noqa: E402
from domain.accounts.models import AppUser, Oem, OemRate, Zone  # noqa: E402
from domain.actor import Actor  # noqa: E402
from domain.calendar import local_date, local_zone  # noqa: E402
from domain.installations.models import Installation, InstallationReport  # noqa: E402
from domain.kpi.queries import overview, overview_pandas  # noqa: E402
from domain.leads.models import Lead  # noqa: E402
from domain.procurement.models import Material  # noqa: E402
from domain.reporting.models import ClosurePack  # noqa: E402
from domain.surveys.models import Survey, SurveyReport  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", os.environ.get("TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
)
DEMO_LEADS = 1500  # leads at scale 1 for the local generator (about 14 months of demo data)
MANAGER = Actor(user_id=uuid.uuid4(), username="bench-manager", role="manager")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- data


def _local_generator(engine: Engine, *, seed: int, scale: float, today: date) -> None:
    """Bulk-insert leads -> surveys -> installations -> closure packs with realistic shapes.

    ``DEMO_LEADS * scale`` leads over the 420 days before ``today`` across 4 OEMs (rate cards
    that change mid-year) and 6 zones in different states; ~85 % surveyed 1-6 days later,
    ~80 % of those installed 2-12 days after the survey, ~80 % of installations packed and
    submitted 1-7 days later. Statuses follow the timestamps.
    """
    rng = random.Random(seed)
    tz = local_zone()
    now = datetime.combine(today, datetime.max.time(), tzinfo=tz).astimezone(UTC)
    zones = [
        ("BLR", "Bengaluru", "KARNATAKA", "KA"),
        ("MUM", "Mumbai", "MAHARASHTRA", "MH"),
        ("DEL", "Delhi", "DELHI", "DL"),
        ("HYD", "Hyderabad", "TELANGANA", "TG"),
        ("CHE", "Chennai", "TAMIL NADU", "TN"),
        ("PUN", "Pune", "MAHARASHTRA", "MH"),
    ]
    oems = [("TATA", "Tata Motors", 7), ("MG", "MG Motor", 5), ("HYU", "Hyundai", 6)]
    oems.append(("MAH", "Mahindra", 8))
    with session_scope(engine) as s:
        zone_ids = [uuid.uuid4() for _ in zones]
        s.execute(
            insert(Zone),
            [
                {"id": i, "code": c, "name": n, "state": st, "holiday_subdiv": sd}
                for i, (c, n, st, sd) in zip(zone_ids, zones, strict=True)
            ],
        )
        oem_ids = [uuid.uuid4() for _ in oems]
        s.execute(
            insert(Oem),
            [
                {
                    "id": i,
                    "code": c,
                    "name": n,
                    "contact_email": f"ev@{c.lower()}.example.in",
                    "sla_survey_days": 3,
                    "sla_install_days": d,
                    "required_evidence": [],
                }
                for i, (c, n, d) in zip(oem_ids, oems, strict=True)
            ],
        )
        rates = []
        for k, oid in enumerate(oem_ids):
            for j, level in enumerate(("basic", "standard", "premium")):
                base = Decimal(8000 + 2000 * k + 4000 * j)
                rates.append(
                    {
                        "oem_id": oid,
                        "install_level": level,
                        "price": base,
                        "valid_from": date(2020, 1, 1),
                    }
                )
                rates.append(
                    {
                        "oem_id": oid,
                        "install_level": level,
                        "price": base + 500,
                        "valid_from": date(today.year, 6, 15),
                    }
                )
        s.execute(insert(OemRate), rates)
        compiler = uuid.uuid4()
        s.execute(
            insert(AppUser),
            [
                {
                    "id": compiler,
                    "username": "bench-compiler",
                    "full_name": "Bench Compiler",
                    "email": "bench@chargeops.example.in",
                    "role": "oem_reporting",
                    "password_hash": "x",
                }
            ],
        )
        charger = uuid.uuid4()
        s.execute(
            insert(Material),
            [
                {
                    "id": charger,
                    "name": "7.2kW AC charger",
                    "sku": "BENCH-CHG",
                    "category": "charger",
                    "unit": "piece",
                }
            ],
        )

        n_leads = max(1, round(DEMO_LEADS * scale))
        leads, surveys, reports, insts, ireports, packs = [], [], [], [], [], []
        for k in range(n_leads):
            received = now - timedelta(days=rng.uniform(0, 420), minutes=rng.randint(0, 1440))
            lead_id = uuid.uuid4()
            oem_k = rng.choices(range(len(oems)), weights=(4, 3, 2, 1))[0]
            lead = {
                "id": lead_id,
                "ref": f"LEAD-B-{k:07d}",
                "oem_id": oem_ids[oem_k],
                "oem_lead_ref": f"B{k}",
                "customer_name": f"Customer {k}",
                "phone": "+919876543210",
                "address": "1 MG Road",
                "city": "City",
                "pincode": "560001",
                "zone_id": rng.choice(zone_ids),
                "received_at": received,
                "status": "new",
                "source": "import",
            }
            leads.append(lead)
            if rng.random() < 0.03:
                lead["status"] = "cancelled"
                continue
            surveyed = received + timedelta(days=rng.uniform(1, 6))
            if surveyed > now or rng.random() > 0.85:
                lead["status"] = rng.choice(("new", "contacted", "survey_scheduled"))
                continue
            survey_id, report_id = uuid.uuid4(), uuid.uuid4()
            surveys.append(
                {
                    "id": survey_id,
                    "ref": f"SUR-B-{k:07d}",
                    "lead_id": lead_id,
                    "survey_date": local_date(surveyed),
                    "time_slot": "morning",
                    "status": "reviewed_approved",
                    "completed_at": surveyed,
                }
            )
            reports.append(
                {
                    "id": report_id,
                    "survey_id": survey_id,
                    "site_type": "independent_house",
                    "parking": "covered",
                    "meter_distance_m": Decimal("6.5"),
                    "sanctioned_load_kw": Decimal("7.0"),
                    "earthing_ok": True,
                    "cable_length_m": Decimal("10.0"),
                }
            )
            lead["status"] = "surveyed"
            if rng.random() > 0.8:
                continue
            inst_id = uuid.uuid4()
            done = surveyed + timedelta(days=rng.uniform(2, 12))
            level = rng.choices(("basic", "standard", "premium", None), weights=(3, 5, 2, 0.2))[0]
            inst = {
                "id": inst_id,
                "ref": f"INS-B-{k:07d}",
                "survey_id": survey_id,
                "lead_id": lead_id,
                "status": "planned",
                "scheduled_date": local_date(done),
                "time_slot": "morning",
                "install_level": level,
                "completed_at": None,
            }
            insts.append(inst)
            lead["status"] = "installation_scheduled"
            if done > now:
                inst["status"] = rng.choice(("planned", "material_ready", "confirmed"))
                continue
            inst["completed_at"] = done
            inst["status"] = "completed"
            lead["status"] = "installed"
            submitted = done + timedelta(days=rng.uniform(1, 7))
            if submitted > now or rng.random() > 0.8:
                continue
            ireport_id = uuid.uuid4()
            ireports.append(
                {
                    "id": ireport_id,
                    "installation_id": inst_id,
                    "charger_serial": f"SN-B-{k:07d}",
                    "charger_model_id": charger,
                    "submitted_at": done,
                }
            )
            packs.append(
                {
                    "ref": f"CP-B-{k:07d}",
                    "installation_id": inst_id,
                    "lead_id": lead_id,
                    "survey_report_id": report_id,
                    "installation_report_id": ireport_id,
                    "compiled_by_id": compiler,
                    "status": "submitted",
                    "submitted_to_oem_at": submitted,
                }
            )
            inst["status"] = "closed"
            lead["status"] = "closed"
        for model, rows in (
            (Lead, leads),
            (Survey, surveys),
            (SurveyReport, reports),
            (Installation, insts),
            (InstallationReport, ireports),
            (ClosurePack, packs),
        ):
            for i in range(0, len(rows), 5000):
                s.execute(insert(model), rows[i : i + 5000])


def populate(engine: Engine, *, seed: int, scale: float, today: date) -> str:
    """Fill ``engine`` with demo-shaped data at ``scale``; returns the generator used.

    Prefers ``db.seed.seed_all`` (the project's demo seed) when it exists; otherwise, or if
    it fails, the local bulk generator above (on a freshly recreated schema).
    """
    Base.metadata.create_all(engine)
    try:
        from db.seed import seed_all  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        seed_all = None
    if seed_all is not None:
        try:
            seed_all(engine, seed=seed, scale=scale, today=today, demo=True)
            return "db.seed.seed_all"
        except Exception as exc:  # the seed is developed in parallel; fall back loudly
            log(f"seed_all failed ({exc!r}); falling back to the local generator")
            log(traceback.format_exc())
            Base.metadata.drop_all(engine)
            Base.metadata.create_all(engine)
    _local_generator(engine, seed=seed, scale=scale, today=today)
    return "local"


def analyze(engine: Engine) -> None:
    """Refresh planner statistics after the bulk load, as autovacuum would in production."""
    with engine.connect() as c:
        c.exec_driver_sql("ANALYZE")
        c.commit()


def row_counts(engine: Engine) -> dict[str, int]:
    out = {}
    with session_scope(engine, readonly=True) as s:
        for model in (Lead, Survey, Installation, ClosurePack):
            out[model.__tablename__] = int(
                s.execute(select(func.count()).select_from(model)).scalar_one()
            )
    out["total"] = sum(out.values())
    return out


# --------------------------------------------------------------------------- timing


def time_median(
    engine: Engine, fn: Callable[..., Any], today: date, repeat: int
) -> tuple[float, list[float], Any]:
    """Warm up once, then run ``fn`` ``repeat`` times (each in its own read-only session)."""
    with session_scope(engine, readonly=True) as s:
        result = fn(s, MANAGER, today=today)
    times = []
    for _ in range(repeat):
        with session_scope(engine, readonly=True) as s:
            t0 = time.perf_counter()
            result = fn(s, MANAGER, today=today)
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), times, result


def run_one(
    db: str, engine: Engine, size: float, args: argparse.Namespace, today: date
) -> dict[str, Any]:
    t0 = time.perf_counter()
    generator = populate(engine, seed=args.seed, scale=size, today=today)
    analyze(engine)
    build_s = time.perf_counter() - t0
    rows = row_counts(engine)
    log(f"[{db} x{size}] built in {build_s:.1f}s with {generator}: {rows}")
    sql_ms, sql_all, sql_result = time_median(engine, overview, today, args.repeat)
    pandas_ms, pandas_all, pandas_result = time_median(engine, overview_pandas, today, args.repeat)
    equal = sql_result == pandas_result
    if not equal:
        log(f"[{db} x{size}] FIGURES DIFFER\nsql={sql_result!r}\npandas={pandas_result!r}")
    log(f"[{db} x{size}] sql {sql_ms:.1f} ms, pandas {pandas_ms:.1f} ms")
    return {
        "db": db,
        "size": size,
        "generator": generator,
        "rows": rows,
        "build_s": round(build_s, 2),
        "sql_ms": round(sql_ms, 3),
        "pandas_ms": round(pandas_ms, 3),
        "ratio": round(pandas_ms / sql_ms, 3) if sql_ms > 0 else None,
        "sql_ms_runs": [round(t, 3) for t in sql_all],
        "pandas_ms_runs": [round(t, 3) for t in pandas_all],
        "figures_equal": equal,
        "installations_this_month": sql_result.installations_this_month,
        "total_revenue_this_month": str(sql_result.total_revenue),
    }


@contextmanager
def sqlite_engine(workdir: Path, size: float) -> Iterator[Engine]:
    path = workdir / f"overview_bench_{os.getpid()}_{str(size).replace('.', '_')}.db"
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    try:
        yield engine
    finally:
        engine.dispose()
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)


@contextmanager
def postgres_engine(size: float) -> Iterator[Engine]:
    """A private database ``chargeops_bench_<pid>_<n>``, dropped afterwards."""
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=False)
    name = f"chargeops_bench_{os.getpid()}_{str(size).replace('.', '_')}"
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_unreachable() -> str | None:
    try:
        admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=False)
        with admin.connect() as c:
            c.execute(text("SELECT 1"))
        admin.dispose()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10", help="comma-separated multiples of demo size")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per measurement")
    parser.add_argument("--db", default="sqlite,postgresql", help="sqlite and/or postgresql")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="local date")
    parser.add_argument("--workdir", type=Path, default=None, help="where SQLite files go")
    args = parser.parse_args(argv)
    sizes = [float(x) for x in args.sizes.split(",") if x.strip()]
    dbs = [x.strip() for x in args.db.split(",") if x.strip()]
    unknown = set(dbs) - {"sqlite", "postgresql"}
    if unknown or args.repeat < 1:
        parser.error(f"bad --db {sorted(unknown)} or --repeat {args.repeat}")
    today = args.today or local_date(datetime.now(UTC))
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="overview_bench_"))
    workdir.mkdir(parents=True, exist_ok=True)

    results: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    try:
        for db in dbs:
            if db == "postgresql" and (reason := postgres_unreachable()):
                skipped[db] = reason
                log(f"[postgresql] skipped: {reason}")
                continue
            for size in sizes:
                ctx = sqlite_engine(workdir, size) if db == "sqlite" else postgres_engine(size)
                with ctx as engine:
                    results.append(run_one(db, engine, size, args, today))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    doc = {
        "benchmark": "kpi.overview: SQL GROUP BY aggregates vs pandas over raw rows",
        "today": today.isoformat(),
        "timezone": local_zone().key,
        "repeat": args.repeat,
        "statistic": "median ms after one warm-up call",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "results": results,
        "skipped": skipped,
        "all_figures_equal": all(r["figures_equal"] for r in results),
    }
    print(json.dumps(doc, indent=2))
    return 0 if doc["all_figures_equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
