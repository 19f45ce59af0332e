"""Transitions per second through the HTTP API under gunicorn (2 workers, SQLite), against a
bare Flask app on the same stack doing the same writes per request, in one run; p50/p99 latency.

    .venv/bin/python bench/http.py [--requests 1500] [--clients 8] [--workers 2]

Each request fires `accept` on its own case (reported -> ws_handling), so every request is one
real transition: through the API that is token check, scope, the route's machine, the case
update, one hash-chained trail event, the case as JSON; the bare app does only the writes."""

from __future__ import annotations

import os
import sys

# This file is named http.py: keep its folder off sys.path so `import http` means the stdlib's.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
_ROOT = os.path.dirname(_HERE)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import requests  # noqa: E402

from workflow import users  # noqa: E402
from workflow.actors import Actor  # noqa: E402
from workflow.catalog import registry  # noqa: E402
from workflow.config import DEFAULT_DEFINITIONS  # noqa: E402
from workflow.runtime import engine  # noqa: E402
from workflow.spec.loader import load_definitions  # noqa: E402
from workflow.store.db import make_engine, make_sessionmaker  # noqa: E402
from workflow.store.migrate import upgrade  # noqa: E402

PASSWORD = "bench-password-1"


def prepare(path: Path, cases: int) -> None:
    """A migrated SQLite database with the definitions, a clerk, and CASES reported cases."""
    url = f"sqlite:///{path}"
    eng = make_engine(url)
    upgrade(eng)
    sessions = make_sessionmaker(eng)
    clerk = Actor("clerk", "W-ZHL-01", "clerk")
    with sessions.begin() as s:
        registry.publish(s, load_definitions(DEFAULT_DEFINITIONS), actor="bench")
        users.add_user(
            s, name="clerk", unit="W-ZHL-01", role="clerk", password=PASSWORD, actor="bench"
        )
        for i in range(cases):
            engine.open_case(
                s,
                item="UD-01",
                workstation="W-ZHL-01",
                actor=clerk,
                applicant_name="王芳",
                applicant_phone="13800000000",
                description=f"bench {i}",
            )
            if i % 500 == 499:
                print(f"\r  cases: {i + 1}/{cases}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    eng.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(app: str, db: Path, workers: int, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "STREETFLOW_DATABASE_URL": f"sqlite:///{db}",
        "STREETFLOW_INSTANCE": str(tmp / "instance"),
        "STREETFLOW_SECRET_KEY": "bench-secret",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [
            str(gunicorn),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app,
        ],
        cwd=_ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            requests.get(base + "/healthz", timeout=10)
            return proc, base
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{app} did not start")


def load(urls: list[str], headers: dict[str, str], clients: int) -> tuple[float, list[float], int]:
    """Fire one POST per URL over CLIENTS threads: (seconds, latencies in ms, errors)."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    it = iter(urls)

    def worker() -> None:
        nonlocal errors
        session = requests.Session()
        while True:
            with lock:
                url = next(it, None)
            if url is None:
                return
            t0 = time.perf_counter()
            r = session.post(url, json={"trigger": "accept"}, headers=headers, timeout=60)
            ms = (time.perf_counter() - t0) * 1000
            with lock:
                latencies.append(ms)
                if r.status_code != 200:
                    errors += 1

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, latencies, errors


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--requests", type=int, default=1500, help="transitions per target")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--rounds", type=int, default=3, help="alternate the targets in this many batches"
    )
    args = ap.parse_args()
    warm = 50
    per_round = args.requests // args.rounds
    tmp = Path(tempfile.mkdtemp(prefix="sf-bench-http-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        template = tmp / "template.db"
        print(f"preparing {per_round * args.rounds + warm} cases ...", file=sys.stderr)
        prepare(template, per_round * args.rounds + warm)
        targets = {}
        for name, app in (
            ("streetflow API", "api:create_app()"),
            ("bare Flask", "bench.bare_flask:create()"),
        ):
            db = tmp / f"{name.split()[0]}.db"
            shutil.copyfile(template, db)
            proc, base = start(app, db, args.workers, tmp)
            procs.append(proc)
            headers: dict[str, str] = {}
            if app.startswith("api"):
                r = requests.post(
                    f"{base}/api/v1/auth/token",
                    json={"username": "clerk", "password": PASSWORD},
                    timeout=30,
                )
                r.raise_for_status()
                headers["Authorization"] = f"Bearer {r.json()['token']}"
                path = base + "/api/v1/cases/{}/transitions"
            else:
                path = base + "/bare/cases/{}/transitions"
            load([path.format(i) for i in range(1, warm + 1)], headers, args.clients)
            targets[name] = (path, headers)
        # Alternate the targets batch by batch, so a change in the machine's load while the
        # benchmark runs weighs on both alike.
        totals = {name: [0.0, [], 0] for name in targets}
        for r in range(args.rounds):
            ids = range(warm + 1 + r * per_round, warm + 1 + (r + 1) * per_round)
            for name, (path, headers) in targets.items():
                secs, lat, errors = load([path.format(i) for i in ids], headers, args.clients)
                totals[name][0] += secs  # type: ignore[operator]
                totals[name][1] += lat  # type: ignore[operator]
                totals[name][2] += errors  # type: ignore[operator]
        results = {
            name: (len(lat) / secs, pct(lat, 50), pct(lat, 99), errors)
            for name, (secs, lat, errors) in totals.items()
        }
        when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        print(
            f"\n{per_round * args.rounds} transitions per target in {args.rounds} alternating "
            f"batches, {args.clients} clients, gunicorn -w {args.workers}, SQLite (WAL, "
            f"synchronous=FULL), {when}"
        )
        print(f"{'target':<16} {'transitions/s':>14} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
        for name, (tps, p50, p99, errors) in results.items():
            print(f"{name:<16} {tps:>14.1f} {p50:>8.1f} {p99:>8.1f} {errors:>7}")
        ratio = results["streetflow API"][0] / results["bare Flask"][0]
        print(f"API / bare: {ratio:.2f} (target >= 0.5)")
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
