"""Routing by place: a reported location (a point, an address) checked and placed at the
community it lies in, on the published places definition."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from workflow.catalog import registry
from workflow.errors import InvalidInput, NotFound
from workflow.inputs import check_text

from .model import Placed, Places

MAX_ADDRESS = 500
CANNOT_PLACE = "cannot place; name a workstation"


@dataclass(frozen=True)
class Location:
    """Where a case was reported: a point in decimal degrees and/or an address as given."""

    lat: float | None = None
    long: float | None = None
    address: str | None = None

    @property
    def has_point(self) -> bool:
        return self.lat is not None and self.long is not None


def check_location(
    lat: Any = None, long: Any = None, address: str | None = None
) -> Location | None:
    """The location given, checked (both coordinates or neither, in range; an address of
    acceptable text); None when nothing was given."""
    errors: dict[str, list[str]] = {}
    if (lat is None) != (long is None):
        errors["lat" if lat is None else "long"] = ["give lat and long together"]
    point: list[float] = []
    for name, value in (("lat", lat), ("long", long)):
        if value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            errors[name] = ["decimal degrees"]
            continue
        limit = 90 if name == "lat" else 180
        if not math.isfinite(number) or not -limit <= number <= limit:
            errors[name] = [f"decimal degrees between -{limit} and {limit}"]
            continue
        point.append(number)
    address = (address or "").strip() or None
    if address is not None:
        if len(address) > MAX_ADDRESS:
            errors["address"] = [f"at most {MAX_ADDRESS} characters"]
        else:
            check_text(address=address)
    if errors:
        raise InvalidInput("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()), errors)
    if not point and address is None:
        return None
    return Location(point[0] if point else None, point[1] if point else None, address)


def current(session: Session) -> Places | None:
    """The latest published places, or None when none was ever published."""
    try:
        places, _ = registry.cached_definition(session, "places", "places", None, Places.from_data)
    except NotFound:
        return None
    return places


def locate(session: Session, location: Location) -> tuple[Placed | None, int | None]:
    """Where LOCATION lands on the latest places (and that version), or (None, version)."""
    places = current(session)
    if places is None:
        return None, None
    return places.locate(location.lat, location.long, location.address), places.version
