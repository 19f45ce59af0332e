"""Transitions per second with the trail in 1, 2, 4... partitions, side by side in one run: racing
writer threads firing cases spread over every street, on PostgreSQL (or SQLite, for a look).

    .venv/bin/python bench/partitions.py --db postgresql+psycopg://postgres@127.0.0.1/sf_parts \\
        --partitions 1,2,4 --writers 4                    # the numbers in bench/README.md
    .venv/bin/python bench/partitions.py --db sqlite:////tmp/parts.db --cases 20 --writers 2

For each partition count: a fresh database (PostgreSQL: --db's name with the count appended,
created on its server and dropped after; SQLite: the file with the count appended), the schema
migrated, the shipped definitions published, the trail given the partitions, and --cases cases
of SW-10 (route local) opened round-robin at one workstation of each street (not measured).
Then --writers threads take the cases from one queue and fire `accept`, then `complete`, each
firing in its own transaction (engine.fire(), one trail event each), until every case is done.
The whole trail is verified after. One partition is the baseline: the single chain.
Progress goes to stderr, the table to stdout."""

from __future__ import annotations

import argparse
import os
import queue
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url

from workflow.actors import Actor
from workflow.audit import chain
from workflow.audit.verify import verify
from workflow.catalog import registry
from workflow.config import DEFAULT_DEFINITIONS
from workflow.runtime import engine as wf
from workflow.spec.loader import load_definitions
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.migrate import upgrade
from workflow.store.models import Unit

ITEM = "SW-10"  # 失业登记: route local, accept then complete at the workstation
OPEN_BATCH = 200


@contextmanager
def database(url: str, partitions: int) -> Iterator[str]:
    """A new, empty database for one row of the table; dropped (PostgreSQL) or deleted after."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        path = Path(f"{u.database}.p{partitions}")
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)
        try:
            yield f"sqlite:///{path}"
        finally:
            for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                p.unlink(missing_ok=True)
        return
    import psycopg

    name = f"{u.database}_p{partitions}"
    admin = u.set(database="postgres").render_as_string(hide_password=False)
    admin = admin.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield u.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def workstations(sessions: object) -> list[str]:
    """One workstation of each street, in street order."""
    with sessions() as s:  # type: ignore[operator]
        rows = s.execute(
            select(Unit.parent, Unit.code).where(Unit.kind == "workstation").order_by(Unit.code)
        ).all()
    first: dict[str, str] = {}
    for street, code in rows:
        first.setdefault(street, code)
    return [first[s] for s in sorted(first)]


def run(url: str, partitions: int, cases: int, writers: int) -> tuple[int, float, str]:
    """(transitions, seconds, the verification) of one row."""
    e = make_engine(url)
    try:
        upgrade(e)
        sessions = make_sessionmaker(e)
        with sessions.begin() as s:
            registry.publish(s, load_definitions(DEFAULT_DEFINITIONS), actor="bench")
        with sessions.begin() as s:
            chain.ensure_partitions(s, partitions)
        stations = workstations(sessions)
        todo: queue.Queue[tuple[int, Actor]] = queue.Queue()
        for start in range(0, cases, OPEN_BATCH):
            with sessions.begin() as s:
                for i in range(start, min(start + OPEN_BATCH, cases)):
                    ws = stations[i % len(stations)]
                    clerk = Actor(f"clerk@{ws}", ws, "clerk")
                    case = wf.open_case(
                        s,
                        item=ITEM,
                        workstation=ws,
                        actor=clerk,
                        applicant_name="王芳",
                        applicant_phone="13800000000",
                    )
                    todo.put((case.id, clerk))
        errors: list[BaseException] = []
        done = [0]
        lock = threading.Lock()

        def writer() -> None:
            n = 0
            try:
                while True:
                    try:
                        case_id, clerk = todo.get_nowait()
                    except queue.Empty:
                        break
                    for trigger in ("accept", "complete"):
                        with sessions.begin() as s:
                            wf.fire(s, case_id, trigger, clerk)
                        n += 1
            except BaseException as exc:
                errors.append(exc)
            with lock:
                done[0] += n

        threads = [threading.Thread(target=writer) for _ in range(writers)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.perf_counter() - began
        if errors:
            raise errors[0]
        with sessions() as s:
            report = verify(s, "bench")
        parts = len(report.partitions) if report.partitions is not None else 1
        verdict = f"verified ({parts} chain{'s' if parts > 1 else ''})" if report.ok else "BROKEN"
        return done[0], took, verdict
    finally:
        e.dispose()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", required=True, help="a PostgreSQL or SQLite URL (see above)")
    ap.add_argument("--partitions", default="1,2,4", help="partition counts, comma-separated")
    ap.add_argument("--writers", type=int, default=4, help="racing writer threads")
    ap.add_argument("--cases", type=int, default=1000, help="cases per row (2 firings each)")
    args = ap.parse_args(argv)
    counts = [int(x) for x in args.partitions.split(",")]
    print(
        f"transitions/s, {args.writers} writer threads, {args.cases} cases over every street, "
        f"{make_url(args.db).get_backend_name()}; load average {os.getloadavg()[0]:.2f}"
    )
    print(f"{'partitions':>10} {'transitions':>11} {'seconds':>8} {'per s':>8} {'vs 1':>6}  trail")
    base: float | None = None
    for n in counts:
        with database(args.db, n) as url:
            print(f"partitions {n}: setting up, then firing", file=sys.stderr)
            fired, took, verdict = run(url, n, args.cases, args.writers)
        rate = fired / took
        base = base or rate
        print(f"{n:>10} {fired:>11} {took:>8.2f} {rate:>8.1f} {rate / base:>6.2f}  {verdict}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
