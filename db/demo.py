"""Demo operations history: 18 months of leads, surveys, installations, stock, packs, service.

``generate_demo(session, seed=..., scale=..., today=...)`` simulates every lead through the
lifecycle (lead -> survey -> installation -> closure pack -> service ticket) with realistic
timings in business days (Monday-Saturday minus the zone's state holidays), cuts the timeline
at "now" (``today`` 13:00 Asia/Kolkata), then bulk-inserts the rows. It is deterministic for a
given ``seed``/``scale``/``today`` and the reference rows present (iterated by code).

Shapes and units: money INR (``Decimal``), distances and cable in metres, load in kW, SLA in
business days, every timestamp an aware UTC datetime. Refs (``LEAD-2026-00001``...) are numbered
per prefix and per year of the event, continuing any existing ``ref_counter`` values, and the
counters are left at the last value used so later refs never collide.
"""

from __future__ import annotations

import hashlib
import math
import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import indian_pincode
import phonenumbers
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from db.reference import (
    CHARGER_BY_TYPE,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    LOCALITY_PINCODES,
    OEMS,
    REGIONAL_FIRST_NAMES,
    SOCIETY_NAMES,
    STREET_WORDS,
    ZONE_REGION,
    ZONES,
)
from domain.accounts.models import AppUser, FieldTeam, Oem, OemRate, RefCounter, Zone, ZoneDistrict
from domain.calendar import add_business_days, business_days_between, is_business_day
from domain.installations.models import (
    Installation,
    InstallationAssignment,
    InstallationReport,
    InstallationStatusChange,
    TeamDailyLog,
)
from domain.installations.scheduling import BOOKABLE_STATUSES
from domain.leads.models import Lead, LeadImport
from domain.procurement.models import (
    ChargerKitLine,
    Material,
    MaterialAllocation,
    MaterialStock,
    ProcurementRequest,
    StockMovement,
    Vendor,
)
from domain.refs import format_ref
from domain.reporting.models import ClosurePack, ReportSubmission
from domain.service.models import ServiceTicket, ServiceVisit
from domain.surveys.models import Survey, SurveyReport, SurveyReportLine

IST = ZoneInfo("Asia/Kolkata")
SLOTS = ("09-12", "12-15", "15-18")
SLOT_START_MIN = {"09-12": 9 * 60, "12-15": 12 * 60, "15-18": 15 * 60}
HISTORY_DAYS = 548  # ~18 months
BASE_LEADS = 5000  # leads at scale 1.0
# Work in hand at "now", topped up after the simulation so that every scale shows it: leads
# whose latest survey is at each step (target -> at least this many leads), and per zone open
# installations with an agreed date in the next 3 weeks that no team is booked for yet.
PIPELINE_MIN = {"scheduled": 2, "completed": 2, "submitted": 2, "rejected": 2, "surveyed": 2}
UNASSIGNED_PER_ZONE = 2
UNASSIGNED_HORIZON_DAYS = 21
NOW_LOCAL = time(13, 0)

DISTRICT_CITY = {
    "GURUGRAM": "Gurugram",
    "FARIDABAD": "Faridabad",
    "GAUTAM BUDDHA NAGAR": "Noida",
    "GHAZIABAD": "Ghaziabad",
    "THANE": "Thane",
    "RAIGAD": "Navi Mumbai",
    "HOWRAH": "Howrah",
    "GANDHINAGAR": "Gandhinagar",
    "BENGALURU RURAL": "Bengaluru",
}

CANCEL_REASONS = {
    "pre_survey": (
        "Customer not reachable after three attempts",
        "Customer opted for the portable charger supplied with the car",
        "Duplicate lead (already registered by the dealer)",
        "Customer moving city; will re-register later",
    ),
    "survey": (
        "Housing society NOC not granted",
        "Customer postponed the survey indefinitely",
        "Customer cancelled the vehicle booking",
    ),
    "post_survey": (
        "Customer declined: load enhancement cost too high",
        "Society did not allow cable routing through common area",
        "Customer chose a third-party installer",
    ),
    "installation": (
        "Customer cancelled: relocating to a rented flat",
        "Society withdrew permission for the parking slot",
        "Customer unreachable on installation day (three attempts)",
    ),
}
RESCHEDULE_REASONS = (
    "Customer unavailable on the planned date",
    "Society permission letter pending",
    "Heavy rain forecast; open parking",
    "Team vehicle breakdown",
    "Electricity board load enhancement pending",
)
SURVEY_NOTES = (
    "Meter board in the stilt area; cable route along the parking wall.",
    "Customer prefers charger next to pillar P-12.",
    "Existing earthing tested at 1.2 ohm.",
    "Society electrician present during survey.",
    "Cable route through the basement cable tray.",
    None,
    None,
)
REJECT_NOTES = (
    "Meter board photos unclear; resurvey needed",
    "Cable route not measured; resurvey needed",
)
INSTALL_ISSUES = (
    "Customer requested an extra 5 m of cable; billed separately.",
    "Core drilling through RCC wall took longer than planned.",
    "Society electrician delayed access to the meter room.",
)
FAULTS = (
    ("Charger not powering on", False),
    ("RCCB tripping frequently while charging", False),
    ("Charging stops midway", False),
    ("Earth fault error on the charger display", False),
    ("Connector / cable damaged", False),
    ("Wi-Fi / app not connecting to the charger", False),
    ("Annual preventive maintenance", True),
    ("Charger relocation to a new parking slot", True),
)


def at_local(day: date, minutes: int) -> datetime:
    """UTC instant of ``minutes`` after local (Asia/Kolkata) midnight of ``day``."""
    base = datetime(day.year, day.month, day.day, tzinfo=IST) + timedelta(minutes=minutes)
    return base.astimezone(UTC)


def local_day(moment: datetime) -> date:
    """Local (Asia/Kolkata) calendar date of an aware datetime."""
    return moment.astimezone(IST).date()


@lru_cache(maxsize=256)
def district_pincodes(state: str, district: str) -> tuple[str, ...]:
    """Real pincodes of a district (``indian-pincode``) whose details list that district."""
    found = []
    for pin in sorted(indian_pincode.get_pincodes(state=state, district=district)):
        details = indian_pincode.get_details(pin)
        if details and district in details["districts"]:
            found.append(pin)
    return tuple(found)


@dataclass
class _Team:
    id: uuid.UUID
    code: str
    skills: tuple[str, ...]
    engineer_id: uuid.UUID | None


@dataclass
class _Zone:
    id: uuid.UUID
    code: str
    name: str
    subdiv: str | None
    teams: list[_Team]
    places: list[tuple[str, str, tuple[str, ...]]]  # (locality, city, pincodes)
    weight: int
    vendors: list[tuple[uuid.UUID, str]] = field(default_factory=list)


@dataclass
class _Oem:
    id: uuid.UUID
    code: str
    sla_survey: int
    sla_install: int
    vehicles: tuple[tuple[str, str], ...]
    prefix: str
    weight: int


@dataclass
class _Mat:
    id: uuid.UUID
    sku: str
    name: str
    unit: str
    category: str
    unit_cost: Decimal


class DemoGenerator:
    """Builds the demo rows in memory, then inserts them in bulk. See module docstring."""

    def __init__(self, session: Session, *, seed: int, scale: float, today: date) -> None:
        self.s = session
        self.rng = random.Random(seed)
        self.scale = scale
        self.today = today
        self.now = at_local(today, NOW_LOCAL.hour * 60 + NOW_LOCAL.minute)
        self.start_day = today - timedelta(days=HISTORY_DAYS)
        self.rows: dict[type, list[dict[str, Any]]] = defaultdict(list)
        self.refs: dict[str, list[tuple[datetime, int, dict[str, Any]]]] = defaultdict(list)
        self.occ: set[tuple[uuid.UUID, date, str]] = set()
        self.jobs_done: Counter[tuple[uuid.UUID, date]] = Counter()
        self.imports: dict[tuple[uuid.UUID, date], dict[str, Any]] = {}
        self.serial_n = 0
        self.oem_lead_n: Counter[str] = Counter()
        self._load_reference()

    # ----------------------------------------------------------------- helpers
    def uid(self) -> uuid.UUID:
        """A UUID4 drawn from the seeded RNG (deterministic)."""
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def minutes(self, lo: int, hi: int) -> timedelta:
        return timedelta(minutes=self.rng.randint(lo, hi))

    def _ref(self, prefix: str, moment: datetime, row: dict[str, Any]) -> None:
        self.refs[prefix].append((moment, len(self.refs[prefix]), row))

    def _load_reference(self) -> None:
        s = self.s
        users = s.execute(
            select(AppUser.id, AppUser.username, AppUser.role, AppUser.team_id)
            .where(AppUser.active.is_(True))
            .order_by(AppUser.username)
        ).all()
        by_role: dict[str, uuid.UUID] = {}
        preferred = {
            "admin": "admin",
            "central_ops": "planner",
            "procurement": "procurement",
            "oem_reporting": "reporting",
        }
        engineer_of: dict[uuid.UUID, uuid.UUID] = {}
        for uid_, username, role, team_id in users:
            if role not in by_role or preferred.get(role) == username:
                by_role[role] = uid_
            if (
                role == "field_engineer"
                and team_id is not None
                and (team_id not in engineer_of or username == "engineer")
            ):
                engineer_of[team_id] = uid_
        admin = by_role.get("admin")
        if admin is None:
            raise RuntimeError("seed_reference must run first: no active admin user")
        self.planner = by_role.get("central_ops", admin)
        self.procurement = by_role.get("procurement", admin)
        self.reporting = by_role.get("oem_reporting", admin)
        self.manager = by_role.get("manager", admin)

        self.mats: dict[str, _Mat] = {
            m.sku: _Mat(m.id, m.sku, m.name, m.unit, m.category, m.unit_cost or Decimal("0"))
            for m in s.scalars(select(Material).order_by(Material.sku))
        }
        self.per_metre = {
            m.id for m in self.mats.values() if m.unit == "meter" and m.sku != "MNT-CABLE-TRAY"
        }
        self.kits: dict[uuid.UUID, list[tuple[uuid.UUID, int]]] = defaultdict(list)
        for charger_id, material_id, qty in s.execute(
            select(ChargerKitLine.charger_id, ChargerKitLine.material_id, ChargerKitLine.quantity)
        ).all():
            self.kits[charger_id].append((material_id, qty))
        sku_of = {m.id: m.sku for m in self.mats.values()}
        for lines in self.kits.values():
            lines.sort(key=lambda line: sku_of.get(line[0], ""))

        spec_of = {z.code: z for z in ZONES}
        districts: dict[uuid.UUID, list[tuple[str, str]]] = defaultdict(list)
        for zone_id, state, district in s.execute(
            select(ZoneDistrict.zone_id, ZoneDistrict.state, ZoneDistrict.district).order_by(
                ZoneDistrict.state, ZoneDistrict.district
            )
        ).all():
            districts[zone_id].append((state, district))
        teams: dict[uuid.UUID, list[_Team]] = defaultdict(list)
        for t in s.scalars(
            select(FieldTeam).where(FieldTeam.active.is_(True)).order_by(FieldTeam.code)
        ):
            teams[t.zone_id].append(
                _Team(t.id, t.code, tuple(t.skills or ()), engineer_of.get(t.id))
            )
        vendors: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = defaultdict(list)
        for vendor_id, zone_id, name in s.execute(
            select(Vendor.id, Vendor.zone_id, Vendor.name)
            .where(Vendor.is_active.is_(True))
            .order_by(Vendor.name)
        ).all():
            vendors[zone_id].append((vendor_id, name))

        self.zones: list[_Zone] = []
        for z in s.scalars(select(Zone).where(Zone.active.is_(True)).order_by(Zone.code)):
            if not teams[z.id] or not districts[z.id]:
                continue
            spec = spec_of.get(z.code)
            places = self._places(z.code, districts[z.id], spec.localities if spec else ())
            if not places:
                continue
            self.zones.append(
                _Zone(
                    z.id,
                    z.code,
                    z.name,
                    z.holiday_subdiv,
                    teams[z.id],
                    places,
                    spec.weight if spec else 3,
                    vendors[z.id],
                )
            )
        if not self.zones:
            raise RuntimeError("seed_reference must run first: no zone with teams")

        oem_spec = {o.code: o for o in OEMS}
        self.oems: list[_Oem] = []
        for o in s.scalars(select(Oem).where(Oem.active.is_(True)).order_by(Oem.code)):
            spec = oem_spec.get(o.code)
            vehicles = spec.vehicles if spec else (("EV", "7.2kW AC"),)
            self.oems.append(
                _Oem(
                    o.id,
                    o.code,
                    o.sla_survey_days,
                    o.sla_install_days,
                    vehicles,
                    spec.lead_prefix if spec else o.code[:5],
                    spec.weight if spec else 2,
                )
            )
        if not self.oems:
            raise RuntimeError("seed_reference must run first: no OEM")
        rates = s.execute(select(OemRate.oem_id)).first()
        if rates is None:
            raise RuntimeError("seed_reference must run first: no rate card")

    def _places(
        self,
        zone_code: str,
        districts: list[tuple[str, str]],
        localities: tuple[tuple[str, str], ...],
    ) -> list[tuple[str, str, tuple[str, ...]]]:
        """(locality, city, real pincodes of the locality's district) for a zone."""
        pins: dict[str, tuple[str, ...]] = {}
        for state, district in districts:
            found = district_pincodes(state, district)
            if found:
                pins[district] = found
        spec_city = next((z.city for z in ZONES if z.code == zone_code), None)
        places = []
        for district, locality in localities:
            if district in pins:
                city = DISTRICT_CITY.get(district, spec_city or district.title())
                pin = LOCALITY_PINCODES.get((zone_code, locality))
                local = (pin,) if pin in pins[district] else pins[district]
                places.append((locality, city, local))
        if not places:  # zone added by an admin: use district names as localities
            for district, plist in pins.items():
                places.append((district.title(), spec_city or district.title(), plist))
        return places

    # --------------------------------------------------------------- people
    def _phone(self) -> str:
        while True:
            num = f"+91{self.rng.choice('6789')}{self.rng.randint(0, 999_999_999):09d}"
            if phonenumbers.is_valid_number(phonenumbers.parse(num)):
                return num

    def _person(self, zone_code: str) -> tuple[str, str, str | None]:
        fr, lr = ZONE_REGION.get(zone_code, ("north", "north"))
        rng = self.rng
        first = (
            rng.choice(REGIONAL_FIRST_NAMES[fr]) if rng.random() < 0.4 else rng.choice(FIRST_NAMES)
        )
        last = rng.choice(LAST_NAMES[lr]) if rng.random() < 0.8 else rng.choice(LAST_NAMES["north"])
        name = f"{first} {last}"
        email = None
        if rng.random() < 0.85:
            local = f"{first}.{last}".lower().replace(" ", "")
            if rng.random() < 0.6:
                local += str(rng.randint(1, 99))
            email = f"{local}@{rng.choice(EMAIL_DOMAINS)}"
        return name, self._phone(), email

    def _address(self, locality: str) -> str:
        rng = self.rng
        kind = rng.random()
        if kind < 0.5:
            tower = rng.choice("ABCDEFGH")
            flat = f"{rng.randint(1, 22)}{rng.randint(1, 8):02d}"
            soc = f"{rng.choice(SOCIETY_NAMES)} {rng.choice(STREET_WORDS[2:7])}"
            return f"Flat {flat}, Tower {tower}, {soc}, {locality}"
        if kind < 0.8:
            cross = rng.randint(1, 18)
            suffix = {1: "st", 2: "nd", 3: "rd"}.get(cross if cross < 4 else 0, "th")
            return f"No. {rng.randint(1, 450)}, {cross}{suffix} Cross Road, {locality}"
        street = f"{rng.choice(SOCIETY_NAMES)} {rng.choice(STREET_WORDS)}"
        return f"House {rng.randint(1, 999)}, {street}, {locality}"

    # ------------------------------------------------------------- booking
    def _book(
        self, zone: _Zone, charger_type: str | None, earliest: date
    ) -> tuple[_Team, date, str]:
        """First free (team, business day, slot) on or after ``earliest``."""
        teams = [t for t in zone.teams if charger_type is None or charger_type in t.skills]
        teams = teams or zone.teams
        day = earliest
        while True:
            if is_business_day(day, zone.subdiv):
                for team in self.rng.sample(teams, len(teams)):
                    for slot in self.rng.sample(SLOTS, 3):
                        key = (team.id, day, slot)
                        if key not in self.occ:
                            self.occ.add(key)
                            return team, day, slot
            day += timedelta(days=1)

    def _slot_start(self, day: date, slot: str) -> datetime:
        return at_local(day, SLOT_START_MIN[slot] + self.rng.randint(0, 25))

    # -------------------------------------------------------------- leads
    def _received_times(self, n: int) -> list[datetime]:
        """``n`` arrival times over the history, denser recently (EV sales grow)."""
        g = 1.6
        start = at_local(self.start_day, 0)
        span = (self.now - start).total_seconds()
        out = []
        for _ in range(n):
            u = self.rng.random()
            x = (-1 + math.sqrt(1 + 2 * g * u * (1 + g / 2))) / g
            moment = start + timedelta(seconds=x * span)
            day = local_day(moment)
            t = at_local(day, self.rng.randint(8 * 60 + 30, 20 * 60 + 30))
            if t >= self.now:
                t = self.now - self.minutes(5, 240)
            out.append(t)
        return out

    def run(self) -> dict[str, int]:
        """Simulate, number refs, insert. Returns rows inserted per table name."""
        n = max(1, round(BASE_LEADS * self.scale))
        zone_w = [z.weight for z in self.zones]
        oem_w = [o.weight for o in self.oems]
        plans = []
        for received in self._received_times(n):
            zone = self.rng.choices(self.zones, zone_w)[0]
            oem = self.rng.choices(self.oems, oem_w)[0]
            batch_id = None
            if self.rng.random() < 0.7:
                received, batch_id = self._import_time(oem, received)
            plans.append((received, zone, oem, batch_id))
        plans.sort(key=lambda p: p[0])
        for received, zone, oem, batch_id in plans:
            self._lead(received, zone, oem, batch_id)
        self._pipeline()
        self._stock()
        self._daily_logs()
        self._assign_refs()
        return self._insert()

    def _import_time(self, oem: _Oem, received: datetime) -> tuple[datetime, uuid.UUID]:
        """Imported leads share their OEM sheet's arrival time (one sheet per OEM per day)."""
        day = local_day(received)
        key = (oem.id, day)
        batch = self.imports.get(key)
        if batch is None:
            t = at_local(day, self.rng.randint(9 * 60 + 30, 12 * 60))
            if t >= self.now:
                t = self.now - self.minutes(10, 60)
            batch = {
                "id": self.uid(),
                "oem_id": oem.id,
                "filename": f"{oem.code.lower()}_ev_charger_leads_{day:%Y%m%d}.xlsx",
                "imported_by_id": self.planner,
                "rows_total": 0,
                "rows_imported": 0,
                "rows_rejected": 0,
                "created_at": t,
            }
            batch["sha256"] = hashlib.sha256(batch["filename"].encode()).hexdigest()
            self.imports[key] = batch
            self.rows[LeadImport].append(batch)
        batch["rows_imported"] += 1
        return batch["created_at"], batch["id"]

    def _lead(
        self,
        received: datetime,
        zone: _Zone,
        oem: _Oem,
        batch_id: uuid.UUID | None,
        target: str | None = None,
    ) -> None:
        """One lead: arrival, contact, survey(s), installation, pack, service; cut at now.

        ``target`` (see ``_pipeline``) stops the lead at a step of the work in hand: survey
        ``completed`` (not submitted yet), ``submitted`` (not reviewed yet), ``rejected`` (no new
        survey booked yet), ``surveyed`` (no installation yet) or ``unassigned`` (installation
        with a date but no team); it also rules out cancellation.
        """
        rng = self.rng
        name, phone, email = self._person(zone.code)
        locality, city, pins = rng.choice(zone.places)
        vehicle, charger_type = rng.choice(oem.vehicles)
        self.oem_lead_n[oem.code] += 1
        lead: dict[str, Any] = {
            "id": self.uid(),
            "ref": None,
            "oem_id": oem.id,
            "oem_lead_ref": (
                f"{oem.prefix}-{local_day(received):%y%m%d}-{self.oem_lead_n[oem.code]:05d}"
            ),
            "customer_name": name,
            "phone": phone,
            "email": email,
            "address": self._address(locality),
            "city": city,
            "pincode": rng.choice(pins),
            "zone_id": zone.id,
            "vehicle_model": vehicle,
            "requested_charger_type": charger_type,
            "received_at": received,
            "status": "new",
            "cancel_reason": None,
            "source": "manual" if batch_id is None else "import",
            "lead_import_id": batch_id,
            "created_at": received,
            "updated_at": received,
        }
        self.rows[Lead].append(lead)
        self._ref("LEAD", received, lead)

        def set_status(status: str, moment: datetime, reason: str | None = None) -> None:
            lead["status"] = status
            lead["updated_at"] = max(lead["updated_at"], moment)
            if reason:
                lead["cancel_reason"] = reason

        fate = rng.random()
        stage = None
        if fate < 0.03:
            stage = "pre_survey"
        elif fate < 0.045:
            stage = "survey"
        elif fate < 0.06:
            stage = "post_survey"
        elif fate < 0.075:
            stage = "installation"
        if target is not None:
            stage = None

        contact_at = received + self.minutes(30, 20 * 60)
        if contact_at > self.now:
            return
        set_status("contacted", contact_at)
        if stage == "pre_survey":
            cancel_at = contact_at + self.minutes(120, 72 * 60)
            if cancel_at <= self.now:
                set_status("cancelled", cancel_at, rng.choice(CANCEL_REASONS["pre_survey"]))
            return
        book_at = contact_at + (timedelta(days=1) if rng.random() < 0.3 else timedelta(0))
        if book_at > self.now:
            return
        recv_day = local_day(received)
        if rng.random() < 0.87:
            k = rng.randint(1, oem.sla_survey)
        else:
            k = oem.sla_survey + rng.randint(1, 4)
        earliest = max(
            add_business_days(recv_day, k, zone.subdiv), local_day(book_at) + timedelta(days=1)
        )
        if target in ("completed", "submitted"):  # surveyed yesterday (or this morning)
            earliest = max(self.today - timedelta(days=1), local_day(book_at) + timedelta(days=1))
        survey, report, survey_day, team = None, None, None, None
        for attempt in range(2):
            team, survey_day, slot = self._book(zone, None, earliest)
            survey = {
                "id": self.uid(),
                "ref": None,
                "lead_id": lead["id"],
                "team_id": team.id,
                "survey_date": survey_day,
                "time_slot": slot,
                "status": "scheduled",
                "completed_at": None,
                "submitted_at": None,
                "reviewer_id": None,
                "reviewed_at": None,
                "review_notes": None,
                "created_at": book_at,
                "updated_at": book_at,
            }
            self.rows[Survey].append(survey)
            self._ref("SUR", book_at, survey)
            set_status("survey_scheduled", book_at)
            start = self._slot_start(survey_day, slot)
            if stage == "survey":
                cancel_at = book_at + (start - book_at) * rng.uniform(0.1, 0.9)
                if cancel_at <= self.now:
                    survey["status"] = "cancelled"
                    survey["updated_at"] = cancel_at
                    set_status("cancelled", cancel_at, rng.choice(CANCEL_REASONS["survey"]))
                return
            done_at = start + self.minutes(50, 110)
            if done_at > self.now:
                return
            self.jobs_done[(team.id, survey_day)] += 1
            survey.update(status="completed", completed_at=done_at, updated_at=done_at)
            submitted_at = done_at + self.minutes(30, 300)
            if submitted_at > self.now or target == "completed":
                return
            report = self._survey_report(survey, team, lead, charger_type, zone, submitted_at)
            survey.update(status="submitted", submitted_at=submitted_at, updated_at=submitted_at)
            reviewed_at = submitted_at + self.minutes(60, 20 * 60)
            if reviewed_at > self.now or target == "submitted":
                return
            survey.update(reviewer_id=self.planner, reviewed_at=reviewed_at, updated_at=reviewed_at)
            if attempt == 0 and (rng.random() < 0.04 or target == "rejected"):
                survey.update(status="reviewed_rejected", review_notes=rng.choice(REJECT_NOTES))
                set_status("contacted", reviewed_at)  # as review_survey does on rejection
                if target == "rejected":
                    return  # the new survey is not booked yet
                book_at = reviewed_at
                earliest = add_business_days(local_day(reviewed_at), rng.randint(1, 3), zone.subdiv)
                continue
            survey["status"] = "reviewed_approved"
            set_status("surveyed", reviewed_at)  # the lead is surveyed once the survey is approved
            if rng.random() < 0.2:
                survey["review_notes"] = "Approved; material as per recommendation."
            break
        assert survey is not None and report is not None and survey_day is not None
        reviewed_at = survey["reviewed_at"]
        if stage == "post_survey":
            cancel_at = reviewed_at + self.minutes(240, 96 * 60)
            if cancel_at <= self.now:
                set_status("cancelled", cancel_at, rng.choice(CANCEL_REASONS["post_survey"]))
            return
        created_at = reviewed_at + self.minutes(10, 240)
        if created_at > self.now or target == "surveyed":
            return
        if target == "unassigned":
            self._unassigned_installation(lead, survey, report, zone, created_at, set_status)
            return
        self._installation(
            lead, survey, report, zone, oem, recv_day, survey_day, created_at, stage, set_status
        )

    # ------------------------------------------------------------ work in hand
    def _pipeline(self) -> None:
        """Top up the work in hand at "now" (``PIPELINE_MIN``, ``UNASSIGNED_PER_ZONE``).

        The simulation alone leaves few leads mid-survey at small scales, and books a team for
        every installation it creates. This adds recent leads that stop at the missing steps
        (counted first, so larger scales add fewer), and per zone installations with an
        agreed date in the next ``UNASSIGNED_HORIZON_DAYS`` days that no team is booked for
        yet, for the dispatch board. Deterministic: zones by code, bounded attempts.
        """
        rng = self.rng
        oem_w = [o.weight for o in self.oems]
        latest: dict[uuid.UUID, dict[str, Any]] = {}
        for sv in self.rows[Survey]:
            latest[sv["lead_id"]] = sv  # a lead's surveys are appended oldest first
        lead_status = {lead["id"]: lead["status"] for lead in self.rows[Lead]}
        have: Counter[str] = Counter()
        for lead_id, sv in latest.items():
            have[self._survey_step(sv["status"], lead_status[lead_id])] += 1
        assigned = {
            a["installation_id"]
            for a in self.rows[InstallationAssignment]
            if a["released_at"] is None
        }
        horizon = self.today + timedelta(days=UNASSIGNED_HORIZON_DAYS)
        unassigned: Counter[uuid.UUID] = Counter()
        zone_of = {lead["id"]: lead["zone_id"] for lead in self.rows[Lead]}
        for inst in self.rows[Installation]:
            d = inst["scheduled_date"]
            if (
                inst["status"] in BOOKABLE_STATUSES
                and inst["id"] not in assigned
                and d is not None
                and self.today < d <= horizon
            ):
                unassigned[zone_of[inst["lead_id"]]] += 1

        def received_for(target: str) -> datetime:
            back = {"scheduled": (1, 2), "completed": (3, 5), "submitted": (3, 5)}
            lo, hi = back.get(target, (10, 16))
            day = self.today - timedelta(days=rng.randint(lo, hi))
            return at_local(day, rng.randint(9 * 60, 19 * 60))

        wanted: list[tuple[str, _Zone | None, int]] = [
            (target, None, n - have[target]) for target, n in PIPELINE_MIN.items()
        ]
        wanted += [
            ("unassigned", zone, UNASSIGNED_PER_ZONE - unassigned[zone.id]) for zone in self.zones
        ]
        turn = 0
        for target, zone, missing in wanted:
            for _ in range(max(0, missing) * 10):
                if missing <= 0:
                    break
                z = zone or self.zones[turn % len(self.zones)]
                turn += 1
                oem = rng.choices(self.oems, oem_w)[0]
                self._lead(received_for(target), z, oem, None, target=target)
                lead = self.rows[Lead][-1]
                sv = self.rows[Survey][-1] if self.rows[Survey] else None
                if sv is None or sv["lead_id"] != lead["id"]:
                    continue
                if target == "unassigned":
                    inst = self.rows[Installation][-1]
                    missing -= inst["lead_id"] == lead["id"]
                else:
                    missing -= self._survey_step(sv["status"], lead["status"]) == target

    @staticmethod
    def _survey_step(survey_status: str, lead_status: str) -> str:
        """The ``PIPELINE_MIN`` step of a lead from its latest survey (or ``other``)."""
        if survey_status == "reviewed_rejected":
            return "rejected"
        if survey_status == "reviewed_approved":
            return "surveyed" if lead_status == "surveyed" else "other"
        return survey_status  # scheduled, completed, submitted, cancelled

    def _planned_installation(
        self,
        survey: dict[str, Any],
        lead: dict[str, Any],
        report: dict[str, Any],
        day: date,
        slot: str,
        created_at: datetime,
    ) -> dict[str, Any]:
        """A new ``planned`` installation row for an approved survey, with its INS ref."""
        inst: dict[str, Any] = {
            "id": self.uid(),
            "ref": None,
            "survey_id": survey["id"],
            "lead_id": lead["id"],
            "status": "planned",
            "scheduled_date": day,
            "time_slot": slot,
            "material_ready": False,
            "customer_confirmed": False,
            "confirmed_at": None,
            "confirmed_by_id": None,
            "demo_completed": False,
            "install_level": report["_level"],
            "completed_at": None,
            "closed_at": None,
            "cancel_reason": None,
            "reschedule_reason": None,
            "created_by_id": self.planner,
            "created_at": created_at,
            "updated_at": created_at,
        }
        self.rows[Installation].append(inst)
        self._ref("INS", created_at, inst)
        return inst

    def _unassigned_installation(
        self,
        lead: dict[str, Any],
        survey: dict[str, Any],
        report: dict[str, Any],
        zone: _Zone,
        created_at: datetime,
        set_status: Any,
    ) -> None:
        """An installation with the customer's agreed date (1..``UNASSIGNED_HORIZON_DAYS``
        days ahead, a business day) and slot, material in progress, and no team yet."""
        rng = self.rng
        day = self.today + timedelta(days=rng.randint(1, UNASSIGNED_HORIZON_DAYS - 3))
        while not is_business_day(day, zone.subdiv):
            day += timedelta(days=1)
        inst = self._planned_installation(survey, lead, report, day, rng.choice(SLOTS), created_at)
        set_status("installation_scheduled", created_at)
        pending_at = created_at + self.minutes(5, 60)
        ready_at = pending_at + self.minutes(120, 40 * 60)
        by = self.procurement
        events = [
            (None, "planned", created_at, self.planner, None),
            ("planned", "material_pending", pending_at, by, "Stock check started"),
            ("material_pending", "material_ready", ready_at, by, "Material allocated"),
        ]
        for from_status, to_status, when, who, reason in events:
            if when > self.now:
                break
            self.rows[InstallationStatusChange].append(
                {
                    "id": self.uid(),
                    "installation_id": inst["id"],
                    "from_status": from_status,
                    "to_status": to_status,
                    "changed_by_id": who,
                    "reason": reason,
                    "created_at": when,
                }
            )
            inst.update(status=to_status, updated_at=when)
        if inst["status"] == "material_ready":
            inst["material_ready"] = True
            self._allocate(inst, report, zone, ready_at, day, None)

    def _survey_report(
        self,
        survey: dict[str, Any],
        team: _Team,
        lead: dict[str, Any],
        charger_type: str,
        zone: _Zone,
        submitted_at: datetime,
    ) -> dict[str, Any]:
        rng = self.rng
        site = rng.choices(
            ("apartment", "independent_house", "villa", "commercial"), (45, 35, 15, 5)
        )[0]
        if site == "apartment":
            parking = rng.choices(("basement", "stilt", "covered", "open"), (45, 25, 20, 10))[0]
            dist = rng.triangular(8, 60, 18)
        else:
            parking = rng.choices(("covered", "open", "stilt"), (50, 40, 10))[0]
            dist = rng.triangular(3, 30, 8)
        skus = CHARGER_BY_TYPE.get(charger_type, ("CHG-AC-7K2",))
        sku = skus[1] if len(skus) > 1 and rng.random() < 0.3 else skus[0]
        charger = self.mats.get(sku) or next(
            m for m in self.mats.values() if m.category == "charger"
        )
        load_range = {"3.3kW AC": (3, 8), "11kW AC": (10, 20)}.get(charger_type, (5, 12))
        earthing_ok = rng.random() < 0.8
        enhancement = rng.random() < 0.08
        cable = round(dist + rng.uniform(2, 6), 1)
        pedestal = parking == "open" and site != "apartment" and rng.random() < 0.5
        report = {
            "id": self.uid(),
            "survey_id": survey["id"],
            "site_type": site,
            "parking": parking,
            "meter_distance_m": Decimal(f"{dist:.2f}"),
            "sanctioned_load_kw": Decimal(f"{rng.randint(*load_range)}.00"),
            "earthing_ok": earthing_ok,
            "recommended_charger_id": charger.id,
            "cable_length_m": Decimal(f"{cable:.2f}"),
            "load_enhancement_needed": enhancement,
            "notes": rng.choice(SURVEY_NOTES),
            "submitted_by_id": team.engineer_id,
            "created_at": submitted_at,
            "updated_at": submitted_at,
        }
        self.rows[SurveyReport].append(report)
        # recommended material: the charger's kit adapted to the measured run
        lines: dict[uuid.UUID, int] = {charger.id: 1}
        for material_id, qty in self.kits.get(charger.id, []):
            if material_id in self.per_metre:
                qty = math.ceil(cable)
            lines[material_id] = qty
        if pedestal and "MNT-PEDESTAL" in self.mats and "MNT-WALL-BRKT" in self.mats:
            lines.pop(self.mats["MNT-WALL-BRKT"].id, None)
            lines[self.mats["MNT-PEDESTAL"].id] = 1
        if not earthing_ok and "ELE-EARTH-KIT" in self.mats:
            lines[self.mats["ELE-EARTH-KIT"].id] = 1
        if site == "apartment" and "ELE-SUBMETER-1P" in self.mats and rng.random() < 0.6:
            lines[self.mats["ELE-SUBMETER-1P"].id] = 1
        if parking == "basement" and "MNT-CABLE-TRAY" in self.mats:
            lines[self.mats["MNT-CABLE-TRAY"].id] = max(1, math.ceil(cable / 2))
        for material_id, qty in lines.items():
            self.rows[SurveyReportLine].append(
                {
                    "id": self.uid(),
                    "survey_report_id": report["id"],
                    "material_id": material_id,
                    "quantity": qty,
                    "created_at": submitted_at,
                }
            )
        if cable > 35 or pedestal or enhancement:
            level = "premium"
        elif cable <= 15 and earthing_ok:
            level = "basic"
        else:
            level = "standard"
        report["_level"] = level
        report["_lines"] = lines
        report["_charger"] = charger
        report["_charger_type"] = charger_type
        return report

    # -------------------------------------------------------- installation
    def _installation(
        self,
        lead: dict[str, Any],
        survey: dict[str, Any],
        report: dict[str, Any],
        zone: _Zone,
        oem: _Oem,
        recv_day: date,
        survey_day: date,
        created_at: datetime,
        stage: str | None,
        set_status: Any,
    ) -> None:
        rng = self.rng
        now = self.now
        charger_type = report["_charger_type"]
        ks = business_days_between(recv_day, survey_day, zone.subdiv)
        lo = ks + 2
        if rng.random() < 0.95 and lo <= oem.sla_install:
            k = rng.randint(lo, max(lo, oem.sla_install - 1))
        else:
            k = max(lo, oem.sla_install + rng.randint(1, 6))
        earliest = max(
            add_business_days(recv_day, k, zone.subdiv), local_day(created_at) + timedelta(days=1)
        )
        team, day, slot = self._book(zone, charger_type, earliest)
        inst = self._planned_installation(survey, lead, report, day, slot, created_at)
        set_status("installation_scheduled", created_at)

        events: list[tuple[str, datetime, uuid.UUID | None, str | None]] = []
        assignments: list[dict[str, Any]] = []

        def assign(team_: _Team, day_: date, slot_: str, when: datetime) -> dict[str, Any]:
            a = {
                "id": self.uid(),
                "installation_id": inst["id"],
                "team_id": team_.id,
                "role": "primary",
                "work_date": day_,
                "time_slot": slot_,
                "assigned_by_id": self.planner,
                "assigned_at": when,
                "released_at": None,
                "reason": None,
                "created_at": when,
            }
            assignments.append(a)
            return a

        current = assign(team, day, slot, created_at)
        events.append(("planned", created_at, self.planner, None))
        pending_at = created_at + self.minutes(5, 60)
        events.append(("material_pending", pending_at, self.procurement, "Stock check started"))
        start = self._slot_start(day, slot)
        ready_at = pending_at + self.minutes(120, 40 * 60)
        ready_at = max(min(ready_at, start - timedelta(hours=10)), pending_at + self.minutes(5, 30))
        events.append(("material_ready", ready_at, self.procurement, "Material allocated"))
        allocated_at = ready_at
        local_purchase = rng.random() < 0.06 and bool(zone.vendors)
        rescheduled = rng.random() < 0.08
        cancel = stage == "installation"
        cancel_at: datetime | None = None
        while True:
            prev = day - timedelta(days=1)
            if prev.weekday() == 6:
                prev -= timedelta(days=1)
            confirm_at = at_local(prev, rng.randint(10 * 60, 18 * 60))
            if confirm_at <= events[-1][1]:
                confirm_at = events[-1][1] + self.minutes(20, 90)
            if cancel:
                cancel_at = confirm_at
                events.append(
                    (
                        "cancelled",
                        cancel_at,
                        self.planner,
                        rng.choice(CANCEL_REASONS["installation"]),
                    )
                )
                if cancel_at <= now:
                    current["released_at"] = cancel_at
                    current["reason"] = "Installation cancelled"
                break
            if rescheduled:
                rescheduled = False
                reason = rng.choice(RESCHEDULE_REASONS)
                events.append(("rescheduled", confirm_at, self.planner, reason))
                if confirm_at > now:
                    break
                inst["reschedule_reason"] = reason
                current["released_at"] = confirm_at
                current["reason"] = reason
                replan_at = confirm_at + self.minutes(60, 26 * 60)
                events.append(("planned", replan_at, self.planner, "New slot agreed with customer"))
                if replan_at > now:
                    break
                new_earliest = add_business_days(day, rng.randint(2, 6), zone.subdiv)
                team, day, slot = self._book(zone, charger_type, new_earliest)
                inst.update(scheduled_date=day, time_slot=slot)
                current = assign(team, day, slot, replan_at)
                t = replan_at + self.minutes(2, 10)
                events.append(("material_pending", t, self.procurement, None))
                events.append(
                    (
                        "material_ready",
                        t + self.minutes(2, 10),
                        self.procurement,
                        "Already allocated",
                    )
                )
                start = self._slot_start(day, slot)
                continue
            events.append(
                ("confirmed", confirm_at, self.planner, "Confirmation call: customer confirmed")
            )
            started = start + self.minutes(0, 20)
            events.append(("in_progress", started, team.engineer_id, None))
            done = started + self.minutes(100, 210)
            events.append(("completed", done, team.engineer_id, None))
            reported = done + self.minutes(20, 300)
            events.append(("report_submitted", reported, team.engineer_id, None))
            break

        # cut at now
        happened = [e for e in events if e[1] <= now]
        prev_status: str | None = None
        for to_status, when, who, reason in happened:
            self.rows[InstallationStatusChange].append(
                {
                    "id": self.uid(),
                    "installation_id": inst["id"],
                    "from_status": prev_status,
                    "to_status": to_status,
                    "changed_by_id": who,
                    "reason": reason,
                    "created_at": when,
                }
            )
            prev_status = to_status
            inst["updated_at"] = when
            if to_status == "material_ready":
                inst["material_ready"] = True
            elif to_status == "planned":
                inst["customer_confirmed"] = False
                inst["confirmed_at"] = None
                inst["confirmed_by_id"] = None
            elif to_status == "confirmed":
                inst.update(customer_confirmed=True, confirmed_at=when, confirmed_by_id=who)
            elif to_status == "completed":
                inst["completed_at"] = when
                inst["demo_completed"] = rng.random() < 0.93
                self.jobs_done[(team.id, day)] += 1
            elif to_status == "cancelled":
                inst["cancel_reason"] = reason
        inst["status"] = prev_status or "planned"
        self.rows[InstallationAssignment].extend(assignments)

        status = inst["status"]
        if status == "cancelled":
            set_status("cancelled", cancel_at or now, inst["cancel_reason"])
        elif status in ("completed", "report_submitted"):
            set_status("installed", inst["completed_at"])

        # material allocations (reserved when material became ready)
        if local_purchase and pending_at <= now:
            self._procure(inst, report, zone, pending_at, ready_at, cancel_at)
        if allocated_at <= now:
            self._allocate(inst, report, zone, allocated_at, day, cancel_at)

        if status == "report_submitted":
            reported_at = happened[-1][1]
            ir = self._install_report(inst, report, team, reported_at)
            self._closure_pack(inst, lead, report, ir, oem, reported_at, set_status)
        if inst["completed_at"] is not None:
            self._maybe_service(inst, lead, report, zone)

    def _allocate(
        self,
        inst: dict[str, Any],
        report: dict[str, Any],
        zone: _Zone,
        allocated_at: datetime,
        day: date,
        cancel_at: datetime | None,
    ) -> None:
        now = self.now
        dispatched = at_local(day - timedelta(days=1), 17 * 60)
        dispatched = max(dispatched, allocated_at + timedelta(hours=1))
        delivered = at_local(day, 8 * 60)
        cancelled = cancel_at is not None and cancel_at <= now
        for material_id, qty in report["_lines"].items():
            row = {
                "id": self.uid(),
                "installation_id": inst["id"],
                "material_id": material_id,
                "zone_id": zone.id,
                "quantity": qty,
                "allocated_by_id": self.procurement,
                "status": "allocated",
                "allocated_at": allocated_at,
                "dispatched_at": None,
                "delivered_at": None,
                "returned_at": None,
                "created_at": allocated_at,
                "updated_at": allocated_at,
            }
            self.rows[MaterialAllocation].append(row)
            self.rows[StockMovement].append(
                {
                    "id": self.uid(),
                    "_stock": (zone.id, material_id),
                    "_ins": inst,
                    "kind": "allocation",
                    "quantity_delta": -qty,
                    "reason": "Allocated to {ref}",
                    "allocation_id": row["id"],
                    "procurement_request_id": None,
                    "actor_id": self.procurement,
                    "created_at": allocated_at,
                }
            )
            if cancelled:
                assert cancel_at is not None
                back = cancel_at + timedelta(hours=2)
                if back <= now:
                    row.update(status="returned", returned_at=back, updated_at=back)
                    self.rows[StockMovement].append(
                        {
                            "id": self.uid(),
                            "_stock": (zone.id, material_id),
                            "_ins": inst,
                            "kind": "return",
                            "quantity_delta": qty,
                            "reason": "Returned: {ref} cancelled",
                            "allocation_id": row["id"],
                            "procurement_request_id": None,
                            "actor_id": self.procurement,
                            "created_at": back,
                        }
                    )
                continue
            if dispatched <= now:
                row.update(status="dispatched", dispatched_at=dispatched, updated_at=dispatched)
            if delivered <= now and dispatched <= now:
                row.update(status="delivered", delivered_at=delivered, updated_at=delivered)

    def _procure(
        self,
        inst: dict[str, Any],
        report: dict[str, Any],
        zone: _Zone,
        pending_at: datetime,
        ready_at: datetime,
        cancel_at: datetime | None,
    ) -> None:
        """A local purchase (seed 004) for a line the zone store was short of."""
        rng = self.rng
        now = self.now
        charger = report["_charger"]
        cables = [m for m in self.mats.values() if m.id in report["_lines"] and m.unit == "meter"]
        mat = charger if rng.random() < 0.5 or not cables else rng.choice(cables)
        qty = report["_lines"][mat.id]
        vendor_id, vendor_name = rng.choice(zone.vendors)
        estimate = (mat.unit_cost * qty * Decimal("1.08")).quantize(Decimal("0.01"))
        requested = pending_at + self.minutes(5, 30)
        span = ready_at - requested
        approved = requested + span * 0.15
        ordered = requested + span * 0.35
        received = requested + span * 0.9
        pr: dict[str, Any] = {
            "id": self.uid(),
            "ref": None,
            "installation_id": inst["id"],
            "material_id": mat.id,
            "zone_id": zone.id,
            "quantity": qty,
            "vendor_id": vendor_id,
            "status": "requested",
            "estimated_cost": estimate,
            "actual_cost": None,
            "requested_by_id": self.procurement,
            "approved_by_id": None,
            "created_at": requested,
            "updated_at": requested,
        }
        if requested > now:
            return
        self.rows[ProcurementRequest].append(pr)
        self._ref("PR", requested, pr)
        if cancel_at is not None and cancel_at <= now and cancel_at < received:
            pr.update(status="cancelled", updated_at=cancel_at)
            return
        approver = self.manager if estimate > Decimal("10000") else self.procurement
        for status, when in (("approved", approved), ("ordered", ordered), ("received", received)):
            if when > now:
                return
            pr.update(status=status, updated_at=when)
            if status == "approved":
                pr["approved_by_id"] = approver
        factor = Decimal(str(round(rng.uniform(0.92, 1.06), 2)))
        pr["actual_cost"] = (estimate * factor).quantize(Decimal("0.01"))
        self.rows[StockMovement].append(
            {
                "id": self.uid(),
                "_stock": (zone.id, mat.id),
                "kind": "receipt",
                "quantity_delta": qty,
                "reason": f"Local purchase from {vendor_name}",
                "allocation_id": None,
                "procurement_request_id": pr["id"],
                "actor_id": self.procurement,
                "created_at": received,
            }
        )

    def _install_report(
        self, inst: dict[str, Any], report: dict[str, Any], team: _Team, reported_at: datetime
    ) -> dict[str, Any]:
        rng = self.rng
        self.serial_n += 1
        charger = report["_charger"]
        code = charger.sku.replace("CHG-AC-", "").replace("-", "")
        demo = inst["demo_completed"]
        row = {
            "id": self.uid(),
            "installation_id": inst["id"],
            "charger_serial": f"CO{code}{local_day(reported_at):%y%m}{self.serial_n:06d}",
            "charger_model_id": charger.id,
            "success": True,
            "issues": rng.choice(INSTALL_ISSUES) if rng.random() < 0.12 else None,
            "demo_done": demo,
            "demo_signed_off": demo and rng.random() < 0.9,
            "signature_media_id": None,
            "submitted_by_id": team.engineer_id,
            "submitted_at": reported_at,
            "created_at": reported_at,
            "updated_at": reported_at,
        }
        self.rows[InstallationReport].append(row)
        return row

    def _closure_pack(
        self,
        inst: dict[str, Any],
        lead: dict[str, Any],
        report: dict[str, Any],
        ir: dict[str, Any],
        oem: _Oem,
        reported_at: datetime,
        set_status: Any,
    ) -> None:
        rng = self.rng
        now = self.now
        draft_at = reported_at + self.minutes(120, 24 * 60)
        if draft_at > now:
            return
        pack = {
            "id": self.uid(),
            "ref": None,
            "installation_id": inst["id"],
            "lead_id": lead["id"],
            "survey_report_id": report["id"],
            "installation_report_id": ir["id"],
            "compiled_by_id": self.reporting,
            "confirmation_call_completed": False,
            "status": "draft",
            "submitted_to_oem_at": None,
            "oem_response": "pending",
            "version": 1,
            "revision_reason": None,
            "created_at": draft_at,
            "updated_at": draft_at,
        }
        self.rows[ClosurePack].append(pack)
        self._ref("CP", draft_at, pack)

        def submit(when: datetime) -> dict[str, Any]:
            sub = {
                "id": self.uid(),
                "report_type": "closure_pack",
                "report_id": pack["id"],
                "submitted_by_id": self.reporting,
                "oem_id": oem.id,
                "submitted_at": when,
                "acknowledged": False,
                "acknowledged_at": None,
                "created_at": when,
            }
            self.rows[ReportSubmission].append(sub)
            pack.update(status="submitted", submitted_to_oem_at=when, updated_at=when)
            return sub

        compiled_at = draft_at + self.minutes(60, 48 * 60)
        if compiled_at > now:
            return
        pack.update(status="compiled", confirmation_call_completed=True, updated_at=compiled_at)
        submitted_at = compiled_at + self.minutes(60, 48 * 60)
        if submitted_at > now:
            return
        sub = submit(submitted_at)
        response_at = submitted_at + self.minutes(2 * 24 * 60, 8 * 24 * 60)
        if response_at > now:
            return
        sub.update(acknowledged=True, acknowledged_at=response_at)
        if rng.random() < 0.06:
            pack.update(
                status="rejected",
                oem_response="revision_needed",
                revision_reason=rng.choice(
                    (
                        "Serial plate photo not legible",
                        "Customer signature missing on the handover sheet",
                        "Site photo does not show the MCB/RCCB panel",
                    )
                ),
                updated_at=response_at,
            )
            resubmit_at = response_at + self.minutes(24 * 60, 3 * 24 * 60)
            if resubmit_at > now:
                return
            pack.update(version=2, oem_response="pending")
            sub = submit(resubmit_at)
            response_at = resubmit_at + self.minutes(2 * 24 * 60, 6 * 24 * 60)
            if response_at > now:
                return
            sub.update(acknowledged=True, acknowledged_at=response_at)
        pack.update(status="accepted", oem_response="accepted", updated_at=response_at)
        closed_at = response_at + self.minutes(30, 8 * 60)
        if closed_at > now:
            return
        self.rows[InstallationStatusChange].append(
            {
                "id": self.uid(),
                "installation_id": inst["id"],
                "from_status": "report_submitted",
                "to_status": "closed",
                "changed_by_id": self.reporting,
                "reason": "Closure pack accepted by OEM",
                "created_at": closed_at,
            }
        )
        inst.update(status="closed", closed_at=closed_at, updated_at=closed_at)
        set_status("closed", closed_at)

    # ------------------------------------------------------------- service
    def _maybe_service(
        self, inst: dict[str, Any], lead: dict[str, Any], report: dict[str, Any], zone: _Zone
    ) -> None:
        rng = self.rng
        if rng.random() >= 0.12:
            return
        completed_day = local_day(inst["completed_at"])
        fault_day = completed_day + timedelta(days=rng.randint(10, 420))
        if fault_day > self.today:
            return
        created = at_local(fault_day, rng.randint(9 * 60, 19 * 60))
        if created > self.now:
            created = self.now - self.minutes(10, 120)
        nature, maintenance = rng.choice(FAULTS)
        charger = report["_charger"]
        ticket = {
            "id": self.uid(),
            "ref": None,
            "installation_id": inst["id"],
            "lead_id": lead["id"],
            "contact": lead["customer_name"],
            "contact_phone": lead["phone"],
            "fault_reported_date": fault_day,
            "nature_of_fault": nature,
            "equipment_details": charger.name,
            "maintenance": maintenance,
            "notes": None,
            "install_level": inst["install_level"],
            "status": "open",
            "resolved_date": None,
            "customer_satisfied": None,
            "invoice_received_date": None,
            "invoice_authorised_date": None,
            "created_by_id": self.planner,
            "created_at": created,
            "updated_at": created,
        }
        self.rows[ServiceTicket].append(ticket)
        self._ref("SVC", created, ticket)
        if rng.random() < 0.04:
            ticket.update(status="cancelled", notes="Customer reset the RCCB; working again.")
            return
        book_at = created + self.minutes(60, 36 * 60)
        if book_at > self.now:
            return
        earliest = local_day(book_at) + timedelta(days=rng.randint(1, 4))
        team, day, slot = self._book(zone, report["_charger_type"], earliest)
        visit = {
            "id": self.uid(),
            "service_ticket_id": ticket["id"],
            "visit_date": day,
            "time_slot": slot,
            "team_id": team.id,
            "status": "booked",
            "notes": None,
            "completed_at": None,
            "created_at": book_at,
            "updated_at": book_at,
        }
        self.rows[ServiceVisit].append(visit)
        ticket.update(status="scheduled", updated_at=book_at)
        done = self._slot_start(day, slot) + self.minutes(45, 120)
        if done > self.now:
            return
        visit.update(status="completed", completed_at=done, updated_at=done)
        self.jobs_done[(team.id, day)] += 1
        ticket.update(status="resolved", resolved_date=day, updated_at=done)
        if day <= self.today - timedelta(days=3):
            ticket.update(status="closed", customer_satisfied=rng.random() < 0.92)
        received = day + timedelta(days=rng.randint(2, 10))
        if received <= self.today:
            ticket["invoice_received_date"] = received
            authorised = received + timedelta(days=rng.randint(1, 6))
            if authorised <= self.today:
                ticket["invoice_authorised_date"] = authorised

    # --------------------------------------------------------------- stock
    def _stock(self) -> None:
        """Stock per zone x material = opening receipt + monthly receipts - allocations."""
        rng = self.rng
        monthly: dict[tuple[uuid.UUID, uuid.UUID], Counter[date]] = defaultdict(Counter)
        for mv in self.rows[StockMovement]:
            d = local_day(mv["created_at"]).replace(day=1)
            monthly[mv["_stock"]][d] -= mv["quantity_delta"]
        first_month = self.start_day.replace(day=1)
        opening_at = at_local(self.start_day - timedelta(days=2), 11 * 60)
        stocks: dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]] = {}
        receipts: list[dict[str, Any]] = []
        for zone in self.zones:
            for mat in self.mats.values():
                key = (zone.id, mat.id)
                if mat.category == "charger":
                    buffer, reorder, pack = rng.randint(2, 14), 4, 2
                elif mat.unit == "meter":
                    buffer, reorder, pack = rng.randint(40, 320), 100, 50
                else:
                    buffer, reorder, pack = rng.randint(6, 45), 10, 5
                stock = {
                    "id": self.uid(),
                    "material_id": mat.id,
                    "zone_id": zone.id,
                    "quantity_available": 0,
                    "reorder_level": reorder,
                    "version": 1,
                    "created_at": opening_at,
                    "updated_at": opening_at,
                }
                stocks[key] = stock
                used = monthly.get(key, Counter())
                opening = buffer + max(0, used.get(first_month, 0))
                vendor = rng.choice(zone.vendors)[1] if zone.vendors else "central warehouse"
                receipts.append(
                    self._receipt(stock, opening, opening_at, f"Opening stock ({vendor})")
                )
                for month in sorted(m for m in used if m > first_month):
                    qty = used[month]
                    if qty <= 0:
                        continue
                    qty = math.ceil(qty / pack) * pack
                    when = at_local(month, 9 * 60)
                    vendor = rng.choice(zone.vendors)[1] if zone.vendors else "central warehouse"
                    receipts.append(self._receipt(stock, qty, when, f"GRN: {vendor}"))
        movements = receipts + self.rows[StockMovement]
        for mv in movements:
            stock = stocks[mv.pop("_stock")]
            mv["material_stock_id"] = stock["id"]
            stock["quantity_available"] += mv["quantity_delta"]
            stock["version"] += 1
            stock["updated_at"] = max(stock["updated_at"], mv["created_at"])
        movements.sort(key=lambda m: m["created_at"])
        self.rows[StockMovement] = movements
        self.rows[MaterialStock] = list(stocks.values())

    def _receipt(
        self, stock: dict[str, Any], qty: int, when: datetime, reason: str
    ) -> dict[str, Any]:
        return {
            "id": self.uid(),
            "_stock": (stock["zone_id"], stock["material_id"]),
            "kind": "receipt",
            "quantity_delta": qty,
            "reason": reason,
            "allocation_id": None,
            "procurement_request_id": None,
            "actor_id": self.procurement,
            "created_at": when,
        }

    def _daily_logs(self) -> None:
        """Team daily logs (seed 003 daily reports) for the last 60 days up to yesterday."""
        for zone in self.zones:
            for team in zone.teams:
                for back in range(60, 0, -1):
                    day = self.today - timedelta(days=back)
                    if day.weekday() == 6:
                        continue
                    jobs = self.jobs_done.get((team.id, day), 0)
                    if not is_business_day(day, zone.subdiv):
                        day_type, note = "holiday", "Public holiday"
                    elif jobs:
                        day_type, note = "productive", None
                    else:
                        day_type, note = "non_productive", "Standby; material pick-up at zone store"
                    self.rows[TeamDailyLog].append(
                        {
                            "id": self.uid(),
                            "team_id": team.id,
                            "log_date": day,
                            "day_type": day_type,
                            "jobs_done": jobs,
                            "notes": note,
                            "created_by_id": team.engineer_id,
                            "created_at": at_local(day, 19 * 60),
                        }
                    )

    # ---------------------------------------------------------------- refs
    def _assign_refs(self) -> None:
        """Number refs per prefix and event year in time order, after existing counters."""
        existing = {
            (p, y): (cid, v)
            for cid, p, y, v in self.s.execute(
                select(RefCounter.id, RefCounter.prefix, RefCounter.year, RefCounter.last_value)
            ).all()
        }
        last: dict[tuple[str, int], int] = {}
        for prefix, items in self.refs.items():
            items.sort(key=lambda it: (it[0], it[1]))
            for moment, _, row in items:
                key = (prefix, moment.year)
                if key not in last:
                    last[key] = existing.get(key, (None, 0))[1]
                last[key] += 1
                row["ref"] = format_ref(prefix, moment.year, last[key])
        for mv in self.rows[StockMovement]:
            inst = mv.pop("_ins", None)
            if inst is not None:
                mv["reason"] = mv["reason"].format(ref=inst["ref"])
        for (prefix, year), value in sorted(last.items()):
            if (prefix, year) in existing:
                cid, _ = existing[(prefix, year)]
                self.s.execute(
                    update(RefCounter).where(RefCounter.id == cid).values(last_value=value)
                )
            else:
                self.rows[RefCounter].append(
                    {
                        "id": self.uid(),
                        "prefix": prefix,
                        "year": year,
                        "last_value": value,
                        "created_at": self.now,
                    }
                )

    # -------------------------------------------------------------- insert
    def _insert(self) -> dict[str, int]:
        for batch in self.imports.values():
            rejected = self.rng.randint(1, 3) if self.rng.random() < 0.12 else 0
            batch["rows_rejected"] = rejected
            batch["rows_total"] = batch["rows_imported"] + rejected
        for report in self.rows[SurveyReport]:
            for k in ("_level", "_lines", "_charger", "_charger_type"):
                report.pop(k, None)
        order = (
            LeadImport,
            Lead,
            Survey,
            SurveyReport,
            SurveyReportLine,
            Installation,
            InstallationStatusChange,
            InstallationAssignment,
            InstallationReport,
            MaterialStock,
            MaterialAllocation,
            ProcurementRequest,
            StockMovement,
            ClosurePack,
            ReportSubmission,
            ServiceTicket,
            ServiceVisit,
            TeamDailyLog,
            RefCounter,
        )
        counts: dict[str, int] = {}
        self.s.flush()
        use_copy = self.s.get_bind().dialect.name == "postgresql"
        for model in order:
            rows = self.rows.get(model, [])
            counts[model.__tablename__] = len(rows)
            if not rows:
                continue
            if use_copy:
                _copy_rows(self.s, model.__table__, rows)
            else:
                for i in range(0, len(rows), 5000):
                    self.s.execute(insert(model.__table__), rows[i : i + 5000])
        return counts


def _copy_rows(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL bulk load with ``COPY ... FROM STDIN`` on the session's own connection.

    Values go through psycopg's adapters (aware datetimes keep their UTC offset, UUIDs,
    Decimals, dates); every row must carry every listed column.
    """
    cols = list(rows[0].keys())
    names = ", ".join(f'"{c}"' for c in cols)
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row[c] for c in cols])


def generate_demo(session: Session, *, seed: int, scale: float, today: date) -> dict[str, int]:
    """Simulate and insert the demo history; returns rows inserted per table name.

    Raises:
        RuntimeError: reference data missing (run ``seed_reference`` first).
    """
    return DemoGenerator(session, seed=seed, scale=scale, today=today).run()
