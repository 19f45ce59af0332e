"""Every list and search of the API and the console over HTTP, beside the single-case read, in
one run: p50 and p95 per list and its p95 as a multiple of the single-case read's p95.

    .venv/bin/python bench/lists.py --db sqlite:////tmp/lists-1m.db [--reps 30]
    .venv/bin/python bench/lists.py --db postgresql+psycopg://postgres@127.0.0.1/city1m

The database is written to (the demo users are added, each single-case read is a trail event):
give it a copy of a built instance (bench/build.py), never the original. The app runs under
gunicorn (one worker, so that no request waits for another's) and a real HTTP client (requests)
signs in as the demo users: the clerk of W-ZHL-01, the staff of the street office S-ZHL, of the
department D-ZF, the district's auditor (and one each at S-ZHL, D-ZF, D-HB and D-ZZB), the
district's administrator and the 12345 dispatcher. Each round asks every list once, in turn, so
that a slow moment of a shared machine falls on all of them alike; the first round is a warm-up
and not counted.

The trail is asked unfiltered and by an action: a common one (the cases opened) of the street's
part, a rare one (the residents' appeals, a few hundred at a million cases) of the district's
and the street's (in the built instances, none of them the street's: every event of an action
is asked whether the part holds it). (The API's trail filters by `action` since the
twenty-sixth session; before, its "an action" rows were the unfiltered trail.)

The baseline is `GET /api/v1/cases/{id}` (the clerk reading one of their cases), the issue's
single-case read; for the console, `/console/cases/{id}` is printed too.

Each round's console case page and case trail are of another case of the clerk's (ROUND_CASES
of them, taken in turn): every case page writes a personal-data read, and the reads of one case
piled up on one page (its timeline 19 KB, then 80-90 KB on a copy used by a few runs) made the
page slower than a real one. The same cases in every run on a copy (each gets one read a run).
The baseline keeps one case (reading a case's record does not grow with its trail)."""

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
import re  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import quote  # noqa: E402

import requests  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from workflow import demo, users  # noqa: E402
from workflow.instants import utcnow  # noqa: E402
from workflow.store.db import make_engine, make_sessionmaker  # noqa: E402
from workflow.store.migrate import upgrade  # noqa: E402
from workflow.store.models import Case, TrailEvent  # noqa: E402

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORDS = {u.name: u.password for u in demo.DEMO_USERS}
# An auditor at a street office reads that street's part of the trail; one at a department its
# cases' (D-ZF: a seventieth of the city's, read in seq order; D-HB: a 250th, read from its
# cases), one at the party committee's organisation department its unit's own (no case).
STREET_AUDITOR = ("auditor-s", "S-ZHL", "auditor", "auditor-street-2026")
AUDITORS = [
    STREET_AUDITOR,
    ("auditor-d", "D-ZF", "auditor", "auditor-department-2026"),
    ("auditor-h", "D-HB", "auditor", "auditor-ecology-2026"),
    ("auditor-o", "D-ZZB", "auditor", "auditor-organisation-2026"),
]
PASSWORDS.update({a[0]: a[3] for a in AUDITORS})
API = "/api/v1"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * len(values)) - 1))]


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Each round's case (of the pages whose path holds it), taken in turn.
ROUND_CASE = "{round_case}"
ROUND_CASES = 64
# A case whose trail holds more personal-data reads than this was read by many runs (of this
# bench before it took a case per round): left out of the rounds.
USED_READS = 20


def prepare(url: str) -> dict[str, Any]:
    """The demo users added (when missing) and what the lists are asked with: a case of the
    clerk's, a name, a phone and an address of it, deep cursors, and ROUND_CASES cases of the
    clerk's for the rounds (the newest below the middle of the ids but those read more than
    USED_READS times)."""
    eng = make_engine(url)
    upgrade(eng)
    sessions = make_sessionmaker(eng)
    with sessions.begin() as s:
        demo.add_demo_users(s, now=utcnow())
        for name, unit, role, password in AUDITORS:
            if users.find_user(s, name) is None:
                users.add_user(
                    s,
                    name=name,
                    unit=unit,
                    role=role,
                    password=password,
                    actor="bench",
                    now=utcnow(),
                )
    with sessions() as s:
        n = s.execute(select(func.count(Case.id))).scalar_one()
        top = s.execute(select(func.max(Case.id))).scalar_one() or 0
        case = s.execute(
            select(Case)
            .where(Case.workstation == "W-ZHL-01", Case.id <= max(1, top // 2))
            .order_by(Case.id.desc())
            .limit(1)
        ).scalar_one()
        events = s.execute(select(func.max(TrailEvent.seq))).scalar_one() or 0
        # Cases with a route (a case at the dispatch centre redirects to its dispatch page).
        near = list(
            s.execute(
                select(Case.id)
                .where(
                    Case.workstation == "W-ZHL-01",
                    Case.id <= max(1, top // 2),
                    Case.route_version.is_not(None),
                )
                .order_by(Case.id.desc())
                .limit(4 * ROUND_CASES)
            ).scalars()
        )
        reads = dict(
            s.execute(
                select(TrailEvent.case_id, func.count())
                .where(TrailEvent.case_id.in_(near), TrailEvent.action == "case.personal_data_read")
                .group_by(TrailEvent.case_id)
            ).all()
        )
        rounds = [i for i in near if reads.get(i, 0) <= USED_READS][:ROUND_CASES]
        out = {
            "cases": n,
            "events": events,
            "case": case.id,
            "rounds": rounds or [case.id],
            "name2": case.applicant_name[:2],
            "phone4": case.applicant_phone[-4:],
            "address": (case.address or case.description or "路")[:4],
            "deep_id": max(2, top // 50),  # 98% of the way down the newest-first list
            "deep_seq": max(1, events - events // 50),  # near the end of the oldest-first trail
        }
    eng.dispose()
    return out


def start(url: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "STREETFLOW_DATABASE_URL": url,
        "STREETFLOW_INSTANCE": str(tmp / "instance"),
        "STREETFLOW_SECRET_KEY": "bench-secret",
        "STREETFLOW_LOGIN_LIMIT": "1000/second",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [
            str(gunicorn),
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--timeout",
            "600",
            "api:create_app()",
        ],
        cwd=_ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            requests.get(base + "/healthz", timeout=10)
            return proc, base
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the app did not start")


def api_client(base: str, name: str) -> requests.Session:
    s = requests.Session()
    r = s.post(
        f"{base}{API}/auth/token", json={"username": name, "password": PASSWORDS[name]}, timeout=60
    )
    assert r.status_code == 201, (name, r.status_code, r.text)
    s.headers["Authorization"] = f"Bearer {r.json()['token']}"
    return s


def console_client(base: str, name: str) -> requests.Session:
    s = requests.Session()
    page = s.get(f"{base}/console/login", timeout=60).text
    token = TOKEN.search(page)
    assert token is not None
    r = s.post(
        f"{base}/console/login",
        data={"username": name, "password": PASSWORDS[name], "csrf_token": token.group(1)},
        allow_redirects=False,
        timeout=60,
    )
    assert r.status_code == 302, (name, r.status_code)
    return s


def api_test_client(app: Any, name: str) -> Any:
    """An in-process client of APP (Flask's test client) holding NAME's API token."""
    c = app.test_client()
    r = c.post(f"{API}/auth/token", json={"username": name, "password": PASSWORDS[name]})
    assert r.status_code == 201, (name, r.status_code)
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {r.get_json()['token']}"
    return c


def console_test_client(app: Any, name: str) -> Any:
    """An in-process client of APP (Flask's test client) signed in to the console as NAME."""
    c = app.test_client()
    token = TOKEN.search(c.get("/console/login").get_data(as_text=True))
    assert token is not None
    r = c.post(
        "/console/login",
        data={"username": name, "password": PASSWORDS[name], "csrf_token": token.group(1)},
    )
    assert r.status_code == 302, (name, r.status_code)
    return c


def targets(k: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(label, api|console, user, path): what is timed, the baseline first."""
    c, name2, phone4 = k["case"], quote(k["name2"]), k["phone4"]
    address, deep, seq = quote(k["address"]), k["deep_id"], k["deep_seq"]
    return [
        ("baseline: GET /cases/{id} (clerk)", "api", "clerk", f"/cases/{c}"),
        ("clerk's inbox, view=inbox", "api", "clerk", "/cases?view=inbox&per_page=25"),
        ("clerk's cases, page 1", "api", "clerk", "/cases?per_page=25"),
        ("street's red list (S-ZHL)", "api", "street", "/cases?light=red&per_page=25"),
        ("department's list (D-ZF)", "api", "dept", "/cases?per_page=25"),
        ("department's inbox (D-ZF)", "api", "dept", "/cases?view=inbox&per_page=25"),
        ("auditor's list, district", "api", "auditor", "/cases?per_page=25"),
        ("auditor's list, street (S-ZHL)", "api", "auditor-s", "/cases?per_page=25"),
        ("district, page 1", "api", "district", "/cases?per_page=25"),
        ("district, deep page by cursor", "api", "district", f"/cases?after={deep}&per_page=25"),
        ("district, page 2000 by number", "api", "district", "/cases?page=2000&per_page=25"),
        ("filter state=processing", "api", "district", "/cases?state=processing&per_page=25"),
        ("filter item=PS-03", "api", "district", "/cases?item=PS-03&per_page=25"),
        ("filter urgency=urgent", "api", "district", "/cases?urgency=urgent&per_page=25"),
        (
            "filter opened in a week",
            "api",
            "district",
            "/cases?opened_from=2026-10-01&opened_until=2026-10-07&per_page=25",
        ),
        ("filter overdue", "api", "district", "/cases?overdue=true&per_page=25"),
        ("search name, 2 chars (clerk)", "api", "clerk", f"/cases?q={name2}&per_page=25"),
        ("search name, 2 chars (district)", "api", "district", f"/cases?q={name2}&per_page=25"),
        ("search phone tail (clerk)", "api", "clerk", f"/cases?q={phone4}&per_page=25"),
        ("search address (district)", "api", "district", f"/cases?q={address}&per_page=25"),
        ("whistles our street blew", "api", "street", "/cases?view=whistled&per_page=25"),
        (
            "street's tasks awaiting report",
            "api",
            "street",
            "/tasks?status=awaiting_report&per_page=25",
        ),
        ("dispatch queue (H-SN)", "api", "dispatcher", "/dispatch?per_page=25"),
        ("supervisions (D-ZF)", "api", "dept", "/supervisions?per_page=25"),
        ("supervisions open (S-ZHL)", "api", "street", "/supervisions?open=true&per_page=25"),
        ("trail of a case", "api", "clerk", f"/cases/{ROUND_CASE}/trail"),
        ("audit events, district, page 1", "api", "auditor", "/audit/events?per_page=50"),
        (
            "audit events, district, deep",
            "api",
            "auditor",
            f"/audit/events?after={seq}&per_page=50",
        ),
        ("audit events, street (S-ZHL)", "api", "auditor-s", "/audit/events?per_page=50"),
        (
            "audit events, street, an action",
            "api",
            "auditor-s",
            "/audit/events?action=case.opened&per_page=50",
        ),
        (
            "audit events, district, a rare action",
            "api",
            "auditor",
            "/audit/events?action=feedback.appealed&per_page=50",
        ),
        ("audit events, department (D-ZF)", "api", "auditor-d", "/audit/events?per_page=50"),
        (
            "audit events, department (D-HB), an action",
            "api",
            "auditor-h",
            "/audit/events?action=case.opened&per_page=50",
        ),
        ("audit events, organisation dept.", "api", "auditor-o", "/audit/events?per_page=50"),
        ("notifications (S-ZHL)", "api", "street", "/notifications"),
        ("console: case page (clerk)", "console", "clerk", f"/console/cases/{ROUND_CASE}"),
        ("console: inbox (clerk)", "console", "clerk", "/console/inbox"),
        ("console: inbox (D-ZF)", "console", "dept", "/console/inbox"),
        ("console: find, red (S-ZHL)", "console", "street", "/console/find?light=red"),
        ("console: find, all (D-ZF)", "console", "dept", "/console/find"),
        ("console: find, name 2 chars", "console", "clerk", f"/console/find?q={name2}"),
        ("console: find, district", "console", "district", "/console/find"),
        ("console: whistles (S-ZHL)", "console", "street", "/console/whistles"),
        ("console: dispatch queue", "console", "dispatcher", "/console/dispatch"),
        ("console: supervisions (D-ZF)", "console", "dept", "/console/supervisions"),
        ("console: trail (district auditor)", "console", "auditor", "/console/trail"),
        ("console: trail (street auditor)", "console", "auditor-s", "/console/trail"),
        ("console: trail (D-HB auditor)", "console", "auditor-h", "/console/trail"),
        (
            "console: trail, a rare action (street)",
            "console",
            "auditor-s",
            "/console/trail?action=feedback.appealed",
        ),
        ("console: notifications (S-ZHL)", "console", "street", "/console/notifications"),
    ]


def path_of(path: str, k: dict[str, Any], rnd: int) -> str:
    """PATH for round RND (0: the warm-up): its case the round's."""
    return path.replace(ROUND_CASE, str(k["rounds"][rnd % len(k["rounds"])]))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", required=True, help="SQLAlchemy URL of a copy of a built instance")
    ap.add_argument("--reps", type=int, default=30, help="rounds (each asks every list once)")
    ap.add_argument("--only", default="", help="only the lists whose label holds this text")
    ap.add_argument("--verbose", action="store_true", help="each list's warm-up time as it goes")
    args = ap.parse_args()
    known = prepare(args.db)
    print(
        f"{make_engine(args.db).dialect.name}: {known['cases']} cases, {known['events']} trail"
        f" events; load average {loadavg()}",
        flush=True,
    )
    todo = targets(known)
    if args.only:
        todo = [todo[0]] + [t for t in todo[1:] if args.only in t[0]]
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start(args.db, Path(tmp))
        try:
            clients: dict[tuple[str, str], requests.Session] = {}
            for _label, kind, user, _path in todo:
                if (kind, user) not in clients:
                    make = api_client if kind == "api" else console_client
                    clients[(kind, user)] = make(base, user)
            took: dict[str, list[float]] = {t[0]: [] for t in todo}
            for rnd in range(args.reps + 1):
                for label, kind, user, path in todo:
                    url = base + (API if kind == "api" else "") + path_of(path, known, rnd)
                    t = time.perf_counter()
                    r = clients[(kind, user)].get(url, timeout=600)
                    ms = (time.perf_counter() - t) * 1000
                    if r.status_code != 200:
                        raise SystemExit(
                            f"{label}: {path} answered {r.status_code}: {r.text[:300]}"
                        )
                    if rnd:
                        took[label].append(ms)
                    elif args.verbose:
                        print(f"  warm-up {label}: {ms:.0f} ms", file=sys.stderr, flush=True)
        finally:
            proc.terminate()
            proc.wait(30)
    base95 = pct(took[todo[0][0]], 0.95)
    print(f"load average after: {loadavg()}")
    print(f"{'list':<40} {'p50 ms':>8} {'p95 ms':>8} {'p95/base':>9}")
    for label, *_ in todo:
        xs = took[label]
        p95 = pct(xs, 0.95)
        mark = "" if p95 <= 2 * base95 else "  > 2x"
        print(f"{label:<40} {pct(xs, 0.5):8.1f} {p95:8.1f} {p95 / base95:8.1f}x{mark}")


if __name__ == "__main__":
    main()
