"""The console's pages as a user receives them, written to files, to compare two versions of the
code: every console page of bench/lists.py (the case page and the case's trail for eight of its
round cases), case pages of a street's, a department's and an auditor's, dispatch pages, the
clerk's cases with likely duplicates, and more lists (whistled, page 40, filters, task pages),
in Chinese and in English.

    cp BUILT.db /tmp/a.db; cp BUILT.db /tmp/b.db
    (cd /tmp/main-code && PYTHONPATH=. .venv/bin/python /path/bench/console_html.py \\
        --db sqlite:////tmp/a.db --out /tmp/html-a)
    .venv/bin/python bench/console_html.py --db sqlite:////tmp/b.db --out /tmp/html-b
    .venv/bin/python bench/console_html.py --compare /tmp/html-a /tmp/html-b

The code is that of the folder run from (its api and workflow); the pages asked are this
script's. Each run needs a fresh copy of the same instance: a case page writes a personal-data
read, which the next case page of that case shows. The clock is frozen (every module's utcnow),
CSRF tokens and nonces are blanked. --compare leaves out what the set-up writes with the real
clock (the demo users' events on the trail pages: their hashes and minutes)."""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import importlib.util
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
_CODE = os.getcwd()
FROZEN = dt.datetime(2026, 11, 30, 2, 30, tzinfo=dt.UTC)


def _lists() -> Any:
    """bench/lists.py of the folder run from (it puts its own code first on the path), else
    this one's."""
    own = os.path.join(_CODE, "bench", "lists.py")
    path = own if os.path.exists(own) else os.path.join(_HERE, "lists.py")
    spec = importlib.util.spec_from_file_location("bench_lists", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _freeze() -> None:
    import workflow.instants as instants

    real = instants.utcnow
    for module in list(sys.modules.values()):
        if getattr(module, "utcnow", None) is real:
            module.utcnow = lambda: FROZEN  # type: ignore[attr-defined]


def dump(url: str, out: Path) -> int:
    lists = _lists()
    known = lists.prepare(url)
    os.environ.update(
        STREETFLOW_DATABASE_URL=url,
        STREETFLOW_INSTANCE=tempfile.mkdtemp(),
        STREETFLOW_SECRET_KEY="bench-secret",
        STREETFLOW_LOGIN_LIMIT="1000/second",
    )
    from sqlalchemy import select, text

    from api import create_app, db
    from workflow.store.models import Case, Task

    _freeze()
    app = create_app()
    _freeze()
    with app.app_context():
        s = db.session()
        street = list(
            s.execute(
                select(Case.id)
                .where(Case.street == "S-ZHL", Case.route_version.is_not(None))
                .order_by(Case.id.desc())
                .limit(4)
            ).scalars()
        )
        dept = list(
            s.execute(
                select(Task.case_id)
                .where(Task.unit == "D-ZF")
                .order_by(Task.case_id.desc())
                .limit(3)
            ).scalars()
        )
        centre = list(
            s.execute(
                select(Case.id)
                .where(Case.route_version.is_(None))
                .order_by(Case.id.desc())
                .limit(2)
            ).scalars()
        )
        # Open cases of the clerk's with another open case of the same item within a week.
        within_a_week = (
            "o.created_at BETWEEN c.created_at - INTERVAL '7 days'"
            " AND c.created_at + INTERVAL '7 days'"
            if s.get_bind().dialect.name == "postgresql"
            else "abs(julianday(o.created_at) - julianday(c.created_at)) < 7"
        )
        duplicates = list(
            s.execute(
                text(
                    "SELECT c.id FROM cases c WHERE c.workstation = 'W-ZHL-01'"
                    " AND c.closed_at IS NULL AND c.merged_into IS NULL"
                    " AND c.route_version IS NOT NULL AND EXISTS (SELECT 1 FROM cases o"
                    " WHERE o.id <> c.id AND o.item = c.item AND o.workstation = c.workstation"
                    f" AND o.closed_at IS NULL AND o.merged_into IS NULL AND {within_a_week})"
                    " ORDER BY c.id DESC LIMIT 6"
                )
            ).scalars()
        )
    pages: list[tuple[str, str]] = []
    for _label, kind, user, path in lists.targets(known):
        if kind != "console":
            continue
        if lists.ROUND_CASE in path:
            pages += [(user, lists.path_of(path, known, r)) for r in range(8)]
        else:
            pages.append((user, path))
    pages += [("street", f"/console/cases/{i}") for i in street]
    pages += [("dept", f"/console/cases/{i}") for i in dept]
    pages += [("dispatcher", f"/console/dispatch/{i}") for i in centre]
    pages += [("auditor", f"/console/cases/{known['rounds'][0]}")]
    pages += [
        (u, f"/console/cases/{i}") for i in duplicates for u in ("clerk", "street", "auditor")
    ]
    pages += [
        ("street", "/console/find?view=whistled"),
        ("district", "/console/find?page=40"),
        ("street", "/console/whistles?page=2"),
        ("clerk", "/console/inbox?page=2"),
        ("dept", "/console/inbox?light=red"),
        ("dept", "/console/find?light=yellow"),
        ("district", "/console/find?state=processing"),
        ("street", "/console/supervisions"),
        ("dept", "/console/extensions"),
        ("street", "/console/returns"),
        ("auditor", f"/console/trail?after={known['deep_seq']}"),
        # The definitions' publications (what each published, in words) and a case's every event.
        ("auditor", "/console/trail?action=definitions.published"),
        ("auditor", f"/console/trail?case={known['rounds'][0]}"),
        ("auditor-s", "/console/trail?page=3"),
        ("clerk", "/console/feedback"),
        ("dept", "/console/inbox?task_page=2"),
    ]
    clients: dict[str, Any] = {}
    for user, _path in pages:
        if user in clients:
            continue
        clients[user] = lists.console_test_client(app, user)
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for lang in ("zh", "en"):
        for c in clients.values():
            c.get(f"/console/lang/{lang}")
        for user, path in pages:
            r = clients[user].get(path)
            html = r.get_data(as_text=True)
            html = re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value="X"', html)
            html = re.sub(r'nonce="[^"]+"', 'nonce="X"', html)
            head = f"<!-- {user} {lang} {path} {r.status_code} -->\n"
            (out / f"{n:03d}.html").write_text(head + html)
            n += 1
    return n


def _as_compared(html: str) -> list[str]:
    html = re.sub(r"<code>[0-9a-f]{10}</code>", "<code>H</code>", html)
    return re.sub(r"<td>20[0-9-]{8} [0-9:]{5}</td>", "<td>T</td>", html).splitlines()


def compare(a: Path, b: Path) -> int:
    differ = 0
    names = sorted(p.name for p in a.glob("*.html"))
    assert names == sorted(p.name for p in b.glob("*.html")), "not the same pages"
    for name in names:
        one, two = _as_compared((a / name).read_text()), _as_compared((b / name).read_text())
        if one != two:
            differ += 1
            print(one[0])
            print("\n".join(list(difflib.unified_diff(one, two, lineterm="", n=0))[:12]))
    print(f"{len(names)} pages compared, {differ} differ")
    return 1 if differ else 0


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", help="a fresh copy of a built instance")
    ap.add_argument("--out", type=Path, help="the folder the pages are written to")
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"))
    args = ap.parse_args()
    if args.compare:
        raise SystemExit(compare(*args.compare))
    if not (args.db and args.out):
        ap.error("--db and --out, or --compare A B")
    print(dump(args.db, args.out), "pages")


if __name__ == "__main__":
    main()
