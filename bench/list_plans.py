"""The work of the API's lists on PostgreSQL: each of bench/lists.py's API lists asked once in
process (Flask's test client, after a warm-up), every SELECT it ran run again under
EXPLAIN (ANALYZE, BUFFERS), and per list the shared buffers its statements touched (hit and
read, summed), the rows their plans' nodes handed over (summed) and their execution time.
Buffers and rows do not depend on the machine's load: a list whose buffers grow with the
instance (the same list at 200,000 and at a million cases) reads more than its page.

    .venv/bin/python bench/list_plans.py --db postgresql+psycopg://postgres@127.0.0.1/copy
    .venv/bin/python bench/list_plans.py --db ... --only "opened in a week" --plans

The database is written to as by bench/lists.py (demo users, personal-data reads): give it a
copy. --json FILE writes each list's numbers (and its statements' first ids) for a comparison
of two runs (--against FILE prints them side by side)."""

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
import json  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_lists", os.path.join(_HERE, "lists.py"))
assert _spec is not None and _spec.loader is not None
lists: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lists)

# (statement, parameters) of each statement run since the last clear()
LOG: list[tuple[str, Any]] = []


@event.listens_for(Engine, "before_cursor_execute")
def _started(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
    if not many:
        LOG.append((statement, params))


def _walk(node: dict[str, Any]) -> int:
    """The rows every node of a plan handed over (times its loops)."""
    rows = int(node.get("Actual Rows", 0) * node.get("Actual Loops", 1))
    for child in node.get("Plans", []):
        rows += _walk(child)
    return rows


def _text_plan(cur: Any, statement: str, params: Any) -> str:
    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
    return "\n".join(r[0] for r in cur.fetchall())


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", required=True, help="SQLAlchemy URL of a copy of a built instance")
    ap.add_argument("--only", default="", help="only the lists whose label holds this text")
    ap.add_argument("--plans", action="store_true", help="print each statement's plan")
    ap.add_argument("--console", action="store_true", help="the console's pages too")
    ap.add_argument("--json", default="", help="write the numbers to this file")
    ap.add_argument("--against", default="", help="a --json file of another run, side by side")
    args = ap.parse_args()
    known = lists.prepare(args.db)
    from api import create_app

    app = create_app({"DATABASE_URL": args.db, "SECRET_KEY": "bench", "TESTING": True})
    clients: dict[tuple[str, str], Any] = {}
    other = json.loads(Path(args.against).read_text()) if args.against else {}
    out: dict[str, Any] = {}
    print(f"{known['cases']} cases; load average {lists.loadavg()}")
    print(f"{'list':<40} {'stmts':>5} {'buffers':>8} {'rows':>9} {'exec ms':>8}")
    from workflow.store.db import make_engine

    raw = make_engine(args.db).raw_connection()
    try:
        for label, kind, user, path in lists.targets(known):
            if (kind == "console" and not args.console) or (args.only and args.only not in label):
                continue
            if (kind, user) not in clients:
                make = lists.api_test_client if kind == "api" else lists.console_test_client
                clients[(kind, user)] = make(app, user)
            for _rnd in range(2):
                LOG.clear()
                r = clients[(kind, user)].get(
                    (lists.API if kind == "api" else "") + lists.path_of(path, known, 1)
                )
                if r.status_code != 200:
                    raise SystemExit(f"{label}: {path} answered {r.status_code}")
            body = r.get_json() if kind == "api" else {}
            taken = list(LOG)
            buffers = rows = 0
            ms = 0.0
            each = []
            cur = raw.cursor()
            for statement, params in taken:
                if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                    continue
                cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, params)
                plan = cur.fetchone()[0][0]
                root = plan["Plan"]
                b = int(root.get("Shared Hit Blocks", 0)) + int(root.get("Shared Read Blocks", 0))
                n = _walk(root)
                t = float(plan["Execution Time"])
                buffers, rows, ms = buffers + b, rows + n, ms + t
                each.append({"sql": " ".join(statement.split())[:240], "buffers": b, "rows": n})
                if args.plans:
                    print(f"  -- {b} buffers, {n} rows, {t:.2f} ms: {' '.join(statement.split())}")
                    print(f"     params {params}")
                    for line in _text_plan(cur, statement, params).splitlines():
                        print("     " + line)
            raw.rollback()
            if isinstance(body, list):
                body = {"items": body}
            items = body.get("items", body.get("events", []))
            first = (
                [i.get("id", i.get("seq")) for i in items[:3]] if isinstance(items, list) else []
            )
            total = {k: body.get(k) for k in ("total", "total_exact", "next") if k in body}
            out[label] = {
                "buffers": buffers,
                "rows": rows,
                "ms": round(ms, 2),
                "first": first,
                "total": total,
                "each": each,
            }
            line = f"{label:<40} {len(each):5d} {buffers:8d} {rows:9d} {ms:8.2f}"
            if label in other:
                o = other[label]
                line += f"   | {o['buffers']:8d} {o['rows']:9d} {o['ms']:8.2f}"
            print(line, flush=True)
    finally:
        raw.close()
    if args.json:
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=1))
    print(f"load average after: {lists.loadavg()}")


if __name__ == "__main__":
    main()
