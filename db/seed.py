"""Reference and demo data: ``python -m db.seed``.

* ``seed_reference(session)`` upserts the reference data of ``db.reference`` (zones and their
  districts, OEMs and rate cards, materials and charger kits, vendors, field teams and members,
  demo users) keyed by code / sku / username; running it twice changes nothing.
* ``seed_demo(session, seed=42, scale=1.0, today=None)`` adds ~18 months of operations history
  ending ``today`` (``db.demo``), ~5,000 leads at ``scale=1.0``. Skipped (returns zero counts)
  when the database already holds leads: demo history is only laid down on an empty
  operational database, so real refs never collide with it.
* ``seed_all(engine, ...)`` does both in one transaction and returns row counts per table.

The CLI seeds an already-migrated database (``make migrate`` runs Alembic first);
``--create-schema`` creates the tables from the models instead, for benchmarks only.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from db.demo import generate_demo
from db.engine import make_engine, session_scope
from db.reference import (
    CHARGER_KITS,
    DEMO_PASSWORD,
    DEMO_USERS,
    FIRST_NAMES,
    LAST_NAMES,
    MATERIALS,
    OEMS,
    REGIONAL_FIRST_NAMES,
    VENDORS,
    ZONE_REGION,
    ZONES,
)
from domain import audit
from domain.accounts.models import (
    CHARGER_TYPES,
    AppUser,
    FieldTeam,
    FieldTeamMember,
    Oem,
    OemRate,
    Zone,
    ZoneDistrict,
)
from domain.accounts.passwords import hash_password
from domain.actor import SYSTEM
from domain.business_calendar import backfill_business_days, require_business_calendar
from domain.leads.models import Lead
from domain.procurement.models import ChargerKitLine, Material, Vendor
from domain.slots import rebuild_team_slot_bookings

__all__ = ["main", "seed_all", "seed_demo", "seed_reference", "team_codes"]


def team_codes(zone_code: str, count: int) -> list[str]:
    """Codes of a zone's field teams: ``BLR-T1`` ... ``BLR-T{count}``."""
    return [f"{zone_code}-T{i}" for i in range(1, count + 1)]


def _team_skills(index: int) -> list[str]:
    """Teams 1-2 of a zone install every charger type; the others skip 11 kW (3-phase)."""
    if index <= 2:
        return list(CHARGER_TYPES)
    return [t for t in CHARGER_TYPES if t != "11kW AC"]


def _mobile(rng: random.Random) -> str:
    while True:
        num = f"+91{rng.choice('6789')}{rng.randint(0, 999_999_999):09d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(num)):
            return num


def _member_name(rng: random.Random, zone_code: str) -> str:
    fr, lr = ZONE_REGION.get(zone_code, ("north", "north"))
    first = rng.choice(REGIONAL_FIRST_NAMES[fr] + FIRST_NAMES[:30])
    return f"{first} {rng.choice(LAST_NAMES[lr])}"


def seed_reference(session: Session) -> None:
    """Upsert every reference row (idempotent); flushes, never commits.

    Zones/districts by code and (state, district); OEMs by code, rate lines by
    (oem, level, valid_from); materials by sku, kit lines by (charger, material); vendors by
    (zone, name); teams by code, members by (team, name); users by username (an existing
    user keeps its password hash). Field teams get a login each (``eng.<zone><n>``, role
    ``field_engineer``) except BLR-T1 whose engineer is the demo ``engineer``.
    """
    s = session
    # zones and districts
    zones = {z.code: z for z in s.scalars(select(Zone))}
    taken = {(d.state, d.district) for d in s.scalars(select(ZoneDistrict))}
    for spec in ZONES:
        zone = zones.get(spec.code)
        if zone is None:
            zone = Zone(code=spec.code, active=True)
            s.add(zone)
            zones[spec.code] = zone
        zone.name, zone.state, zone.holiday_subdiv = spec.name, spec.state, spec.holiday_subdiv
        s.flush()
        for state, district in spec.districts:
            if (state, district) not in taken:
                s.add(ZoneDistrict(zone_id=zone.id, state=state, district=district))
                taken.add((state, district))
    # OEMs and rate cards
    oems = {o.code: o for o in s.scalars(select(Oem))}
    rates = set(s.execute(select(OemRate.oem_id, OemRate.install_level, OemRate.valid_from)).all())
    for spec in OEMS:
        oem = oems.get(spec.code)
        if oem is None:
            oem = Oem(code=spec.code, active=True)
            s.add(oem)
            oems[spec.code] = oem
        oem.name, oem.contact_email = spec.name, spec.contact_email
        oem.sla_survey_days, oem.sla_install_days = spec.sla_survey_days, spec.sla_install_days
        oem.required_evidence = list(spec.required_evidence)
        s.flush()
        for level, price, valid_from in spec.rates:
            if (oem.id, level, valid_from) not in rates:
                s.add(
                    OemRate(oem_id=oem.id, install_level=level, price=price, valid_from=valid_from)
                )
                rates.add((oem.id, level, valid_from))
    # materials and kits
    materials = {m.sku: m for m in s.scalars(select(Material))}
    for spec in MATERIALS:
        mat = materials.get(spec.sku)
        if mat is None:
            mat = Material(sku=spec.sku, active=True)
            s.add(mat)
            materials[spec.sku] = mat
        mat.name, mat.category, mat.unit = spec.name, spec.category, spec.unit
        mat.description, mat.power_kw, mat.unit_cost = (
            spec.description,
            spec.power_kw,
            spec.unit_cost,
        )
    s.flush()
    kit_lines = {(k.charger_id, k.material_id): k for k in s.scalars(select(ChargerKitLine))}
    for charger_sku, lines in CHARGER_KITS.items():
        for sku, qty in lines:
            key = (materials[charger_sku].id, materials[sku].id)
            if key in kit_lines:
                kit_lines[key].quantity = qty
            else:
                kit_lines[key] = ChargerKitLine(charger_id=key[0], material_id=key[1], quantity=qty)
                s.add(kit_lines[key])
    # vendors
    vendors = {(v.zone_id, v.name): v for v in s.scalars(select(Vendor))}
    for spec in VENDORS:
        zone = zones[spec.zone_code]
        vendor = vendors.get((zone.id, spec.name))
        if vendor is None:
            vendor = Vendor(zone_id=zone.id, name=spec.name, is_active=True)
            s.add(vendor)
            vendors[(zone.id, spec.name)] = vendor
        vendor.phone, vendor.upi_id = spec.phone, spec.upi_id
        vendor.bank_account, vendor.bank_ifsc = spec.bank_account, spec.bank_ifsc
    # field teams and members
    teams = {t.code: t for t in s.scalars(select(FieldTeam))}
    members = {(m.team_id, m.full_name): m for m in s.scalars(select(FieldTeamMember))}
    team_people: dict[str, list[tuple[str, str]]] = {}
    for spec in ZONES:
        for i, code in enumerate(team_codes(spec.code, spec.teams), start=1):
            team = teams.get(code)
            if team is None:
                team = FieldTeam(code=code, active=True, zone_id=zones[spec.code].id)
                s.add(team)
                teams[code] = team
            team.name = f"{spec.name} Team {i}"
            team.skills = _team_skills(i)
            rng = random.Random(f"team:{code}")
            people = []
            for _ in range(rng.randint(2, 4)):
                name = _member_name(rng, spec.code)
                if all(name != p[0] for p in people):
                    people.append((name, _mobile(rng)))
            team_people[code] = people
    s.flush()
    # users: the demo logins plus one engineer login per field team
    wanted: list[tuple[str, str, str, str, str | None, str | None, str | None]] = []
    for u in DEMO_USERS:
        wanted.append((u.username, u.password, u.role, u.full_name, u.oem_code, u.team_code, None))
    demo_team_users = {u.team_code for u in DEMO_USERS if u.team_code}
    for code in sorted(teams):
        if code in team_people and code not in demo_team_users:
            name, phone = team_people[code][0]
            username = "eng." + code.lower().replace("-t", "")
            wanted.append((username, DEMO_PASSWORD, "field_engineer", name, None, code, phone))
    users = {u.username: u for u in s.scalars(select(AppUser))}
    hashes: dict[str, str] = {}
    for username, password, role, full_name, oem_code, team_code, phone in wanted:
        user = users.get(username)
        if user is None:
            if password not in hashes:
                hashes[password] = hash_password(password)
            user = AppUser(username=username, password_hash=hashes[password], active=True)
            s.add(user)
            users[username] = user
        team = teams.get(team_code) if team_code else None
        user.full_name, user.role = full_name, role
        user.email = f"{username}@chargeops.example.in"
        user.phone = phone or user.phone
        user.oem_id = oems[oem_code].id if oem_code else None
        user.team_id = team.id if team else None
        user.zone_id = team.zone_id if team else None
    s.flush()
    # team members; a team's first member is its lead and holds the team's engineer login
    team_user = {
        u.team_id: u
        for u in sorted(users.values(), key=lambda u: u.username)
        if u.role == "field_engineer" and u.team_id is not None
    }
    for code, people in team_people.items():
        team = teams[code]
        login = team_user.get(team.id)
        if login is not None and code in demo_team_users:
            people = [(login.full_name, login.phone or people[0][1]), *people[1:]]
        for idx, (name, phone) in enumerate(people):
            member = members.get((team.id, name))
            if member is None:
                member = FieldTeamMember(team_id=team.id, full_name=name)
                s.add(member)
                members[(team.id, name)] = member
            member.phone, member.is_lead = phone, idx == 0
            member.user_id = login.id if idx == 0 and login is not None else None
    s.flush()


def seed_demo(
    session: Session, *, seed: int = 42, scale: float = 1.0, today: date | None = None
) -> dict[str, int]:
    """Add the demo operations history (see ``db.demo``); flushes, never commits.

    Args:
        seed: RNG seed; equal seeds give equal data (refs, names, timings, UUIDs).
        scale: 1.0 gives ~5,000 leads over 18 months; 0.05 gives ~250.
        today: last day of the history (default: today in Asia/Kolkata); "now" is 13:00 local.

    Returns:
        Rows inserted per table name (``{"lead": 5012, ...}``, ``team_slot_booking`` rebuilt
        from the jobs that hold a team slot); an empty dict when the
        database already has leads (nothing is added). One ``audit_event`` ``seed.demo``
        records the run.

    Raises:
        RuntimeError: reference data missing (run ``seed_reference`` first).
        ValueError: ``scale`` not positive.
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    today = today or datetime.now(ZoneInfo("Asia/Kolkata")).date()
    if session.execute(select(Lead.id).limit(1)).first() is not None:
        return {}
    counts = generate_demo(session, seed=seed, scale=scale, today=today)
    # the generator writes surveys, assignments and visits directly: fill the shared team-slot
    # table from them (one row per job holding a team slot, see domain.slots)
    counts["team_slot_booking"] = rebuild_team_slot_bookings(session)
    audit.record(
        session,
        SYSTEM,
        "seed.demo",
        entity_type="lead",
        after={"seed": seed, "scale": scale, "today": today, "rows": counts},
    )
    session.flush()
    return counts


def table_counts(session: Session) -> dict[str, int]:
    """Row count of every table of the model (``{table name: rows}``)."""
    import domain.models  # noqa: F401  (registers every table)
    from db.base import Base

    return {
        t.name: session.execute(select(func.count()).select_from(t)).scalar_one()
        for t in Base.metadata.sorted_tables
    }


def seed_all(
    engine: Engine,
    *,
    seed: int = 42,
    scale: float = 1.0,
    today: date | None = None,
    demo: bool = True,
) -> dict[str, int]:
    """Reference data, then (``demo=True``) the demo history, then the ``business_day``
    calendar (``domain.business_calendar``), in one transaction.

    Returns:
        Row counts per table after seeding (every table of the model).
    """
    with session_scope(engine) as s:
        seed_reference(s)
        if demo:
            seed_demo(s, seed=seed, scale=scale, today=today)
        # the business-day calendar of every zone's state (SLA queries count business days in
        # SQL with it): the leads' years, last year, this year and the next
        year = (today or datetime.now(ZoneInfo("Asia/Kolkata")).date()).year
        require_business_calendar(
            s, first=date(year - 1, 1, 1), last=date(year + 1, 12, 31), lead_dates=True
        )
        # the demo rows are bulk-inserted (no ORM flush): store their business-day ordinals
        backfill_business_days(s)
        s.flush()
        return table_counts(s)


def main(argv: list[str] | None = None) -> int:
    """CLI: ``python -m db.seed [--scale S] [--seed N] [--today YYYY-MM-DD] [--no-demo]
    [--database-url URL] [--create-schema]``. Prints a summary and the demo logins."""
    p = argparse.ArgumentParser(prog="python -m db.seed", description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0, help="demo volume (1.0 = ~5,000 leads)")
    p.add_argument("--seed", type=int, default=42, help="RNG seed (deterministic data)")
    p.add_argument("--today", type=date.fromisoformat, default=None, help="last day of history")
    p.add_argument("--no-demo", action="store_true", help="reference data and users only")
    p.add_argument("--database-url", default=None, help="default: DATABASE_URL")
    p.add_argument(
        "--create-schema", action="store_true", help="create tables from the models (benchmarks)"
    )
    args = p.parse_args(argv)
    engine = make_engine(args.database_url)
    if args.create_schema:
        import domain.models  # noqa: F401
        from db.base import Base

        Base.metadata.create_all(engine)
    started = time.perf_counter()
    counts = seed_all(
        engine, seed=args.seed, scale=args.scale, today=args.today, demo=not args.no_demo
    )
    elapsed = time.perf_counter() - started
    print(f"Seeded {engine.url.render_as_string(hide_password=True)} in {elapsed:.1f} s")
    for table in (
        "zone", "oem", "material", "vendor", "field_team", "app_user", "lead", "survey",
        "installation", "material_allocation", "stock_movement", "closure_pack", "service_ticket",
    ):  # fmt: skip
        print(f"  {table:<22}{counts.get(table, 0):>8}")
    print(f"\nDemo logins (password for all: {DEMO_PASSWORD})")
    print(f"  {'username':<14}{'role':<16}description")
    for u in DEMO_USERS:
        print(f"  {u.username:<14}{u.role:<16}{u.description}")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
