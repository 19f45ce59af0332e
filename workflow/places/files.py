"""The places folder of the definitions (``places/communities.geojson``, ``places/addresses.csv``):
read, checked against the units, and turned into the content published as kind ``places``.

The checks: each feature is a valid Polygon or MultiPolygon in decimal degrees naming one
workstation of units.csv in ``properties.workstation``; no workstation has two; no two
communities overlap by more than ``OVERLAP_M2`` (rounding coordinates leaves slivers far
smaller); every workstation has a boundary; each address row names a road with its numbers or an
estate, and a workstation; no two rows give the same number of a road, or the same estate, to
different workstations."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.strtree import STRtree
from shapely.validation import explain_validity

from workflow.spec.files import MAX_CSV_BYTES, Problem, file_text, read_csv_file
from workflow.spec.model import UnitSpec

from .model import SIDES, address_row, square_metres

COMMUNITIES = "places/communities.geojson"
ADDRESSES = "places/addresses.csv"
ADDRESS_COLUMNS = ("road", "from", "to", "side", "estate", "workstation")
OVERLAP_M2 = 1.0
MAX_FEATURES = 5000


def read_places(
    root: Path, units: Iterable[UnitSpec]
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The places content of a definitions folder ROOT (None when it has no places/), or its
    problems."""
    folder = Path(root) / "places"
    if not folder.is_dir():
        return None, []
    workstations = {u.code for u in units if u.kind == "workstation"}
    path = folder / "communities.geojson"
    if not path.is_file():
        return None, [Problem(COMMUNITIES, "", "missing file (places/ needs the boundaries)")]
    text, problems = file_text(path, COMMUNITIES, MAX_CSV_BYTES)
    if text is None:
        return None, problems
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [Problem(COMMUNITIES, "", f"malformed JSON: {exc.msg}", exc.lineno)]
    features, problems = check_communities(data, workstations, COMMUNITIES)
    rows: list[dict[str, Any]] = []
    if (folder / "addresses.csv").is_file():
        rows, more = read_addresses(folder / "addresses.csv", workstations)
        problems += more
    if problems:
        return None, problems
    return {"communities": features, "addresses": rows}, []


def check_communities(
    data: Any, workstations: set[str], file: str = COMMUNITIES
) -> tuple[dict[str, Any], list[Problem]]:
    """The FeatureCollection as published (geometries as given), or its problems."""
    problems: list[Problem] = []

    def add(place: str, message: str) -> None:
        problems.append(Problem(file, place, message))

    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
        add("", "must be a GeoJSON FeatureCollection")
        return {}, problems
    features = data.get("features")
    if not isinstance(features, list) or not features:
        add("features", "must be a list of features, one for each workstation")
        return {}, problems
    if len(features) > MAX_FEATURES:
        add("features", f"more than {MAX_FEATURES} features")
        return {}, problems
    shapes: list[tuple[str, str, Any]] = []  # (place, workstation, geometry)
    seen: dict[str, str] = {}
    for i, f in enumerate(features):
        place = f"features[{i}]"
        props = f.get("properties") if isinstance(f, Mapping) else None
        code = props.get("workstation") if isinstance(props, Mapping) else None
        if not isinstance(code, str) or not code:
            add(f"{place}.properties.workstation", "required: the workstation's code")
            continue
        place = f"{place} ({code})"
        if code not in workstations:
            add(place, f"{code!r} is not a workstation in units.csv")
        elif code in seen:
            add(place, f"{code} has a boundary already at {seen[code]}")
        seen.setdefault(code, place)
        geometry = _geometry(f.get("geometry"), place, add)
        if geometry is not None:
            shapes.append((place, code, geometry))
    problems += _overlaps(shapes, file)
    for code in sorted(workstations - set(seen)):
        add("features", f"workstation {code} has no boundary: every community needs one")
    out = {k: v for k, v in data.items() if k in ("type", "name", "illustrative", "note")}
    out["features"] = [
        {
            "type": "Feature",
            "properties": dict(f["properties"]),
            "geometry": f["geometry"],
        }
        for f in features
        if isinstance(f, Mapping)
    ]
    return out, problems


def _geometry(raw: Any, place: str, add: Any) -> Any:
    """The feature's shape when it is a valid polygon in degrees; else its problem told."""
    if not isinstance(raw, Mapping) or raw.get("type") not in ("Polygon", "MultiPolygon"):
        add(f"{place}.geometry", "must be a Polygon or a MultiPolygon")
        return None
    try:
        geometry = shape(raw)
    except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.GEOSException):
        add(f"{place}.geometry", "malformed coordinates: rings of [longitude, latitude] pairs")
        return None
    if geometry.is_empty:
        add(f"{place}.geometry", "empty")
        return None
    x0, y0, x1, y1 = geometry.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        add(f"{place}.geometry", "coordinates are [longitude, latitude] in decimal degrees")
        return None
    if not geometry.is_valid:
        # e.g. "Self-intersection[120.31 36.05]": what is wrong and where.
        add(f"{place}.geometry", f"not a valid polygon: {explain_validity(geometry)}")
        return None
    return geometry


def _overlaps(shapes: list[tuple[str, str, Any]], file: str) -> list[Problem]:
    tree = STRtree([g for _, _, g in shapes])
    problems = []
    for i, (place, _code, g) in enumerate(shapes):
        for j in sorted(int(j) for j in tree.query(g, predicate="intersects")):
            if j <= i:
                continue
            other_place, _, other = shapes[j]
            common = g.intersection(other)
            m2 = square_metres(common.area, common.centroid.y) if not common.is_empty else 0.0
            if m2 > OVERLAP_M2:
                problems.append(
                    Problem(
                        file,
                        place,
                        f"overlaps {other_place} by about {m2:,.0f} m²: "
                        "a place belongs to one community",
                    )
                )
    return problems


def read_addresses(
    path: Path, workstations: set[str], rel: str = ADDRESSES
) -> tuple[list[dict[str, Any]], list[Problem]]:
    rows, problems = read_csv_file(path, rel, ADDRESS_COLUMNS, ("workstation",))
    return check_addresses(rows, workstations, rel, problems)


def check_addresses(
    rows: list[tuple[int, dict[str, str]]],
    workstations: set[str],
    rel: str,
    problems: list[Problem] | None = None,
) -> tuple[list[dict[str, Any]], list[Problem]]:
    problems = list(problems or [])
    out: list[dict[str, Any]] = []
    taken: dict[tuple[str, str], tuple[int, str]] = {}  # (road or estate, number) -> row, ws

    def add(n: int, column: str, message: str) -> None:
        problems.append(Problem(rel, f"row {n}, column {column}", message, n))

    for n, row in rows:
        row = {k: (v or "").strip() for k, v in row.items()}
        ws, road, estate = row.get("workstation", ""), row.get("road", ""), row.get("estate", "")
        before = len(problems)
        if ws not in workstations:
            add(n, "workstation", f"{ws!r} is not a workstation in units.csv")
        if bool(road) == bool(estate):
            add(n, "road", "give a road with its numbers, or an estate: one of them")
        entry: dict[str, Any] = {"road": road, "from": None, "to": None, "side": "all"}
        entry.update(estate=estate, workstation=ws)
        if road:
            entry["side"] = row.get("side") or "all"
            if entry["side"] not in SIDES:
                add(n, "side", f"one of {', '.join(SIDES)}")
            for column in ("from", "to"):
                value = row.get(column, "")
                if not value.isdigit() or not 0 < int(value) < 100_000:
                    add(n, column, "a house number (1 or more)")
                else:
                    entry[column] = int(value)
            if entry["from"] and entry["to"] and entry["from"] > entry["to"]:
                add(n, "to", f"the range ends before it starts ({entry['from']} > {entry['to']})")
        if len(problems) > before:
            continue
        r = address_row(entry)
        keys = (
            [(estate, "")]
            if estate
            else [(road, str(k)) for k in range(r.first or 0, (r.last or 0) + 1) if r.takes(k)]
        )
        for key in keys:
            if key in taken and taken[key][1] != ws:
                what = f"estate {estate}" if estate else f"{road} {key[1]}"
                add(n, "workstation", f"{what} is given to {taken[key][1]} at row {taken[key][0]}")
                break
            taken[key] = (n, ws)
        out.append(entry)
    return out, problems
