"""SQLite's own CPU for appending trail events to a built instance, nothing else: N events copied
from the trail's own rows (every 18th event of the whole trail, so that their cases are spread
as a sweep's are; seq moved past the head), CHUNK rows a statement as the sweep writes them,
in one transaction that is rolled back (the file is left as it was; run it on a copy anyway).
Triggers and every index are paid as in real appends; no Python per row.

    .venv/bin/python bench/trail_insert_cost.py /tmp/copy-a.db /tmp/copy-b.db [--events 50000]

Files are taken in turn, --rounds times (two copies of one instance with different schemas, or
index states, compared under the same load). Prints CPU and wall µs an event for each."""

from __future__ import annotations

import argparse
import sqlite3
import time

STEP = 18


def cost(path: str, n: int, chunk: int) -> tuple[float, float]:
    """(CPU µs, wall µs) an event for N events appended to PATH, rolled back."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA cache_size=-200000")
        top = con.execute("SELECT max(seq) FROM trail_events").fetchone()[0]
        cols = [r[1] for r in con.execute("PRAGMA table_info(trail_events)")]
        sel = ", ".join("seq + :off" if c == "seq" else f'"{c}"' for c in cols)
        # The rows to copy read once first (the file's pages in the OS's cache alike).
        con.execute(
            "SELECT count(*), sum(length(data)) FROM trail_events WHERE seq <= :a", {"a": n * STEP}
        ).fetchone()
        con.execute("BEGIN IMMEDIATE")
        c0, t0 = time.process_time(), time.perf_counter()
        done = 0
        for lo in range(0, n * STEP, chunk * STEP):
            done += con.execute(
                f"INSERT INTO trail_events SELECT {sel} FROM trail_events"
                f" WHERE seq > :lo AND seq <= :hi AND seq % {STEP} = 0",
                {"off": top, "lo": lo, "hi": lo + chunk * STEP},
            ).rowcount
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        con.execute("ROLLBACK")
    finally:
        con.close()
    return cpu / max(done, 1) * 1e6, wall / max(done, 1) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("files", nargs="+", help="SQLite files (copies of built instances)")
    ap.add_argument("--events", type=int, default=50_000, help="events appended a run")
    ap.add_argument("--chunk", type=int, default=200, help="rows a statement")
    ap.add_argument("--rounds", type=int, default=3, help="runs of each file, taken in turn")
    args = ap.parse_args()
    for _ in range(args.rounds):
        for path in args.files:
            cpu, wall = cost(path, args.events, args.chunk)
            print(f"{path}: {args.events} events, CPU {cpu:.1f} µs an event, wall {wall:.1f} µs")


if __name__ == "__main__":
    main()
