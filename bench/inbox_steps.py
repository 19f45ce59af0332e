"""SQLite's work for a unit's inbox (workflow.queries.cases.inbox, the console's list): each
statement of its first and second page counted in SQLite's virtual machine instructions (a
progress handler called at every instruction: a count that does not depend on the machine's
load), with its median time, for a few units. Run it with either code (PYTHONPATH) on a copy
migrated by that code, to set the statements and plans of two versions side by side.

    .venv/bin/python bench/inbox_steps.py --db /tmp/copy.db [--reps 20]

Only reads."""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
_ROOT = os.path.dirname(_HERE)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import create_engine, event  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import workflow.store.db  # noqa: E402,F401  (renders SQLite's INDEXED BY hint)
from workflow.actors import Actor  # noqa: E402
from workflow.queries import cases  # noqa: E402

INBOXES = [("W-ZHL-01", "clerk"), ("S-ZHL", "staff"), ("D-GA", "staff"), ("D-ZF", "staff")]


def steps(con: sqlite3.Connection, sql: str, params: Any) -> int:
    """The virtual machine instructions SQL takes to run to its end."""
    n = [0]

    def tick() -> int:
        n[0] += 1
        return 0

    con.set_progress_handler(tick, 1)
    try:
        con.execute(sql, params).fetchall()
    finally:
        con.set_progress_handler(None, 1)
    return n[0]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", required=True, help="a SQLite file (a copy, migrated)")
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    engine = create_engine(f"sqlite:///{args.db}")
    seen: list[tuple[str, Any]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _keep(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    con = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'inbox':<10} {'page':>4} {'count':>8}  {'VM steps':>9}  {'SQL ms p50':>10}  first ids")
    for unit, role in INBOXES:
        actor = Actor(name=f"bench-{unit}", unit=unit, role=role)
        after = None
        for number in (1, 2):
            with Session(engine) as s:
                seen.clear()
                found = cases.inbox(s, actor=actor, after=after, limit=25)
            ours = [(q, p) for q, p in seen if "FROM cases" in q]
            total = sum(steps(con, q, p) for q, p in ours)
            ms = []
            for _ in range(args.reps):
                t = time.perf_counter()
                for q, p in ours:
                    con.execute(q, p).fetchall()
                ms.append((time.perf_counter() - t) * 1000)
            count = f"{found.total:,}" + ("" if found.exact else "~")
            ids = ",".join(str(c.id) for c in found.items[:4])
            print(
                f"{unit:<10} {number:>4} {count:>8}  {total:>9,}  "
                f"{statistics.median(ms):>10.2f}  {ids}"
            )
            after = found.next
            if after is None:
                break


if __name__ == "__main__":
    main()
