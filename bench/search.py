"""Benchmark of finding cases at scale, beside a baseline measured in the same run.

    .venv/bin/python bench/search.py [--cases 100000] [--reps 40] [--url URL]

Seeds N cases by bulk SQL (bench/seed.py) into a fresh SQLite file (or the empty database --url
names), then times, REPS times each, the query layer's calls the API and the console make (a
page of 25, the count capped at 10,000): the search by a full name, a 2-character name, a
surname, the phone's last digits, a case number, a place; the district's whole list at page 1
and at page 200 by number; the next page by cursor; a workstation's inbox. The baseline is the
read of one case by its id in scope (scope.get_case), the cheapest read a page makes. Prints
p50 and p95 in milliseconds and each p95 as a multiple of the baseline's."""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.seed import seed_cases
from workflow.actors import Actor
from workflow.catalog import registry
from workflow.config import DEFAULT_DEFINITIONS
from workflow.queries import cases, scope, search
from workflow.spec.loader import load_definitions
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.migrate import upgrade
from workflow.store.models import Case

T0 = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)
CLERK = Actor("clerk", "W-ZHL-01", "clerk")
DISTRICT = Actor("admin", "X-SN", "admin")
PAGE = 25


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--url", default="")
    a = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = a.url or f"sqlite:///{Path(tmp.name) / 'search.db'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as s:
        registry.publish(s, load_definitions(DEFAULT_DEFINITIONS), actor="bench", now=T0)
    start = time.perf_counter()
    with sessions.begin() as s:
        seed_cases(s, a.cases, start=T0)
    print(f"{engine.dialect.name}: {a.cases} cases seeded in {time.perf_counter() - start:.1f} s")
    with sessions() as s:
        some = s.get(Case, a.cases // 2)
        assert some is not None
        name, phone, ws = some.applicant_name, some.applicant_phone, some.workstation
        clerk = Actor("clerk", ws, "clerk")
        second = search.find(s, actor=DISTRICT, filters=search.Filters(), limit=PAGE).next

    def find(who: Actor, **f: Any) -> Callable[[Any], object]:
        return lambda s: search.find(s, actor=who, filters=search.Filters(**f), limit=PAGE)

    runs: list[tuple[str, Callable[[Any], object]]] = [
        ("baseline: one case by id (scope.get_case)", lambda s: scope.get_case(s, clerk, some.id)),
        (f"name, full ({name})", find(clerk, q=name)),
        (f"name, full, whole district ({name})", find(DISTRICT, q=name)),
        ("name, surname only (王), whole district", find(DISTRICT, q="王")),
        ("phone, last 4 digits", find(clerk, q=phone[-4:])),
        ("case number (#id)", find(clerk, q=f"#{some.id}")),
        ("place (海口路1), whole district", find(DISTRICT, q="海口路1")),
        ("whole district, page 1", find(DISTRICT)),
        (
            "whole district, page 200 by number",
            lambda s: search.find(
                s, actor=DISTRICT, filters=search.Filters(), offset=199 * PAGE, limit=PAGE
            ),
        ),
        (
            "whole district, next page by cursor",
            lambda s: search.find(
                s, actor=DISTRICT, filters=search.Filters(), after=second, limit=PAGE
            ),
        ),
        ("a workstation's inbox, page 1", lambda s: cases.inbox(s, actor=clerk, limit=PAGE)),
    ]
    results = []
    for label, fn in runs:
        took = []
        for _ in range(a.reps):
            with sessions() as s:
                t = time.perf_counter()
                fn(s)
                took.append((time.perf_counter() - t) * 1000)
        results.append((label, statistics.median(took), p(took, 0.95)))
    base = results[0][2]
    print(f"{'':<48} {'p50 ms':>8} {'p95 ms':>8} {'p95 / baseline':>15}")
    for label, p50, p95 in results:
        print(f"{label:<48} {p50:8.2f} {p95:8.2f} {p95 / base:14.1f}x")
    engine.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
