"""Pincode -> district -> service zone lookup (DESIGN.md "accounts": zone covers districts).

A lead's pincode is resolved to its India Post district(s) and state with the
``indian-pincode`` package; the district (state + district, upper case) is then matched to the
``zone_district`` rows of the active zones. A pincode whose districts belong to no active zone
is "outside every service zone".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import lru_cache

import indian_pincode
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.accounts.models import Zone, ZoneDistrict


@dataclass(frozen=True)
class PincodeInfo:
    """What India Post knows of a pincode: its state and district(s), upper case."""

    pincode: str
    state: str
    districts: tuple[str, ...]
    states: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``"BENGALURU URBAN, KARNATAKA"`` (districts joined with ``/``)."""
        return f"{'/'.join(self.districts) or '?'}, {self.state or '?'}"


@dataclass(frozen=True)
class ZoneMatch:
    """The service zone a pincode falls in, and the district that matched."""

    zone_id: uuid.UUID
    zone_code: str
    zone_name: str
    state: str
    district: str


DistrictMap = dict[tuple[str, str], ZoneMatch]


@lru_cache(maxsize=32768)
def pincode_info(pincode: str) -> PincodeInfo | None:
    """Look a six-digit pincode up in the ``indian-pincode`` dataset.

    Returns:
        ``PincodeInfo`` when the pincode exists, else None (malformed or unknown).
    """
    pin = (pincode or "").strip()
    if len(pin) != 6 or not pin.isdigit() or not indian_pincode.validate(pin):
        return None
    details = indian_pincode.get_details(pin)
    if not details:
        return None
    state = str(details.get("state") or "").strip().upper()
    districts = tuple(
        str(d).strip().upper() for d in (details.get("districts") or []) if str(d).strip()
    )
    states = tuple(
        dict.fromkeys([state, *(str(x).strip().upper() for x in (details.get("states") or []))])
    )
    return PincodeInfo(pincode=pin, state=state, districts=districts, states=states)


def load_district_map(session: Session) -> DistrictMap:
    """Map ``(STATE, DISTRICT)`` -> ``ZoneMatch`` for every district of an active zone.

    One query; callers resolving many pincodes load it once and pass it to
    ``zone_for_pincode(..., district_map=...)``.
    """
    rows = session.execute(
        select(ZoneDistrict.state, ZoneDistrict.district, Zone.id, Zone.code, Zone.name)
        .join(Zone, Zone.id == ZoneDistrict.zone_id)
        .where(Zone.active.is_(True))
    ).all()
    out: DistrictMap = {}
    for state, district, zone_id, code, name in rows:
        key = (state.strip().upper(), district.strip().upper())
        out[key] = ZoneMatch(
            zone_id=zone_id, zone_code=code, zone_name=name, state=key[0], district=key[1]
        )
    return out


def match_zone(info: PincodeInfo, district_map: DistrictMap) -> ZoneMatch | None:
    """The zone covering any of ``info``'s districts (first match in India Post order).

    A pincode listed under several states is tried with its primary state first.
    """
    for state in info.states or (info.state,):
        for district in info.districts:
            found = district_map.get((state, district))
            if found is not None:
                return found
    return None


def zone_for_pincode(
    session: Session, pincode: str, *, district_map: DistrictMap | None = None
) -> ZoneMatch | None:
    """The active service zone a pincode belongs to, via its district.

    Args:
        pincode: six digits (already normalised).
        district_map: the result of ``load_district_map``; loaded with one query when not
            given, so a bulk caller should load it once and pass it (per-call cache).

    Returns:
        ``ZoneMatch`` or None when the pincode is unknown or outside every active zone.
    """
    info = pincode_info(pincode)
    if info is None:
        return None
    if district_map is None:
        district_map = load_district_map(session)
    return match_zone(info, district_map)
