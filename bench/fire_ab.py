"""CPU per fire() of two checkouts of streetflow, side by side: what a change to the engine gave.

    git worktree add /tmp/before <commit>                   # the engine to compare against
    .venv/bin/python bench/fire_ab.py /tmp/before           # this checkout against it
    .venv/bin/python bench/fire_ab.py /tmp/before --sync FULL --cases 400

Two worker processes, one per checkout, each with its own copy of a prepared database, fire the
same transitions (bench/engine.py's script: accept, forward, forward, approve, step by step over
all cases, one transaction each, as the API does). They take turns in chunks of --chunk firings,
the order swapped every turn, so a slow minute of a shared machine falls on both; each chunk's
CPU time per firing is paired with the other's, and the median of the paired ratios is printed.
With --sync OFF (the default) no firing waits on the disk: CPU is what the engine itself costs.
Exit status 0; 2 for bad arguments."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def worker(root: Path, n_cases: int, chunk: int, sync: str) -> None:
    """Runs in the child: prepare, say "ready", then one chunk per line read from stdin."""
    sys.path[:0] = [str(root / "bench"), str(root)]  # this checkout's engine and its bench
    import engine as bench  # bench/engine.py of ROOT

    from workflow.runtime import engine
    from workflow.store.db import make_engine, make_sessionmaker

    if not Path(engine.__file__).resolve().is_relative_to(root):
        sys.exit(f"imported {engine.__file__}, not the engine of {root}")

    workdir = Path(tempfile.mkdtemp(prefix="streetflow-ab-"))
    cases = bench.prepare(workdir / "ab.db", n_cases)
    db = make_engine(f"sqlite:///{workdir / 'ab.db'}", synchronous=sync)
    sessions = make_sessionmaker(db)
    work = [(case, step) for step in bench.script(4) for case in cases]
    print("ready", flush=True)
    done = 0
    for _ in sys.stdin:
        cpu = time.process_time()
        for case, (trigger, who, reason) in work[done : done + chunk]:
            with sessions.begin() as s:
                engine.fire(s, case.id, trigger, case.actor(who), reason=reason)
        done += chunk
        print(f"{(time.process_time() - cpu) / chunk * 1e6:.1f}", flush=True)
    db.dispose()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("before", type=Path, help="the other checkout (a git worktree)")
    p.add_argument("--cases", type=int, default=800, help="cases each side fires 4 times (800)")
    p.add_argument("--chunk", type=int, default=40, help="firings per turn (40)")
    p.add_argument("--sync", choices=("OFF", "NORMAL", "FULL"), default="OFF")
    p.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args.worker, args.cases, args.chunk, args.sync)
        return 0
    if not (args.before / "workflow" / "runtime" / "engine.py").exists():
        p.error(f"{args.before} is not a streetflow checkout")
    if min(args.cases, args.chunk) < 1 or args.cases * 4 % args.chunk:
        p.error("--chunk must divide 4 x --cases")
    sides = {"before": args.before.resolve(), "after": HERE.parent}
    options = ["--cases", str(args.cases), "--chunk", str(args.chunk), "--sync", args.sync]
    procs = {
        name: subprocess.Popen(
            [sys.executable, __file__, str(root), "--worker", str(root), *options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for name, root in sides.items()
    }
    for name, proc in procs.items():
        assert proc.stdin is not None and proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            print(f"the {name} worker did not start", file=sys.stderr)
            return 1
    turns = args.cases * 4 // args.chunk
    cpu: dict[str, list[float]] = {name: [] for name in procs}
    for turn in range(turns):
        order = list(procs) if turn % 2 == 0 else list(procs)[::-1]
        for name in order:
            proc = procs[name]
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
            cpu[name].append(float(proc.stdout.readline()))
        if (turn + 1) % 10 == 0:
            print(f"turn {turn + 1}/{turns}", file=sys.stderr, flush=True)
    for proc in procs.values():
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait()
    print(f"CPU per fire(), synchronous={args.sync}, {turns} turns of {args.chunk} firings")
    for name, root in sides.items():
        print(f"{name:<7} {statistics.median(cpu[name]):8.0f} us (median)  {root}")
    ratios = [a / b for a, b in zip(cpu["after"], cpu["before"], strict=True)]
    print(f"after / before: {statistics.median(ratios):.3f} (median of the paired turns)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
