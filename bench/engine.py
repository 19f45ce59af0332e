"""Durable transitions per second through engine.fire() on SQLite, side by side with plain sqlite3
and SpiffWorkflow 3 in the same run; then resident memory over a long run of transitions.

    .venv/bin/python bench/engine.py                      # the numbers in bench/README.md
    .venv/bin/python bench/engine.py --cases 100 --transitions 1000 --compare 400   # quick look

Every database lives in a fresh temporary directory (--dir chooses where), in WAL mode with
synchronous=FULL, one transaction per transition as the API does (except the memory run with
--batch above 1). Progress goes to stderr, the tables to stdout."""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from workflow.actors import Actor
from workflow.catalog import registry
from workflow.config import DEFAULT_DEFINITIONS
from workflow.runtime import engine
from workflow.spec.loader import load_definitions
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.migrate import upgrade

HERE = Path(__file__).resolve().parent
BPMN = HERE / "three_tier.bpmn"  # the three_tier route: the baseline of issue 2's target
BPMN_LINEAR = HERE / "three_tier_linear.bpmn"  # a simplified cut, printed for reference
ITEM = "SW-02"  # 最低生活保障申请: route three_tier, decided by the Civil Affairs Bureau
DEPARTMENT = "D-MZ"
OPEN_BATCH = 500  # cases opened per transaction while setting up (not measured)
REASON = "材料需补充核实"

# ---------------------------------------------------------------- what each case goes through

# (trigger, who fires it, reason)
Step = tuple[str, str, str | None]
ACCEPT: Step = ("accept", "clerk", None)
FORWARD_WS: Step = ("forward", "clerk", None)
FORWARD_STREET: Step = ("forward", "street", None)
SEND_BACK: Step = ("send_back", "dept", REASON)
APPROVE: Step = ("approve", "dept", None)


def script(length: int) -> list[Step]:
    """LENGTH transitions of one three_tier case: received, reviewed by the workstation and the
    street, then (when longer than 4) sent back by the department and forwarded again by the
    street, and approved when the last step falls in dept_review."""
    steps = [ACCEPT, FORWARD_WS, FORWARD_STREET][:length]
    at_department = True
    while len(steps) < length:
        if at_department:
            steps.append(APPROVE if length - len(steps) == 1 else SEND_BACK)
        else:
            steps.append(FORWARD_STREET)
        at_department = not at_department
    return steps


@dataclass(frozen=True)
class BenchCase:
    id: int
    workstation: str
    street: str

    def actor(self, who: str) -> Actor:
        if who == "clerk":
            return Actor(f"clerk@{self.workstation}", self.workstation, "clerk")
        if who == "street":
            return Actor(f"staff@{self.street}", self.street, "staff")
        return Actor(f"staff@{DEPARTMENT}", DEPARTMENT, "staff")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def rss_kib() -> int:
    """Resident memory now (VmRSS), or the peak where /proc is missing."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def prepare(path: Path, n_cases: int) -> list[BenchCase]:
    """A migrated database with the shipped definitions published and N_CASES three_tier cases
    opened, spread over every workstation (not measured)."""
    db = make_engine(sqlite_url(path))
    upgrade(db)
    sessions = make_sessionmaker(db)
    now = dt.datetime.now(dt.UTC)
    with sessions.begin() as s:
        registry.publish(
            s, load_definitions(DEFAULT_DEFINITIONS), actor="bench", now=now - dt.timedelta(1)
        )
        index = registry.units(s)
    workstations = sorted(c for c, u in index.units.items() if u.kind == "workstation")
    cases: list[BenchCase] = []
    for start in range(0, n_cases, OPEN_BATCH):
        with sessions.begin() as s:
            for i in range(start, min(n_cases, start + OPEN_BATCH)):
                ws = workstations[i % len(workstations)]
                case = engine.open_case(
                    s,
                    item=ITEM,
                    workstation=ws,
                    actor=Actor(f"clerk@{ws}", ws, "clerk"),
                    applicant_name="张三",
                    applicant_phone="13800000000",
                    description="申请最低生活保障",
                )
                cases.append(BenchCase(case.id, ws, case.street))
        if n_cases > OPEN_BATCH:
            progress(f"  opened {len(cases)}/{n_cases} cases")
    with db.begin() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    db.dispose()
    return cases


def durability(conn: Any) -> str:
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    sync = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[
        conn.execute("PRAGMA synchronous").fetchone()[0]
    ]
    return f"{journal}/{sync}"


# ---------------------------------------------------------------- contender 1: engine.fire()


class EngineContender:
    name = "engine.fire()"
    unit = "transition"

    def __init__(self, path: Path) -> None:
        self.db: Engine = make_engine(sqlite_url(path))
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.db)
        # As the API holds it (api/db.py): a worker's session, kept from request to request.
        self.session = self.sessions()
        with self.db.connect() as conn:
            self.mode = durability(conn.connection.dbapi_connection)

    def fire(self, case: BenchCase, step: Step) -> None:
        """One firing request: a transaction of its own, then the session closed as the API's
        request teardown closes it."""
        trigger, who, reason = step
        s = self.session
        with s.begin():
            engine.fire(s, case.id, trigger, case.actor(who), reason=reason)
        s.close()

    def fire_many(self, moves: Sequence[tuple[BenchCase, Step]]) -> None:
        """Several transitions in one transaction (the memory run's --batch)."""
        s = self.session
        with s.begin():
            for case, (trigger, who, reason) in moves:
                engine.fire(s, case.id, trigger, case.actor(who), reason=reason)
        s.close()

    def close(self) -> None:
        self.session.close()
        self.db.dispose()


# ---------------------------------------------------------------- contender 2: plain sqlite3

# Where each step of the script leads on three_tier, and the tier that then holds the case.
DEST = {
    ("submitted", "accept"): ("ws_review", "workstation"),
    ("ws_review", "forward"): ("street_review", "street_office"),
    ("street_review", "forward"): ("dept_review", "department"),
    ("dept_review", "send_back"): ("street_review", "street_office"),
    ("dept_review", "approve"): ("approved", None),
}


def _db_time(at: dt.datetime) -> str:
    """How SQLAlchemy stores a UTC timestamp on SQLite."""
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")


def _iso(at: dt.datetime | None) -> str | None:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if at else None


class PlainContender:
    """The physical limit: the same rows written with plain sqlite3 and nothing else (no
    permission checks, no state machine, no working-day calendar, no ORM)."""

    name = "plain sqlite3"
    unit = "transition"

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.mode = durability(self.conn)

    def fire(self, case: BenchCase, step: Step) -> None:
        trigger, who, reason = step
        actor = case.actor(who)
        c = self.conn
        now = dt.datetime.now(dt.UTC)
        c.execute("BEGIN IMMEDIATE")
        try:
            seq, prev_hash = c.execute("SELECT seq, hash FROM trail_head WHERE id = 1").fetchone()
            state, holder, version, started, stage_due, due = c.execute(
                "SELECT state, holder, version, stage_started_at, stage_due_at, due_at"
                " FROM cases WHERE id = ?",
                (case.id,),
            ).fetchone()
            dest, tier = DEST[(state, trigger)]
            to_holder = {
                "workstation": case.workstation,
                "street_office": case.street,
                "department": DEPARTMENT,
                None: None,
            }[tier]
            # Calendar days, not working days: no calendar here, only the same columns written.
            new_due = now + dt.timedelta(days=5) if tier else None
            limit_s = 5 * 8 * 3600 if tier else None
            yellow = now + dt.timedelta(days=3.75) if tier else None
            data = {
                "stage_due_at": _iso(new_due),
                "due_at": _iso(dt.datetime.fromisoformat(due)) if due else None,
                "left": {
                    "state": state,
                    "holder": holder,
                    "started_at": _iso(dt.datetime.fromisoformat(started)),
                    "due_at": _iso(dt.datetime.fromisoformat(stage_due)) if stage_due else None,
                    "late": False,
                    "limit": "response" if state == "submitted" else "days",
                },
            }
            # The data is stored as the very text its hash covers, as fire() stores it.
            data_text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            body = {
                "seq": seq + 1,
                "at": _iso(now),
                "case": case.id,
                "actor": actor.name,
                "unit": actor.unit,
                "action": "case.transition",
                "trigger": trigger,
                "from_state": state,
                "to_state": dest,
                "from_holder": holder,
                "to_holder": to_holder,
                "reason": reason,
                "data": data,
            }
            h = hashlib.sha256(prev_hash.encode("ascii"))
            h.update(
                json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
            )
            digest = h.hexdigest()
            c.execute(
                "INSERT INTO trail_events (seq, at, case_id, actor, unit, action, trigger,"
                " from_state, to_state, from_holder, to_holder, reason, data, prev_hash, hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    seq + 1,
                    _db_time(now),
                    case.id,
                    actor.name,
                    actor.unit,
                    "case.transition",
                    trigger,
                    state,
                    dest,
                    holder,
                    to_holder,
                    reason,
                    data_text,
                    prev_hash,
                    digest,
                ),
            )
            # The columns fire() changes on these steps (the deadline and the yellow time are
            # indexed, for the sweep): state, tier, holder, version, timestamps, stage clock.
            updated = c.execute(
                "UPDATE cases SET state = ?, tier = ?, holder = ?, version = version + 1,"
                " updated_at = ?, stage_started_at = ?, stage_seq = ?, stage_due_at = ?,"
                " stage_limit_s = ?, stage_yellow_at = ?, light = ?"
                " WHERE id = ? AND version = ?",
                (
                    dest,
                    tier,
                    to_holder,
                    _db_time(now),
                    _db_time(now),
                    seq + 1,
                    _db_time(new_due) if new_due else None,
                    limit_s,
                    _db_time(yellow) if yellow else None,
                    "green" if tier else "none",
                    case.id,
                    version,
                ),
            ).rowcount
            assert updated == 1
            c.execute("UPDATE trail_head SET seq = ?, hash = ? WHERE id = 1", (seq + 1, digest))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.conn.close()


# ---------------------------------------------------------------- contender 3: SpiffWorkflow


class SpiffContender:
    """SpiffWorkflow 3 on a BPMN file, persisted as a persistent engine must: each task loads the
    workflow's JSON from SQLite, restores it, completes the next user task with the decision
    taken (the trigger), runs the engine steps after it, serialises it and writes it back, in
    one transaction."""

    unit = "user task"

    def __init__(self, path: Path, bpmn: Path, label: str) -> None:
        from importlib.metadata import version

        from SpiffWorkflow.bpmn.parser import BpmnParser
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
        from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
        from SpiffWorkflow.util.task import TaskState

        self.name = f"SpiffWorkflow {version('SpiffWorkflow')}{label}"
        parser = BpmnParser()
        parser.add_bpmn_file(str(bpmn))
        self.spec = parser.get_spec("three_tier")
        self.workflow_class = BpmnWorkflow
        self.ready = TaskState.READY
        self.serializer = BpmnWorkflowSerializer()
        self.conn = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=FULL"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.mode = durability(self.conn)
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS workflows (id INTEGER PRIMARY KEY, serialization TEXT)"
        )

    def start(self, n: int) -> list[int]:
        """N workflows waiting at their first user task (not measured)."""
        rows = []
        for _ in range(n):
            wf = self.workflow_class(self.spec)
            wf.do_engine_steps()
            rows.append((self.serializer.serialize_json(wf),))
        self.conn.execute("BEGIN")
        first = self.conn.execute("SELECT coalesce(max(id), 0) + 1 FROM workflows").fetchone()[0]
        self.conn.executemany("INSERT INTO workflows (serialization) VALUES (?)", rows)
        self.conn.execute("COMMIT")
        return list(range(first, first + n))

    def task(self, workflow_id: int, actor: str, decision: str) -> None:
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            (serialization,) = c.execute(
                "SELECT serialization FROM workflows WHERE id = ?", (workflow_id,)
            ).fetchone()
            wf = self.serializer.deserialize_json(serialization)
            task = wf.get_next_task(state=self.ready, manual=True)
            task.data.update({"actor": actor, "decision": decision})
            task.run()
            wf.do_engine_steps()
            c.execute(
                "UPDATE workflows SET serialization = ? WHERE id = ?",
                (self.serializer.serialize_json(wf), workflow_id),
            )
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def finished(self, workflow_id: int) -> bool:
        """Whether the workflow has run to its end (checked after the run, not timed)."""
        (serialization,) = self.conn.execute(
            "SELECT serialization FROM workflows WHERE id = ?", (workflow_id,)
        ).fetchone()
        return bool(self.serializer.deserialize_json(serialization).is_completed())

    def close(self) -> None:
        self.conn.close()


# ---------------------------------------------------------------- the side-by-side run


@dataclass
class Tally:
    name: str
    unit: str
    mode: str
    count: int = 0
    seconds: float = 0.0
    cpu: float = 0.0  # this process's CPU time: what the contender costs apart from the disk

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


def timed(tally: Tally, work: Callable[[], int]) -> None:
    start, cpu = time.perf_counter(), time.process_time()
    tally.count += work()
    tally.seconds += time.perf_counter() - start
    tally.cpu += time.process_time() - cpu


Tallies = tuple[Tally, Tally, Tally, Tally]


def compare(workdir: Path, n: int, rounds: int) -> Tallies:
    """N transitions through fire() and through plain sqlite3 (N/4 cases: accept, forward,
    forward, approve), N user tasks of SpiffWorkflow on the route's BPMN (N/4 workflows, the same
    four decisions) and on the linear cut (N/3 workflows), in ROUNDS rounds that take turns so
    that a slow moment of the disk does not fall on one contender only."""
    per_round = max(1, -(-n // (4 * rounds)))  # cases per round and contender
    total_cases = per_round * rounds
    progress(f"compare: preparing {total_cases} cases for fire() and plain sqlite3")
    template = workdir / "template.db"
    cases = prepare(template, total_cases)
    shutil.copyfile(template, workdir / "engine.db")
    shutil.copyfile(template, workdir / "plain.db")
    fire_c = EngineContender(workdir / "engine.db")
    plain_c = PlainContender(workdir / "plain.db")
    spiff_c = SpiffContender(workdir / "spiff.db", BPMN, "")
    linear_c = SpiffContender(workdir / "linear.db", BPMN_LINEAR, ", linear")
    linear_per_round = max(1, -(-per_round * 4 // 3))  # as many tasks as transitions, or more
    progress(f"compare: starting {total_cases + linear_per_round * rounds} SpiffWorkflow workflows")
    workflows = spiff_c.start(total_cases)
    linear = linear_c.start(linear_per_round * rounds)
    tallies = (
        Tally(plain_c.name, plain_c.unit, plain_c.mode),
        Tally(fire_c.name, fire_c.unit, fire_c.mode),
        Tally(spiff_c.name, spiff_c.unit, spiff_c.mode),
        Tally(linear_c.name, linear_c.unit, linear_c.mode),
    )
    steps = script(4)

    def run_cases(contender: EngineContender | PlainContender, chunk: list[BenchCase]) -> int:
        for step in steps:  # step by step over all cases, as work arrives in an office
            for case in chunk:
                contender.fire(case, step)
        return len(steps) * len(chunk)

    def run_workflows(contender: SpiffContender, chunk: list[int], decisions: list[Step]) -> int:
        for trigger, who, _ in decisions:
            for wid in chunk:
                contender.task(wid, who, trigger)
        return len(decisions) * len(chunk)

    linear_steps = [(APPROVE[0], who, None) for who in ("clerk", "street", "dept")]
    for r in range(rounds):
        chunk = cases[r * per_round : (r + 1) * per_round]
        wchunk = workflows[r * per_round : (r + 1) * per_round]
        lchunk = linear[r * linear_per_round : (r + 1) * linear_per_round]
        runs: list[tuple[Tally, Callable[[], int]]] = [
            (tallies[0], lambda chunk=chunk: run_cases(plain_c, chunk)),  # type: ignore[misc]
            (tallies[1], lambda chunk=chunk: run_cases(fire_c, chunk)),  # type: ignore[misc]
            (tallies[2], lambda w=wchunk: run_workflows(spiff_c, w, steps)),  # type: ignore[misc]
            (tallies[3], lambda w=lchunk: run_workflows(linear_c, w, linear_steps)),  # type: ignore[misc]
        ]
        k = r % len(runs)
        for tally, work in runs[k:] + runs[:k]:  # a different one goes first each round
            timed(tally, work)
        progress(
            f"compare: round {r + 1}/{rounds}: "
            + ", ".join(f"{t.name} {t.rate:,.0f}/s" for t in tallies)
        )
    # Every contender did the whole work: the cases and workflows have reached their end.
    assert all(spiff_c.finished(w) for w in workflows) and all(linear_c.finished(w) for w in linear)
    with fire_c.db.connect() as conn:
        ids = [c.id for c in cases]
        states = {
            row[0]
            for row in conn.execute(
                text("SELECT state FROM cases WHERE id BETWEEN :a AND :b"),
                {"a": min(ids), "b": max(ids)},
            )
        }
    assert states == {"approved"}, states
    for contender in (fire_c, plain_c, spiff_c, linear_c):
        contender.close()
    return tallies


def print_compare(tallies: Tallies) -> None:
    plain, fire, spiff, linear = tallies
    print()
    print("Durable transitions per second (SQLite, one transaction each)")
    print()
    header = (
        f"{'contender':<30} {'one unit is':<11} {'mode':<9} {'units':>6} {'seconds':>8}"
        f" {'per second':>10} {'ms each':>8} {'CPU ms each':>11}"
    )
    print(header)
    print("-" * len(header))
    for t in tallies:
        each = 1000 / t.rate if t.rate else 0.0
        cpu = 1000 * t.cpu / t.count if t.count else 0.0
        print(
            f"{t.name:<30} {t.unit:<11} {t.mode:<9} {t.count:>6} {t.seconds:>8.2f}"
            f" {t.rate:>10,.0f} {each:>8.3f} {cpu:>11.3f}"
        )
    print()

    def ratio(a: Tally, b: Tally) -> float:
        return a.rate / b.rate if b.rate else 0.0

    def verdict(value: float, target: float) -> str:
        return f"(target >= {target:.2f}: {'met' if value >= target else 'NOT met'})"

    print(
        f"engine.fire() / plain sqlite3         = {ratio(fire, plain):6.3f}  "
        f"{verdict(ratio(fire, plain), 0.5)}"
    )
    print(
        f"engine.fire() / SpiffWorkflow         = {ratio(fire, spiff):6.3f}  "
        f"{verdict(ratio(fire, spiff), 3.0)}"
    )
    # For reference: against the linear cut, and the most any engine paying one commit per
    # transition could reach against SpiffWorkflow.
    print(f"engine.fire() / SpiffWorkflow, linear = {ratio(fire, linear):6.3f}  (reference only)")
    print(
        f"plain sqlite3 / SpiffWorkflow         = {ratio(plain, spiff):6.3f}  "
        "(the ceiling of the second line)"
    )


# ---------------------------------------------------------------- resident memory


def memory(
    workdir: Path, n_cases: int, n_transitions: int, batch: int
) -> list[tuple[int, int, float]]:
    """N_TRANSITIONS through fire() over N_CASES cases, round after round over all of them;
    (transitions done, RSS KiB, seconds) at ten checkpoints."""
    progress(f"memory: opening {n_cases} cases")
    path = workdir / "memory.db"
    cases = prepare(path, n_cases)
    length = -(-n_transitions // n_cases)
    steps = script(length)
    moves = ((case, step) for step in steps for case in cases)
    fire_c = EngineContender(path)
    every = max(1, n_transitions // 10)
    points = [(0, rss_kib(), 0.0)]
    done = 0
    start = time.perf_counter()
    while done < n_transitions:
        todo = min(batch, n_transitions - done, every - done % every)
        chunk = [next(moves) for _ in range(todo)]
        if batch == 1:
            fire_c.fire(*chunk[0])
        else:
            fire_c.fire_many(chunk)
        done += todo
        if done % every == 0 or done == n_transitions:
            points.append((done, rss_kib(), time.perf_counter() - start))
            progress(
                f"memory: {done:,}/{n_transitions:,} transitions, RSS {points[-1][1] / 1024:.1f} MiB"
            )
    fire_c.close()
    return points


def print_memory(points: list[tuple[int, int, float]], n_cases: int, batch: int) -> None:
    print()
    txn = "one transaction each" if batch == 1 else f"{batch} transitions a transaction"
    print(f"Resident memory of fire() over {n_cases:,} cases ({txn})")
    print()
    header = f"{'transitions':>11} {'RSS MiB':>8} {'vs 1st checkpoint':>18} {'seconds':>8} {'per second':>11}"
    print(header)
    print("-" * len(header))
    for i, (done, kib, seconds) in enumerate(points):
        since = "" if i < 1 else f"{(kib - points[1][1]) / 1024:+.1f} MiB"
        if i == 0:
            rate = ""
        else:
            prev_done, _, prev_s = points[i - 1]
            rate = f"{(done - prev_done) / (seconds - prev_s):,.0f}" if seconds > prev_s else ""
        print(f"{done:>11,} {kib / 1024:>8.1f} {since:>18} {seconds:>8.1f} {rate:>11}")
    if len(points) > 2:
        growth = points[-1][1] - points[1][1]
        span = points[-1][0] - points[1][0]
        print()
        print(
            f"RSS from the 1st checkpoint to the last: {growth / 1024:+.1f} MiB over {span:,} "
            f"transitions ({growth * 1024 / span:+.0f} bytes each)"
        )


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--compare",
        type=int,
        default=4000,
        metavar="N",
        help="transitions (and SpiffWorkflow tasks) timed per contender (default 4000)",
    )
    p.add_argument(
        "--rounds", type=int, default=4, help="rounds the contenders take turns in (default 4)"
    )
    p.add_argument(
        "--cases", type=int, default=10_000, help="cases of the memory run (default 10000)"
    )
    p.add_argument(
        "--transitions",
        type=int,
        default=100_000,
        help="transitions of the memory run (default 100000)",
    )
    p.add_argument(
        "--batch",
        type=int,
        default=20,
        help="transitions per transaction in the memory run (default 20: keeps 100k transitions\n"
        "within a few minutes; 1 is one transaction per transition, as the API does)",
    )
    p.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="where the temporary databases go (default: the system's temp dir)",
    )
    args = p.parse_args(argv)
    if min(args.compare, args.rounds, args.cases, args.transitions, args.batch) < 1:
        p.error("sizes must be positive")

    workdir = Path(tempfile.mkdtemp(prefix="streetflow-bench-", dir=args.dir))
    try:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"streetflow bench/engine.py: Python {platform.python_version()}, SQLite "
            f"{sqlite3.sqlite_version}, {os.cpu_count()} CPUs, load average {load}"
        )
        print(f"engine: {Path(engine.__file__).parents[2]}; databases in {workdir}")
        tallies = compare(workdir, args.compare, args.rounds)
        print_compare(tallies)
        points = memory(workdir, args.cases, args.transitions, args.batch)
        print_memory(points, args.cases, args.batch)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
