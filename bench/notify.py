"""Notifications: the added cost per transition of the outbox (with against without, same run)
and the rows the worker delivers per second (webhooks to a local receiver, SMS to the file sink).

    .venv/bin/python bench/notify.py                     # the numbers in bench/README.md
    .venv/bin/python bench/notify.py --cases 200         # quick look

Part 1: the same transitions (bench/engine.py's script: accept, forward, forward, approve; one
transaction each) are fired in turns of --chunk firings, alternately with the outbox (the
trail's append queues the event) and without it (the queueing replaced by nothing), the order
swapped every turn; the median of the paired per-firing CPU ratios is printed, and the wall
time per firing of each side. SQLite, WAL, synchronous as --sync says (OFF: CPU only).
Part 2: the events queued in part 1 (every case event, a webhook asking for '*') are fanned out
and delivered by worker rounds until none is left; deliveries per second over the whole drain.
Exit status 0; 2 for bad arguments."""

# ruff: noqa: E402  (sys.path is fixed before the imports)
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, bench/ comes first on the path, and its http.py would hide the stdlib's.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import datetime as dt
import importlib.util
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import func, select, text

from workflow.actors import Actor
from workflow.config import Settings
from workflow.notify import manage, outbox, worker
from workflow.runtime import engine
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.models import Delivery

HERE = Path(__file__).resolve().parent


def _bench_engine() -> Any:
    """bench/engine.py (bench/ is not put on sys.path: its http.py would hide the stdlib's)."""
    spec = importlib.util.spec_from_file_location("bench_engine", HERE / "engine.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_engine"] = module
    spec.loader.exec_module(module)
    return module


bench = _bench_engine()


def receiver() -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--cases", type=int, default=800, help="cases, each fired 4 times (800)")
    p.add_argument("--chunk", type=int, default=40, help="firings per turn (40)")
    p.add_argument("--sync", default="OFF", choices=("OFF", "NORMAL", "FULL"))
    p.add_argument("--profile", action="store_true", help="profile the drain (stdout)")
    p.add_argument("--dir", type=Path, help="where the database goes (default: a temp dir)")
    args = p.parse_args(argv)
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="streetflow-notify-"))
    path = workdir / "notify.db"
    cases = bench.prepare(path, args.cases)
    db = make_engine(f"sqlite:///{path}", synchronous=args.sync)
    settings = Settings(instance=workdir / "instance")
    sessions = make_sessionmaker(db, settings)
    server = receiver()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    with sessions.begin() as s:
        s.execute(text("DELETE FROM outbox_events"))  # the openings: not part of the run
        admin = Actor("bench", None, "admin")
        manage.add_webhook(
            s, url=url, events=["*"], actor=admin, now=dt.datetime.now(dt.UTC) - dt.timedelta(1)
        )

    work = [(case, step) for step in bench.script(4) for case in cases]
    real_queue = outbox.queue

    def without(conn: Any, seq: int) -> None:
        return None

    cpu: dict[str, list[float]] = {"with": [], "without": []}
    wall: dict[str, list[float]] = {"with": [], "without": []}
    done, turn = 0, 0
    while done + 2 * args.chunk <= len(work):
        order = ("with", "without") if turn % 2 == 0 else ("without", "with")
        for side in order:
            outbox.queue = real_queue if side == "with" else without  # type: ignore[assignment]
            c0, w0 = time.process_time(), time.perf_counter()
            for case, (trigger, who, reason) in work[done : done + args.chunk]:
                with sessions.begin() as s:
                    engine.fire(s, case.id, trigger, case.actor(who), reason=reason)
            cpu[side].append((time.process_time() - c0) / args.chunk * 1e6)
            wall[side].append((time.perf_counter() - w0) / args.chunk * 1e6)
            done += args.chunk
        turn += 1
    outbox.queue = real_queue  # type: ignore[assignment]
    ratios = [a / b for a, b in zip(cpu["with"], cpu["without"], strict=True)]
    print(f"firings: {done} ({len(ratios)} turns of {args.chunk} each side), sync={args.sync}")
    for side in ("without", "with"):
        print(
            f"  {side:8} outbox: CPU {statistics.median(cpu[side]):7.1f} µs/firing, "
            f"wall {statistics.median(wall[side]):7.1f} µs/firing (medians of the turns)"
        )
    print(f"  with/without CPU per firing, median of paired turns: {statistics.median(ratios):.3f}")

    with sessions() as s:
        queued = s.execute(text("SELECT count(*) FROM outbox_events")).scalar_one()
    t0, c0 = time.perf_counter(), time.process_time()
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        total = prof.runcall(worker.drain, sessions, settings, worker.Policy(batch=200))
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    else:
        total = worker.drain(sessions, settings, worker.Policy(batch=200))
    elapsed, spent = time.perf_counter() - t0, time.process_time() - c0
    with sessions() as s:
        by = dict(
            s.execute(
                select(Delivery.channel, func.count())
                .where(Delivery.status == "delivered")
                .group_by(Delivery.channel)
            ).all()
        )
    print(
        f"drain: {queued} events queued -> {total.fanned_out} fanned out, {total.delivered} "
        f"delivered ({by.get('webhook', 0)} webhooks over HTTP, {by.get('sms', 0)} SMS to the "
        f"file sink), {total.failed + total.dead} failed, in {elapsed:.2f} s: "
        f"{total.delivered / elapsed:,.0f} deliveries/s, {total.fanned_out / elapsed:,.0f} events/s"
    )
    print(
        f"  CPU of this process (the worker and the receiver's thread): {spent:.2f} s, "
        f"{spent / max(1, total.delivered) * 1e3:.2f} ms per delivery"
    )
    server.shutdown()
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
