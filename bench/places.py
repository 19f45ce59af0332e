"""Benchmark of routing by place, each beside a baseline measured in the same run.

    .venv/bin/python bench/places.py [--points 20000] [--cases 500]

- locating N random points of the district's extent with Places.at_point (an STR tree of the
  prepared boundaries) beside a plain loop asking each of the 50 unprepared boundaries whether
  it covers the point (what one would write without the tree);
- opening N cases by point (engine.open_case with lat/long and no workstation, one transaction
  each) beside N cases naming their workstation, on a fresh SQLite file."""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
from pathlib import Path

from shapely.geometry import Point, shape

from workflow.actors import Actor
from workflow.catalog import registry
from workflow.config import DEFAULT_DEFINITIONS
from workflow.places.model import Places
from workflow.runtime import engine
from workflow.spec.loader import load_definitions
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.migrate import upgrade

T0 = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)
APP = Actor("app", None, "applicant")


def locate(points: int) -> list[tuple[str, float, str]]:
    defs = load_definitions(DEFAULT_DEFINITIONS)
    assert defs.places is not None
    places = Places.from_data(1, defs.places)
    plain = [
        (f["properties"]["workstation"], shape(f["geometry"]))
        for f in defs.places["communities"]["features"]
    ]
    rng = random.Random(1)
    pts = [(rng.uniform(36.04, 36.11), rng.uniform(120.30, 120.45)) for _ in range(points)]

    t = time.perf_counter()
    tree = [places.at_point(lat, long) for lat, long in pts]
    tree_s = time.perf_counter() - t

    t = time.perf_counter()
    loop = []
    for lat, long in pts:
        p = Point(long, lat)
        loop.append(min((code for code, g in plain if g.covers(p)), default=None))
    loop_s = time.perf_counter() - t
    assert tree == loop, "the two ways disagree"
    return [
        ("Places.at_point (STR tree, prepared)", tree_s, "points"),
        ("loop over 50 boundaries (baseline)", loop_s, "points"),
    ]


def opening(cases: int, folder: Path) -> list[tuple[str, float, str]]:
    url = f"sqlite:///{folder / 'bench.db'}"
    eng = make_engine(url)
    upgrade(eng)
    sessions = make_sessionmaker(eng)
    with sessions.begin() as s:
        registry.publish(s, load_definitions(DEFAULT_DEFINITIONS), actor="bench", now=T0)
    with sessions() as s:
        places = Places.from_data(1, registry.latest_row(s, "places", "places").content)  # type: ignore[union-attr]
    rng = random.Random(2)
    pts = []
    while len(pts) < cases:
        lat, long = rng.uniform(36.04, 36.11), rng.uniform(120.30, 120.45)
        ws = places.at_point(lat, long)
        if ws:
            pts.append((lat, long, ws))

    def run(by_point: bool) -> float:
        t = time.perf_counter()
        for n, (lat, long, ws) in enumerate(pts):
            with sessions.begin() as s:
                engine.open_case(
                    s,
                    item="UD-01",
                    workstation=None if by_point else ws,
                    lat=lat if by_point else None,
                    long=long if by_point else None,
                    actor=APP,
                    applicant_name="王芳",
                    applicant_phone="",
                    channel="app",
                    now=T0 + dt.timedelta(seconds=n),
                )
        return time.perf_counter() - t

    named = run(False)
    placed = run(True)
    eng.dispose()
    return [
        ("open_case by point (lat/long)", placed, "cases"),
        ("open_case naming the workstation (baseline)", named, "cases"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--points", type=int, default=20000)
    parser.add_argument("--cases", type=int, default=500)
    args = parser.parse_args()
    rows = locate(args.points)
    with tempfile.TemporaryDirectory() as d:
        rows += opening(args.cases, Path(d))
    print("| what | n | total s | µs each |\n| --- | ---: | ---: | ---: |")
    for what, seconds, unit in rows:
        n = args.points if unit == "points" else args.cases
        print(f"| {what} | {n} {unit} | {seconds:.2f} | {seconds / n * 1e6:,.0f} |")


if __name__ == "__main__":
    main()
