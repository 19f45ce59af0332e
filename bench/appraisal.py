"""Appraisal computation time: the SQL aggregation against reading the period's trail into Python.

    streetflow init --demo                       # or any instance with a month of cases
    python bench/appraisal.py --period 2026-11   # uses STREETFLOW_DATABASE_URL, or --url URL
    python bench/appraisal.py --period 2026-10 --month --url sqlite:////tmp/copy.db

The baseline is only *reading* the period's trail events as ORM objects, the least that any
computation looping over events in Python would pay before counting anything.

--month times the month's whole computation as `streetflow appraisal compute` runs it (the
inputs, with the trail's digest, then every metric), twice: the first run digests the trail's
blocks not digested yet (and stores them), the second finds them stored. Then each metric's
query alone. Nothing is committed: the copy is left as it was."""

from __future__ import annotations

import argparse
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from workflow.appraisal import metrics, records
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


def month(sessions: Any, period: str) -> None:
    """The month's computation (inputs, then the records), first and second run, and each
    metric's query alone; wall and CPU seconds, and the load average."""
    print(f"load average {os.getloadavg()[0]:.2f}")
    for run in ("first", "second"):
        with sessions() as s:
            t, c = time.perf_counter(), time.process_time()
            inputs = records.gather_inputs(s, period)
            t1, c1 = time.perf_counter(), time.process_time()
            rows = records.calculate(s, inputs)
            t2, c2 = time.perf_counter(), time.process_time()
            # Keep the blocks the first run stored for the second (as compute's commit would).
            s.commit()
        print(
            f"{run} run: inputs {t1 - t:.2f} s (CPU {c1 - c:.2f}), records {t2 - t1:.2f} s "
            f"(CPU {c2 - c1:.2f}), total {t2 - t:.2f} s; {len(rows)} records; "
            f"load average {os.getloadavg()[0]:.2f}"
        )
    with sessions() as s:
        w = Window(period, parse_iso(inputs["from"]), parse_iso(inputs["to"]), inputs["last_seq"])
        scheme = records._definition(s, "appraisal", inputs["definitions"]["appraisal"])
        queries = {name: q(w) for name, q in metrics.QUERIES.items()}
        if "credit" in scheme:
            credit = scheme["credit"]
            queries["resolution_rate"] = metrics.answered_resolution_rate(
                w, credit["resolution_rate"]
            )
            queries["satisfaction_rate"] = metrics.answered_satisfaction_rate(
                w, credit["satisfaction_rate"]
            )
        for name, query in queries.items():
            t = time.perf_counter()
            n = len(s.execute(query).all())
            print(f"  {name:24}{time.perf_counter() - t:8.2f} s  {n} units")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--period", required=True)
    parser.add_argument("--url", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--month", action="store_true", help="time the whole computation")
    args = parser.parse_args()
    local = settings()
    engine = make_engine(args.url or local.database_url)
    sessions = make_sessionmaker(engine, local)
    if args.month:
        month(sessions, args.period)
        engine.dispose()
        return
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
