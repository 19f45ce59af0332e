"""On a SQLite file a sweep's batches and users' writes take turns on one writer lock
(workflow.store.writer_lock): a user whose firing waits on a batch writes before the sweep's next
batch, and the sweep's own writes within its batch (a route's timeout) do not wait on it."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0
from tests.time.conftest import chain_intact
from tests.time.test_incremental_sweep import CLERK, DAY, open_cases
from workflow.audit import chain
from workflow.runtime import engine, sla
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.models import TrailEvent


@pytest.fixture(autouse=True)
def _sqlite_only(db_kind: str) -> None:
    if db_kind != "sqlite":
        pytest.skip("turns are a SQLite file's (PostgreSQL queues its row locks' waiters)")


def _sweeper(sessions: sessionmaker[Session], now: object) -> sla.Sweeper:
    return sla.Sweeper(
        sessions, now=now, batch=200, late=sla.Backlog(), budget_s=sla.BATCH_BUDGET_S
    )


def _until(what: str, check: object) -> None:
    deadline = time.monotonic() + 30
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.001)


def test_a_firing_that_waits_on_a_batch_writes_before_the_next_batch(
    sessions: sessionmaker[Session],
) -> None:
    ids = open_cases(sessions, [T0, T0 + DAY])
    late = T0 + 30 * DAY
    other = _sweeper(sessions, late)  # another sweep, its batch in hand
    sweeper = _sweeper(sessions, late)
    assert other.turns is not None and sweeper.turns is not None
    fired: list[BaseException | None] = []

    def user() -> None:
        try:
            with sessions.begin() as s:
                engine.fire(s, ids[0], "forward", CLERK, now=late)
        except BaseException as exc:  # reported below
            fired.append(exc)
        else:
            fired.append(None)

    with sessions() as s:  # planned already: the batch follows the other one at once
        sweeper.carry = sla._plan(s, now=late, limit=200, late=sweeper.late)
    with other.turn(), sessions.begin() as s:
        chain.lock_head(s)
        firing = threading.Thread(target=user)
        firing.start()
        _until("the user waits", other.turns.someone_waiting)
    # The other batch is over: the sweep's next batch comes after the waiting user's firing.
    part, _ = sweeper.step()
    firing.join(30)
    assert fired == [None]
    assert part.supervisions >= 1
    with sessions() as s:
        order = [
            a
            for (a,) in s.execute(
                select(TrailEvent.action)
                .where(TrailEvent.case_id.in_(ids), TrailEvent.action != "case.opened")
                .where(TrailEvent.at == late)
                .order_by(TrailEvent.seq)
            )
        ]
    assert order[0] == "case.transition", order
    assert "supervision.raised" in order[1:]
    with sessions() as s:
        assert chain_intact(s)


def test_a_sweep_with_nobody_waiting_does_not_wait(sessions: sessionmaker[Session]) -> None:
    """Nobody waits: give_way answers at once, and a batch's own firings (timeouts) and a
    sweep to the end go through while the turn is held."""
    ids = open_cases(sessions, [T0, T0 + DAY])
    late = T0 + 30 * DAY
    sweeper = _sweeper(sessions, late)
    assert sweeper.turns is not None
    assert not sweeper.turns.someone_waiting()
    with sweeper.turn(), sessions.begin() as s:
        # A write of the sweep's own within its batch takes the trail's lock without waiting.
        chain.lock_head(s)
        engine.fire(s, ids[0], "forward", CLERK, now=late)
    r = sla.sweep(sessions, now=late)
    assert r.checked >= 1
    with sessions() as s:
        assert chain_intact(s)


def test_without_the_turns_files_writes_and_sweeps_go_on(
    sessions: sessionmaker[Session], db_url: str, tmp_path: Path
) -> None:
    """The files beside the database cannot be opened (here: directories in their place; in
    life a file system without flock(), or another user's files): writers and the sweep wait
    on SQLite's lock alone, as without turns."""
    ids = open_cases(sessions, [T0, T0 + DAY])
    with sessions() as s:
        s.connection().exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    copy = tmp_path / "elsewhere.db"
    shutil.copyfile(Path(make_url(db_url).database or ""), copy)
    (tmp_path / "elsewhere.db.writers").mkdir()
    (tmp_path / "elsewhere.db.waiting").mkdir()
    db = make_engine(f"sqlite:///{copy}")
    there = make_sessionmaker(db)
    late = T0 + 30 * DAY
    with there.begin() as s:
        engine.fire(s, ids[0], "forward", CLERK, now=late)
    r = sla.sweep(there, now=late)
    assert r.supervisions == 1
    with there() as s:
        assert chain_intact(s)
    db.dispose()


def test_a_batch_ends_after_its_chunk_when_a_writer_waits(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that waits for the lock (it said so, and waits for the batch in hand) ends the
    sweep's batch after the chunk in hand once the batch has held the lock half its budget,
    however much budget is left."""
    ids = open_cases(sessions, [T0 + k * DAY / 4 for k in range(5)])
    late = T0 + 30 * DAY
    monkeypatch.setattr(sla, "APPLY_CHUNK", 1)
    sweeper = sla.Sweeper(sessions, now=late, batch=200, late=sla.Backlog(), budget_s=10.0)
    assert sweeper.turns is not None
    with sessions() as s:
        planned = sla._plan(s, now=late, limit=200, late=sweeper.late)
        sla._prepare(s, planned, now=late)
    assert len(planned) == 5
    fired: list[BaseException | None] = []

    def user() -> None:
        try:
            with sessions.begin() as s:
                engine.fire(s, ids[-1], "forward", CLERK, now=late)
        except BaseException as exc:  # reported below
            fired.append(exc)
        else:
            fired.append(None)

    result = sla.SweepResult()
    sweeper.began = time.perf_counter() - 5.0  # the batch has held the lock half its budget
    with sweeper.turn(), sessions.begin() as s:
        chain.lock_head(s)
        firing = threading.Thread(target=user)
        firing.start()
        _until("the user waits", sweeper.turns.someone_waiting)
        rest = sla._apply(
            s,
            planned,
            now=late,
            result=result,
            started=time.perf_counter(),
            budget_s=10.0,
            yielding=sweeper.yielding(s),
        )
    firing.join(30)
    assert fired == [None]
    assert result.checked == 1 and len(rest) == 4


def test_a_queued_batch_goes_before_a_writer_that_comes_back_at_once(
    sessions: sessionmaker[Session], db_url: str
) -> None:
    """A sweep's batch queued behind a writer's transaction writes next, even when that writer
    lets the lock go and asks for it again at once (a user firing case after case): the
    kernel wakes the sweep, but the writer, still running, would take the lock first."""
    import fcntl

    ids = open_cases(sessions, [T0, T0 + DAY, T0 + DAY])
    late = T0 + 30 * DAY
    sweeper = _sweeper(sessions, late)
    assert sweeper.turns is not None
    with sessions() as s:
        sweeper.carry = sla._plan(s, now=late, limit=200, late=sweeper.late)
    sweeping = open(Path(make_url(db_url).database or "").resolve().as_posix() + ".sweeping")  # noqa: SIM115
    done: list[BaseException | None] = []

    def sweep() -> None:
        try:
            sweeper.step()
        except BaseException as exc:  # reported below
            done.append(exc)
        else:
            done.append(None)

    def queued() -> bool:
        try:
            fcntl.flock(sweeping, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(sweeping, fcntl.LOCK_UN)
        return False

    try:
        batch = threading.Thread(target=sweep)
        with sessions.begin() as s:
            engine.fire(s, ids[1], "forward", CLERK, now=late)
            batch.start()
            _until("the batch queues", queued)
        # At once the next write, as a user firing case after case.
        with sessions.begin() as s:
            engine.fire(s, ids[2], "forward", CLERK, now=late)
        batch.join(30)
    finally:
        sweeping.close()
    assert done == [None]
    with sessions() as s:
        order = [
            (a, c)
            for a, c in s.execute(
                select(TrailEvent.action, TrailEvent.case_id)
                .where(TrailEvent.case_id.in_(ids), TrailEvent.action != "case.opened")
                .where(TrailEvent.at == late)
                .order_by(TrailEvent.seq)
            )
        ]
    assert order[0] == ("case.transition", ids[1]), order
    assert order[-1] == ("case.transition", ids[2]), order
    assert ("supervision.raised", ids[0]) in order[1:-1], order
    with sessions() as s:
        assert chain_intact(s)
