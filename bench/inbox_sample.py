"""The estimate of a unit's inbox beyond the count's cap (paging.estimate on SQLite): its sample
of 4,096 ids in 16 runs read from the cases' rows (NOT INDEXED, what the console's inbox did
before console11) against the same runs read from the holder's index (ix_cases_holder_id, what
it does now). The same estimate either way (checked); CPU per estimate (its statements: the
table's ends and the sample, built or taken as built), in process.

    .venv/bin/python bench/inbox_sample.py --db sqlite:////tmp/copy.db [--reps 200]

Only reads (a copy is not needed, but the instance must not be written meanwhile)."""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
_ROOT = os.path.dirname(_HERE)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

from sqlalchemy import create_engine, func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import workflow.store.db  # noqa: E402,F401  (renders SQLite's INDEXED BY hint)
from workflow.actors import Actor  # noqa: E402
from workflow.queries import paging, search  # noqa: E402
from workflow.store.models import Case  # noqa: E402

INBOXES = [("W-ZHL-01", "clerk"), ("D-ZF", "staff"), ("S-ZHL", "staff")]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", required=True)
    ap.add_argument("--reps", type=int, default=200)
    args = ap.parse_args()
    engine = create_engine(args.db)
    with Session(engine) as s:
        lo, hi = s.execute(select(func.min(Case.id), func.max(Case.id))).one()
        span = hi - lo + 1
        print(f"{span:,} ids; load average {os.getloadavg()[0]:.2f}")
        print(
            f"{'inbox':<10} {'held':>7} {'about':>6}  rows' runs ms CPU p50  index runs ms CPU p50"
        )
        for unit, role in INBOXES:
            actor = Actor(name=f"bench-{unit}", unit=unit, role=role)
            f = search.Filters(view="inbox")
            where = search.where(s, actor, f)
            held = s.execute(select(func.count(Case.id)).where(*where)).scalar_one()
            cpu: dict[str | None, list[float]] = {}
            hits = set()
            for index in (None, "ix_cases_holder_id") * 3:
                for _ in range(args.reps // 3):
                    t = time.process_time()
                    hits.add(paging.estimate(s, Case.id, where, sample_by=index))
                    cpu.setdefault(index, []).append((time.process_time() - t) * 1000)
            assert len(hits) == 1, hits  # the same estimate either way
            print(
                f"{unit:<10} {held:>7,} {hits.pop()[0]:>6,}  "
                f"{statistics.median(cpu[None]):>23.3f}  "
                f"{statistics.median(cpu['ix_cases_holder_id']):>20.3f}"
            )


if __name__ == "__main__":
    main()
