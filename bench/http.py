"""Transitions per second through the HTTP API under gunicorn (2 workers, SQLite), against a
bare Flask app on the same stack doing the same writes per request, in one run; p50/p99 latency.

    .venv/bin/python bench/http.py [--requests 1500] [--clients 8] [--workers 2]
    .venv/bin/python bench/http.py --compete        # with a CPU-bound process on one core

Each target's CPU per request is the CPU time its gunicorn processes (master and workers) used
over the measured batches, read from /proc, divided by the requests.

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
from typing import Any  # noqa: E402

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


def start(
    app: str, db: Path, workers: int, tmp: Path, where: Path | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """gunicorn serving APP on DB; with WHERE, bench/http_where.py's parts timed into it."""
    port = free_port()
    env = {
        **os.environ,
        "STREETFLOW_DATABASE_URL": f"sqlite:///{db}",
        "STREETFLOW_INSTANCE": str(tmp / "instance"),
        "STREETFLOW_SECRET_KEY": "bench-secret",
    }
    config: list[str] = []
    if where is not None:
        where.mkdir()
        env["STREETFLOW_BENCH_WHERE"] = str(where)
        config = ["-c", os.path.join(_HERE, "http_where.py")]
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [
            str(gunicorn),
            *config,
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


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of process PID and its children now alive, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def print_where(dirs: dict[str, Path]) -> None:
    """The parts bench/http_where.py timed in each target's workers: ms per request."""
    import json

    table: dict[str, dict[str, list[float]]] = {}
    for name, folder in dirs.items():
        parts: dict[str, list[float]] = {}
        for f in folder.glob("*.json"):
            for part, (n, wall, cpu) in json.loads(f.read_text()).items():
                p = parts.setdefault(part, [0, 0.0, 0.0])
                p[0] += n
                p[1] += wall
                p[2] += cpu
        table[name] = parts
    names = list(table)
    print("\nper measured request: calls, wall ms, CPU ms")
    print(f"{'part':<22}" + "".join(f"{n:>28}" for n in names))
    order = sorted({p for parts in table.values() for p in parts}, key=_where_order)
    for part in order:
        cells = []
        for n in names:
            parts = table[n]
            reqs = parts.get("handle", [1])[0] or 1
            c, w, u = parts.get(part, [0, 0.0, 0.0])
            cells.append(f"{c / reqs:>6.2f} {w * 1e3 / reqs:>9.3f} {u * 1e3 / reqs:>9.3f}  ")
        print(f"{part:<22}" + "".join(f"{c:>28}" for c in cells))


def _where_order(part: str) -> tuple[int, str]:
    first = ["handle", "close (client's FIN)", "wsgi", "view", "auth", "plan_fire", "commit_fire"]
    return (first.index(part) if part in first else len(first), part)


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
    ap.add_argument(
        "--compete",
        choices=("none", "free", "pinned"),
        nargs="?",
        const="free",
        default="none",
        help="run `python -c 'while 1: pass'` meanwhile (pinned: on CPU 0 with taskset)",
    )
    ap.add_argument(
        "--where",
        action="store_true",
        help="time each worker's request by parts (bench/http_where.py) and print them",
    )
    ap.add_argument(
        "--profile",
        metavar="DIR",
        type=Path,
        help="cProfile each worker's requests into DIR/TARGET-PID.prof (without --where's timers)",
    )
    args = ap.parse_args()
    if args.profile:
        args.where = True
        args.profile.mkdir(parents=True, exist_ok=True)
        os.environ["STREETFLOW_BENCH_PROFILE"] = "only"  # the parts' timers left out
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
            ("bare sqlite3", "bench.bare_flask:create_sqlite3()"),
        ):
            db = tmp / f"{name.split()[0]}.db"
            shutil.copyfile(template, db)
            where = tmp / f"where-{name.split()[-1]}" if args.where else None
            proc, base = start(app, db, args.workers, tmp, where)
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
            targets[name] = (path, headers, proc.pid)
        for name in targets if args.where else ():
            (tmp / f"where-{name.split()[-1]}" / "measure").touch()  # count from here
        if args.compete != "none":
            spin = [sys.executable, "-c", "while 1: pass"]
            if args.compete == "pinned":
                spin = ["taskset", "-c", "0", *spin]
            procs.append(subprocess.Popen(spin))
        # Alternate the targets batch by batch, so a change in the machine's load while the
        # benchmark runs weighs on both alike.
        totals: dict[str, list[Any]] = {name: [0.0, [], 0, 0.0, 0.0] for name in targets}
        for rnd in range(args.rounds):
            ids = range(warm + 1 + rnd * per_round, warm + 1 + (rnd + 1) * per_round)
            for name, (path, headers, pid) in targets.items():
                cpu0, client0 = cpu_seconds(pid), time.process_time()
                secs, lat, errors = load([path.format(i) for i in ids], headers, args.clients)
                totals[name][3] += cpu_seconds(pid) - cpu0
                totals[name][4] += time.process_time() - client0
                totals[name][0] += secs
                totals[name][1] += lat
                totals[name][2] += errors
        results = {
            name: (
                len(lat) / secs,
                pct(lat, 50),
                pct(lat, 99),
                errors,
                cpu * 1e3 / len(lat),
                client * 1e3 / len(lat),
            )
            for name, (secs, lat, errors, cpu, client) in totals.items()
        }
        when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        print(
            f"\n{per_round * args.rounds} transitions per target in {args.rounds} alternating "
            f"batches, {args.clients} clients, gunicorn -w {args.workers}, SQLite (WAL, "
            f"synchronous=FULL), {when}, competing CPU-bound process: {args.compete}, "
            f"load average {os.getloadavg()[0]:.1f} at the end"
        )
        print(
            f"{'target':<16} {'transitions/s':>14} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
            f"{'CPU ms/req':>11} {'client CPU ms/req':>18}"
        )
        for name, (tps, p50, p99, errors, cpu, client) in results.items():
            print(
                f"{name:<16} {tps:>14.1f} {p50:>8.1f} {p99:>8.1f} {errors:>7} {cpu:>11.2f} "
                f"{client:>18.2f}"
            )
        api = results["streetflow API"]
        for bare in ("bare Flask", "bare sqlite3"):
            print(
                f"API / {bare}: {api[0] / results[bare][0]:.2f} transitions/s, "
                f"{api[4] / results[bare][4]:.2f}x the CPU per request"
            )
        if args.where:
            for proc in procs:
                proc.terminate()
                proc.wait(60)
            print_where({name: tmp / f"where-{name.split()[-1]}" for name in targets})
            for name in targets if args.profile else ():
                for f in (tmp / f"where-{name.split()[-1]}").glob("*.prof"):
                    shutil.copyfile(f, args.profile / f"{name.split()[-1]}-{f.name}")
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
