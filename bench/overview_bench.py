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
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import domain.models  # noqa: E402,F401
from db.base import Base  # noqa: E402
from db.engine import make_engine, session_scope  # noqa: E402
from db.seed import seed_all  # noqa: E402
from domain.actor import Actor  # noqa: E402
from domain.calendar import local_date, local_zone  # noqa: E402
from domain.installations.models import Installation  # noqa: E402
from domain.kpi.queries import overview, overview_pandas  # noqa: E402
from domain.leads.models import Lead  # noqa: E402
from domain.reporting.models import ClosurePack  # noqa: E402
from domain.surveys.models import Survey  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", os.environ.get("TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
)
MANAGER = Actor(user_id=uuid.uuid4(), username="bench-manager", role="manager")


def log(msg: str) -> None:
    """Progress to stderr (stdout carries only the JSON document)."""
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- data


def populate(engine: Engine, *, seed: int, scale: float, today: date) -> str:
    """Create the schema and load the project's demo data (``db.seed.seed_all``) at ``scale``
    (1 = demo size, about 5,000 leads); returns the generator's name for the JSON."""
    Base.metadata.create_all(engine)
    seed_all(engine, seed=seed, scale=scale, today=today, demo=True)
    return "db.seed.seed_all"


def analyze(engine: Engine) -> None:
    """Refresh planner statistics after the bulk load, as autovacuum would in production."""
    with engine.connect() as c:
        c.exec_driver_sql("ANALYZE")
        c.commit()


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per measured table (lead, survey, installation, closure_pack) and their total."""
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
    """Build one database at ``size`` and time SQL vs pandas; one JSON result dict."""
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
    """A fresh SQLite WAL file engine for ``size`` under ``workdir`` (deleted after)."""
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
    """Why PostgreSQL cannot be used (None when it can)."""
    try:
        admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=False)
        with admin.connect() as c:
            c.execute(text("SELECT 1"))
        admin.dispose()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


def main(argv: list[str] | None = None) -> int:
    """CLI: run every database x size, print one JSON document; exit 1 if figures differ."""
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
