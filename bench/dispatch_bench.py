"""Benchmark: feasible-team suggestions and the dispatch board, set-based vs per-team queries.

Builds a synthetic database (the 10x demo seeder is too slow to build here): one target zone
with ``--teams`` field teams and ``--jobs`` installations in one week (about 60% already
booked, the rest to place), plus background data: ``--zones`` other zones with as many teams,
and ``--history`` older installations with (mostly released) assignments over the past year.
The defaults give about 49,000 installations: 10x the demo data's ~4,600 (``make seed``).

Then, per database:
* ``suggest_teams`` (2 set-based queries per job) for every one of the week's jobs, and for a
  sample of ``--sample`` jobs the naive baseline ``suggest_teams_naive`` (3-4 queries per team);
  both compared per job, results must be identical;
* ``dispatch.board`` (3 queries) vs ``board_naive`` (one query per team and per job), median
  of ``--repeat`` calls; results must be identical.

Prints ONE JSON document on stdout (progress on stderr); exit status 1 if results differ.

Usage:
    .venv/bin/python bench/dispatch_bench.py --db sqlite,postgresql --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, event, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import domain.models  # noqa: E402,F401
from db.base import Base  # noqa: E402
from db.engine import make_engine, session_scope  # noqa: E402
from domain.accounts.models import CHARGER_TYPES, FieldTeam, Oem, TeamUnavailability, Zone  # noqa: E402
from domain.actor import Actor  # noqa: E402
from domain.installations import dispatch, scheduling  # noqa: E402
from domain.installations.models import Installation, InstallationAssignment  # noqa: E402
from domain.leads.models import Lead  # noqa: E402
from domain.scheduling import time_slots  # noqa: E402
from domain.surveys.models import Survey  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", os.environ.get("TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
)
PLANNER = Actor(user_id=None, username="bench-planner", role="central_ops")
OPEN = ("planned", "material_pending", "material_ready", "confirmed")


def log(msg: str) -> None:
    """Progress to stderr (stdout carries only the JSON document)."""
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- data


def populate(
    engine: Engine,
    *,
    seed: int,
    week: date,
    teams: int,
    jobs: int,
    zones: int,
    history: int,
) -> dict[str, Any]:
    """Create the schema and bulk-insert the synthetic data set (see module docstring).

    Returns:
        ``{"zone_id", "jobs": [(installation_id, work_date, slot)], "rows": {table: count}}``.
    """
    rng = random.Random(seed)
    Base.metadata.create_all(engine)
    slots = time_slots()
    now = datetime.now(UTC)
    zone_rows, team_rows = [], []
    for z in range(zones + 1):
        zid = uuid.uuid4()
        zone_rows.append(
            {
                "id": zid,
                "code": f"Z{z:02d}",
                "name": f"Zone {z}",
                "state": "KARNATAKA",
                "holiday_subdiv": "KA",
                "active": True,
            }
        )
        for t in range(teams):
            skills = sorted(rng.sample(CHARGER_TYPES, rng.randint(1, len(CHARGER_TYPES))))
            team_rows.append(
                {
                    "id": uuid.uuid4(),
                    "code": f"Z{z:02d}-T{t:02d}",
                    "name": f"Team {z}-{t}",
                    "zone_id": zid,
                    "skills": skills,
                    "active": rng.random() > 0.03,
                }
            )
    target_zone = zone_rows[0]["id"]
    oem_id = uuid.uuid4()
    leads, surveys, insts, assigns, unavail = [], [], [], [], []
    busy: set[tuple[uuid.UUID, date, str]] = set()
    n = 0

    def add_job(zone_id: uuid.UUID, day: date, status: str, slot: str | None = None) -> uuid.UUID:
        nonlocal n
        n += 1
        lead_id, survey_id, inst_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        received = datetime.combine(
            day - timedelta(days=rng.randint(2, 12)), datetime.min.time(), UTC
        ) + timedelta(hours=5)
        leads.append(
            {
                "id": lead_id,
                "ref": f"LEAD-B-{n:07d}",
                "oem_id": oem_id,
                "oem_lead_ref": f"B{n}",
                "customer_name": f"Customer {n}",
                "phone": f"+9190{n:08d}",
                "address": "1 Bench Road",
                "city": "Bengaluru",
                "pincode": "560001",
                "zone_id": zone_id,
                "requested_charger_type": rng.choice([*CHARGER_TYPES, None]),
                "received_at": received,
                "status": "installation_scheduled",
                "source": "manual",
            }
        )
        surveys.append(
            {
                "id": survey_id,
                "ref": f"SUR-B-{n:07d}",
                "lead_id": lead_id,
                "survey_date": day - timedelta(days=1),
                "time_slot": slots[0],
                "status": "reviewed_approved",
            }
        )
        insts.append(
            {
                "id": inst_id,
                "ref": f"INS-B-{n:07d}",
                "survey_id": survey_id,
                "lead_id": lead_id,
                "status": status,
                "scheduled_date": day,
                "time_slot": slot,
                "material_ready": False,
                "customer_confirmed": False,
                "demo_completed": False,
            }
        )
        return inst_id

    def assign(inst_id: uuid.UUID, team_id: uuid.UUID, day: date, slot: str, active: bool) -> None:
        if active:
            busy.add((team_id, day, slot))
        assigns.append(
            {
                "id": uuid.uuid4(),
                "installation_id": inst_id,
                "team_id": team_id,
                "role": "primary",
                "work_date": day,
                "time_slot": slot,
                "assigned_at": now,
                "released_at": None if active else now,
                "reason": None if active else "moved",
            }
        )

    zone_teams: dict[uuid.UUID, list[uuid.UUID]] = {}
    for t in team_rows:
        if t["active"]:
            zone_teams.setdefault(t["zone_id"], []).append(t["id"])
    days = [week + timedelta(days=i) for i in range(6)]  # Mon-Sat
    # background history: the past year, every zone, released or completed
    for _ in range(history):
        z = rng.choice(zone_rows)["id"]
        day = week - timedelta(days=rng.randint(7, 365))
        inst_id = add_job(z, day, rng.choice(["closed", "completed", "cancelled"]))
        assign(inst_id, rng.choice(zone_teams[z]), day, rng.choice(slots), active=False)
    # background current week in other zones: some active assignments
    for z in zone_rows[1:]:
        for _ in range(jobs // 2):
            day, slot, team = rng.choice(days), rng.choice(slots), rng.choice(zone_teams[z["id"]])
            inst_id = add_job(z["id"], day, rng.choice(OPEN), slot)
            if (team, day, slot) not in busy:
                assign(inst_id, team, day, slot, active=True)
    # the target week: `jobs` open installations, ~60% booked
    targets: list[tuple[uuid.UUID, date, str]] = []
    local = zone_teams[target_zone]
    for _ in range(jobs):
        day, slot = rng.choice(days), rng.choice(slots)
        inst_id = add_job(target_zone, day, rng.choice(OPEN), slot)
        targets.append((inst_id, day, slot))
        team = rng.choice(local)
        if rng.random() < 0.6 and (team, day, slot) not in busy:
            assign(inst_id, team, day, slot, active=True)
    for team in rng.sample(local, 3):
        d = rng.choice(days)
        unavail.append(
            {"id": uuid.uuid4(), "team_id": team, "from_date": d, "to_date": d, "reason": "leave"}
        )
    with session_scope(engine) as s:
        s.execute(insert(Zone), zone_rows)
        s.execute(
            insert(Oem),
            [
                {
                    "id": oem_id,
                    "code": "BENCH",
                    "name": "Bench Motors",
                    "contact_email": "ev@bench.example.in",
                    "sla_survey_days": 3,
                    "sla_install_days": 7,
                    "required_evidence": [],
                    "active": True,
                }
            ],
        )
        s.execute(insert(FieldTeam), team_rows)
        for model, rows in (
            (Lead, leads),
            (Survey, surveys),
            (Installation, insts),
            (InstallationAssignment, assigns),
            (TeamUnavailability, unavail),
        ):
            for i in range(0, len(rows), 5000):
                s.execute(insert(model), rows[i : i + 5000])
    return {
        "zone_id": target_zone,
        "jobs": targets,
        "rows": {
            "zone": len(zone_rows),
            "field_team": len(team_rows),
            "lead": len(leads),
            "installation": len(insts),
            "installation_assignment": len(assigns),
            "active_assignments_target_week": sum(
                1 for a in assigns if a["released_at"] is None and a["work_date"] >= week
            ),
        },
    }


def analyze(engine: Engine) -> None:
    """Refresh planner statistics after the bulk load, as autovacuum would in production."""
    with engine.connect() as c:
        c.exec_driver_sql("ANALYZE")
        c.commit()


# --------------------------------------------------------------------------- timing


@contextmanager
def count_queries(engine: Engine) -> Iterator[list[int]]:
    """Count the SQL statements executed on ``engine`` inside the block."""
    box = [0]

    def on_exec(*_a: Any) -> None:
        box[0] += 1

    event.listen(engine, "before_cursor_execute", on_exec)
    try:
        yield box
    finally:
        event.remove(engine, "before_cursor_execute", on_exec)


def timed(engine: Engine, fn: Callable[[Any], Any]) -> tuple[float, int, Any]:
    """Run ``fn(session)`` in a read-only session: (ms, statements, result)."""
    with count_queries(engine) as q, session_scope(engine, readonly=True) as s:
        t0 = time.perf_counter()
        out = fn(s)
        ms = (time.perf_counter() - t0) * 1000
    return ms, q[0], out


def run_one(engine: Engine, args: argparse.Namespace, week: date) -> dict[str, Any]:
    """Build, then measure suggestions and the board on one database."""
    t0 = time.perf_counter()
    data = populate(
        engine,
        seed=args.seed,
        week=week,
        teams=args.teams,
        jobs=args.jobs,
        zones=args.zones,
        history=args.history,
    )
    analyze(engine)
    build_s = round(time.perf_counter() - t0, 1)
    log(f"  built in {build_s}s: {data['rows']}")
    jobs = data["jobs"]

    def suggest_all(fn: Callable[..., Any], sample: list[tuple[uuid.UUID, date, str]]) -> Any:
        return lambda s: [
            fn(s, PLANNER, installation_id=i, work_date=d, time_slot=slot, limit=5)
            for i, d, slot in sample
        ]

    timed(engine, suggest_all(scheduling.suggest_teams, jobs[:5]))  # warm-up
    all_ms, all_q, _ = timed(engine, suggest_all(scheduling.suggest_teams, jobs))
    sample = jobs[: args.sample]
    set_ms, set_q, set_out = timed(engine, suggest_all(scheduling.suggest_teams, sample))
    naive_ms, naive_q, naive_out = timed(
        engine, suggest_all(scheduling.suggest_teams_naive, sample)
    )
    suggestions_equal = set_out == naive_out
    log(f"  suggest: all {all_ms:.0f} ms; sample set {set_ms:.0f} ms vs naive {naive_ms:.0f} ms")

    def board_fn(fn: Callable[..., Any]) -> Callable[[Any], Any]:
        return lambda s: fn(s, PLANNER, week_start=week, zone_id=data["zone_id"])

    timed(engine, board_fn(dispatch.board))
    timed(engine, board_fn(dispatch.board_naive))
    board_runs, naive_runs = [], []
    board_q = board_naive_q = 0
    board_out = board_naive_out = None
    for _ in range(args.repeat):
        ms, board_q, board_out = timed(engine, board_fn(dispatch.board))
        board_runs.append(ms)
        ms, board_naive_q, board_naive_out = timed(engine, board_fn(dispatch.board_naive))
        naive_runs.append(ms)
    board_equal = board_out == board_naive_out
    b_ms, bn_ms = statistics.median(board_runs), statistics.median(naive_runs)
    log(f"  board: {b_ms:.1f} ms vs naive {bn_ms:.1f} ms")
    assert board_out is not None
    return {
        "build_s": build_s,
        "rows": data["rows"],
        "suggest": {
            "jobs": len(jobs),
            "all_jobs_ms": round(all_ms, 1),
            "all_jobs_queries": all_q,
            "sample_jobs": len(sample),
            "set_ms_per_job": round(set_ms / len(sample), 2),
            "naive_ms_per_job": round(naive_ms / len(sample), 2),
            "set_queries_per_job": round(set_q / len(sample), 1),
            "naive_queries_per_job": round(naive_q / len(sample), 1),
            "ratio": round(naive_ms / set_ms, 1) if set_ms else None,
            "naive_all_jobs_ms_estimate": round(naive_ms / len(sample) * len(jobs), 0),
            "results_equal": suggestions_equal,
        },
        "board": {
            "teams": len(board_out.teams),
            "jobs": len(board_out.jobs),
            "unassigned": len(board_out.unassigned),
            "ms": round(b_ms, 2),
            "naive_ms": round(bn_ms, 2),
            "queries": board_q,
            "naive_queries": board_naive_q,
            "ratio": round(bn_ms / b_ms, 1) if b_ms else None,
            "ms_runs": [round(x, 2) for x in board_runs],
            "naive_ms_runs": [round(x, 2) for x in naive_runs],
            "results_equal": board_equal,
        },
    }


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[Engine]:
    """A fresh SQLite file or private PostgreSQL database, removed afterwards."""
    if kind == "sqlite":
        eng = make_engine(f"sqlite:///{workdir / 'dispatch_bench.db'}")
        try:
            yield eng
        finally:
            eng.dispose()
            for p in workdir.glob("dispatch_bench.db*"):
                p.unlink()
        return
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=False)
    name = f"chargeops_dbench_{os.getpid()}"
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    eng = make_engine(url)
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse options, run every database, print and return the JSON document."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--db", default="sqlite,postgresql")
    p.add_argument("--teams", type=int, default=30, help="teams per zone")
    p.add_argument("--jobs", type=int, default=500, help="jobs in the target zone's week")
    p.add_argument("--zones", type=int, default=10, help="background zones")
    p.add_argument(
        "--history", type=int, default=46000, help="background past installations (10x demo)"
    )
    p.add_argument("--sample", type=int, default=50, help="jobs timed with the naive baseline")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--week", default="2026-11-23", help="Monday of the target week")
    p.add_argument("--workdir", default=None)
    args = p.parse_args(argv)
    week = date.fromisoformat(args.week)
    if week.weekday() != 0:
        p.error("--week must be a Monday")
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="dbench-"))
    results, skipped = [], {}
    try:
        for kind in [k.strip() for k in args.db.split(",") if k.strip()]:
            log(f"{kind}: building")
            try:
                with database(kind, workdir) as eng:
                    results.append({"db": kind, **run_one(eng, args, week)})
            except Exception as exc:  # a missing PostgreSQL server is reported, not fatal
                if kind == "sqlite":
                    raise
                skipped[kind] = f"{type(exc).__name__}: {exc}"
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    doc = {
        "benchmark": "dispatch: suggest_teams (set-based) vs per-team queries; board() vs "
        "per-team/per-job queries",
        "week": week.isoformat(),
        "params": {
            k: getattr(args, k) for k in ("teams", "jobs", "zones", "history", "sample", "repeat")
        },
        "statistic": "suggest: total ms over the jobs, per job; board: median ms after warm-up",
        "results": results,
        "skipped": skipped,
        "all_results_equal": all(
            r["suggest"]["results_equal"] and r["board"]["results_equal"] for r in results
        ),
    }
    print(json.dumps(doc, indent=2))
    return doc


if __name__ == "__main__":
    sys.exit(0 if main()["all_results_equal"] else 1)
