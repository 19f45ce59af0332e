"""On PostgreSQL, writers of different trail partitions do not wait on each other, while one
partition's writes stay totally ordered; and the sweep's marks, one per partition, miss nothing
when seq order is not commit order across partitions. Real connections in threads; the order of
completion is asserted, not timings (lock_timeout keeps a wrong order from hanging)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0, open_case_as
from workflow.actors import Actor
from workflow.audit import chain
from workflow.audit.verify import verify
from workflow.runtime import engine as wf
from workflow.runtime import sla
from workflow.store.models import Case, SweepMark, TrailEvent

ZHL = Actor("clerk", "W-ZHL-01", "clerk")  # street S-ZHL: partition 1 of 3
XGZ = Actor("clerk", "W-XGZ-01", "clerk")  # street S-XGZ: partition 2 of 3


@pytest.fixture(autouse=True)
def _postgresql_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks per partition head: PostgreSQL (SQLite has one writer)")


def three_partitions(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        chain.ensure_partitions(s, 3)


def opened(sessions: sessionmaker[Session], actor: Actor) -> int:
    with sessions.begin() as s:
        return open_case_as(s, "UD-01", workstation=actor.unit, actor=actor, at=T0).id


def limited(s: Session, seconds: int = 20) -> None:
    """A lock wait longer than SECONDS fails the transaction instead of hanging the test."""
    s.execute(text(f"SET LOCAL lock_timeout = '{seconds}s'"))


def wait_for_lock_waiter(sessions: sessionmaker[Session], n: int = 1) -> None:
    """Until N backends of this database wait on a lock (at most 20 s)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with sessions() as s:
            waiting = s.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        if waiting >= n:
            return
        time.sleep(0.05)
    raise AssertionError("no transaction came to wait on a lock")


def test_firings_in_other_streets_do_not_wait_while_one_street_stays_ordered(
    sessions: sessionmaker[Session],
) -> None:
    three_partitions(sessions)
    a = opened(sessions, XGZ)
    b1, b2 = opened(sessions, ZHL), opened(sessions, ZHL)
    with sessions() as s:
        rows = s.execute(select(Case.id, Case.partition).where(Case.id.in_([a, b1, b2])))
        parts = {r.id: r.partition for r in rows}
    assert parts[a] != parts[b1] == parts[b2]
    order: list[str] = []
    b1_fired, release_b1 = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first_b() -> None:
        try:
            with sessions() as s, s.begin():
                limited(s)
                wf.fire(s, b1, "accept", ZHL, now=T0)
                b1_fired.set()  # street B's head is locked until this commits
                assert release_b1.wait(30)
                order.append("B1 commits")
        except BaseException as exc:
            errors.append(exc)
            b1_fired.set()

    def second_b() -> None:
        try:
            with sessions() as s, s.begin():
                limited(s)
                wf.fire(s, b2, "accept", ZHL, now=T0)
            order.append("B2 done")
        except BaseException as exc:
            errors.append(exc)

    t1 = threading.Thread(target=first_b)
    t1.start()
    assert b1_fired.wait(30) and not errors, errors
    t2 = threading.Thread(target=second_b)
    t2.start()
    wait_for_lock_waiter(sessions)  # the second firing in street B waits on B's head
    # Street A's firing goes through while B's head is held, in a transaction that would fail
    # rather than wait on a lock.
    with sessions() as s, s.begin():
        limited(s, 5)
        wf.fire(s, a, "accept", XGZ, now=T0)
    order.append("A done")
    assert order == ["A done"]  # B2 still waits
    release_b1.set()
    t1.join(30)
    t2.join(30)
    assert not errors, errors
    assert order == ["A done", "B1 commits", "B2 done"]
    with sessions() as s:
        ev1, ev2 = (
            s.execute(
                select(TrailEvent).where(
                    TrailEvent.case_id == c, TrailEvent.action == "case.transition"
                )
            ).scalar_one()
            for c in (b1, b2)
        )
        # One street's chain: the second firing links to the first.
        assert ev1.partition == ev2.partition == parts[b1]
        assert ev2.seq > ev1.seq and ev2.prev_hash == ev1.hash
        report = verify(s, "secret")
    assert report.ok, report.problems


def test_the_sweep_misses_an_event_that_commits_after_a_higher_seq_of_another_partition(
    sessions: sessionmaker[Session],
) -> None:
    three_partitions(sessions)
    x, y = opened(sessions, ZHL), opened(sessions, XGZ)
    sla.sweep(sessions, now=T0)  # a first complete sweep: marks for every partition
    x_fired, commit_x = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    seqs: dict[str, int] = {}

    def slow_x() -> None:
        try:
            with sessions() as s, s.begin():
                limited(s)
                seqs["x"] = wf.fire(s, x, "accept", ZHL, now=T0).seq
                x_fired.set()
                assert commit_x.wait(30)
        except BaseException as exc:
            errors.append(exc)
            x_fired.set()

    tx = threading.Thread(target=slow_x)
    tx.start()
    assert x_fired.wait(30) and not errors, errors
    # Another partition's firing draws a higher seq and commits first.
    with sessions.begin() as s:
        seqs["y"] = wf.fire(s, y, "accept", XGZ, now=T0).seq
    assert seqs["y"] > seqs["x"]
    # A sweep starts now: it reads every head (x's partition without x's event), then its
    # batch waits on the partition x holds.
    swept: list[sla.SweepResult] = []
    ts = threading.Thread(target=lambda: swept.append(sla.sweep(sessions, now=T0)))
    ts.start()
    wait_for_lock_waiter(sessions)
    commit_x.set()
    tx.join(30)
    ts.join(60)
    assert not errors and swept, errors
    with sessions() as s:
        marks = {m.id - 1: m.trail_seq for m in s.scalars(select(SweepMark))}
        touched = set(s.execute(sla.touched_since(s, marks)).scalars())
    # A single watermark at the highest seq seen (y's) would skip x's event for good.
    assert seqs["x"] < max(marks.values())
    assert x in touched and y not in touched


def test_racing_writers_over_streets_leave_every_partition_chain_intact(
    sessions: sessionmaker[Session],
) -> None:
    three_partitions(sessions)
    actors = [ZHL, XGZ, Actor("clerk", "W-YNL-01", "clerk")]
    cases = [opened(sessions, actors[i % 3]) for i in range(12)]
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            for case_id in cases[i::4]:
                actor = actors[cases.index(case_id) % 3]
                with sessions() as s, s.begin():
                    limited(s)
                    wf.fire(s, case_id, "accept", actor, now=T0 + dt.timedelta(minutes=1))
        except BaseException as exc:
            errors.append(exc)

    def opener() -> None:
        # Opening a case locks every partition (ascending) while the firings lock one each:
        # no deadlock, nobody waits for ever.
        try:
            for k in range(6):
                opened(sessions, actors[k % 3])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    threads.append(threading.Thread(target=opener))
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with sessions() as s:
        report = verify(s, "secret")
        seqs = list(s.scalars(select(TrailEvent.seq)))
    assert report.ok, report.problems
    assert len(seqs) == len(set(seqs))
    assert [p.events_checked > 0 for p in report.partitions] == [True, True, True]
