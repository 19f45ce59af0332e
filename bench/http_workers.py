"""Transitions per second through the HTTP API with several gunicorn workers, on SQLite and on
PostgreSQL in the same run, with p50 and p99 latencies; one worker is the baseline.

    .venv/bin/python bench/http_workers.py                    # the numbers in bench/README.md
    .venv/bin/python bench/http_workers.py --cases 50 --workers 2 --db sqlite   # quick look

Each (database, workers) row gets a fresh database (SQLite: a file in a temporary directory, WAL
with synchronous=FULL; PostgreSQL: a new database on --pg, dropped after), a gunicorn with sync
workers on 127.0.0.1, and --clients threads that each take a case and fire `accept` then
`complete` on it (route `local`, one transaction and one trail event per transition, as any
client would), until --cases cases are done. Latency is per request, as the client sees it.
Progress goes to stderr, the table to stdout."""

from __future__ import annotations

import os
import sys

# bench/http.py is beside this file: keep this folder off sys.path so `import http` means the
# stdlib's (as bench/http.py does).
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import platform  # noqa: E402
import queue  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import psycopg  # noqa: E402
import requests  # noqa: E402

from workflow.actors import Actor  # noqa: E402
from workflow.audit import chain  # noqa: E402
from workflow.catalog import registry  # noqa: E402
from workflow.config import DEFAULT_DEFINITIONS  # noqa: E402
from workflow.runtime import engine  # noqa: E402
from workflow.spec.loader import load_definitions  # noqa: E402
from workflow.store.db import make_engine, make_sessionmaker  # noqa: E402
from workflow.store.migrate import upgrade  # noqa: E402

ITEM = "SW-10"  # 失业登记: route local, decided at the workstation
WORKSTATION = "W-ZHL-01"
PASSWORD = "bench-password-1"
OPEN_BATCH = 500  # cases opened per transaction while setting up (not measured)
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
DEFAULT_PG = os.environ.get(
    "STREETFLOW_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@dataclass(frozen=True)
class Row:
    db: str
    workers: int
    transitions: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    # Where the time went (see Usage): CPU ms per transition of the gunicorn processes, of
    # this client process, and of the database's backends (PostgreSQL); the share of the
    # machine's CPUs busy (all processes, other users' too); PostgreSQL: backends of this
    # database running, waiting on a lock (the chain's head row), waiting on I/O (the WAL's
    # flush), on average over the run.
    usage: Usage | None = None

    @property
    def per_second(self) -> float:
        return self.transitions / self.seconds


@dataclass(frozen=True)
class Usage:
    server_ms: float
    client_ms: float
    db_ms: float | None
    busy: float
    active: float | None = None
    on_lock: float | None = None
    on_io: float | None = None


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of process PID and its live descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
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


def backends_cpu(dbname: str) -> float:
    """CPU seconds of the PostgreSQL backends connected to DBNAME (their process titles name
    it), from /proc: the server runs on this machine."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not title.startswith("postgres:") or f" {dbname} " not in title:
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle and iowait
    return sum(values) - idle, sum(values)


class Waits:
    """Samples pg_stat_activity every 50 ms while the load runs: how many of DBNAME's backends
    are running a statement, and how many of those wait on a lock or on I/O."""

    def __init__(self, admin: str, dbname: str) -> None:
        self.admin, self.dbname = admin, dbname
        self.samples: list[tuple[int, int, int]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with psycopg.connect(self.admin, autocommit=True) as conn:
            while not self.stop.wait(0.05):
                row = conn.execute(
                    "SELECT count(*) FILTER (WHERE state = 'active'),"
                    " count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock'),"
                    " count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'IO')"
                    " FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                    (self.dbname,),
                ).fetchone()
                assert row is not None
                self.samples.append((row[0], row[1], row[2]))

    def means(self) -> tuple[float, float, float]:
        n = max(1, len(self.samples))
        return tuple(sum(s[i] for s in self.samples) / n for i in range(3))  # type: ignore[return-value]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def database(kind: str, workdir: Path, pg: str) -> Iterator[str]:
    """A new, empty database of KIND; PostgreSQL ones are dropped after."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        return
    admin = pg.replace("postgresql+psycopg://", "postgresql://")
    name = f"sf_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield pg.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def prepare(url: str, cases: int) -> list[int]:
    """Migrate, publish the shipped definitions, add the bench clerk, open CASES cases."""
    e = make_engine(url)
    try:
        upgrade(e)
        sessions = make_sessionmaker(e)
        with sessions.begin() as s:
            chain.lock_head(s)
            registry.publish(s, load_definitions(DEFAULT_DEFINITIONS), actor="bench")
        from workflow import users

        with sessions.begin() as s:
            chain.lock_head(s)
            users.add_user(
                s, name="bench", unit=WORKSTATION, role="clerk", password=PASSWORD, actor="bench"
            )
        clerk = Actor("bench", WORKSTATION, "clerk")
        ids: list[int] = []
        while len(ids) < cases:
            with sessions.begin() as s:
                chain.lock_head(s)
                for _ in range(min(OPEN_BATCH, cases - len(ids))):
                    case = engine.open_case(
                        s,
                        item=ITEM,
                        workstation=WORKSTATION,
                        actor=clerk,
                        applicant_name="王芳",
                        applicant_phone="13800000000",
                    )
                    ids.append(case.id)
        return ids
    finally:
        e.dispose()


@contextmanager
def gunicorn(url: str, workers: int, logfile: Path) -> Iterator[str]:
    """gunicorn with WORKERS sync workers on URL, on a socket bound here; yields the base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    env = {**os.environ, "STREETFLOW_DATABASE_URL": url, "STREETFLOW_SECRET_KEY": "bench"}
    env["STREETFLOW_INSTANCE"] = str(logfile.parent / "instance")
    with logfile.open("ab") as out:
        proc = subprocess.Popen(
            [
                GUNICORN,
                "-w",
                str(workers),
                "-b",
                f"fd://{sock.fileno()}",
                "-p",
                str(logfile.parent / "gunicorn.pid"),
                "api:create_app()",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            pass_fds=(sock.fileno(),),
            start_new_session=True,
        )
    sock.close()
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start; see {logfile}")
            try:
                if requests.get(base + "/readyz", timeout=10).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGQUIT)
        proc.wait(30)


def load(base: str, cases: list[int], clients: int) -> tuple[list[float], int, float]:
    """Fire accept then complete on every case from CLIENTS threads: (latencies, errors, wall)."""
    r = requests.post(
        base + "/api/v1/auth/token", json={"username": "bench", "password": PASSWORD}, timeout=30
    )
    r.raise_for_status()
    token = r.json()["token"]
    todo: queue.Queue[int] = queue.Queue()
    for c in cases:
        todo.put(c)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client() -> None:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        mine: list[float] = []
        bad = 0
        while True:
            try:
                case_id = todo.get_nowait()
            except queue.Empty:
                break
            for trigger in ("accept", "complete"):
                t = time.perf_counter()
                resp = http.post(
                    f"{base}/api/v1/cases/{case_id}/transitions",
                    json={"trigger": trigger},
                    timeout=60,
                )
                mine.append(time.perf_counter() - t)
                bad += resp.status_code != 200
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0], time.perf_counter() - start


def run(kind: str, workers: int, args: argparse.Namespace, workdir: Path) -> Row:
    with database(kind, workdir, args.pg) as url:
        log(f"{kind}, {workers} worker(s): opening {args.cases} cases")
        cases = prepare(url, args.cases)
        dbname = url.rsplit("/", 1)[1] if kind == "postgresql" else ""
        waits = Waits(args.pg.replace("postgresql+psycopg://", "postgresql://"), dbname)
        with gunicorn(url, workers, workdir / "gunicorn.log") as base:
            log(f"{kind}, {workers} worker(s): {2 * len(cases)} transitions")
            server = int(Path(workdir / "gunicorn.pid").read_text())
            cpu0 = (tree_cpu(server), time.process_time(), backends_cpu(dbname) if dbname else 0)
            busy0 = machine_busy()
            if dbname:
                waits.thread.start()
            latencies, errors, wall = load(base, cases, args.clients)
            waits.stop.set()
            busy1 = machine_busy()
            cpu1 = (tree_cpu(server), time.process_time(), backends_cpu(dbname) if dbname else 0)
    n = len(latencies)
    spent = [(b - a) * 1e3 / n for a, b in zip(cpu0, cpu1, strict=True)]
    means = waits.means() if dbname else (None, None, None)
    usage = Usage(
        spent[0],
        spent[1],
        spent[2] if dbname else None,
        (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]),
        *means,
    )
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return Row(kind, workers, n - errors, errors, wall, q[49] * 1e3, q[98] * 1e3, usage)


def print_table(rows: list[Row], clients: int) -> None:
    print()
    print(f"Transitions through POST /cases/{{id}}/transitions, {clients} client threads")
    print(
        f"{'database':<11} {'workers':>7} {'transitions':>11} {'errors':>6} "
        f"{'per second':>10} {'p50 ms':>8} {'p99 ms':>8} {'vs 1 worker':>11}"
    )
    for r in rows:
        base = next((b for b in rows if b.db == r.db and b.workers == 1), None)
        ratio = f"{r.per_second / base.per_second:.2f}x" if base else "-"
        print(
            f"{r.db:<11} {r.workers:>7} {r.transitions:>11} {r.errors:>6} "
            f"{r.per_second:>10.0f} {r.p50_ms:>8.1f} {r.p99_ms:>8.1f} {ratio:>11}"
        )
    print()
    print(
        "Where the time went: CPU ms per transition (gunicorn, this client, the database's "
        "backends), the machine's CPUs busy (every process), and PostgreSQL backends running / "
        "waiting on a lock / waiting on I/O, on average"
    )
    print(
        f"{'database':<11} {'workers':>7} {'server':>7} {'client':>7} {'db':>6} {'total':>6} "
        f"{'CPUs busy':>9} {'running':>7} {'on lock':>7} {'on I/O':>6}"
    )
    for r in rows:
        u = r.usage
        if u is None:
            continue
        total = u.server_ms + u.client_ms + (u.db_ms or 0)

        def f(v: float | None, w: int, d: int = 1) -> str:
            return f"{v:>{w}.{d}f}" if v is not None else f"{'-':>{w}}"

        print(
            f"{r.db:<11} {r.workers:>7} {f(u.server_ms, 7, 2)} {f(u.client_ms, 7, 2)} "
            f"{f(u.db_ms, 6, 2)} {total:>6.2f} {u.busy:>9.0%} {f(u.active, 7, 2)} "
            f"{f(u.on_lock, 7, 2)} {f(u.on_io, 6, 2)}"
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--cases", type=int, default=300, help="cases per row, two transitions each (default 300)"
    )
    p.add_argument("--clients", type=int, default=8, help="concurrent client threads (default 8)")
    p.add_argument(
        "--workers",
        default="1,2,4",
        help="gunicorn worker counts, comma-separated (default 1,2,4; 1 is the baseline)",
    )
    p.add_argument(
        "--db",
        default="sqlite,postgresql",
        help="databases, comma-separated (default sqlite,postgresql)",
    )
    p.add_argument(
        "--pg",
        default=DEFAULT_PG,
        help="PostgreSQL server (a database to connect to for CREATE DATABASE)",
    )
    p.add_argument("--dir", type=Path, default=None, help="where the temporary files go")
    args = p.parse_args(argv)
    try:
        worker_counts = [int(w) for w in args.workers.split(",")]
    except ValueError:
        p.error("--workers: numbers separated by commas")
    kinds = args.db.split(",")
    if not set(kinds) <= {"sqlite", "postgresql"}:
        p.error("--db: sqlite, postgresql or both")
    if min(args.cases, args.clients, *worker_counts) < 1:
        p.error("sizes must be positive")

    workdir = Path(tempfile.mkdtemp(prefix="streetflow-bench-http-", dir=args.dir))
    try:
        server = ""
        if "postgresql" in kinds:
            with psycopg.connect(args.pg.replace("postgresql+psycopg://", "postgresql://")) as c:
                server = (
                    f", PostgreSQL {c.info.server_version // 10000}.{c.info.server_version % 100}"
                )
        print(
            f"streetflow bench/http_workers.py: Python {platform.python_version()}, "
            f"{os.cpu_count()} CPUs{server}, gunicorn sync workers on 127.0.0.1, "
            f"load average {os.getloadavg()[0]:.1f} at the start"
        )
        rows = [run(kind, w, args, workdir) for kind in kinds for w in worker_counts]
        print_table(rows, args.clients)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
