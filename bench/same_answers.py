"""Every list of the API asked in process, each answer's bytes written to a file: run it with
one version of the code and then another, each on its own fresh copy of the same instance,
and compare the files (a change to how lists are rendered must not change a byte).

    cp built.db /tmp/a.db; cp built.db /tmp/b.db
    (cd /tmp/base && PYTHONPATH=/tmp/base .venv/bin/python bench/same_answers.py \\
        --db sqlite:////tmp/a.db --out /tmp/base.jsonl)
    .venv/bin/python bench/same_answers.py --db sqlite:////tmp/b.db --out /tmp/mine.jsonl \\
        --against /tmp/base.jsonl

Asked: bench/lists.py's API lists (but the single-case read and a case's trail, which write
to the trail that the audit lists read) and, for each of its users, every list endpoint with
its views and filters at up to 100 a page: /cases, /tasks, /dispatch, /supervisions,
/extensions, /notifications, /audit/events. One JSON line per request: label, path, status,
body. The audit lists are asked up to the instance's last event (`to`): the demo users this
script adds are events of the run's own time. The code is the one this script's folder
belongs to."""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
_ROOT = os.path.dirname(_HERE)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import quote  # noqa: E402

from sqlalchemy import func, select  # noqa: E402

from workflow.audit.chain import format_at  # noqa: E402
from workflow.store.db import make_engine  # noqa: E402
from workflow.store.models import TrailEvent  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_lists", os.path.join(_HERE, "lists.py"))
assert _spec is not None and _spec.loader is not None
lists = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lists)

# The pages read on by the cursor after each list of cases' first
FOLLOW = 2
USERS = ("clerk", "street", "dept", "auditor", "auditor-s", "district", "dispatcher")


def requests_of(known: dict[str, Any], until: str) -> list[tuple[str, str, str]]:
    """(label, user, path) of every request asked; the trail's up to UNTIL (`to`)."""
    out = [
        (label, user, path)
        for label, kind, user, path in lists.targets(known)
        if kind == "api" and not label.startswith("baseline") and lists.ROUND_CASE not in path
    ]
    paths: tuple[str, ...] = (
        "/cases?per_page=100",
        "/cases?per_page=100&page=2",
        "/cases?view=handled&per_page=100",
        "/cases?view=opened&per_page=50",
        "/cases?view=inbox&per_page=100",
        "/cases?view=whistled&per_page=50",
        "/cases?light=yellow&per_page=50",
        "/cases?state=closed&per_page=50",
        "/cases?overdue=true&per_page=100",
        "/tasks?per_page=100",
        "/tasks?status=working&per_page=100",
        "/dispatch?per_page=100",
        "/supervisions?per_page=100",
        "/supervisions?open=false&per_page=100",
        "/extensions?per_page=100",
        "/notifications",
        "/notifications?unread=true",
        "/audit/events?per_page=100",
        f"/audit/events?per_page=100&case={known['case']}",
        "/audit/events?per_page=100&unit=S-ZHL",
        f"/audit/events?after={known['deep_seq']}&per_page=100",
    )
    name2, first = quote(known["name2"]), quote(known["name2"][:1])
    week = "opened_from=2026-10-01&opened_until=2026-10-07"
    # A name's start and the periods of opening, each read by its own index on PostgreSQL
    # (migration 0037_pg11): by number and deep.
    paths += (
        f"/cases?q={name2}&per_page=100",
        f"/cases?q={name2}&per_page=100&page=4",
        f"/cases?q={first}&per_page=100",
        f"/cases?q={quote('王伟')}&per_page=50&page=2",
        f"/cases?{week}&per_page=100",
        f"/cases?{week}&per_page=100&page=30",
        f"/cases?{week}&state=processing&per_page=50",
        "/cases?opened_from=2026-11-20&opened_until=2026-11-20&per_page=100",
        "/cases?opened_from=2026-11-20&opened_until=2026-11-20&per_page=100&page=3",
        "/cases?opened_from=2026-09-01&opened_until=2026-09-16&per_page=100&page=7",
        "/cases?opened_from=2026-09-01&opened_until=2026-09-17&per_page=100&page=7",
        "/cases?opened_from=2026-12-01&opened_until=2026-12-03&per_page=10",
    )
    # A phone's last digits, a unit's inbox, a street's tasks awaiting report, a case's likely
    # duplicates: each read by its own index on PostgreSQL (migration 0038_pg12).
    phone = known["phone4"]
    paths += (
        f"/cases?q={phone}&per_page=100",
        f"/cases?q={phone[-3:]}&per_page=100",
        "/cases?view=inbox&per_page=50&page=3",
        "/tasks?status=awaiting_report&per_page=100",
        *(f"/cases/{c}/similar" for c in known["rounds"][:5]),
    )
    out += [(f"{user} {path}", user, path) for user in USERS for path in paths]
    # The trail as built: the events of this run's set-up (the demo users added, at this
    # run's time) are left out.
    return [
        (label, user, f"{path}&to={quote(until)}" if path.startswith("/audit/") else path)
        for label, user, path in out
    ]


def built_until(url: str) -> str:
    """Just after the instance's last trail event (before prepare() adds to it)."""
    eng = make_engine(url)
    with eng.connect() as c:
        last = c.execute(select(func.max(TrailEvent.at))).scalar_one()
    eng.dispose()
    assert last is not None, "an empty trail"
    return format_at(last + dt.timedelta(microseconds=1))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", required=True, help="a fresh copy of a built instance")
    ap.add_argument("--out", required=True, help="the file the answers are written to")
    ap.add_argument("--against", help="answers of another run: exit 1 unless the same")
    args = ap.parse_args()
    until = built_until(args.db)
    known = lists.prepare(args.db)
    os.environ.update(
        STREETFLOW_DATABASE_URL=args.db,
        STREETFLOW_INSTANCE=tempfile.mkdtemp(),
        STREETFLOW_SECRET_KEY="bench-secret",
        STREETFLOW_LOGIN_LIMIT="1000/second",
    )
    from api import create_app

    app = create_app()
    clients: dict[str, Any] = {}
    todo = requests_of(known, until)
    with open(args.out, "w", encoding="utf-8") as f:
        for label, user, path in todo:
            if user not in clients:
                clients[user] = lists.api_test_client(app, user)
            r = clients[user].get(lists.API + path)
            line = {"label": label, "path": path, "status": r.status_code}
            f.write(json.dumps({**line, "body": r.get_data(as_text=True)}, ensure_ascii=False))
            f.write("\n")
            # A list of cases read on by its cursor: two pages more.
            for more in range(FOLLOW if path.startswith("/cases?") and "&page=" not in path else 0):
                after = r.get_json().get("next") if r.status_code == 200 else None
                if after is None:
                    break
                r = clients[user].get(f"{lists.API}{path}&after={after}")
                line = {"label": f"{label} +{more + 1}", "path": path, "status": r.status_code}
                f.write(json.dumps({**line, "body": r.get_data(as_text=True)}, ensure_ascii=False))
                f.write("\n")
    print(f"{len(todo)} answers written to {args.out}")
    if args.against:
        with open(args.against, encoding="utf-8") as a, open(args.out, encoding="utf-8") as b:
            theirs, mine = a.read().splitlines(), b.read().splitlines()
        differ = [json.loads(x)["label"] for x, y in zip(theirs, mine, strict=False) if x != y]
        if len(theirs) != len(mine) or differ:
            raise SystemExit(f"answers differ: {len(theirs)} against {len(mine)}; {differ[:10]}")
        print(f"the same {len(mine)} answers, byte for byte, as {args.against}")


if __name__ == "__main__":
    main()
