"""The console's pages against the JSON API serving the same data: milliseconds per request.

    .venv/bin/python bench/console.py                      # demo data as ./scripts/run makes it
    .venv/bin/python bench/console.py --per-workstation 2 --requests 3   # a quick look

Both sides run in this process through Flask's test client (no network, no browser), over one
SQLite file of demo cases, signed in as the demo users; each pair takes turns, so a slow moment
falls on both."""

from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# Python puts this script's folder first on the path, where bench/http.py would shadow the
# standard library's http (which Flask needs): the repository instead.
sys.path[:] = [str(REPO)] + [
    p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent
]

from sqlalchemy import select  # noqa: E402

from api import create_app  # noqa: E402
from workflow import demo  # noqa: E402
from workflow.appraisal import records as appraisal  # noqa: E402
from workflow.catalog import registry  # noqa: E402
from workflow.spec.loader import read_definitions  # noqa: E402
from workflow.store.migrate import upgrade  # noqa: E402
from workflow.store.models import Case  # noqa: E402

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def signed_in(app: Any, name: str, password: str) -> tuple[Any, Any]:
    """A console client (session cookie) and an API client (bearer token) for one user."""
    console = app.test_client()
    page = console.get("/console/login").get_data(as_text=True)
    token = TOKEN.search(page).group(1)  # type: ignore[union-attr]
    r = console.post(
        "/console/login", data={"username": name, "password": password, "csrf_token": token}
    )
    assert r.status_code == 302, r.status_code
    api = app.test_client()
    r = api.post("/api/v1/auth/token", json={"username": name, "password": password})
    assert r.status_code == 201, r.get_data(as_text=True)
    api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {r.get_json()['token']}"
    return console, api


def timed(client: Any, path: str) -> float:
    start = time.perf_counter()
    r = client.get(path)
    took = (time.perf_counter() - start) * 1000
    assert r.status_code == 200, (path, r.status_code)
    return took


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--per-workstation", type=int, default=24, help="demo cases per workstation")
    ap.add_argument("--requests", type=int, default=20, help="requests per page")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "LOGIN_LIMIT": "1000/second"})
        upgrade(app.extensions["streetflow.engine"])
        sessions = app.extensions["streetflow.sessions"]
        defs, problems = read_definitions(REPO / "definitions")
        assert defs is not None, problems
        now = dt.datetime.now(dt.UTC)
        with sessions.begin() as s:
            registry.publish(s, defs, actor="bench")
            demo.add_demo_users(s, now=now)
        print("demo cases ...", file=sys.stderr)
        n = demo.generate_cases(sessions, now=now, per_workstation=args.per_workstation)
        period = now.strftime("%Y-%m")
        with sessions.begin() as s:
            appraisal.compute(s, period)
            case_id = s.execute(
                select(Case.id).where(Case.workstation == "W-ZHL-01").limit(1)
            ).scalar_one()
        users = {u.name: u.password for u in demo.DEMO_USERS}
        clerk = signed_in(app, "clerk", users["clerk"])
        auditor = signed_in(app, "auditor", users["auditor"])
        admin = signed_in(app, "admin", users["admin"])
        pairs = [
            ("clerk's inbox", clerk, "/console/inbox", "/api/v1/cases?holder=W-ZHL-01&per_page=25"),
            (
                "case page + timeline",
                clerk,
                f"/console/cases/{case_id}",
                f"/api/v1/cases/{case_id}",
            ),
            ("trail browser (50)", auditor, "/console/trail", "/api/v1/cases?per_page=50"),
            (
                "appraisal dashboard",
                auditor,
                f"/console/appraisal?period={period}",
                f"/api/v1/appraisals?period={period}&per_page=100",
            ),
            ("item page + diagram", admin, "/console/admin/items/PS-03", "/api/v1/items/PS-03"),
            (
                "route diagram (SVG)",
                admin,
                "/console/admin/routes/incident/diagram.svg",
                "/api/v1/routes/incident/diagram.svg",
            ),
        ]
        print(f"{n} demo cases, {args.requests} requests each (median / p95 ms)\n")
        print(f"{'page':<24} {'console':>16} {'JSON API':>16} {'console/API':>12}  API baseline")
        for name, (console, api), page, baseline in pairs:
            ours: list[float] = []
            theirs: list[float] = []
            timed(console, page), timed(api, baseline)  # warm caches
            for _ in range(args.requests):
                ours.append(timed(console, page))
                theirs.append(timed(api, baseline))

            def show(xs: list[float]) -> str:
                p95 = sorted(xs)[max(0, round(0.95 * len(xs)) - 1)]
                return f"{statistics.median(xs):7.1f} / {p95:6.1f}"

            ratio = statistics.median(ours) / statistics.median(theirs)
            print(f"{name:<24} {show(ours):>16} {show(theirs):>16} {ratio:12.2f}  {baseline}")
        app.extensions["streetflow.engine"].dispose()


if __name__ == "__main__":
    main()
