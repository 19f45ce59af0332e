"""The CPU each console page takes per request, which a busy machine inflates far less than the
wall time: every console page of bench/lists.py asked in turn in process (Flask's test client),
ROUNDS rounds, with time.process_time() around each request; or, with --calls, the Python
function calls and SQL statements of each request (a count, independent of the load).

    cp BUILT.db /tmp/a.db; cp BUILT.db /tmp/b.db
    (cd /tmp/main-code && PYTHONPATH=. .venv/bin/python /path/bench/console_cpu.py \\
        --db sqlite:////tmp/a.db) &
    .venv/bin/python bench/console_cpu.py --db sqlite:////tmp/b.db; wait

The code is that of the folder run from (its api and workflow, and its bench/lists.py's pages
and users when it has one). Run main's and a branch's side by side, each on its own copy, so
that both meet the same load. Prints, per page, the CPU ms per request p50 and min and the wall
ms p50 and p95; with --calls, the median function calls and statements of a request."""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import os
import pstats
import statistics
import sys
import tempfile
import time
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
_CODE = os.getcwd()


def _lists() -> Any:
    own = os.path.join(_CODE, "bench", "lists.py")
    path = own if os.path.exists(own) else os.path.join(_HERE, "lists.py")
    spec = importlib.util.spec_from_file_location("bench_lists", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", required=True, help="a copy of a built instance (it is written to)")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--only", default="", help="only the pages whose label holds this text")
    ap.add_argument("--calls", action="store_true", help="count calls and statements instead")
    args = ap.parse_args()
    lists = _lists()
    known = lists.prepare(args.db)
    os.environ.update(
        STREETFLOW_DATABASE_URL=args.db,
        STREETFLOW_INSTANCE=tempfile.mkdtemp(),
        STREETFLOW_SECRET_KEY="bench-secret",
        STREETFLOW_LOGIN_LIMIT="1000/second",
    )
    from sqlalchemy import event

    from api import create_app, db

    app = create_app()
    statements = [0]
    with app.app_context():
        engine = db.session().get_bind()

    def counted(*_a: Any) -> None:
        statements[0] += 1

    event.listen(engine, "before_cursor_execute", counted)
    todo = [t for t in lists.targets(known) if t[1] == "console" and args.only in t[0]]
    clients: dict[str, Any] = {}
    for _label, _kind, user, _path in todo:
        if user in clients:
            continue
        clients[user] = lists.console_test_client(app, user)
    cpu: dict[str, list[float]] = {t[0]: [] for t in todo}
    wall: dict[str, list[float]] = {t[0]: [] for t in todo}
    calls: dict[str, list[int]] = {t[0]: [] for t in todo}
    stmts: dict[str, list[int]] = {t[0]: [] for t in todo}
    for rnd in range(args.rounds + 1):  # round 0: the warm-up, not counted
        for label, _kind, user, path in todo:
            statements[0] = 0
            prof = cProfile.Profile() if args.calls else None
            c0, w0 = time.process_time(), time.perf_counter()
            if prof is not None:
                prof.enable()
            r = clients[user].get(lists.path_of(path, known, rnd))
            if prof is not None:
                prof.disable()
            c1, w1 = time.process_time(), time.perf_counter()
            assert r.status_code == 200, (label, r.status_code)
            r.close()
            if rnd:
                cpu[label].append((c1 - c0) * 1000)
                wall[label].append((w1 - w0) * 1000)
                stmts[label].append(statements[0])
                if prof is not None:
                    calls[label].append(pstats.Stats(prof).total_calls)  # type: ignore[attr-defined]
    print(f"{_CODE}: {known['cases']} cases; load average {lists.loadavg()}")
    for label in cpu:
        if args.calls:
            print(
                f"  {label:<38} {statistics.median(calls[label]):8.0f} calls"
                f" {statistics.median(stmts[label]):4.0f} statements"
            )
            continue
        c, w = sorted(cpu[label]), sorted(wall[label])
        p95 = w[min(len(w) - 1, round(0.95 * (len(w) - 1)))]
        print(
            f"  {label:<38} CPU p50 {statistics.median(c):6.1f} min {c[0]:6.1f}"
            f" | wall p50 {statistics.median(w):6.1f} p95 {p95:6.1f}"
        )


if __name__ == "__main__":
    main()
