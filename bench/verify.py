"""How fast `streetflow audit verify` checks a trail on SQLite, against baselines in the same run.

Generates a realistic trail of N events (case openings and transitions with Chinese reasons and
clock data, written as the engine writes them: canonical JSON data, chained hashes) into a fresh
migrated SQLite file, then times, over the same rows:

  verify      workflow.audit.verify.verify(): the command's own code path (and with --jobs N,
              N = the number of CPUs: parts checked in parallel processes)
  hashlib     fetch the 14 raw columns (as the exact walk does) and only SHA-256 the stored
              bytes, no checks: what reading every column into Python costs
  orm         a naive verify: ORM TrailEvent objects, chain.event_body + chain_hash per row

Run:  .venv/bin/python bench/verify.py [--events 1000000] [--naive-events 200000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import platform
import random
import resource
import sqlite3
import tempfile
import time
from pathlib import Path

from sqlalchemy import select, text

from workflow.audit import chain, spelling
from workflow.audit.verify import verify
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.migrate import upgrade
from workflow.store.models import TrailEvent

T0 = dt.datetime(2026, 1, 5, 1, 0, tzinfo=dt.UTC)
STATES = ["received", "accepted", "street_handling", "agency_handling", "awaiting_report", "closed"]
UNITS = ["W-ZHL-01", "S-ZHL", "A-ZHL-ZF", "D-ZF", "D-ZJ", "W-ZHL-02"]
REASONS = [None, None, "超出权限，需部门处理", "材料不全，请补充身份证复印件", "已现场核实"]


def generate(url: str, n: int) -> None:
    engine = make_engine(url, synchronous="OFF")
    upgrade(engine)
    rnd = random.Random(7)
    prev = chain.GENESIS
    rows = []
    raw = engine.raw_connection()
    cur = raw.cursor()
    sql = (
        'INSERT INTO trail_events (seq, at, case_id, actor, unit, action, "trigger", from_state,'
        " to_state, from_holder, to_holder, reason, data, prev_hash, hash) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    )
    for seq in range(1, n + 1):
        at = T0 + dt.timedelta(seconds=seq * 7, microseconds=rnd.randrange(1_000_000))
        case = seq // 6 + 1
        opened = seq % 6 == 1
        i = rnd.randrange(5)
        due = chain.format_at(at + dt.timedelta(days=3))
        data = (
            {
                "item": "UD-01",
                "route": "incident",
                "route_version": 1,
                "list_version": 1,
                "workstation": "W-ZHL-01",
                "channel": "window",
                "stage_due_at": due,
                "due_at": due,
            }
            if opened
            else {
                "stage_due_at": due,
                "due_at": due,
                "left": {
                    "state": STATES[i],
                    "holder": UNITS[i],
                    "started_at": due,
                    "due_at": due,
                    "late": False,
                },
            }
        )
        body = {
            "seq": seq,
            "at": chain.format_at(at),
            "case": case,
            "actor": f"staff@{UNITS[i]}",
            "unit": UNITS[i],
            "action": "case.opened" if opened else "case.transition",
            "trigger": None if opened else "forward",
            "from_state": None if opened else STATES[i],
            "to_state": STATES[i + 1],
            "from_holder": None if opened else UNITS[i],
            "to_holder": UNITS[i + 1],
            "reason": rnd.choice(REASONS),
            "data": data,
        }
        h = chain.chain_hash(prev, body)
        rows.append(
            (
                seq,
                at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                case,
                body["actor"],
                body["unit"],
                body["action"],
                body["trigger"],
                body["from_state"],
                body["to_state"],
                body["from_holder"],
                body["to_holder"],
                body["reason"],
                chain.canonical_json(data).decode(),
                prev,
                h,
            )
        )
        prev = h
        if len(rows) == 50_000:
            cur.executemany(sql, rows)
            rows.clear()
    if rows:
        cur.executemany(sql, rows)
    cur.execute("UPDATE trail_head SET seq = ?, hash = ? WHERE id = 1", (n, prev))
    raw.commit()
    raw.close()
    engine.dispose()


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the --jobs workers)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(label: str, n: int, fn) -> float:  # type: ignore[no-untyped-def]
    # Wall time is what a user waits; on a shared, loaded machine events per CPU-second says
    # what the code costs (it is what one idle core would do, all else equal).
    c, t = cpu_seconds(), time.perf_counter()
    fn()
    s, cpu = time.perf_counter() - t, cpu_seconds() - c
    print(
        f"{label:<12} {n:>10,} events {s:8.2f} s {n / s:>10,.0f} events/s"
        f" {n / cpu:>10,.0f} events/CPU-s"
    )
    return n / s


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--naive-events", type=int, default=200_000, help="rows for the ORM baseline")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'trail.db'}"
        t = time.perf_counter()
        generate(url, args.events)
        print(f"generated {args.events:,} events in {time.perf_counter() - t:.1f} s\n")
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)

        def run_verify(jobs: int = 1) -> None:
            with sessions() as s:
                report = verify(s, "bench-secret", jobs=jobs)
            assert report.ok and report.events_checked == args.events, report.problems

        def run_hashlib() -> None:
            with engine.connect() as conn:
                dbapi = conn.connection.driver_connection
                cur = dbapi.cursor()  # type: ignore[union-attr]
                cur.execute(spelling.SQLITE_SELECT, (0, args.events))
                sha = hashlib.sha256
                data = spelling.FIRST_FIELD + [f.key for f in chain.SORTED_FIELDS].index("data")
                while batch := cur.fetchmany(20_000):
                    for r in batch:
                        sha((r[spelling.PREV] + r[data]).encode()).hexdigest()

        def run_orm() -> None:
            with sessions() as s:
                prev = chain.GENESIS
                q = select(TrailEvent).where(TrailEvent.seq <= args.naive_events)
                for ev in s.execute(
                    q.order_by(TrailEvent.seq).execution_options(yield_per=5000)
                ).scalars():
                    assert (
                        ev.prev_hash == prev
                        and chain.chain_hash(prev, chain.event_body(ev)) == ev.hash
                    )
                    prev = ev.hash

        load = os.getloadavg()[0]
        print(
            f"SQLite {sqlite3.sqlite_version}, Python {platform.python_version()}, "
            f"{os.cpu_count()} CPUs, load average {load:.1f}; same file, same run:"
        )
        started = time.perf_counter()
        timed("verify", args.events, run_verify)
        jobs = os.cpu_count() or 1
        if jobs > 1:
            timed(f"verify -j{jobs}", args.events, lambda: run_verify(jobs))
        timed("hashlib", args.events, run_hashlib)
        timed("orm", args.naive_events, run_orm)
        with engine.connect() as conn:
            size = conn.execute(
                text("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
            ).scalar()
        print(f"\ndatabase file: {size / 1e6:.0f} MB")
        print(f"load average {os.getloadavg()[0]:.1f} after {time.perf_counter() - started:.0f} s")
        engine.dispose()


if __name__ == "__main__":
    main()
