"""A catch-up sweep at a fixed clock, alone, on a copy of a built instance; and the comparison of
two such copies swept by two versions of the code (the result must be the same: lights, trail
events byte for byte with their hashes, supervisions, reminders, notifications, deliveries,
outbox).

    # each side on its own copy, the same NOW (main's code by `git archive` and PYTHONPATH)
    .venv/bin/python bench/sweep_same.py sweep --db /tmp/city.db --copy /tmp/a.db --now 2026-11-30T06:00:00Z
    (cd /tmp/base && PYTHONPATH=/tmp/base /work/main/.venv/bin/python /path/to/bench/sweep_same.py \
        sweep --db /tmp/city.db --copy /tmp/b.db --now 2026-11-30T06:00:00Z)
    .venv/bin/python bench/sweep_same.py compare /tmp/a.db /tmp/b.db

`sweep` runs sla.sweep()'s loop as it is (the Sweeper, its 50 ms budget and pauses, then
`finish`: the mark, the listing, the returns' reviews) with no user writing, and prints the
stages a second, the CPU a stage (each part's) and the write lock held a stage. `--url`
sweeps another database in place (PostgreSQL: make a copy with `createdb -T` first); `compare`
is SQLite's only.

`--pages` (SQLite) also counts the pages each batch's commit wrote to the WAL (read from the WAL
before the checkpoint between batches) and, at the end, which table or index each page belongs
to; `--profile FILE` keeps a cProfile of the stages' loop (read it with `python -m pstats`).

On a PostgreSQL server on this machine, the server's CPU a stage is printed too: every process
of its postmaster (the sweep's backend, the WAL writer, the checkpointer, autovacuum's workers,
those that ended counted through the postmaster's children's times), read from /proc before
and after the stages (another client's work on the same server counts too: sweep alone). On a
machine of two cores, the sweep's CPU and the server's together say how many stages a second
the machine can give at most."""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import shutil
import sqlite3
import statistics
import sys
import time
from pathlib import Path

# Columns written from the wall clock (not the sweep's NOW): not compared.
WALL_CLOCK = {
    "trail_events": {"written_at"},
    "sweep_marks": {"finished_at"},
}
# The tables a sweep writes (every column but the wall clock's compared, rows as sets).
TABLES = (
    "cases",
    "tasks",
    "trail_head",
    "trail_events",
    "supervisions",
    "reminders",
    "notifications",
    "deliveries",
    "outbox_events",
    "returns",
    "sweep_marks",
    "case_units",
)


def _sweep(args: argparse.Namespace) -> None:
    from sqlalchemy import select

    from workflow.runtime import sla
    from workflow.store.db import make_engine, make_sessionmaker
    from workflow.store.migrate import upgrade
    from workflow.store.models import TrailHead

    if args.url:  # another database (PostgreSQL): swept where it is (make a copy first)
        db = make_engine(args.url)
    else:
        src, copy = Path(args.db), Path(args.copy)
        shutil.copy(src, copy)
        for tail in ("-wal", "-shm"):
            Path(f"{copy}{tail}").unlink(missing_ok=True)
        if Path(f"{src}-wal").exists():
            shutil.copy(f"{src}-wal", f"{copy}-wal")
        db = make_engine(f"sqlite:///{copy}")
    upgrade(db)
    sessions = make_sessionmaker(db)
    now = dt.datetime.fromisoformat(args.now.replace("Z", "+00:00"))
    if args.chunk:
        sla.APPLY_CHUNK = args.chunk
    with sessions() as s:
        started = {p: seq for p, seq in s.execute(select(TrailHead.id - 1, TrailHead.seq))}
        late = sla.backlog(s, None)
    # The CPU (the thread's) of the writes under the lock (sla._apply: COMMIT not included),
    # of the plans and their preparation (without the lock), of the checkpoints between batches.
    spent: dict[str, int] = {}
    kept = {}
    for name in ("_apply", "_plan", "_prepare", "_checkpoint"):
        if not hasattr(sla, name):
            continue
        kept[name] = fn = getattr(sla, name)

        def timed(*a: object, _fn: object = fn, _name: str = name, **k: object) -> object:
            t = time.thread_time_ns()
            try:
                return _fn(*a, **k)  # type: ignore[operator]
            finally:
                spent[_name] = spent.get(_name, 0) + time.thread_time_ns() - t

        setattr(sla, name, timed)
    wal_pages: list[int] = []
    pages: dict[int, int] = {}
    if args.pages and not args.url:
        kept["_checkpoint"] = sla._checkpoint
        sla._checkpoint = lambda sessions: _wal_pages(Path(args.copy), sessions, wal_pages, pages)
    by_sql: dict[str, list[float]] = {}
    if args.statements:
        _time_statements(db, by_sql)
    postmaster = _postmaster(db)
    server = _server_cpu(postmaster) if postmaster else 0.0
    profile = cProfile.Profile() if args.profile else None
    result = sla.SweepResult()
    sweeper = sla.Sweeper(sessions, now=now, batch=args.batch, late=late, budget_s=args.budget)
    t, c = time.perf_counter(), time.process_time()
    end = t + args.seconds
    state = "more"
    if profile is not None:
        profile.enable()
    while state == "more" and time.perf_counter() < end:
        part, state = sweeper.step()
        result.add(part)
    if profile is not None:
        profile.disable()
        profile.dump_stats(args.profile)
    stages_s = time.perf_counter() - t
    server = _server_cpu(postmaster) - server if postmaster else 0.0
    for name, fn in kept.items():
        setattr(sla, name, fn)
    if state == "done":
        sla.finish(sessions, result, started=started, now=now)
    took, cpu = time.perf_counter() - t, time.process_time() - c
    lock = sum(result.lock_s)
    n = max(result.checked, 1)
    ms = sorted(x * 1000 for x in result.lock_s) or [0.0]
    print(
        f"{state}: {result.checked} stages in {stages_s:.1f} s ({result.checked / stages_s:,.0f}"
        f" a second), with the end {took:.1f} s; CPU {cpu * 1e6 / n:.0f} µs a stage ("
        + ", ".join(f"{k} {v / 1000 / n:.0f}" for k, v in spent.items())
        + "); lock"
        f" {lock * 1e6 / n:.0f} µs a stage ({len(ms)} batches, p50"
        f" {statistics.median(ms):.1f} ms, max {ms[-1]:.1f} ms); {result.supervisions}"
        f" supervisions, {result.listed} listed, {result.yellow} yellow, {result.red} red,"
        f" {result.told} told, {result.reminders} reminders, {result.timeouts} timeouts"
    )
    if postmaster:
        print(
            f"the server's CPU (postmaster {postmaster} and its processes) during the stages:"
            f" {server:.1f} s, {server * 1e6 / n:.0f} µs a stage; with the sweep's,"
            f" {(server + cpu) * 1e6 / n:.0f} µs a stage: at most"
            f" {(os.cpu_count() or 1) * n / max(server + cpu, 1e-9):,.0f} stages a second on"
            f" {os.cpu_count()} cores"
        )
    db.dispose()
    if by_sql:
        n = max(result.checked, 1)
        print("statements (wall µs a stage, calls, rows a stage):")
        for sql, (t_s, calls, rows) in sorted(by_sql.items(), key=lambda kv: -kv[1][0]):
            print(f"  {t_s * 1e6 / n:7.1f} {int(calls):6d} {rows / n:6.2f}  {sql}")
    if wal_pages:
        _print_pages(Path(args.copy), wal_pages, pages, result.checked)


def _postmaster(db: object) -> int | None:
    """The pid of a PostgreSQL server's postmaster on this machine (the parent of a backend
    of ours), None for another engine or a server elsewhere."""
    from sqlalchemy import text

    if db.dialect.name != "postgresql":  # type: ignore[attr-defined]
        return None
    with db.connect() as conn:  # type: ignore[attr-defined]
        backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    try:
        return _stat(backend)[0]
    except OSError:
        return None  # not a process of this machine


def _stat(pid: int | str) -> tuple[int, int, int]:
    """A process's parent, its own CPU ticks and its ended children's (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def _server_cpu(postmaster: int) -> float:
    """The CPU seconds the server has used: the postmaster's own and its ended children's,
    and each live child's own."""
    ticks = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            parent, own, ended = _stat(pid)
        except OSError:
            continue  # ended meanwhile
        if int(pid) == postmaster:
            ticks += own + ended
        elif parent == postmaster:
            ticks += own
    return ticks / os.sysconf("SC_CLK_TCK")


def _time_statements(db: object, by_sql: dict[str, list[float]]) -> None:
    """Time each statement the sweep runs (SQLAlchemy's and workflow.store.direct's own), by
    its first words."""
    from sqlalchemy import event

    from workflow.store import direct

    def add(sql: str, took: float, rows: int) -> None:
        key = " ".join(sql.split())[:90]
        t = by_sql.setdefault(key, [0.0, 0, 0])
        t[0] += took
        t[1] += 1
        t[2] += rows

    run_sql = direct.run_sql

    def timed(conn: object, sql: str, values: object = (), *, many: bool = False) -> object:
        t = time.perf_counter()
        try:
            return run_sql(conn, sql, values, many=many)  # type: ignore[arg-type]
        finally:
            add(sql, time.perf_counter() - t, len(values) if many else 1)  # type: ignore[arg-type]

    direct.run_sql = timed  # type: ignore[assignment]

    @event.listens_for(db, "before_cursor_execute")
    def before(conn: object, cursor: object, sql: str, *a: object) -> None:
        conn.info["t"] = time.perf_counter()  # type: ignore[attr-defined]

    @event.listens_for(db, "after_cursor_execute")
    def after(
        conn: object, cursor: object, sql: str, params: object, ctx: object, many: bool
    ) -> None:
        took = time.perf_counter() - conn.info.pop("t")  # type: ignore[attr-defined]
        add(sql, took, len(params) if many else 1)  # type: ignore[arg-type]


def _wal_pages(copy: Path, sessions: object, counts: list[int], pages: dict[int, int]) -> None:
    """sla._checkpoint() that first reads the page numbers of the frames in the WAL: after the
    last batch's checkpoint the next commit writes the WAL from its start, so the frames now in
    it are the last batch's."""
    with sessions() as s:  # type: ignore[operator]
        conn = s.connection()
        frames = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()[1]
    page_size = 4096
    with open(f"{copy}-wal", "rb") as f:
        head = f.read(32)
        page_size = int.from_bytes(head[8:12], "big")
        seen = set()
        for i in range(frames):
            f.seek(32 + i * (24 + page_size))
            seen.add(int.from_bytes(f.read(4), "big"))
    counts.append(len(seen))
    for p in seen:
        pages[p] = pages.get(p, 0) + 1


def _print_pages(copy: Path, counts: list[int], pages: dict[int, int], stages: int) -> None:
    con = sqlite3.connect(copy)
    owner = dict(con.execute("SELECT pageno, name FROM dbstat"))
    by: dict[str, int] = {}
    for p, n in pages.items():
        name = owner.get(p, "(free or new)")
        by[name] = by.get(name, 0) + n
    total = sum(counts)
    print(
        f"WAL: {total} pages in {len(counts)} commits, {total / max(stages, 1):.2f} a stage,"
        f" p50 {statistics.median(counts)} a commit; by table or index (pages a stage):"
    )
    for name, n in sorted(by.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<40}{n:>9}  {n / max(stages, 1):.3f}")


def _columns(con: sqlite3.Connection, schema: str, table: str) -> list[str]:
    return [r[1] for r in con.execute(f"PRAGMA {schema}.table_info({table})")]


def _compare(args: argparse.Namespace) -> int:
    con = sqlite3.connect(args.a)
    con.execute("ATTACH DATABASE ? AS b", (args.b,))
    differ = 0
    for table in TABLES:
        cols = _columns(con, "main", table)
        if not cols:
            continue
        if cols != _columns(con, "b", table):
            print(f"{table}: the columns differ")
            differ += 1
            continue
        kept = ", ".join(f'"{c}"' for c in cols if c not in WALL_CLOCK.get(table, ()))
        n_a = con.execute(f"SELECT count(*) FROM main.{table}").fetchone()[0]
        n_b = con.execute(f"SELECT count(*) FROM b.{table}").fetchone()[0]
        only_a = con.execute(
            f"SELECT count(*) FROM (SELECT {kept} FROM main.{table} EXCEPT"
            f" SELECT {kept} FROM b.{table})"
        ).fetchone()[0]
        only_b = con.execute(
            f"SELECT count(*) FROM (SELECT {kept} FROM b.{table} EXCEPT"
            f" SELECT {kept} FROM main.{table})"
        ).fetchone()[0]
        same = n_a == n_b and not only_a and not only_b
        differ += not same
        print(
            f"{table:<16}{n_a:>10} rows  {n_b:>10} rows  "
            + ("same" if same else f"DIFFER: {only_a} only in a, {only_b} only in b")
        )
        if not same:
            for row in con.execute(
                f"SELECT {kept} FROM main.{table} EXCEPT SELECT {kept} FROM b.{table}"
                f" ORDER BY 1 LIMIT 3"
            ):
                print("   a:", row)
            for row in con.execute(
                f"SELECT {kept} FROM b.{table} EXCEPT SELECT {kept} FROM main.{table}"
                f" ORDER BY 1 LIMIT 3"
            ):
                print("   b:", row)
    print("the same" if not differ else f"{differ} tables differ")
    return 1 if differ else 0


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="what", required=True)
    sw = sub.add_parser("sweep", help="a catch-up sweep alone, at a fixed NOW, on a copy")
    sw.add_argument("--db", help="a built SQLite instance (its file path)")
    sw.add_argument("--copy", help="where the copy goes (kept)")
    sw.add_argument("--url", help="instead: a database URL, swept in place (PostgreSQL)")
    sw.add_argument("--now", required=True, help="the sweep's NOW, ISO 8601 with its zone")
    sw.add_argument("--batch", type=int, default=1000)
    sw.add_argument("--budget", type=float, default=0.05, help="the batches' budget (seconds)")
    sw.add_argument("--chunk", type=int, help="sla.APPLY_CHUNK (stages written together)")
    sw.add_argument("--seconds", type=float, default=10**9, help="stop the stages after this")
    sw.add_argument("--pages", action="store_true", help="the WAL's pages a batch, by b-tree")
    sw.add_argument("--statements", action="store_true", help="the time of each statement")
    sw.add_argument("--profile", help="a cProfile of the stages' loop, to this file")
    cmp = sub.add_parser("compare", help="compare two swept copies (the tables a sweep writes)")
    cmp.add_argument("a")
    cmp.add_argument("b")
    args = ap.parse_args()
    if args.what == "sweep":
        _sweep(args)
    else:
        sys.exit(_compare(args))


if __name__ == "__main__":
    main()
