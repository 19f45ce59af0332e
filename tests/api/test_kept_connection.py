"""What a request leaves to the next one on the same thread. On a SQLite file each thread keeps
its connection from one request to the next (api.db.KeptConnection); on PostgreSQL each request
checks one out of the pool. Either way a request that fails leaves no transaction open and no
change of its own behind, and a connection broken between requests is replaced."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest
import requests
from flask import Flask, abort, jsonify
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from api import db
from workflow import users


def _add(s: Session, name: str) -> None:
    users.add_user(s, name=name, unit="W-ZHL-01", role="clerk", password="pw-123456", actor="t")


def _kept_driver(app: Flask) -> object:
    """The thread's kept driver connection (SQLite), or None (PostgreSQL: the pool's)."""
    conn = app.extensions[db.KEPT_CONNECTION].conn
    return None if conn is None else conn.connection.driver_connection


@pytest.fixture
def probe(app: Flask) -> Flask:
    """The app with a few views that fail after their write began, and one that tells whether
    a user is there and whether the request found a transaction already open."""

    @app.get("/_t/seen/<name>")
    def _seen(name: str):  # type: ignore[no-untyped-def]
        s = db.session()
        open_before = s.in_transaction()
        return jsonify(seen=users.find_user(s, name) is not None, open_before=open_before)

    @app.post("/_t/flush-then-409/<name>")
    def _flush_then_409(name: str):  # type: ignore[no-untyped-def]
        s = db.session()
        _add(s, name)
        s.flush()  # the INSERT is sent: the driver's transaction is open
        abort(409)

    @app.post("/_t/write-then-raise/<name>")
    def _write_then_raise(name: str):  # type: ignore[no-untyped-def]
        with db.write() as w:
            _add(w, name)
            w.flush()
            raise RuntimeError("a bug after the write began")

    @app.post("/_t/flush-then-fail-in-sql/<name>")
    def _flush_then_fail_in_sql(name: str):  # type: ignore[no-untyped-def]
        s = db.session()
        _add(s, name)
        s.flush()
        s.execute(text("SELECT * FROM no_such_table"))  # the database refuses mid-transaction
        return "never"

    @app.post("/_t/add/<name>")
    def _added(name: str):  # type: ignore[no-untyped-def]
        with db.write() as w:
            _add(w, name)
        return "", 204

    return app


def _same_name_elsewhere(engine: Engine, name: str) -> None:
    """Add NAME from another connection and commit, waiting at most 2 s on a lock: it fails if
    the failed request's INSERT of the same name were still open (a write lock on SQLite, the
    unique key's row lock on PostgreSQL) or had been kept."""
    with Session(engine) as s:
        if engine.dialect.name == "sqlite":
            s.execute(text("PRAGMA busy_timeout=2000"))
        else:
            s.execute(text("SET lock_timeout = '2s'"))
        _add(s, name)
        s.commit()


@pytest.mark.parametrize(
    ("path", "statuses"),
    [
        ("/_t/flush-then-409/{}", {409}),
        ("/_t/write-then-raise/{}", {500}),
        # SQLite's "no such table" is an OperationalError (503), PostgreSQL's a ProgrammingError
        ("/_t/flush-then-fail-in-sql/{}", {500, 503}),
    ],
)
def test_a_failed_request_leaves_nothing_to_the_next(
    probe: Flask, engine: Engine, path: str, statuses: set[int]
) -> None:
    client = probe.test_client()
    assert client.get("/_t/seen/nobody").json == {"seen": False, "open_before": False}
    kept = _kept_driver(probe)
    name = f"failed-{abs(hash(path)) % 10_000}"
    assert client.post(path.format(name)).status_code in statuses
    # The next request on this thread: no transaction carried over, the change not there.
    assert client.get(f"/_t/seen/{name}").json == {"seen": False, "open_before": False}
    assert _kept_driver(probe) is kept  # on SQLite the same connection served it
    # Nothing of it is held either: another connection writes the same name at once,
    _same_name_elsewhere(engine, name)
    # and this thread sees it.
    assert client.get(f"/_t/seen/{name}").json == {"seen": True, "open_before": False}
    # The thread's next write is a whole one.
    assert client.post("/_t/add/after-the-failure").status_code == 204
    with Session(engine) as s:
        assert users.find_user(s, "after-the-failure") is not None


def test_a_connection_closed_underneath_is_replaced(
    probe: Flask, engine: Engine, db_kind: str
) -> None:
    client = probe.test_client()
    assert client.post("/_t/add/before-the-break").status_code == 204
    if db_kind == "sqlite":
        driver = _kept_driver(probe)
        assert isinstance(driver, sqlite3.Connection)
        driver.close()
    else:
        # The server drops every connection of the app's (the pool's idle ones included).
        with engine.connect() as c:
            c.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    assert client.get("/_t/seen/before-the-break").json == {"seen": True, "open_before": False}
    assert client.post("/_t/add/after-the-break").status_code == 204
    with Session(engine) as s:
        assert users.find_user(s, "after-the-break") is not None


def test_a_database_file_replaced_underneath_is_opened_anew(
    probe: Flask, engine: Engine, db_kind: str, db_url: str, tmp_path: Path
) -> None:
    if db_kind != "sqlite":
        pytest.skip("a SQLite file replaced on disk")
    path = db_url.removeprefix("sqlite:///")
    client = probe.test_client()
    assert client.post("/_t/add/in-the-old-file").status_code == 204
    # A restored copy: what the old file held, and one user more.
    copy = tmp_path / "restored.db"
    with sqlite3.connect(path) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
        dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with sqlite3.connect(path) as old:
        old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    os.replace(copy, path)
    with Session(engine) as s:
        _add(s, "only-in-the-restored-file")
        s.commit()
    assert client.get("/_t/seen/only-in-the-restored-file").json["seen"] is True
    assert client.get("/_t/seen/in-the-old-file").json["seen"] is True
    assert client.post("/_t/add/after-the-restore").status_code == 204
    with Session(engine) as s:
        assert users.find_user(s, "after-the-restore") is not None


def test_threads_that_end_give_their_connections_back(
    probe: Flask, engine: Engine, server: str
) -> None:
    """The development server (and this suite's) answers each request on a new thread: more
    requests than the pool holds connections (15) are all answered, none waits for one (a
    request that waited would time out here)."""
    for i in range(20):
        # Refusals among them: an error's traceback keeps its thread's objects (the kept
        # connection too) until the garbage collector's next pass, not when the thread ends.
        assert requests.get(f"{server}/_t/seen/nobody-{i}", timeout=10).status_code == 200
        assert requests.post(f"{server}/_t/flush-then-409/x-{i}", timeout=10).status_code == 409
        assert requests.post(f"{server}/_t/write-then-raise/y-{i}", timeout=10).status_code == 500
    with Session(engine) as s:
        assert users.find_user(s, "x-1") is None and users.find_user(s, "y-1") is None
    assert threading.active_count() < 20
