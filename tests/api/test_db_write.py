"""api.db.write() after the request has read: the write commits once, whole, or not at all.
On SQLite the reads opened no transaction, and the write goes on in the session's transaction
and connection (no return to the pool and checkout between them): these pin that it still
behaves as a fresh write transaction, on both databases."""

from __future__ import annotations

import gc
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import api
from api import create_app, db
from tests.conftest import trail_intact
from tests.trail import trail_problems
from workflow import users
from workflow.actors import Actor
from workflow.errors import NotAllowed
from workflow.runtime import engine, urgency
from workflow.store.models import Case, TrailEvent, User


def _add(s: Session, name: str) -> None:
    users.add_user(s, name=name, unit="W-ZHL-01", role="clerk", password="pw-123456", actor="t")


def _events(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(TrailEvent)) or 0)


def test_a_write_after_reads_commits_once_and_whole(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    before = _events(sessions)
    with app.app_context():
        s = db.session()
        assert users.find_user(s, "writer-one") is None  # a read first
        with db.write() as w:
            _add(w, "writer-one")
        # Seen from another connection at once: committed.
        with sessions() as other:
            assert users.find_user(other, "writer-one") is not None
        # And the request goes on reading and writing.
        assert users.find_user(db.session(), "writer-one") is not None
        with db.write() as w:
            _add(w, "writer-two")
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(User).where(User.name == "writer-two"))
        assert trail_intact(s)
    assert _events(sessions) > before


def test_a_write_after_reads_that_fails_leaves_nothing(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    before = _events(sessions)
    with app.app_context():
        s = db.session()
        assert users.find_user(s, "never-there") is None
        with pytest.raises(RuntimeError), db.write() as w:
            _add(w, "never-there")
            w.flush()
            raise RuntimeError("refused")
        assert users.find_user(db.session(), "never-there") is None
        # The next write of the same request is a whole one again.
        assert users.find_user(db.session(), "after-the-failure") is None
        with db.write() as w:
            _add(w, "after-the-failure")
    with sessions() as s:
        assert users.find_user(s, "never-there") is None
        assert users.find_user(s, "after-the-failure") is not None
        assert trail_intact(s)
    assert _events(sessions) == before + 1


def test_a_change_pending_before_the_write_is_written_with_it(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    with app.app_context():
        s = db.session()
        _add(s, "pending-before")  # added to the session, not flushed: not only reads
        with db.write() as w:
            _add(w, "with-the-write")
    with sessions() as s:
        assert users.find_user(s, "pending-before") is not None
        assert users.find_user(s, "with-the-write") is not None
        assert trail_intact(s)


def _collected(obj: object) -> bool:
    """Whether OBJ is in one of the garbage collector's generations (not frozen)."""
    return any(o is obj for o in gc.get_objects())


def test_a_server_app_settles_its_heap_and_a_test_app_does_not(db_url: str, env: object) -> None:
    gc.unfreeze()
    app = create_app({"DATABASE_URL": db_url})
    assert gc.get_freeze_count() == 0
    app.extensions["streetflow.engine"].dispose()
    try:
        served = create_app()  # as gunicorn's `api:create_app()`
        assert gc.get_freeze_count() > 10_000
        # Once more after its first requests, once the last of them is answered: what they
        # kept is frozen too.
        client = served.test_client()
        for _ in range(api.SETTLE_AGAIN_AFTER - 1):
            assert client.get("/healthz").status_code == 200
        # A frozen object leaves the collector's generations (gc.get_objects() no longer
        # lists it). The freeze count alone cannot tell: frozen objects that die lower it.
        probe = [api.SETTLE_AGAIN_AFTER]
        last = client.get("/healthz")
        assert _collected(probe)  # not before the last answer is sent
        last.close()  # as the server does once the answer is sent
        assert not _collected(probe)
        served.extensions["streetflow.engine"].dispose()
    finally:
        gc.unfreeze()


CLERK = Actor("clerk", "W-ZHL-01", "clerk")


def test_a_write_going_on_after_a_plan_sees_what_committed_meanwhile(
    app: Flask, sessions: sessionmaker[Session], make_case: Callable[..., int]
) -> None:
    """The transition's path (api.resources.cases.fire_planned): the plan's reads, then the
    write in the same transaction (SQLite; PostgreSQL at READ COMMITTED). A case accepted by
    another connection in between is refused as it is now, and one made urgent in between is
    fired on from its new row: the write reads past the plan's reads, as a new one would."""
    accepted, urgent = make_case(), make_case()
    with app.app_context():
        plans = {c: engine.plan_fire(db.session(), c, "accept", CLERK) for c in (accepted, urgent)}
        read_on = db.session().connection().connection.driver_connection
        with sessions.begin() as other:
            engine.fire(other, accepted, "accept", CLERK)
            urgency.set_urgency(
                other, case_id=urgent, actor=CLERK, urgency="urgent", reason="积水漫进楼道"
            )
        with db.write(lock=False, after_reads=True) as w:
            # The same connection and transaction: not given back to the pool in between.
            assert w.connection().connection.driver_connection is read_on
            engine.commit_fire(w, plans[urgent])
    with app.app_context():
        assert engine.get_case(db.session(), accepted).state == "ws_handling"  # reads first
        read_on = db.session().connection().connection.driver_connection
        with pytest.raises(NotAllowed), db.write(lock=False, after_reads=True) as w:
            assert w.connection().connection.driver_connection is read_on
            engine.commit_fire(w, plans[accepted])  # planned before the other's accept
    assert plans[urgent].redone
    with sessions() as s:
        got = {c: s.get(Case, c) for c in (accepted, urgent)}
        assert got[accepted] is not None and got[accepted].version == 2
        assert got[urgent] is not None
        assert (got[urgent].urgency, got[urgent].state) == ("urgent", "ws_handling")
    assert trail_problems(sessions) == []
