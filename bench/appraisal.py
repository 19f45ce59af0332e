"""Appraisal computation time: the SQL aggregation against reading the period's trail into Python.

    streetflow init --demo                       # or any instance with a month of cases
    python bench/appraisal.py --period 2026-11   # uses STREETFLOW_DATABASE_URL, or --url URL

The baseline is only *reading* the period's trail events as ORM objects, the least that any
computation looping over events in Python would pay before counting anything."""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable

from sqlalchemy import func, select

from workflow.appraisal import records
from workflow.appraisal.metrics import Window
from workflow.config import settings
from workflow.instants import parse_iso
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.models import TrailEvent


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(median seconds, peak MiB of Python allocations) over REPEAT runs."""
    times = []
    tracemalloc.start()
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return statistics.median(times), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--period", required=True)
    parser.add_argument("--url", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    local = settings()
    engine = make_engine(args.url or local.database_url)
    sessions = make_sessionmaker(engine, local)
    with sessions() as s:
        inputs = records.gather_inputs(s, args.period)
        window = Window(
            args.period,
            parse_iso(inputs["from"]),
            parse_iso(inputs["to"]),
            inputs["last_seq"],
        )
        in_period = (TrailEvent.at >= window.start, TrailEvent.at < window.end)
        events = s.execute(select(func.count()).where(*in_period)).scalar_one()
        cases = s.execute(select(func.count(TrailEvent.case_id.distinct())).where(*in_period))
        n_cases = cases.scalar_one()

        def baseline() -> object:
            s.expunge_all()
            return s.execute(select(TrailEvent).where(*in_period)).scalars().all()

        def calculate() -> object:
            s.expunge_all()
            return records.calculate(s, inputs)

        base_t, base_m = timed(baseline, args.repeat)
        calc_t, calc_m = timed(calculate, args.repeat)
    print(f"{engine.dialect.name}, {args.period}: {events} trail events of {n_cases} cases")
    print(f"{'':44}{'median s':>10}{'peak MiB':>10}")
    print(f"{'baseline: read the events into Python':44}{base_t:>10.3f}{base_m:>10.1f}")
    print(f"{'appraisal: 114 records, 9 metrics, SQL':44}{calc_t:>10.3f}{calc_m:>10.1f}")
    engine.dispose()


if __name__ == "__main__":
    main()
