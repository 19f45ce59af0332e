"""Communities on the map: each workstation's boundary and the address table, and where a
point or an address lands.

A point on the edge two communities share (or on a corner several share) lands at the
community whose workstation code sorts first among them: the same answer every time, whatever
order the boundaries were drawn in. An address lands by its named estate first (the more
precise), else by its road and house number; an address that names a road whose numbers are
split between communities but gives no number, or a number no row covers, is not placed."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import Point, shape
from shapely.strtree import STRtree

SIDES = ("all", "odd", "even")


@dataclass(frozen=True)
class AddressRow:
    """One row of the address table: a road's numbers FROM..TO (on one SIDE, or both), or a
    named estate (小区, 花园), given to a workstation."""

    workstation: str
    road: str = ""
    first: int | None = None
    last: int | None = None
    side: str = "all"
    estate: str = ""

    def takes(self, number: int) -> bool:
        if self.first is None or self.last is None or not self.first <= number <= self.last:
            return False
        return self.side == "all" or (number % 2 == 1) == (self.side == "odd")

    def as_data(self) -> dict[str, Any]:
        return {
            "road": self.road,
            "from": self.first,
            "to": self.last,
            "side": self.side,
            "estate": self.estate,
            "workstation": self.workstation,
        }


@dataclass(frozen=True)
class Placed:
    """Where a location landed, and by what: ``point`` or ``address``."""

    workstation: str
    by: str


@dataclass
class Places:
    """One published version of the communities and the address table."""

    version: int
    # Workstation code -> its boundary, in the file's order.
    boundaries: Mapping[str, Any]
    addresses: Sequence[AddressRow]
    illustrative: bool = False
    _codes: list[str] = field(init=False, repr=False)
    _tree: STRtree = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._codes = list(self.boundaries)
        geoms = list(self.boundaries.values())
        for g in geoms:
            shapely.prepare(g)
        self._tree = STRtree(geoms)

    @classmethod
    def from_data(cls, version: int, content: Mapping[str, Any]) -> Places:
        fc = content["communities"]
        return cls(
            version,
            {f["properties"]["workstation"]: shape(f["geometry"]) for f in fc["features"]},
            [address_row(r) for r in content.get("addresses", [])],
            illustrative=bool(fc.get("illustrative")),
        )

    def at_point(self, lat: float, long: float) -> str | None:
        """The workstation whose community covers the point (edges: the lowest code)."""
        found = self._tree.query(Point(long, lat), predicate="covered_by")
        codes = sorted(self._codes[i] for i in found)
        return codes[0] if codes else None

    def at_address(self, address: str) -> str | None:
        """The workstation an address belongs to by the table, or None."""
        text = normalise(address)
        if not text:
            return None
        estates = sorted((r for r in self.addresses if r.estate), key=lambda r: -len(r.estate))
        for r in estates:
            if normalise(r.estate) in text:
                return r.workstation
        roads: dict[str, list[AddressRow]] = {}
        for r in self.addresses:
            if r.road:
                roads.setdefault(normalise(r.road), []).append(r)
        for road in sorted(roads, key=len, reverse=True):
            at = text.find(road)
            if at < 0:
                continue
            # "香港中路" is not "香港中路二路"'s road: the number must follow the road's name.
            number = re.match(r"(\d+)", text[at + len(road) :])
            rows = roads[road]
            if number:
                n = int(number.group(1))
                hits = sorted({r.workstation for r in rows if r.takes(n)})
                return hits[0] if hits else None
            whole = {r.workstation for r in rows}
            return whole.pop() if len(whole) == 1 else None
        return None

    def locate(
        self, lat: float | None = None, long: float | None = None, address: str | None = None
    ) -> Placed | None:
        """The point first (the more exact), then the address; None when neither lands."""
        if lat is not None and long is not None:
            ws = self.at_point(lat, long)
            if ws is not None:
                return Placed(ws, "point")
        if address:
            ws = self.at_address(address)
            if ws is not None:
                return Placed(ws, "address")
        return None

    def bounds(self) -> tuple[float, float, float, float]:
        """(min long, min lat, max long, max lat) of all the communities."""
        xs = [g.bounds for g in self.boundaries.values()]
        return (
            min(b[0] for b in xs),
            min(b[1] for b in xs),
            max(b[2] for b in xs),
            max(b[3] for b in xs),
        )


def address_row(data: Mapping[str, Any]) -> AddressRow:
    return AddressRow(
        workstation=data["workstation"],
        road=data.get("road") or "",
        first=data.get("from"),
        last=data.get("to"),
        side=data.get("side") or "all",
        estate=data.get("estate") or "",
    )


def normalise(text: str) -> str:
    """Full-width digits and letters as ASCII, no spaces: ``香港中路 １０号`` -> ``香港中路10号``."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


def square_metres(area_deg2: float, lat: float) -> float:
    """An area in square degrees near LAT, in square metres (equirectangular: good enough for
    telling a sliver from a real overlap)."""
    return area_deg2 * 110_574.0 * 111_320.0 * math.cos(math.radians(lat))
