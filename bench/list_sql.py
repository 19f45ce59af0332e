"""The SQL of the API's lists: bench/lists.py's lists asked in process (Flask's test client, no
HTTP), each statement timed as it runs. Per list: the whole request's median and its SQL's
(p50, p90), or with --statements each statement and its median.

    .venv/bin/python bench/list_sql.py --db sqlite:////tmp/copy-1m.db [--reps 15] [--only overdue]
    .venv/bin/python bench/list_sql.py --db postgresql+psycopg://postgres@127.0.0.1/copy --statements

The database is written to as by bench/lists.py (demo users, personal-data reads): give it a
copy. The API's lists only (the console's pages render the same queries)."""

from __future__ import annotations

import os
import sys

# bench/http.py would shadow the standard library's http: keep this folder off the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
_ROOT = os.path.dirname(_HERE)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_lists", os.path.join(_HERE, "lists.py"))
assert _spec is not None and _spec.loader is not None
lists: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lists)

# (ms, statement) of each statement run since the last clear()
LOG: list[tuple[float, str]] = []


@event.listens_for(Engine, "before_cursor_execute")
def _started(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
    context._bench_t0 = time.perf_counter()


@event.listens_for(Engine, "after_cursor_execute")
def _done(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
    LOG.append(((time.perf_counter() - context._bench_t0) * 1000, statement))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", required=True, help="SQLAlchemy URL of a copy of a built instance")
    ap.add_argument("--reps", type=int, default=15, help="times each list is asked (after one)")
    ap.add_argument("--only", default="", help="only the lists whose label holds this text")
    ap.add_argument("--statements", action="store_true", help="each statement and its median")
    args = ap.parse_args()
    known = lists.prepare(args.db)
    from api import create_app

    app = create_app({"DATABASE_URL": args.db, "SECRET_KEY": "bench", "TESTING": True})
    client = app.test_client()
    tokens: dict[str, str] = {}
    print(f"load average {lists.loadavg()}")
    print(f"{'list':<40} {'whole p50':>9} {'SQL p50':>8} {'SQL p90':>8}")
    for label, kind, user, path in lists.targets(known):
        if kind != "api" or (args.only and args.only not in label):
            continue
        if user not in tokens:
            r = client.post(
                f"{lists.API}/auth/token",
                json={"username": user, "password": lists.PASSWORDS[user]},
            )
            tokens[user] = r.get_json()["token"]
        whole: list[float] = []
        sql: list[float] = []
        each: dict[int, tuple[str, list[float]]] = {}
        for rnd in range(args.reps + 1):
            LOG.clear()
            t = time.perf_counter()
            r = client.get(
                lists.API + lists.path_of(path, known, rnd),
                headers={"Authorization": f"Bearer {tokens[user]}"},
            )
            ms = (time.perf_counter() - t) * 1000
            if r.status_code != 200:
                raise SystemExit(f"{label}: {path} answered {r.status_code}")
            if rnd == 0:
                continue  # the warm-up
            whole.append(ms)
            sql.append(sum(m for m, _ in LOG))
            for k, (m, stmt) in enumerate(LOG):
                each.setdefault(k, (stmt, []))[1].append(m)
        print(
            f"{label:<40} {statistics.median(whole):9.1f} {statistics.median(sql):8.2f}"
            f" {lists.pct(sql, 0.9):8.2f}"
        )
        if args.statements:
            for stmt, ms_ in each.values():
                print(f"    {statistics.median(ms_):7.2f} ms  {' '.join(stmt.split())[:300]}")
    print(f"load average after: {lists.loadavg()}")


if __name__ == "__main__":
    main()
