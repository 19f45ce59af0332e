"""The chain never forks: parallel writers (threads, and separate processes) append, then it verifies."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.audit.helpers import head
from workflow.audit import chain
from workflow.audit.verify import verify
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.models import TrailEvent, TrailHead

WRITERS, APPENDS = 4, 25


def append_many(sessions: sessionmaker[Session], who: str, n: int) -> None:
    for i in range(n):
        with sessions.begin() as s:
            chain.lock_head(s)
            chain.append(
                s,
                at=dt.datetime.now(dt.UTC),
                actor=who,
                action="test.append",
                data={"i": i, "who": who},
            )


def append_in_process(url: str, who: str, n: int) -> None:
    engine = make_engine(url)
    append_many(make_sessionmaker(engine), who, n)
    engine.dispose()


def assert_one_chain(sessions: sessionmaker[Session], start: int) -> None:
    total = WRITERS * APPENDS
    with sessions() as s:
        report = verify(s, "secret")
        per_writer = dict(
            s.execute(
                select(TrailEvent.actor, func.count())
                .where(TrailEvent.action == "test.append")
                .group_by(TrailEvent.actor)
            ).all()
        )
    assert report.ok, report.problems
    assert report.events_checked == start + total == head(sessions)
    assert per_writer == {f"w{i}": APPENDS for i in range(WRITERS)}


def test_parallel_threads_append_to_one_chain(sessions: sessionmaker[Session]) -> None:
    start = head(sessions)
    errors: list[BaseException] = []

    def run(who: str) -> None:
        try:
            append_many(sessions, who, APPENDS)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert_one_chain(sessions, start)


def test_parallel_processes_append_to_one_chain(
    db_url: str, sessions: sessionmaker[Session]
) -> None:
    start = head(sessions)
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=append_in_process, args=(db_url, f"w{i}", APPENDS))
        for i in range(WRITERS)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * WRITERS
    assert_one_chain(sessions, start)


def test_append_without_the_lock_is_refused(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s, pytest.raises(chain.ChainNotLocked):
        chain.append(s, at=dt.datetime.now(dt.UTC), actor="x", action="test.append")
    # The lock of an earlier transaction of the same session does not count.
    s = sessions()
    with s.begin():
        chain.lock_head(s)
    with s.begin(), pytest.raises(chain.ChainNotLocked):
        chain.append(s, at=dt.datetime.now(dt.UTC), actor="x", action="test.append")
    s.close()


def test_a_session_reused_across_transactions_does_not_fork_the_chain(
    sessions: sessionmaker[Session],
) -> None:
    """expire_on_commit=False keeps objects across commits: the head must not be one of them."""
    s = sessions()
    with s.begin():
        chain.lock_head(s)
        chain.append(s, at=dt.datetime.now(dt.UTC), actor="first", action="test.append")
        shown = s.get(TrailHead, 1)  # e.g. a page that showed the head keeps it in the session
    append_many(sessions, "other", 1)  # another writer moves the head meanwhile
    with s.begin():
        chain.lock_head(s)
        chain.append(s, at=dt.datetime.now(dt.UTC), actor="first", action="test.append")
    s.close()
    with sessions() as s2:
        assert verify(s2, "secret").ok
    assert shown is not None
