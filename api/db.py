"""One SQLAlchemy session per request, and the write transaction every change runs in."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import IO, Any

from flask import Flask, current_app, g
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from workflow.audit import chain
from workflow.store.db import make_engine, make_sessionmaker

EXT = "streetflow.sessions"
KEPT = "streetflow.kept_sessions"
SETTINGS = "streetflow.settings"


class WriterLock:
    """Queues this app's writers to one SQLite file, across threads and worker processes.

    SQLite lets one writer in at a time and makes the others poll with growing sleeps (up to
    100 ms each) while they wait; under gunicorn with several workers that idles the database
    most of the time. A blocking flock() on a file beside the database wakes the next writer as
    soon as the lock is free. Writers that do not take it (the CLI) still wait on SQLite's own
    lock, so this changes speed, not safety."""

    def __init__(self, path: str):
        self.path = path
        self.threads = threading.Lock()
        self.file: IO[str] | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        import fcntl

        with self.threads:
            if self.file is None:
                self.file = open(self.path, "a+")  # noqa: SIM115 (kept open for the process)
                weakref.finalize(self, self.file.close)
            fcntl.flock(self.file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self.file, fcntl.LOCK_UN)


def _writer_lock(url: str) -> WriterLock | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    try:
        import fcntl  # noqa: F401 (POSIX only; elsewhere SQLite's own waiting is used)
    except ImportError:
        return None
    return WriterLock(u.database + ".writers")


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions[EXT] = make_sessionmaker(engine, app.extensions[SETTINGS])
    app.extensions[KEPT] = threading.local()
    app.extensions["streetflow.engine"] = engine
    app.extensions["streetflow.writer_lock"] = _writer_lock(app.config["DATABASE_URL"])

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.close()


def session() -> Session:
    """This request's session (opened on first use, closed when the request ends).

    It is the thread's own, kept from one request to the next: closing it ends its transaction,
    gives its connection back and forgets every object it loaded, so a request sees nothing of
    the one before; building a new one each time cost about a tenth of a firing's CPU (the
    Session and its bookkeeping, left in reference cycles for the garbage collector)."""
    if "db_session" not in g:
        kept = current_app.extensions[KEPT]
        s: Session | None = getattr(kept, "session", None)
        if s is None:
            sessions: sessionmaker[Session] = current_app.extensions[EXT]
            s = kept.session = sessions()
        g.db_session = s
    held: Session = g.db_session
    return held


@contextmanager
def write(*, lock: bool = True) -> Iterator[Session]:
    """A write transaction that starts with the trail's lock (the house rule), so SQLite takes
    its write lock first instead of failing to upgrade a read snapshot, and PostgreSQL
    serialises writers. Whatever this request read before is ended first. lock=False only
    where the first statement is an engine call that takes the lock itself (engine.fire)."""
    s = session()
    writers: WriterLock | None = current_app.extensions["streetflow.writer_lock"]
    queue: Any = writers.held() if writers is not None else nullcontext()
    if s.in_transaction():
        if _reads_only_sqlite(s):
            # SQLite ran this request's reads without opening a transaction (pysqlite begins
            # one only before a write): there is no snapshot to end, and the write goes on in
            # the session's transaction and connection instead of giving the connection back
            # to the pool and checking it out again (a tenth of a transition's CPU).
            with queue:
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
    with queue, s.begin():
        if lock:
            chain.lock_head(s)
        yield s


def _reads_only_sqlite(s: Session) -> bool:
    """SESSION's transaction is on one SQLite connection that has no transaction open in the
    driver (only reads ran, each on its own), and holds no change to flush."""
    if s.in_nested_transaction() or s.new or s.dirty or s.deleted:
        return False
    conn = s.connection()  # the transaction's own (the app has one engine)
    if conn.dialect.name != "sqlite":
        return False
    driver = conn.connection.driver_connection
    return driver is not None and not driver.in_transaction
