"""Where a console page's time goes: each of bench/lists.py's console pages asked in process
(Flask's test client, no HTTP server), with its SQL statements counted and timed, and optionally
a profile of the slowest functions.

    .venv/bin/python bench/console_pages.py --db sqlite:////tmp/copy.db [--reps 10] [--profile N]

With --api, the API's lists of bench/lists.py instead (each user signed in with a token).

The database is written to (the demo users, a personal-data read per case page): a copy of a
built instance (bench/build.py), never the original. A case page is of another case each
request (bench/lists.py's rounds). Per page: median wall time, statements,
their time, the rest (templates, Python) as wall minus SQL, and the median CPU time of the
request's thread (SQLite's included; a busy machine moves it less than the wall time); then p95, the slowest request and
the three slowest requests' wall time with their SQL time, the garbage collector's time during
them and the oldest generation it collected (-1: none). With --sql, each statement of one more
request with its time, and the costliest statement of each of the three slowest requests."""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
_ROOT = os.path.dirname(_HERE)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import cProfile  # noqa: E402
import gc  # noqa: E402
import importlib.util  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import event  # noqa: E402

# bench/lists.py's users, pages and set-up (it is a script, not a package's module).
_spec = importlib.util.spec_from_file_location("bench_lists", os.path.join(_HERE, "lists.py"))
assert _spec is not None and _spec.loader is not None
lists = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lists)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", required=True)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--only", default="", help="only the pages whose label holds this text")
    ap.add_argument(
        "--api", action="store_true", help="the API's lists instead (a bearer token per user)"
    )
    ap.add_argument("--profile", type=int, default=0, help="print the N costliest functions")
    ap.add_argument(
        "--sql", action="store_true", help="print each statement of one more request, with its time"
    )
    args = ap.parse_args()
    known = lists.prepare(args.db)
    kind = "api" if args.api else "console"
    todo = [t for t in lists.targets(known) if t[1] == kind and args.only in t[0]]
    tmp = tempfile.mkdtemp()
    os.environ.update(
        STREETFLOW_DATABASE_URL=args.db,
        STREETFLOW_INSTANCE=tmp,
        STREETFLOW_SECRET_KEY="bench-secret",
        STREETFLOW_LOGIN_LIMIT="1000/second",
    )
    from api import create_app, db

    app = create_app()
    stats: dict[str, float] = {"n": 0, "ms": 0.0, "top": 0.0}
    top = [""]  # the request's costliest statement
    log: list[tuple[float, str]] | None = None
    # The collector's passes during a request: their time, and the oldest generation collected.
    pauses: dict[str, float] = {"ms": 0.0, "gen": -1, "t": 0.0}

    def collector(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            pauses["t"] = time.perf_counter()
        else:
            pauses["ms"] += (time.perf_counter() - pauses["t"]) * 1000
            pauses["gen"] = max(pauses["gen"], info["generation"])

    gc.callbacks.append(collector)

    def before(conn: Any, cursor: Any, statement: str, *a: Any) -> None:
        conn.info["t"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, *a: Any) -> None:
        ms = (time.perf_counter() - conn.info.pop("t")) * 1000
        stats["n"] += 1
        stats["ms"] += ms
        if ms > stats["top"]:
            stats["top"], top[0] = ms, statement
        if log is not None:
            log.append((ms, " ".join(statement.split())))

    with app.app_context():
        engine = db.session().get_bind()
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    clients: dict[str, Any] = {}
    for _label, _kind, user, _path in todo:
        if user not in clients and args.api:
            clients[user] = lists.api_test_client(app, user)
        if user not in clients:
            clients[user] = lists.console_test_client(app, user)
    print(f"{known['cases']} cases; load average {lists.loadavg()}", flush=True)
    print(
        f"{'page':<40} {'ms p50':>7} {'SQL n':>6} {'SQL ms':>7} {'rest ms':>8} {'CPU ms':>7}"
        f" {'KB':>5}"
        f" {'p95':>6} {'max':>6}  slowest: wall ms (SQL ms, GC ms, oldest generation)"
    )
    prefix = lists.API if args.api else ""
    for label, _kind, user, path in todo:
        walls, sqls, counts, cpus = [], [], [], []
        slow: list[tuple[float, float, float, int, float, str]] = []
        size = 0
        for rep in range(args.reps + 1):
            stats.update(n=0, ms=0.0, top=0.0)
            pauses.update(ms=0.0, gen=-1)
            t, cpu = time.perf_counter(), time.thread_time()
            r = clients[user].get(prefix + lists.path_of(path, known, rep))
            ms = (time.perf_counter() - t) * 1000
            cpu_ms = (time.thread_time() - cpu) * 1000
            assert r.status_code == 200, (label, r.status_code, r.get_data(as_text=True)[:300])
            size = len(r.data)
            r.close()  # as a server does once the answer is sent (api.settle_heap's hook)
            if rep:
                walls.append(ms)
                cpus.append(cpu_ms)
                sqls.append(stats["ms"])
                counts.append(stats["n"])
                slow.append(
                    (ms, stats["ms"], pauses["ms"], int(pauses["gen"]), stats["top"], top[0])
                )
        w, q = statistics.median(walls), statistics.median(sqls)
        ordered = sorted(walls)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        worst = ", ".join(
            f"{a:.1f} ({b:.1f}, {c:.1f}, {g})" for a, b, c, g, *_ in sorted(slow, reverse=True)[:3]
        )
        print(
            f"{label:<40} {w:7.1f} {statistics.median(counts):6.0f} {q:7.1f} {w - q:8.1f}"
            f" {statistics.median(cpus):7.1f}"
            f" {size / 1024:5.0f} {p95:6.1f} {ordered[-1]:6.1f}  {worst}",
            flush=True,
        )
        if args.sql:
            for a, _b, _c, _g, t_ms, text in sorted(slow, reverse=True)[:3]:
                print(
                    f"  a {a:.1f} ms request: its costliest statement {t_ms:.1f} ms: {text[:300]}"
                )
            log = []
            clients[user].get(prefix + lists.path_of(path, known, args.reps + 1))
            for ms, text in log:
                print(f"  {ms:6.2f} ms  {text if ms > 0.3 else text[:160]}")
            log = None
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            for k in range(3):
                clients[user].get(prefix + lists.path_of(path, known, args.reps + 2 + k))
            prof.disable()
            pstats.Stats(prof).sort_stats(os.environ.get("SORT", "tottime")).print_stats(
                args.profile
            )


if __name__ == "__main__":
    main()
