"""On a SQLite file the API's writers queue on the writer lock (workflow.store.writer_lock) with
every other writer that takes the trail's lock, another process's included: a transition that
comes while another writer holds it waits on the kernel, not in SQLite's busy handler, and is
written after that writer's commit. Where the lock's files cannot be used, writes go on."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import Engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from workflow.actors import Actor
from workflow.audit import chain
from workflow.runtime import engine as wf
from workflow.store import writer_lock
from workflow.store.models import TrailEvent

CLERK = Actor("clerk", "W-ZHL-01", "clerk")


@pytest.fixture(autouse=True)
def _sqlite_only(db_kind: str) -> None:
    if db_kind != "sqlite":
        pytest.skip("the writer lock is a SQLite file's (PostgreSQL queues its row locks' waiters)")


def _transitions(sessions: sessionmaker[Session], ids: list[int]) -> list[int]:
    """The cases of IDS in the order of their transitions in the trail."""
    with sessions() as s:
        return list(
            s.execute(
                select(TrailEvent.case_id)
                .where(TrailEvent.case_id.in_(ids), TrailEvent.action == "case.transition")
                .order_by(TrailEvent.seq)
            ).scalars()
        )


def test_a_transition_waits_for_another_processs_writer_and_comes_after_it(
    app: Flask,
    login: Callable[..., Client],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
    engine: Engine,
) -> None:
    """The test's own engine stands for another process (its own lock files, opened apart
    from the app's): while it holds the lock, longer than the app's SQLite would wait (its busy
    timeout cut to 100 ms here), the API's transition says that it waits and is not refused;
    its event follows the other writer's in the trail."""
    mine, theirs = make_case("UD-01"), make_case("UD-01")
    clerk = login("W-ZHL-01", "clerk")

    @event.listens_for(app.extensions["streetflow.engine"], "checkout")
    def _impatient(dbapi_conn: Any, *_: object) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=100")

    lock = writer_lock.for_engine(engine)
    assert lock is not None and not lock.someone_waiting()
    answers: list[requests.Response | BaseException] = []

    def user() -> None:
        try:
            answers.append(clerk.post(f"/cases/{mine}/transitions", json={"trigger": "accept"}))
        except BaseException as exc:  # reported below
            answers.append(exc)

    with sessions.begin() as s:
        chain.lock_head(s)
        wf.fire(s, theirs, "accept", CLERK)
        firing = threading.Thread(target=user)
        firing.start()
        deadline = time.monotonic() + 30
        while not lock.someone_waiting():
            assert time.monotonic() < deadline, "the API's write never waited on the lock"
            time.sleep(0.001)
        time.sleep(0.5)  # five times SQLite's busy timeout: the write still waits
        assert not answers  # still waiting: nothing answered before the other commit
    firing.join(30)
    assert len(answers) == 1 and not isinstance(answers[0], BaseException)
    assert answers[0].status_code == 200, answers[0].text
    assert _transitions(sessions, [mine, theirs]) == [theirs, mine]
    assert not lock.someone_waiting()


def test_without_the_lock_files_transitions_go_on(
    db_url: str,
    tmp_path: Path,
    login: Callable[..., Client],
    make_case: Callable[..., int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The files beside the database cannot be opened (here: directories in their place; in
    life a file system without flock(), or another user's files): writers wait on SQLite's lock
    alone, and the log says why."""
    database = Path(make_url(db_url).database or "")
    assert database.parent == tmp_path
    (tmp_path / f"{database.name}.writers").mkdir()
    (tmp_path / f"{database.name}.waiting").mkdir()
    case_id = make_case("UD-01")
    clerk = login("W-ZHL-01", "clerk")
    with caplog.at_level(logging.WARNING, logger="workflow.store.writer_lock"):
        r = clerk.post(f"/cases/{case_id}/transitions", json={"trigger": "accept"})
        assert r.status_code == 200, r.text
        r = clerk.post(f"/cases/{case_id}/transitions", json={"trigger": "forward"})
        assert r.status_code == 200, r.text
    assert clerk.get(f"/cases/{case_id}").json()["version"] == 3
    assert any("writers cannot queue" in m for m in caplog.messages)
