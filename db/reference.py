"""Reference data for ChargeOps: zones, OEMs and rate cards, materials, kits, vendors, teams, users.

Plain, immutable data only (no database access); ``db.seed.seed_reference`` upserts it.

* Zones are real Indian metro areas defined by their districts exactly as named (upper case) by
  the ``indian-pincode`` package; ``holiday_subdiv`` is the ``holidays`` India subdivision code.
* OEMs are car makers selling electric cars in India; SLA targets are in business days, rate
  cards in INR per install level with a change of price during the demo history, so "the rate
  in force on the completion date" matters.
* Materials carry a unit cost in INR; chargers carry their rated power in kW; cables and
  conduit are sold per metre.
* Vendor phones are E.164 Indian mobiles, UPI ids match ``name@handle`` and IFSC codes use real
  bank prefixes (``HDFC0``, ``SBIN0``, ``ICIC0``, ``UTIB0``, ``KKBK0``...).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

DEMO_PASSWORD = "ChargeOps@2026"
"""Shared password of every demo login (shown on the login page in demo mode)."""


@dataclass(frozen=True)
class ZoneSpec:
    """A metro zone.

    Attributes:
        code / name / state: zone identity; ``state`` as spelt by ``indian-pincode``.
        holiday_subdiv: ``holidays`` India subdivision code (``KA``, ``MH``...).
        city: city name written on customer addresses.
        districts: ``(state, district)`` pairs covered, ``indian-pincode`` naming.
        localities: ``(district, locality)`` pairs used to build realistic addresses; the
            demo picks a pincode of the locality's district.
        teams: number of field teams based in the zone.
        weight: share of demo leads (relative).
    """

    code: str
    name: str
    state: str
    holiday_subdiv: str
    city: str
    districts: tuple[tuple[str, str], ...]
    localities: tuple[tuple[str, str], ...]
    teams: int
    weight: int


def _loc(district: str, *names: str) -> tuple[tuple[str, str], ...]:
    return tuple((district, n) for n in names)


ZONES: tuple[ZoneSpec, ...] = (
    ZoneSpec(
        code="DEL",
        name="Delhi NCR",
        state="DELHI",
        holiday_subdiv="DL",
        city="New Delhi",
        districts=(
            ("DELHI", "CENTRAL"),
            ("DELHI", "EAST"),
            ("DELHI", "NEW DELHI"),
            ("DELHI", "NORTH"),
            ("DELHI", "NORTH WEST"),
            ("DELHI", "SOUTH"),
            ("DELHI", "SOUTH EAST"),
            ("DELHI", "SOUTH WEST"),
            ("DELHI", "WEST"),
            ("HARYANA", "GURUGRAM"),
            ("HARYANA", "FARIDABAD"),
            ("UTTAR PRADESH", "GAUTAM BUDDHA NAGAR"),
            ("UTTAR PRADESH", "GHAZIABAD"),
        ),
        localities=(
            *_loc("SOUTH", "Saket", "Malviya Nagar", "Greater Kailash II", "Hauz Khas"),
            *_loc("SOUTH WEST", "Dwarka Sector 12", "Dwarka Sector 22"),
            *_loc("SOUTH EAST", "Lajpat Nagar", "Defence Colony", "Kalkaji"),
            *_loc("NEW DELHI", "Chanakyapuri", "Golf Links", "Vasant Kunj"),
            *_loc("WEST", "Rajouri Garden", "Punjabi Bagh", "Janakpuri"),
            *_loc("NORTH WEST", "Rohini Sector 9", "Pitampura"),
            *_loc("NORTH", "Shalimar Bagh"),
            *_loc("EAST", "Mayur Vihar Phase 1", "Preet Vihar"),
            *_loc("GURUGRAM", "DLF Phase 3", "Sushant Lok 1", "Sector 56", "Sohna Road"),
            *_loc("GAUTAM BUDDHA NAGAR", "Sector 50, Noida", "Sector 137, Noida"),
            *_loc("GHAZIABAD", "Indirapuram", "Vaishali Sector 4"),
            *_loc("FARIDABAD", "Sector 15, Faridabad"),
        ),
        teams=5,
        weight=18,
    ),
    ZoneSpec(
        code="MUM",
        name="Mumbai MMR",
        state="MAHARASHTRA",
        holiday_subdiv="MH",
        city="Mumbai",
        districts=(
            ("MAHARASHTRA", "MUMBAI"),
            ("MAHARASHTRA", "MUMBAI SUBURBAN"),
            ("MAHARASHTRA", "THANE"),
            ("MAHARASHTRA", "RAIGAD"),
        ),
        localities=(
            *_loc("MUMBAI", "Colaba", "Worli", "Dadar West", "Byculla"),
            *_loc("MUMBAI SUBURBAN", "Bandra West", "Andheri East", "Powai", "Goregaon East"),
            *_loc("MUMBAI SUBURBAN", "Malad West", "Borivali West", "Chembur", "Mulund West"),
            *_loc("THANE", "Ghodbunder Road", "Vasant Vihar, Thane", "Vashi"),
            *_loc("RAIGAD", "Panvel", "Ulwe", "Kharghar"),
        ),
        teams=5,
        weight=15,
    ),
    ZoneSpec(
        code="PUN",
        name="Pune",
        state="MAHARASHTRA",
        holiday_subdiv="MH",
        city="Pune",
        districts=(("MAHARASHTRA", "PUNE"),),
        localities=_loc(
            "PUNE",
            "Kothrud",
            "Baner",
            "Aundh",
            "Hinjewadi Phase 1",
            "Wakad",
            "Kharadi",
            "Viman Nagar",
            "Hadapsar",
            "Magarpatta",
            "Pimple Saudagar",
        ),
        teams=3,
        weight=9,
    ),
    ZoneSpec(
        code="BLR",
        name="Bengaluru",
        state="KARNATAKA",
        holiday_subdiv="KA",
        city="Bengaluru",
        districts=(("KARNATAKA", "BENGALURU URBAN"), ("KARNATAKA", "BENGALURU RURAL")),
        localities=(
            *_loc("BENGALURU URBAN", "Koramangala", "Indiranagar", "HSR Layout", "Whitefield"),
            *_loc("BENGALURU URBAN", "Jayanagar", "JP Nagar", "Electronic City Phase 1"),
            *_loc("BENGALURU URBAN", "Sarjapur Road", "Hebbal", "Yelahanka New Town"),
            *_loc("BENGALURU URBAN", "Malleshwaram", "Bannerghatta Road"),
            *_loc("BENGALURU RURAL", "Devanahalli", "Hoskote"),
        ),
        teams=5,
        weight=15,
    ),
    ZoneSpec(
        code="CHE",
        name="Chennai",
        state="TAMIL NADU",
        holiday_subdiv="TN",
        city="Chennai",
        districts=(
            ("TAMIL NADU", "CHENNAI"),
            ("TAMIL NADU", "CHENGALPATTU"),
            ("TAMIL NADU", "KANCHIPURAM"),
            ("TAMIL NADU", "THIRUVALLUR"),
        ),
        localities=(
            *_loc("CHENNAI", "Adyar", "Anna Nagar", "T. Nagar", "Mylapore", "Velachery"),
            *_loc("CHENNAI", "Besant Nagar", "Nungambakkam", "Perungudi", "Sholinganallur"),
            *_loc("CHENNAI", "Porur"),
            *_loc("CHENGALPATTU", "Tambaram", "Medavakkam"),
            *_loc("THIRUVALLUR", "Ambattur", "Avadi"),
        ),
        teams=3,
        weight=9,
    ),
    ZoneSpec(
        code="HYD",
        name="Hyderabad",
        state="TELANGANA",
        holiday_subdiv="TS",
        city="Hyderabad",
        districts=(
            ("TELANGANA", "HYDERABAD"),
            ("TELANGANA", "MEDCHAL MALKAJGIRI"),
            ("TELANGANA", "RANGA REDDY"),
            ("TELANGANA", "SANGAREDDY"),
        ),
        localities=(
            *_loc("HYDERABAD", "Banjara Hills", "Jubilee Hills", "Begumpet", "Himayatnagar"),
            *_loc("HYDERABAD", "Kondapur", "Kompally", "Secunderabad"),
            *_loc("RANGA REDDY", "Gachibowli", "Manikonda", "Narsingi"),
            *_loc("MEDCHAL MALKAJGIRI", "Uppal", "Kukatpally"),
            *_loc("SANGAREDDY", "Ameenpur", "Patancheru"),
        ),
        teams=4,
        weight=10,
    ),
    ZoneSpec(
        code="KOL",
        name="Kolkata",
        state="WEST BENGAL",
        holiday_subdiv="WB",
        city="Kolkata",
        districts=(
            ("WEST BENGAL", "KOLKATA"),
            ("WEST BENGAL", "HOWRAH"),
            ("WEST BENGAL", "24 PARAGANAS NORTH"),
            ("WEST BENGAL", "24 PARAGANAS SOUTH"),
        ),
        localities=(
            *_loc("KOLKATA", "Ballygunge", "Alipore", "Tollygunge", "Behala"),
            *_loc("24 PARAGANAS NORTH", "New Town", "Rajarhat", "Dum Dum", "Salt Lake Sector V"),
            *_loc("24 PARAGANAS SOUTH", "Garia"),
            *_loc("HOWRAH", "Shibpur", "Santragachi"),
        ),
        teams=2,
        weight=6,
    ),
    ZoneSpec(
        code="AMD",
        name="Ahmedabad",
        state="GUJARAT",
        holiday_subdiv="GJ",
        city="Ahmedabad",
        districts=(("GUJARAT", "AHMADABAD"), ("GUJARAT", "GANDHINAGAR")),
        localities=(
            *_loc("AHMADABAD", "Satellite", "Bodakdev", "Prahlad Nagar", "Vastrapur"),
            *_loc("AHMADABAD", "Navrangpura", "Thaltej", "South Bopal", "Maninagar"),
            *_loc("GANDHINAGAR", "Sector 21, Gandhinagar", "Kudasan"),
        ),
        teams=2,
        weight=6,
    ),
    ZoneSpec(
        code="JAI",
        name="Jaipur",
        state="RAJASTHAN",
        holiday_subdiv="RJ",
        city="Jaipur",
        districts=(("RAJASTHAN", "JAIPUR"),),
        localities=_loc(
            "JAIPUR",
            "Malviya Nagar",
            "Vaishali Nagar",
            "C-Scheme",
            "Mansarovar",
            "Jagatpura",
            "Raja Park",
            "Bani Park",
        ),
        teams=2,
        weight=4,
    ),
    ZoneSpec(
        code="KOC",
        name="Kochi",
        state="KERALA",
        holiday_subdiv="KL",
        city="Kochi",
        districts=(("KERALA", "ERNAKULAM"),),
        localities=_loc(
            "ERNAKULAM",
            "Kakkanad",
            "Edappally",
            "Kaloor",
            "Panampilly Nagar",
            "Vyttila",
            "Aluva",
            "Fort Kochi",
        ),
        teams=2,
        weight=4,
    ),
    ZoneSpec(
        code="LKO",
        name="Lucknow",
        state="UTTAR PRADESH",
        holiday_subdiv="UP",
        city="Lucknow",
        districts=(("UTTAR PRADESH", "LUCKNOW"),),
        localities=_loc(
            "LUCKNOW",
            "Gomti Nagar",
            "Hazratganj",
            "Indira Nagar",
            "Aliganj",
            "Mahanagar",
            "Vrindavan Yojana",
            "Sushant Golf City",
        ),
        teams=2,
        weight=4,
    ),
)


LOCALITY_PINCODES: dict[tuple[str, str], str] = {
    ("DEL", "Saket"): "110017",
    ("DEL", "Malviya Nagar"): "110017",
    ("DEL", "Greater Kailash II"): "110048",
    ("DEL", "Hauz Khas"): "110016",
    ("DEL", "Dwarka Sector 12"): "110078",
    ("DEL", "Dwarka Sector 22"): "110077",
    ("DEL", "Lajpat Nagar"): "110024",
    ("DEL", "Defence Colony"): "110024",
    ("DEL", "Kalkaji"): "110019",
    ("DEL", "Chanakyapuri"): "110021",
    ("DEL", "Golf Links"): "110003",
    ("DEL", "Vasant Kunj"): "110070",
    ("DEL", "Rajouri Garden"): "110027",
    ("DEL", "Punjabi Bagh"): "110026",
    ("DEL", "Janakpuri"): "110058",
    ("DEL", "Rohini Sector 9"): "110085",
    ("DEL", "Pitampura"): "110034",
    ("DEL", "Shalimar Bagh"): "110088",
    ("DEL", "Mayur Vihar Phase 1"): "110091",
    ("DEL", "Preet Vihar"): "110092",
    ("DEL", "DLF Phase 3"): "122002",
    ("DEL", "Sushant Lok 1"): "122009",
    ("DEL", "Sector 56"): "122011",
    ("DEL", "Sohna Road"): "122018",
    ("DEL", "Sector 50, Noida"): "201301",
    ("DEL", "Sector 137, Noida"): "201305",
    ("DEL", "Indirapuram"): "201014",
    ("DEL", "Vaishali Sector 4"): "201010",
    ("DEL", "Sector 15, Faridabad"): "121007",
    ("MUM", "Colaba"): "400005",
    ("MUM", "Worli"): "400018",
    ("MUM", "Dadar West"): "400028",
    ("MUM", "Byculla"): "400027",
    ("MUM", "Bandra West"): "400050",
    ("MUM", "Andheri East"): "400069",
    ("MUM", "Powai"): "400076",
    ("MUM", "Goregaon East"): "400063",
    ("MUM", "Malad West"): "400064",
    ("MUM", "Borivali West"): "400092",
    ("MUM", "Chembur"): "400071",
    ("MUM", "Mulund West"): "400080",
    ("MUM", "Ghodbunder Road"): "400615",
    ("MUM", "Vasant Vihar, Thane"): "400610",
    ("MUM", "Vashi"): "400703",
    ("MUM", "Panvel"): "410206",
    ("MUM", "Ulwe"): "410206",
    ("MUM", "Kharghar"): "410210",
    ("PUN", "Kothrud"): "411038",
    ("PUN", "Baner"): "411045",
    ("PUN", "Aundh"): "411007",
    ("PUN", "Hinjewadi Phase 1"): "411057",
    ("PUN", "Wakad"): "411057",
    ("PUN", "Kharadi"): "411014",
    ("PUN", "Viman Nagar"): "411014",
    ("PUN", "Hadapsar"): "411028",
    ("PUN", "Magarpatta"): "411013",
    ("PUN", "Pimple Saudagar"): "411027",
    ("BLR", "Koramangala"): "560034",
    ("BLR", "Indiranagar"): "560038",
    ("BLR", "HSR Layout"): "560102",
    ("BLR", "Whitefield"): "560066",
    ("BLR", "Jayanagar"): "560041",
    ("BLR", "JP Nagar"): "560078",
    ("BLR", "Electronic City Phase 1"): "560100",
    ("BLR", "Sarjapur Road"): "560035",
    ("BLR", "Hebbal"): "560024",
    ("BLR", "Yelahanka New Town"): "560064",
    ("BLR", "Malleshwaram"): "560003",
    ("BLR", "Bannerghatta Road"): "560076",
    ("BLR", "Devanahalli"): "562110",
    ("BLR", "Hoskote"): "562114",
    ("CHE", "Adyar"): "600020",
    ("CHE", "Anna Nagar"): "600040",
    ("CHE", "T. Nagar"): "600017",
    ("CHE", "Mylapore"): "600004",
    ("CHE", "Velachery"): "600042",
    ("CHE", "Besant Nagar"): "600090",
    ("CHE", "Nungambakkam"): "600034",
    ("CHE", "Perungudi"): "600096",
    ("CHE", "Sholinganallur"): "600119",
    ("CHE", "Porur"): "600116",
    ("CHE", "Tambaram"): "600045",
    ("CHE", "Medavakkam"): "600100",
    ("CHE", "Ambattur"): "600053",
    ("CHE", "Avadi"): "600054",
    ("HYD", "Banjara Hills"): "500034",
    ("HYD", "Jubilee Hills"): "500033",
    ("HYD", "Begumpet"): "500016",
    ("HYD", "Himayatnagar"): "500029",
    ("HYD", "Kondapur"): "500084",
    ("HYD", "Kompally"): "500014",
    ("HYD", "Secunderabad"): "500003",
    ("HYD", "Gachibowli"): "500032",
    ("HYD", "Manikonda"): "500089",
    ("HYD", "Narsingi"): "500075",
    ("HYD", "Uppal"): "500039",
    ("HYD", "Kukatpally"): "500072",
    ("HYD", "Ameenpur"): "502032",
    ("HYD", "Patancheru"): "502319",
    ("KOL", "Ballygunge"): "700019",
    ("KOL", "Alipore"): "700027",
    ("KOL", "Tollygunge"): "700033",
    ("KOL", "Behala"): "700034",
    ("KOL", "New Town"): "700156",
    ("KOL", "Rajarhat"): "700135",
    ("KOL", "Dum Dum"): "700028",
    ("KOL", "Salt Lake Sector V"): "700091",
    ("KOL", "Garia"): "700084",
    ("KOL", "Shibpur"): "711102",
    ("KOL", "Santragachi"): "711104",
    ("AMD", "Satellite"): "380015",
    ("AMD", "Bodakdev"): "380054",
    ("AMD", "Prahlad Nagar"): "380015",
    ("AMD", "Vastrapur"): "380015",
    ("AMD", "Navrangpura"): "380009",
    ("AMD", "Thaltej"): "380059",
    ("AMD", "South Bopal"): "380058",
    ("AMD", "Maninagar"): "380008",
    ("AMD", "Sector 21, Gandhinagar"): "382021",
    ("AMD", "Kudasan"): "382421",
    ("JAI", "Malviya Nagar"): "302017",
    ("JAI", "Vaishali Nagar"): "302021",
    ("JAI", "C-Scheme"): "302001",
    ("JAI", "Mansarovar"): "302020",
    ("JAI", "Jagatpura"): "302017",
    ("JAI", "Raja Park"): "302004",
    ("JAI", "Bani Park"): "302016",
    ("KOC", "Kakkanad"): "682030",
    ("KOC", "Edappally"): "682024",
    ("KOC", "Kaloor"): "682017",
    ("KOC", "Panampilly Nagar"): "682036",
    ("KOC", "Vyttila"): "682019",
    ("KOC", "Aluva"): "683101",
    ("KOC", "Fort Kochi"): "682001",
    ("LKO", "Gomti Nagar"): "226010",
    ("LKO", "Hazratganj"): "226001",
    ("LKO", "Indira Nagar"): "226016",
    ("LKO", "Aliganj"): "226024",
    ("LKO", "Mahanagar"): "226006",
    ("LKO", "Vrindavan Yojana"): "226029",
    ("LKO", "Sushant Golf City"): "226030",
}
"""India Post pincode of each locality (``(zone code, locality)`` -> pincode); each one maps
to the locality's district in ``indian-pincode`` (checked by the tests)."""


@dataclass(frozen=True)
class OemSpec:
    """An OEM (car maker) with SLA targets (business days) and its rate card (INR).

    Attributes:
        rates: ``(install_level, price INR, valid_from)`` lines; each level has an older price
            and a newer one taking effect during the demo history.
        vehicles: ``(model, charger type)`` pairs sold with a home charger (charger types from
            ``domain.accounts.models.CHARGER_TYPES``).
        lead_prefix: prefix of the OEM's own lead references.
        weight: share of demo leads (relative).
    """

    code: str
    name: str
    contact_email: str
    sla_survey_days: int
    sla_install_days: int
    required_evidence: tuple[str, ...]
    rates: tuple[tuple[str, Decimal, date], ...]
    vehicles: tuple[tuple[str, str], ...]
    lead_prefix: str
    weight: int


_EVIDENCE_FULL = (
    "site_photo",
    "serial_plate_photo",
    "signature",
    "demo_signoff",
    "confirmation_call",
)
_EVIDENCE_BASIC = ("site_photo", "serial_plate_photo", "signature")

_OLD = date(2024, 4, 1)


def _rates(
    basic: int, standard: int, premium: int, change: date, pct: int
) -> tuple[tuple[str, Decimal, date], ...]:
    """Old prices from 2024-04-01 and prices raised by ``pct`` % from ``change``."""
    out: list[tuple[str, Decimal, date]] = []
    for level, price in (("basic", basic), ("standard", standard), ("premium", premium)):
        out.append((level, Decimal(f"{price}.00"), _OLD))
        new = round(price * (100 + pct) / 100 / 50) * 50
        out.append((level, Decimal(f"{new}.00"), change))
    return tuple(out)


OEMS: tuple[OemSpec, ...] = (
    OemSpec(
        code="TATA",
        name="Tata Passenger Electric Mobility (Tata.ev)",
        contact_email="home-charging@tata-ev.example.in",
        sla_survey_days=3,
        sla_install_days=7,
        required_evidence=_EVIDENCE_FULL,
        rates=_rates(7500, 11000, 16500, date(2026, 4, 1), 8),
        vehicles=(
            ("Nexon EV", "7.2kW AC"),
            ("Punch EV", "7.2kW AC"),
            ("Tiago EV", "3.3kW AC"),
            ("Curvv EV", "7.2kW AC"),
            ("Harrier EV", "7.2kW AC"),
            ("Tigor EV", "3.3kW AC"),
        ),
        lead_prefix="TPEM",
        weight=34,
    ),
    OemSpec(
        code="MG",
        name="JSW MG Motor India",
        contact_email="ev-installations@jswmg.example.in",
        sla_survey_days=2,
        sla_install_days=7,
        required_evidence=_EVIDENCE_FULL,
        rates=_rates(8000, 11500, 17000, date(2025, 10, 1), 6),
        vehicles=(
            ("Windsor EV", "7.2kW AC"),
            ("Comet EV", "3.3kW AC"),
            ("ZS EV", "7.2kW AC"),
            ("Cyberster", "11kW AC"),
            ("M9", "11kW AC"),
        ),
        lead_prefix="JSWMG",
        weight=18,
    ),
    OemSpec(
        code="MAHINDRA",
        name="Mahindra Electric Automobile",
        contact_email="ev-homecharger@mahindra.example.in",
        sla_survey_days=3,
        sla_install_days=8,
        required_evidence=_EVIDENCE_FULL,
        rates=_rates(8000, 12000, 18000, date(2026, 4, 1), 7),
        vehicles=(
            ("XUV400 EV", "7.2kW AC"),
            ("BE 6", "11kW AC"),
            ("XEV 9e", "11kW AC"),
            ("XEV 9S", "11kW AC"),
        ),
        lead_prefix="MEAL",
        weight=15,
    ),
    OemSpec(
        code="HYUNDAI",
        name="Hyundai Motor India",
        contact_email="ev-service@hyundai.example.in",
        sla_survey_days=3,
        sla_install_days=8,
        required_evidence=_EVIDENCE_BASIC + ("confirmation_call",),
        rates=_rates(9000, 13000, 19500, date(2026, 1, 1), 5),
        vehicles=(
            ("Creta Electric", "11kW AC"),
            ("Ioniq 5", "11kW AC"),
            ("Kona Electric", "7.2kW AC"),
        ),
        lead_prefix="HMIL",
        weight=7,
    ),
    OemSpec(
        code="BYD",
        name="BYD India",
        contact_email="charging@byd-india.example.in",
        sla_survey_days=2,
        sla_install_days=6,
        required_evidence=_EVIDENCE_FULL,
        rates=_rates(9500, 13500, 20000, date(2026, 4, 1), 6),
        vehicles=(
            ("Atto 3", "7.2kW AC"),
            ("Seal", "11kW AC"),
            ("eMAX 7", "7.2kW AC"),
            ("Sealion 7", "11kW AC"),
        ),
        lead_prefix="BYDI",
        weight=6,
    ),
    OemSpec(
        code="KIA",
        name="Kia India",
        contact_email="ev-care@kia-india.example.in",
        sla_survey_days=3,
        sla_install_days=8,
        required_evidence=_EVIDENCE_BASIC + ("demo_signoff",),
        rates=_rates(9000, 13000, 19000, date(2025, 10, 1), 5),
        vehicles=(("EV6", "11kW AC"), ("EV9", "11kW AC"), ("Carens Clavis EV", "7.2kW AC")),
        lead_prefix="KIN",
        weight=4,
    ),
    OemSpec(
        code="BMW",
        name="BMW India",
        contact_email="bmw-i-charging@bmw-india.example.in",
        sla_survey_days=2,
        sla_install_days=5,
        required_evidence=_EVIDENCE_FULL,
        rates=_rates(12000, 17500, 26000, date(2026, 4, 1), 5),
        vehicles=(("iX1 LWB", "11kW AC"), ("i4", "11kW AC"), ("iX", "11kW AC"), ("i7", "11kW AC")),
        lead_prefix="BMWI",
        weight=4,
    ),
    OemSpec(
        code="MERCEDES",
        name="Mercedes-Benz India",
        contact_email="eq-charging@mercedes-india.example.in",
        sla_survey_days=2,
        sla_install_days=5,
        required_evidence=_EVIDENCE_FULL,
        rates=_rates(12500, 18000, 27000, date(2026, 1, 1), 6),
        vehicles=(
            ("EQA", "11kW AC"),
            ("EQB", "11kW AC"),
            ("EQE SUV", "11kW AC"),
            ("EQS SUV", "11kW AC"),
        ),
        lead_prefix="MBIE",
        weight=4,
    ),
    OemSpec(
        code="CITROEN",
        name="Citroen India",
        contact_email="ev-support@citroen-india.example.in",
        sla_survey_days=4,
        sla_install_days=10,
        required_evidence=_EVIDENCE_BASIC,
        rates=_rates(7000, 10000, 15000, date(2026, 4, 1), 5),
        vehicles=(("eC3", "3.3kW AC"), ("eC3 Shine", "3.3kW AC")),
        lead_prefix="CIT",
        weight=3,
    ),
    OemSpec(
        code="VOLVO",
        name="Volvo Car India",
        contact_email="recharge@volvo-india.example.in",
        sla_survey_days=3,
        sla_install_days=7,
        required_evidence=_EVIDENCE_FULL,
        rates=_rates(11500, 16500, 24500, date(2025, 10, 1), 4),
        vehicles=(("EX40", "11kW AC"), ("EC40", "11kW AC"), ("EX30", "11kW AC")),
        lead_prefix="VCI",
        weight=2,
    ),
)


@dataclass(frozen=True)
class MaterialSpec:
    """A catalogue item: unit cost in INR per ``unit``; chargers carry ``power_kw`` (kW)."""

    sku: str
    name: str
    category: str
    unit: str
    unit_cost: Decimal
    description: str = ""
    power_kw: Decimal | None = None


MATERIALS: tuple[MaterialSpec, ...] = (
    # chargers
    MaterialSpec(
        "CHG-AC-3K3",
        "3.3 kW AC home charger (1-phase, 16 A, IEC 60309 socket)",
        "charger",
        "piece",
        Decimal("14500.00"),
        "Portable/wall charger for small EVs, 230 V single phase",
        Decimal("3.3"),
    ),
    MaterialSpec(
        "CHG-AC-7K2",
        "7.2 kW AC wallbox (1-phase, 32 A, Type 2)",
        "charger",
        "piece",
        Decimal("38500.00"),
        "Tethered Type 2 wallbox, IP55, RFID",
        Decimal("7.2"),
    ),
    MaterialSpec(
        "CHG-AC-7K2-SMART",
        "7.2 kW AC smart wallbox (1-phase, Wi-Fi/OCPP 1.6, Type 2)",
        "charger",
        "piece",
        Decimal("49500.00"),
        "App-controlled wallbox with scheduled charging",
        Decimal("7.2"),
    ),
    MaterialSpec(
        "CHG-AC-11K",
        "11 kW AC wallbox (3-phase, 16 A, Type 2)",
        "charger",
        "piece",
        Decimal("62000.00"),
        "Three-phase 415 V wallbox, IP55, OCPP 1.6",
        Decimal("11.0"),
    ),
    # cables (per metre)
    MaterialSpec(
        "CBL-CU-3C-4", "Copper cable 3-core 4 sq mm, FR-LSH", "cable", "meter", Decimal("118.00")
    ),
    MaterialSpec(
        "CBL-CU-3C-6", "Copper cable 3-core 6 sq mm, FR-LSH", "cable", "meter", Decimal("172.00")
    ),
    MaterialSpec(
        "CBL-CU-3C-10",
        "Copper cable 3-core 10 sq mm, armoured",
        "cable",
        "meter",
        Decimal("310.00"),
    ),
    MaterialSpec(
        "CBL-CU-5C-6",
        "Copper cable 5-core 6 sq mm, armoured (3-phase)",
        "cable",
        "meter",
        Decimal("395.00"),
    ),
    MaterialSpec(
        "CBL-EARTH-4", "Earthing wire copper 4 sq mm (green)", "cable", "meter", Decimal("48.00")
    ),
    # electrical
    MaterialSpec(
        "ELE-MCB-DP-20", "MCB 20 A double pole, C curve", "electrical", "piece", Decimal("520.00")
    ),
    MaterialSpec(
        "ELE-MCB-DP-40", "MCB 40 A double pole, C curve", "electrical", "piece", Decimal("640.00")
    ),
    MaterialSpec(
        "ELE-MCB-FP-32", "MCB 32 A four pole, C curve", "electrical", "piece", Decimal("1850.00")
    ),
    MaterialSpec(
        "ELE-RCCB-2P-40",
        "RCCB 40 A 2-pole 30 mA, Type A",
        "electrical",
        "piece",
        Decimal("2350.00"),
    ),
    MaterialSpec(
        "ELE-RCCB-4P-40",
        "RCCB 40 A 4-pole 30 mA, Type A",
        "electrical",
        "piece",
        Decimal("4200.00"),
    ),
    MaterialSpec(
        "ELE-DB-4W", "Distribution box 4-way, IP65", "electrical", "piece", Decimal("950.00")
    ),
    MaterialSpec(
        "ELE-EARTH-KIT",
        "Chemical earthing kit (2 m electrode, backfill compound, pit cover)",
        "electrical",
        "set",
        Decimal("3800.00"),
    ),
    MaterialSpec(
        "ELE-SUBMETER-1P",
        "Single-phase energy sub-meter (DIN rail)",
        "electrical",
        "piece",
        Decimal("1450.00"),
    ),
    # mounting
    MaterialSpec(
        "MNT-WALL-BRKT",
        "Wall mounting bracket, powder-coated steel",
        "mounting",
        "piece",
        Decimal("650.00"),
    ),
    MaterialSpec(
        "MNT-PEDESTAL",
        "Floor pedestal stand for wallbox (galvanised)",
        "mounting",
        "piece",
        Decimal("5200.00"),
    ),
    MaterialSpec(
        "MNT-CABLE-TRAY", "Perforated cable tray 100 mm", "mounting", "meter", Decimal("210.00")
    ),
    # misc
    MaterialSpec(
        "MSC-CONDUIT-25", "PVC conduit 25 mm (heavy gauge)", "misc", "meter", Decimal("38.00")
    ),
    MaterialSpec("MSC-JBOX-IP65", "Junction box IP65", "misc", "piece", Decimal("320.00")),
    MaterialSpec("MSC-GLAND-SET", "Cable gland set (brass)", "misc", "set", Decimal("140.00")),
    MaterialSpec("MSC-LUG-SET", "Copper lug set", "misc", "set", Decimal("95.00")),
    MaterialSpec("MSC-ANCHOR-KIT", "Anchor fastener kit", "misc", "set", Decimal("110.00")),
    MaterialSpec(
        "MSC-SIGNAGE", "EV charging point signage sticker", "misc", "piece", Decimal("60.00")
    ),
)

CHARGER_BY_TYPE: dict[str, tuple[str, ...]] = {
    "3.3kW AC": ("CHG-AC-3K3",),
    "7.2kW AC": ("CHG-AC-7K2", "CHG-AC-7K2-SMART"),
    "11kW AC": ("CHG-AC-11K",),
}
"""Charger material SKUs per charger type (``CHARGER_TYPES``)."""

_COMMON_KIT = (
    ("MNT-WALL-BRKT", 1),
    ("MSC-JBOX-IP65", 1),
    ("MSC-GLAND-SET", 1),
    ("MSC-LUG-SET", 1),
    ("MSC-ANCHOR-KIT", 1),
    ("MSC-SIGNAGE", 1),
)

CHARGER_KITS: dict[str, tuple[tuple[str, int], ...]] = {
    "CHG-AC-3K3": (
        ("CBL-CU-3C-4", 10),
        ("CBL-EARTH-4", 10),
        ("MSC-CONDUIT-25", 10),
        ("ELE-MCB-DP-20", 1),
        ("ELE-RCCB-2P-40", 1),
        *_COMMON_KIT,
    ),
    "CHG-AC-7K2": (
        ("CBL-CU-3C-6", 15),
        ("CBL-EARTH-4", 15),
        ("MSC-CONDUIT-25", 15),
        ("ELE-MCB-DP-40", 1),
        ("ELE-RCCB-2P-40", 1),
        ("ELE-DB-4W", 1),
        *_COMMON_KIT,
    ),
    "CHG-AC-7K2-SMART": (
        ("CBL-CU-3C-6", 15),
        ("CBL-EARTH-4", 15),
        ("MSC-CONDUIT-25", 15),
        ("ELE-MCB-DP-40", 1),
        ("ELE-RCCB-2P-40", 1),
        ("ELE-DB-4W", 1),
        *_COMMON_KIT,
    ),
    "CHG-AC-11K": (
        ("CBL-CU-5C-6", 15),
        ("CBL-EARTH-4", 15),
        ("MSC-CONDUIT-25", 15),
        ("ELE-MCB-FP-32", 1),
        ("ELE-RCCB-4P-40", 1),
        ("ELE-DB-4W", 1),
        *_COMMON_KIT,
    ),
}
"""Bill of materials per charger SKU: ``(material sku, quantity in the material's unit)``;
cable, earthing wire and conduit quantities are metres for a standard 15 m run."""


@dataclass(frozen=True)
class VendorSpec:
    """A local supplier: E.164 phone, UPI id and/or bank account (9-18 digits) + IFSC."""

    zone_code: str
    name: str
    phone: str
    upi_id: str | None = None
    bank_account: str | None = None
    bank_ifsc: str | None = None


VENDORS: tuple[VendorSpec, ...] = (
    VendorSpec(
        "DEL", "Jain Electricals, Lajpat Rai Market", "+919811042317", "jainelectricals@okhdfcbank"
    ),
    VendorSpec(
        "DEL", "Ganpati Cable House", "+919871236540", None, "50200012345678", "HDFC0001234"
    ),
    VendorSpec("DEL", "NCR Switchgear Traders", "+918826451190", "ncrswitchgear@okicici"),
    VendorSpec("MUM", "Lohar Chawl Electric Co.", "+919820017734", "loharelectric@okaxis"),
    VendorSpec(
        "MUM",
        "Shree Siddhivinayak Traders",
        "+919769342218",
        None,
        "912020034567812",
        "UTIB0000123",
    ),
    VendorSpec(
        "PUN",
        "Deccan Electricals",
        "+919822045671",
        "deccanelec@oksbi",
        "31245678901",
        "SBIN0001234",
    ),
    VendorSpec(
        "PUN", "Sahyadri Cables & Wires", "+917276543120", None, "004205012345", "ICIC0000042"
    ),
    VendorSpec(
        "BLR", "SP Road Electronics & Electricals", "+919845023456", "sproadelec@okhdfcbank"
    ),
    VendorSpec(
        "BLR",
        "Sri Lakshmi Venkateshwara Electricals",
        "+919886412345",
        None,
        "1234567890123",
        "KKBK0000421",
    ),
    VendorSpec("BLR", "Namma Switchgear", "+918050123476", "nammaswitchgear@ybl"),
    VendorSpec("CHE", "Ritchie Street Power Systems", "+919840012398", "ritchiepower@okaxis"),
    VendorSpec(
        "CHE", "Sri Murugan Electricals", "+919444123456", None, "6012345678", "IOBA0000456"
    ),
    VendorSpec("HYD", "Ranigunj Electric Stores", "+919848012345", "ranigunjelec@okicici"),
    VendorSpec(
        "HYD", "Deccan Cables Hyderabad", "+919959123456", None, "62345678901", "SBIN0020063"
    ),
    VendorSpec("KOL", "Chandni Chowk Electric Mart", "+919830012345", "chandnielectric@paytm"),
    VendorSpec(
        "KOL", "Bengal Wires & Switchgear", "+919433112233", None, "0123104000123456", "IBKL0000123"
    ),
    VendorSpec("AMD", "Relief Road Electricals", "+919824012345", "reliefroadelec@oksbi"),
    VendorSpec(
        "AMD", "Sabarmati Cable Traders", "+919898123456", None, "50100234567890", "HDFC0000240"
    ),
    VendorSpec("JAI", "Pink City Electricals", "+919829012345", "pinkcityelec@okhdfcbank"),
    VendorSpec("JAI", "Rajputana Switchgear", "+919414123456", None, "51234567890", "SBIN0031234"),
    VendorSpec("KOC", "Broadway Electricals Ernakulam", "+919847012345", "broadwayelec@okaxis"),
    VendorSpec(
        "KOC", "Periyar Cables & Traders", "+919446123456", None, "0123053000012345", "FDRL0000123"
    ),
    VendorSpec("LKO", "Aminabad Electric House", "+919839012345", "aminabadelec@okicici"),
    VendorSpec("LKO", "Awadh Switchgear", "+919415123456", None, "123456789012", "PUNB0123400"),
)


@dataclass(frozen=True)
class DemoUser:
    """A demo login. ``oem_code`` for ``oem_viewer``; ``team_code`` for ``field_engineer``."""

    username: str
    password: str
    role: str
    description: str
    full_name: str
    oem_code: str | None = None
    team_code: str | None = None


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser(
        "admin",
        DEMO_PASSWORD,
        "admin",
        "Administrator: users, reference data, settings",
        "Anita Desai",
    ),
    DemoUser(
        "manager",
        DEMO_PASSWORD,
        "manager",
        "Operations manager: KPIs, SLA, revenue, approvals",
        "Rohit Malhotra",
    ),
    DemoUser(
        "planner",
        DEMO_PASSWORD,
        "central_ops",
        "Central ops planner: leads, surveys, scheduling",
        "Priya Raghavan",
    ),
    DemoUser(
        "engineer",
        DEMO_PASSWORD,
        "field_engineer",
        "Field engineer of team BLR-T1: own jobs and reports",
        "Manjunath Gowda",
        team_code="BLR-T1",
    ),
    DemoUser(
        "procurement",
        DEMO_PASSWORD,
        "procurement",
        "Procurement: stock, allocations, vendors",
        "Sanjay Kulkarni",
    ),
    DemoUser(
        "reporting",
        DEMO_PASSWORD,
        "oem_reporting",
        "OEM reporting: closure packs, weekly/monthly reports",
        "Neha Banerjee",
    ),
    DemoUser(
        "tata.viewer",
        DEMO_PASSWORD,
        "oem_viewer",
        "Tata.ev staff: read-only, Tata only",
        "Vikram Iyer",
        oem_code="TATA",
    ),
    DemoUser(
        "mg.viewer",
        DEMO_PASSWORD,
        "oem_viewer",
        "JSW MG staff: read-only, MG only",
        "Kavita Sharma",
        oem_code="MG",
    ),
)
"""Demo logins, one or more per role (all share ``DEMO_PASSWORD``)."""


# --- people names (Indian first and last names by region) -----------------------------------

FIRST_NAMES: tuple[str, ...] = (
    "Aarav",
    "Aditi",
    "Aditya",
    "Akash",
    "Amit",
    "Ananya",
    "Anil",
    "Anjali",
    "Arjun",
    "Arun",
    "Ashok",
    "Deepa",
    "Deepak",
    "Divya",
    "Gaurav",
    "Harish",
    "Isha",
    "Karan",
    "Kavya",
    "Kiran",
    "Lakshmi",
    "Manish",
    "Meera",
    "Mohan",
    "Nandini",
    "Neha",
    "Nikhil",
    "Pooja",
    "Pradeep",
    "Priya",
    "Rahul",
    "Rajesh",
    "Ramesh",
    "Ravi",
    "Rekha",
    "Rohan",
    "Sandeep",
    "Sanjana",
    "Shreya",
    "Siddharth",
    "Sneha",
    "Suresh",
    "Swati",
    "Tanvi",
    "Varun",
    "Vidya",
    "Vijay",
    "Vikram",
    "Vivek",
    "Yash",
    "Farhan",
    "Imran",
    "Sana",
    "Zoya",
    "Gurpreet",
    "Harpreet",
    "Joseph",
    "Maria",
    "Abhishek",
    "Shalini",
)

REGIONAL_FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "north": ("Ankit", "Mayank", "Sakshi", "Ritika", "Kunal", "Tarun", "Simran", "Jatin"),
    "west": ("Omkar", "Sayali", "Tejas", "Mrunal", "Hardik", "Khushi", "Parth", "Dhruv"),
    "karnataka": ("Manjunath", "Chethan", "Pavithra", "Sahana", "Girish", "Shwetha", "Darshan"),
    "tamil": ("Karthik", "Senthil", "Saranya", "Bharathi", "Gokul", "Janani", "Prabhu"),
    "telugu": ("Srinivas", "Sai Kiran", "Harika", "Mounika", "Venkat", "Bhavana", "Chaitanya"),
    "bengal": ("Sourav", "Arijit", "Moumita", "Riya", "Debashish", "Tanushree", "Subhajit"),
    "kerala": ("Anoop", "Jithin", "Aswathy", "Reshma", "Sreejith", "Nimisha", "Akhil"),
}

LAST_NAMES: dict[str, tuple[str, ...]] = {
    "north": (
        "Sharma",
        "Verma",
        "Gupta",
        "Singh",
        "Agarwal",
        "Malhotra",
        "Kapoor",
        "Chopra",
        "Bansal",
        "Arora",
        "Saxena",
        "Srivastava",
        "Tiwari",
        "Mishra",
        "Yadav",
        "Chauhan",
        "Khanna",
        "Sethi",
    ),
    "west": (
        "Patil",
        "Deshmukh",
        "Kulkarni",
        "Joshi",
        "Shah",
        "Patel",
        "Mehta",
        "Desai",
        "Jadhav",
        "Pawar",
        "Gokhale",
        "Shinde",
        "Naik",
        "Apte",
        "Kamat",
        "Sawant",
    ),
    "karnataka": (
        "Rao",
        "Gowda",
        "Hegde",
        "Shetty",
        "Kamath",
        "Bhat",
        "Prasad",
        "Murthy",
        "Shenoy",
    ),
    "tamil": (
        "Iyer",
        "Krishnan",
        "Subramanian",
        "Raman",
        "Natarajan",
        "Pillai",
        "Venkatesan",
        "Sundaram",
        "Rajendran",
        "Balasubramanian",
    ),
    "telugu": ("Reddy", "Rao", "Naidu", "Chowdary", "Varma", "Goud", "Yadav", "Raju"),
    "bengal": (
        "Banerjee",
        "Chatterjee",
        "Mukherjee",
        "Ghosh",
        "Bose",
        "Das",
        "Sen",
        "Dutta",
        "Roy",
        "Chakraborty",
    ),
    "gujarat": ("Patel", "Shah", "Mehta", "Desai", "Parikh", "Trivedi", "Modi", "Vora", "Thakkar"),
    "rajasthan": ("Sharma", "Rathore", "Shekhawat", "Agarwal", "Jain", "Meena", "Choudhary"),
    "kerala": ("Nair", "Menon", "Pillai", "Kurian", "Thomas", "Varghese", "Joseph", "Mathew"),
}

ZONE_REGION: dict[str, tuple[str, str]] = {
    "DEL": ("north", "north"),
    "MUM": ("west", "west"),
    "PUN": ("west", "west"),
    "BLR": ("karnataka", "karnataka"),
    "CHE": ("tamil", "tamil"),
    "HYD": ("telugu", "telugu"),
    "KOL": ("bengal", "bengal"),
    "AMD": ("west", "gujarat"),
    "JAI": ("north", "rajasthan"),
    "KOC": ("kerala", "kerala"),
    "LKO": ("north", "north"),
}
"""Zone code -> (first-name region, last-name region)."""

STREET_WORDS: tuple[str, ...] = (
    "Main Road",
    "Cross Road",
    "Residency",
    "Enclave",
    "Apartments",
    "Heights",
    "Towers",
    "Nagar",
    "Layout",
    "Gardens",
    "Park View",
    "Society",
)
SOCIETY_NAMES: tuple[str, ...] = (
    "Prestige",
    "Sobha",
    "Godrej",
    "Lodha",
    "DLF",
    "Brigade",
    "Hiranandani",
    "Purva",
    "Mahindra",
    "Shapoorji",
    "Kalpataru",
    "Ashiana",
    "Green Valley",
    "Silver Oak",
    "Lake View",
    "Sunrise",
    "Royal Palms",
    "Shanti",
    "Gulmohar",
    "Ashoka",
)
EMAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "yahoo.co.in",
    "outlook.com",
    "rediffmail.com",
    "hotmail.com",
)
