"""Benchmark of the list-admin paths, each beside a baseline measured in the same run.

    .venv/bin/python bench/listadmin.py [--cases 2000] [--items 2000] [--url URL]

- moving N running cases to a new route version (one transaction, one trail event each) beside
  firing one trigger on each of the same N cases (one transaction), the engine's own cost;
- the dry run of that move;
- opening N cases with the street's routing table published beside N without one;
- importing (read, check, diff) a list of M items from XLSX beside the same from CSV.

Uses a fresh SQLite file in a temporary folder unless --url names another database (which it
then fills: use an empty one)."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from workflow.actors import Actor
from workflow.catalog import registry, street_routing
from workflow.catalog.listdiff import diff_lists
from workflow.catalog.sheet import read_sheet, write_sheet
from workflow.config import DEFAULT_DEFINITIONS
from workflow.runtime import engine, migration
from workflow.spec.loader import load_definitions
from workflow.spec.model import StateSpec
from workflow.spec.serialize import route_to_data
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.migrate import upgrade

T0 = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)
CLERK = Actor("clerk", "W-ZHL-01", "clerk")


def timed(label: str, fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    fn()
    took = time.perf_counter() - start
    print(f"  {label:<58} {took:8.3f} s  {took / n * 1000:8.3f} ms each")
    return took


def open_cases(
    sessions: sessionmaker[Session], n: int, item: str, ws: str = "W-ZHL-01"
) -> list[int]:
    clerk = Actor("clerk", ws, "clerk")
    with sessions.begin() as s:
        ids = []
        for _ in range(n):
            c = engine.open_case(
                s,
                item=item,
                workstation=ws,
                actor=clerk,
                applicant_name="王芳",
                applicant_phone="13800000000",
                now=T0,
            )
            ids.append(c.id)
    return ids


def publish_v2(s: Session) -> None:
    v1, _, _ = registry.route(s, "three_tier")
    ren = {"street_review": "street_check"}
    states = tuple(
        StateSpec("street_check", tier="street_office") if st.name == "street_review" else st
        for st in v1.states
    )
    transitions = tuple(
        dataclasses.replace(t, source=ren.get(t.source, t.source), dest=ren.get(t.dest, t.dest))
        for t in v1.transitions
    )
    v2 = dataclasses.replace(v1, states=states, transitions=transitions)
    registry.publish_one(s, "route", "three_tier", route_to_data(v2), actor="bench", now=T0)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cases", type=int, default=2000, help="running cases moved and fired")
    ap.add_argument("--items", type=int, default=2000, help="items in the imported list")
    ap.add_argument("--url", help="an empty database to fill instead of a scratch SQLite file")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.url or f"sqlite:///{tmp.name}/bench.db"
    eng = make_engine(url)
    upgrade(eng)
    sessions = make_sessionmaker(eng)
    defs = load_definitions(DEFAULT_DEFINITIONS)
    with sessions.begin() as s:
        registry.publish(s, defs, actor="bench", now=T0)
    n = args.cases
    print(
        f"database: {eng.url.render_as_string(hide_password=True)}; {n} cases, {args.items} items"
    )

    print("opening cases")
    timed("open N cases (no routing table)", lambda: open_cases(sessions, n, "UD-01"), n)
    with sessions.begin() as s:
        street_routing.publish_table(
            s,
            "S-ZHL",
            {"items": {"UD-01": {"agency": "A-ZHL-PCS", "street_limit_wd": 2}}},
            actor="bench",
            now=T0,
        )
    timed("open N cases (street routing table)", lambda: open_cases(sessions, n, "UD-01"), n)

    print("moving running cases")
    ids = open_cases(sessions, n, "SW-02")

    def fire_all() -> None:
        with sessions.begin() as s:
            for cid in ids:
                engine.fire(s, cid, "accept", CLERK, now=T0)

    timed("baseline: fire 'accept' on each of N cases", fire_all, n)
    with sessions.begin() as s:
        publish_v2(s)
    mapping = {"street_review": "street_check"}

    def dry() -> None:
        with sessions() as s:
            p = migration.plan(s, route="three_tier", from_version=1, to_version=2, mapping=mapping)
            assert len(p.movable) == n

    def move() -> None:
        with sessions.begin() as s:
            p = migration.apply(
                s,
                route="three_tier",
                from_version=1,
                to_version=2,
                mapping=mapping,
                actor="bench",
                now=T0,
            )
            assert len(p.movable) == n

    timed("dry run of moving N cases v1 -> v2", dry, n)
    timed("move N cases v1 -> v2 (one case.migrated each)", move, n)

    print("importing the list")
    with sessions() as s:
        base = list(registry.items(s)[0].values())
    items = [
        dataclasses.replace(base[k % len(base)], code=f"{base[k % len(base)].code}-{k}")
        for k in range(args.items)
    ]
    folder = Path(tmp.name)
    write_sheet(items, folder / "list.xlsx")
    write_sheet(items, folder / "list.csv")
    for name in ("list.csv", "list.xlsx"):
        data = (folder / name).read_bytes()

        def read(data: bytes = data, name: str = name) -> None:
            with sessions() as s:
                sheet = read_sheet(data, name, session=s)
                assert not sheet.problems, sheet.problems[:3]
                diff_lists(s, sheet.items)

        label = "baseline: " if name.endswith(".csv") else ""
        timed(f"{label}read, check and diff {name} ({len(data) // 1024} KB)", read, args.items)
    eng.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
