"""The places definition (definitions/places/): the shipped demo tiles the district, and a
folder with an overlap, an invalid polygon, a community left out or an address naming no
workstation is refused with a clear message, by `definitions validate` too."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from shapely.geometry import box, shape
from shapely.ops import unary_union
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from workflow.catalog import registry
from workflow.config import DEFAULT_DEFINITIONS, REPO
from workflow.places import routing
from workflow.places.model import Places
from workflow.spec.loader import read_definitions
from workflow.store.models import DefinitionVersion


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the shipped definitions to break."""
    return Path(shutil.copytree(DEFAULT_DEFINITIONS, tmp_path / "definitions"))


def geojson(folder: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((folder / "places" / "communities.geojson").read_text("utf-8"))


def index(data: dict, code: str) -> int:  # type: ignore[type-arg]
    return next(i for i, f in enumerate(data["features"]) if f["properties"]["workstation"] == code)


def write(folder: Path, data: dict) -> None:  # type: ignore[type-arg]
    (folder / "places" / "communities.geojson").write_text(json.dumps(data), "utf-8")


def problems_of(folder: Path) -> list[str]:
    defs, problems = read_definitions(folder)
    assert defs is None
    return [str(p) for p in problems]


def test_the_demo_tiles_the_district_without_gaps_or_overlaps() -> None:
    defs, problems = read_definitions(DEFAULT_DEFINITIONS)
    assert problems == [] and defs is not None and defs.places is not None
    features = defs.places["communities"]["features"]
    workstations = {u.code for u in defs.units if u.kind == "workstation"}
    assert {f["properties"]["workstation"] for f in features} == workstations
    assert len(features) == 50 and defs.places["communities"]["illustrative"] is True
    shapes = [shape(f["geometry"]) for f in features]
    extent = box(120.30, 36.04, 120.45, 36.11)
    whole = unary_union(shapes)
    assert extent.symmetric_difference(whole).area == 0
    assert sum(s.area for s in shapes) == pytest.approx(extent.area, rel=1e-9)
    # Each street's communities make one area (a street is not scattered over the map).
    street = {u.code: u.parent for u in defs.units if u.kind == "workstation"}
    for s in set(street.values()):
        mine = unary_union(
            [
                sh
                for f, sh in zip(features, shapes, strict=True)
                if street[f["properties"]["workstation"]] == s
            ]
        )
        assert mine.geom_type == "Polygon", s


def test_the_generator_output_is_committed() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo_places.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_overlapping_communities_are_refused(folder: Path) -> None:
    data = geojson(folder)
    # W-ZHL-01 takes a bite of its neighbour's area as well.
    first = data["features"][index(data, "W-ZHL-01")]
    grown = shape(first["geometry"]).buffer(0.002, join_style="mitre")
    first["geometry"] = json.loads(json.dumps(grown.__geo_interface__))
    write(folder, data)
    problems = problems_of(folder)
    assert any(
        f"features[{index(data, 'W-ZHL-01')}] (W-ZHL-01): overlaps features[" in p
        and "m²: a place belongs to one community" in p
        for p in problems
    ), problems


def test_an_invalid_polygon_is_refused_with_where(folder: Path) -> None:
    data = geojson(folder)
    # A bow tie: its edges cross each other.
    i = index(data, "W-ZHL-04")
    data["features"][i]["geometry"] = {
        "type": "Polygon",
        "coordinates": [
            [[120.40, 36.05], [120.41, 36.06], [120.41, 36.05], [120.40, 36.06], [120.40, 36.05]]
        ],
    }
    write(folder, data)
    problems = problems_of(folder)
    assert any(
        f"features[{i}] (W-ZHL-04).geometry: not a valid polygon: Self-intersection" in p
        for p in problems
    ), problems
    # Its area is left uncovered, but that is not required; its workstation keeps a feature.
    assert not any("W-ZHL-04 has no boundary" in p for p in problems)


def test_a_workstation_without_a_boundary_is_refused(folder: Path) -> None:
    data = geojson(folder)
    data["features"] = [f for f in data["features"] if f["properties"]["workstation"] != "W-JML-05"]
    write(folder, data)
    assert problems_of(folder) == [
        "places/communities.geojson: features: workstation W-JML-05 has no boundary: "
        "every community needs one"
    ]


def test_unknown_and_doubled_workstations_and_bad_shapes(folder: Path) -> None:
    data = geojson(folder)
    a, b, c, first = (index(data, w) for w in ("W-ZHL-02", "W-ZHL-03", "W-ZHL-05", "W-ZHL-01"))
    data["features"][a]["properties"]["workstation"] = "S-ZHL"
    data["features"][b]["properties"]["workstation"] = "W-ZHL-01"
    data["features"][c]["geometry"] = {"type": "Point", "coordinates": [120.4, 36.05]}
    write(folder, data)
    problems = problems_of(folder)
    assert (
        f"places/communities.geojson: features[{a}] (S-ZHL): 'S-ZHL' is not a workstation in units.csv"
        in problems
    )
    assert any(
        f"features[{b}] (W-ZHL-01): W-ZHL-01 has a boundary already at features[{first}]" in p
        for p in problems
    )
    assert any(
        f"features[{c}] (W-ZHL-05).geometry: must be a Polygon or a MultiPolygon" in p
        for p in problems
    )


def test_address_rows_pointing_nowhere_are_refused(folder: Path) -> None:
    path = folder / "places" / "addresses.csv"
    text = path.read_text("utf-8")
    text += "澳门路,1,9,all,,W-NOPE-01\n"  # an unknown workstation
    text += "南京路,5,5,odd,,W-ZHL-01\n"  # No. 5 of 南京路 is W-XGZ-04's
    text += ",,,,,W-ZHL-01\n"  # neither road nor estate
    path.write_text(text, "utf-8")
    problems = problems_of(folder)
    assert any(
        "row 54, column workstation: 'W-NOPE-01' is not a workstation" in p for p in problems
    ), problems
    assert any(
        "row 55, column workstation: 南京路 5 is given to W-XGZ-04 at row" in p for p in problems
    ), problems
    assert any(
        "row 56, column road: give a road with its numbers, or an estate" in p for p in problems
    ), problems


def test_definitions_validate_says_so_and_exits_1(folder: Path) -> None:
    data = geojson(folder)
    del data["features"][index(data, "W-ZHL-01")]
    write(folder, data)
    result = CliRunner().invoke(main, ["definitions", "validate", str(folder)])
    assert result.exit_code == 1
    assert "workstation W-ZHL-01 has no boundary" in result.output


def test_published_and_versioned_like_the_other_definitions(
    sessions: sessionmaker[Session], folder: Path
) -> None:
    with sessions() as s:
        places = routing.current(s)
        assert isinstance(places, Places) and places.version == 1 and places.illustrative
    # Moving an estate to another community publishes a new version; the rest keep theirs.
    path = folder / "places" / "addresses.csv"
    path.write_text(
        path.read_text("utf-8").replace("香港花园,W-ZHL-01", "香港花园,W-ZHL-02"), "utf-8"
    )
    defs, problems = read_definitions(folder)
    assert defs is not None, problems
    with sessions.begin() as s:
        changes = {c.kind: c for c in registry.publish(s, defs, actor="test")}
    assert changes["places"].changed and changes["places"].version == 2
    assert not changes["units"].changed
    with sessions() as s:
        assert s.execute(
            select(DefinitionVersion.version).where(DefinitionVersion.kind == "places")
        ).scalars().all() == [1, 2]
        placed, version = routing.locate(s, routing.Location(address="香港花园"))
        assert placed is not None and placed.workstation == "W-ZHL-02" and version == 2
