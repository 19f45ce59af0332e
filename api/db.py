"""One SQLAlchemy session per request, and the write transaction every change runs in."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from workflow.audit import chain
from workflow.store.db import make_engine, make_sessionmaker

EXT = "streetflow.sessions"
KEPT = "streetflow.kept_sessions"
KEPT_CONNECTION = "streetflow.kept_connection"
KEPT_PATH = "streetflow.kept_path"
SETTINGS = "streetflow.settings"


class KeptConnection(threading.local):
    """This thread's own connection to a SQLite file, kept from one request to the next.

    Checking a connection out of SQLAlchemy's pool and back in (with its reset ROLLBACK) cost
    about 5 % of a transition's CPU; a thread keeps one instead. SQLite only: a connection to
    a file is cheap and cannot be dropped by a server, where PostgreSQL's pool pings each one it
    hands out. A thread that ends gives its connection back to the pool once the thread's
    objects are freed (init_app: that pool has no ceiling)."""

    conn: Connection | None = None
    pid = 0
    file: tuple[int, int] | None = None

    def get(self, engine: Engine, path: str) -> Connection:
        conn = self.conn
        if conn is not None and self._usable(conn, path):
            return conn
        if conn is not None:
            self._drop(conn)
        conn = self.conn = engine.connect()
        self.pid = os.getpid()
        self.file = _file_id(path)
        return conn

    def _usable(self, conn: Connection, path: str) -> bool:
        """Whether CONN can serve the next request: open, valid, no transaction left open,
        made in this process, and on the file now at PATH (one replaced underneath, a restore,
        is opened anew instead of written to where no one reads it)."""
        if conn.closed or conn.invalidated or conn.in_transaction() or self.pid != os.getpid():
            return False
        driver = conn.connection.driver_connection
        try:
            if driver is None or driver.in_transaction:
                return False
        except Exception:  # sqlite3.ProgrammingError: closed underneath
            return False
        return self.file is not None and self.file == _file_id(path)

    def _drop(self, conn: Connection) -> None:
        self.conn = None
        if self.pid != os.getpid():
            return  # the parent process's: never touched from here
        try:
            conn.invalidate()  # closes the driver's connection, rolling back what it held
            conn.close()
        except Exception:  # already broken: nothing more to free
            pass


def _file_id(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _kept_path(url: str) -> str | None:
    """The file whose connections are kept per thread: a SQLite file's, else None."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    if u.database.startswith("file:"):
        return None  # a URI filename: left to the pool
    return os.path.abspath(u.database)


def init_app(app: Flask) -> None:
    kept_path = _kept_path(app.config["DATABASE_URL"])
    # Kept connections leave the pool's count only when their thread's objects are freed: after
    # the thread ends, or at the garbage collector's next pass when an error's traceback holds
    # them. A thread per request (the development server) would then wait on a full pool; a
    # SQLite file's connections are cheap, so its pool has no ceiling (beyond 5 idle ones it
    # closes what comes back).
    overflow: dict[str, Any] = {"max_overflow": -1} if kept_path is not None else {}
    engine = make_engine(app.config["DATABASE_URL"], **overflow)
    app.extensions[EXT] = make_sessionmaker(engine, app.extensions[SETTINGS])
    app.extensions[KEPT] = threading.local()
    app.extensions[KEPT_CONNECTION] = KeptConnection()
    app.extensions[KEPT_PATH] = kept_path
    app.extensions["streetflow.engine"] = engine

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            # Ends the transaction (a rollback if it was not committed) and forgets every
            # object it loaded; a kept connection stays open for the thread's next request.
            session.close()


def session() -> Session:
    """This request's session (opened on first use, closed when the request ends).

    It is the thread's own, kept from one request to the next: closing it ends its transaction,
    gives its connection back and forgets every object it loaded, so a request sees nothing of
    the one before; building a new one each time cost about a tenth of a firing's CPU (the
    Session and its bookkeeping, left in reference cycles for the garbage collector). On a
    SQLite file it runs on the thread's kept connection (KeptConnection), checked first."""
    if "db_session" not in g:
        app = current_app
        kept = app.extensions[KEPT]
        s: Session | None = getattr(kept, "session", None)
        if s is None:
            sessions: sessionmaker[Session] = app.extensions[EXT]
            s = kept.session = sessions()
        path: str | None = app.extensions[KEPT_PATH]
        if path is not None:
            s.bind = app.extensions[KEPT_CONNECTION].get(app.extensions["streetflow.engine"], path)
        g.db_session = s
    held: Session = g.db_session
    return held


@contextmanager
def write(*, lock: bool = True, after_reads: bool = False) -> Iterator[Session]:
    """A write transaction that starts with the trail's lock (the house rule), so SQLite takes
    its write lock first instead of failing to upgrade a read snapshot, and PostgreSQL
    serialises writers. On a SQLite file the lock's first statement waits for the writer lock
    (workflow.store.writer_lock: writers queued by the kernel across gunicorn's workers, not
    by SQLite's busy handler's sleeps), held until the transaction ends. Whatever this request
    read before is ended first, or the write goes on in its transaction where that is the same
    (_goes_on). lock=False only where the first statement is an engine call that takes the lock
    itself (engine.fire). AFTER_READS: the caller knows that its session has only read so far."""
    s = session()
    if s.in_transaction():
        if _goes_on(s, after_reads):
            # The write goes on in the session's transaction and connection instead of
            # ending it, giving the connection back to the pool and checking one out again
            # (on PostgreSQL a COMMIT, a ROLLBACK and a ping: three round trips).
            tx = s.get_transaction()
            assert tx is not None
            try:
                if lock:
                    chain.lock_head(s)
                yield s
            except BaseException:
                tx.rollback()
                raise
            try:
                tx.commit()
            except BaseException:
                if tx.is_active:
                    tx.rollback()
                raise
            return
        s.commit()  # only reads so far: ends the read snapshot
    with s.begin():
        if lock:
            chain.lock_head(s)
        yield s


def _goes_on(s: Session, after_reads: bool) -> bool:
    """Whether a write may go on in SESSION's transaction as if it began it: the session holds
    no change to flush, and what it read holds nothing the write would not see anew. On
    SQLite, no transaction is open in the driver (pysqlite runs reads each on its own, and
    begins one only before a write). On PostgreSQL at READ COMMITTED (every statement reads
    what is committed when it runs), when the caller knows its session only read
    (AFTER_READS): a write made there without the lock would otherwise commit with ours."""
    if s.in_nested_transaction() or s.new or s.dirty or s.deleted:
        return False
    # The transaction's own connection (the app has one engine): on a SQLite file the
    # session's bind, the thread's kept one, without asking the session for it.
    bind = s.bind
    conn = bind if isinstance(bind, Connection) else s.connection()
    if conn.dialect.name == "sqlite":
        driver = conn.connection.driver_connection
        return driver is not None and not driver.in_transaction
    return (
        after_reads
        and conn.dialect.name == "postgresql"
        and "isolation_level" not in conn.get_execution_options()
        and conn.dialect.default_isolation_level == "READ COMMITTED"
    )
