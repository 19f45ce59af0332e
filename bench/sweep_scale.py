"""The SLA sweep on a city-sized instance (bench/build.py): catch-up, routine, and a user's firings
while the catch-up sweep runs, each against a baseline measured in the same run.

    .venv/bin/python bench/build.py --cases 300000 --db sqlite:////tmp/city.db
    .venv/bin/python bench/sweep_scale.py --db sqlite:////tmp/city.db     # sweeps a copy

On SQLite the file is copied first (the sweep changes it; the built instance stays as built).
What is printed, in the order it runs:
- firing baseline: a user's transitions (the demo's realistic next move of an open case, one
  transaction each, in another process) with nothing else running: p50, p99, max;
- old candidate query: one batch's candidate query as the sweep asked it before the incremental
  sweep (every due stage, red ones re-checked against their supervisions, ORDER BY id), timed on
  this instance before the catch-up;
- catch-up sweep: the first sweep (no mark) over the built backlog, with the same user firing
  in the other process: the sweep's seconds, stages handled, and the user's p50/p99/max then;
- routine sweep: the next sweep a minute later, and one after 50 more user firings;
- old candidate query again, after the catch-up (what every routine sweep paid before)."""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from workflow import demo
from workflow.catalog import registry
from workflow.instants import utcnow
from workflow.runtime import engine, returns, sla
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.migrate import upgrade
from workflow.store.models import Case, TrailHead


def _user(url: str, stop: Any, out: Any, limit: int) -> None:
    """Fire realistic next moves on open cases until STOP is set (or LIMIT firings); put the
    latencies (seconds) on OUT."""
    db = make_engine(url)
    sessions = make_sessionmaker(db)
    rng = random.Random(5)
    with sessions() as s:
        items_map, _ = registry.items(s)
        routes = {name: registry.route(s, name)[0] for name in registry.route_names(s)}
        calendar = engine.work_calendar(s)
        open_ids = list(
            s.execute(
                select(Case.id).where(Case.closed_at.is_(None), Case.tier.is_not(None)).limit(20000)
            ).scalars()
        )
    rng.shuffle(open_ids)
    times: list[float] = []
    for cid in open_ids:
        if stop.is_set() or len(times) >= limit:
            break
        now = utcnow()
        t = time.perf_counter()
        try:
            with sessions.begin() as s:
                demo._step(s, cid, now, rng, routes, calendar, items_map, now)
        except Exception:  # a move the demo's choice does not allow here: not counted
            continue
        times.append(time.perf_counter() - t)
        time.sleep(0.02)  # a user, not a load generator
    db.dispose()
    out.put(times)


def _flushed(path: Path) -> None:
    """PATH (and its WAL) written to the disk, as a database in service would be."""
    for f in (path, Path(f"{path}-wal")):
        if f.exists():
            fd = os.open(f, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _stats(times: list[float]) -> str:
    if not times:
        return "no firings"
    ms = sorted(t * 1000 for t in times)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return (
        f"{len(ms)} firings: p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms,"
        f" max {ms[-1]:.1f} ms"
    )


def _old_candidates(sessions: Any, now: dt.datetime) -> float:
    t = time.perf_counter()
    with sessions() as s:
        s.execute(select(Case.id).where(sla._due_for_sweep(now)).order_by(Case.id).limit(200)).all()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", required=True, help="a built instance (bench/build.py)")
    ap.add_argument("--batch", type=int, default=1000 if hasattr(sla, "Sweeper") else 200)
    ap.add_argument("--baseline-firings", type=int, default=200)
    ap.add_argument(
        "--catch-up-seconds", type=float, default=600, help="stop the catch-up sweep after this"
    )
    args = ap.parse_args()
    url = args.db
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        u = make_url(url)
        if u.get_backend_name() == "sqlite":
            copy = Path(tmp) / "sweep.db"
            shutil.copy(str(u.database), copy)
            if Path(f"{u.database}-wal").exists():  # what is not checkpointed yet
                shutil.copy(f"{u.database}-wal", f"{copy}-wal")
            # On disk before anything is timed: else the first WAL checkpoint's fsync (in a
            # user's commit) writes out the whole fresh copy, about a second at a million cases.
            _flushed(copy)
            url = f"sqlite:///{copy}"
        db = make_engine(url)
        # The copy migrated to the code's head (an instance built before a new index).
        t = time.perf_counter()
        upgrade(db)
        migrated = time.perf_counter() - t
        sessions = make_sessionmaker(db)
        ctx = mp.get_context("spawn")
        rows: list[tuple[str, str]] = [("migrated to head (the copy)", f"{migrated:.1f} s")]

        # A user alone: the baseline of the firing latency.
        stop, out = ctx.Event(), ctx.Queue()
        p = ctx.Process(target=_user, args=(url, stop, out, args.baseline_firings))
        p.start()
        alone = out.get()
        p.join()
        rows.append(("firing, nothing else running (baseline)", _stats(alone)))

        now = utcnow()
        rows.append(
            ("old candidate query, before catch-up", f"{_old_candidates(sessions, now):.3f} s")
        )
        with sessions() as s:
            pending = sla.pending_count(s, now=now)
        rows.append(("stages due for the catch-up", f"{pending}"))

        stop, out = ctx.Event(), ctx.Queue()
        p = ctx.Process(target=_user, args=(url, stop, out, 10**9))
        p.start()
        time.sleep(3)  # the user is firing before the sweep starts
        t, c = time.perf_counter(), time.process_time()
        r, finished, lock_s = _catch_up(sessions, now, args.batch, args.catch_up_seconds)
        took, cpu = time.perf_counter() - t, time.process_time() - c
        stop.set()
        during = out.get()
        p.join()
        rows.append(
            (
                "catch-up sweep (first, no mark)"
                + ("" if finished else f", stopped after {args.catch_up_seconds} s:"),
                f"{took:.1f} s (CPU {cpu:.1f} s): {r.checked} stages looked at in {r.batches}"
                " batches,"
                f" {r.supervisions} supervisions, {r.yellow} yellow, {r.red} red,"
                f" {r.timeouts} timeouts, {r.listed} listed",
            )
        )
        rows.append(
            (
                "  catch-up rate",
                f"{r.checked / max(took, 1e-9):,.0f} stages/s wall,"
                f" {cpu * 1000 / max(r.checked, 1):.3f} ms CPU per stage",
            )
        )
        rows.append(("  write lock held per batch (commit included)", _lock_stats(lock_s)))
        if getattr(r, "commit_s", None):
            rows.append(("  of which the COMMIT", _lock_stats(r.commit_s)))
        rows.append(("firing while the catch-up sweep runs", _stats(during)))

        later = now + dt.timedelta(minutes=1)
        if not finished:
            t = time.perf_counter()
            with sessions() as s:
                left = sla.pending_count(s, now=later, late=sla.Backlog())
            rows.append(
                (
                    "index lookups of a sweep (catch-up unfinished)",
                    f"{time.perf_counter() - t:.3f} s, {left} stages still due",
                )
            )
            rows.append(("old candidate query, now", f"{_old_candidates(sessions, later):.3f} s"))
            _print(db.dialect.name, sessions, rows)
            db.dispose()
            return
        t = time.perf_counter()
        r = sla.sweep(sessions, now=later, batch=args.batch)
        rows.append(
            (
                "routine sweep a minute later",
                f"{time.perf_counter() - t:.3f} s, {r.checked} looked at",
            )
        )

        stop, out = ctx.Event(), ctx.Queue()
        p = ctx.Process(target=_user, args=(url, stop, out, 50))
        p.start()
        out.get()
        p.join()
        t = time.perf_counter()
        r = sla.sweep(sessions, now=later + dt.timedelta(minutes=1), batch=args.batch)
        rows.append(
            (
                "routine sweep after 50 firings",
                f"{time.perf_counter() - t:.3f} s, {r.checked} looked at",
            )
        )
        rows.append(
            ("old candidate query, after catch-up", f"{_old_candidates(sessions, later):.3f} s")
        )
        _print(db.dialect.name, sessions, rows)
        db.dispose()


def _print(dialect: str, sessions: Any, rows: list[tuple[str, str]]) -> None:
    with sessions() as s:
        n = s.query(Case).count()
        # A catch-up fills the supervisions and notifications, empty in a built instance: with
        # autovacuum off their statistics stay an empty table's, and the sweep's lookups of
        # them by case read them whole (a server in service keeps it on, the default).
        vacuum = (
            f" (autovacuum {s.execute(text('SHOW autovacuum')).scalar()})"
            if dialect == "postgresql"
            else ""
        )
    print(f"{dialect}{vacuum}, {n} cases")
    for what, value in rows:
        print(f"{what:<48}{value}")


def _lock_stats(lock_s: list[float]) -> str:
    if not lock_s:
        return "no batches"
    ms = sorted(x * 1000 for x in lock_s)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"{len(ms)} batches: p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, max {ms[-1]:.1f} ms"


def _catch_up(
    sessions: Any, now: dt.datetime, batch: int, seconds: float
) -> tuple[sla.SweepResult, bool, list[float]]:
    """sla.sweep()'s loop (no mark: every red stage looked at), stopped after SECONDS; and how
    long each batch held the write lock. With a streetflow that has no sla.Sweeper (the baseline:
    main before the plan/apply split), the loop sla.sweep() ran then: sweep_batch() in one
    transaction (the lock taken first), then a pause as long as the batch held it."""
    with sessions() as s:
        # Each partition's head (one in a default install; main before partitions: one).
        heads = {p: seq for p, seq in s.execute(select(TrailHead.id - 1, TrailHead.seq))}
        started = heads[min(heads)]
        late = sla.backlog(s, None)
    result = sla.SweepResult()
    lock_s: list[float] = []
    end = time.perf_counter() + seconds
    sweeper = getattr(sla, "Sweeper", None)
    stepper = (
        sweeper(sessions, now=now, batch=batch, late=late, budget_s=sla.BATCH_BUDGET_S)
        if sweeper
        else None
    )
    while time.perf_counter() < end:
        if stepper is not None:
            part, state = stepper.step()
            result.add(part)
            lock_s += part.lock_s
            if state == "stuck":
                print("stuck:", part.problems)
                return result, False, lock_s
            done = state == "done"
        else:
            began = time.perf_counter()
            with sessions.begin() as s:
                part = sla.sweep_batch(
                    s, now=now, limit=batch, late=late, budget_s=sla.BATCH_BUDGET_S
                )
            held = time.perf_counter() - began
            lock_s.append(held)
            result.add(part)
            if part.checked:  # as sla.sweep() gave way between batches
                time.sleep(min(held, sla.BATCH_BUDGET_S))
            done = not part.case_ids and not late
        if done:
            # As sla.sweep() ends: the mark, the ladder's listing, the returns' reviews.
            if hasattr(sla, "finish"):
                sla.finish(sessions, result, started=heads, now=now)
                return result, True, lock_s
            with sessions.begin() as s:
                result.listed += sla.list_supervisions(s, now=now)
                returns.sweep_returns(s, now=now)
            with sessions.begin() as s:
                sla._set_mark(s, started, now)  # type: ignore[attr-defined]  # main before partitions
            return result, True, lock_s
    return result, False, lock_s


if __name__ == "__main__":
    main()
