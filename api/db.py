"""One SQLAlchemy session per request, and the write transaction every change runs in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from workflow.audit import chain
from workflow.store.db import make_engine, make_sessionmaker

EXT = "streetflow.sessions"


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions[EXT] = make_sessionmaker(engine)
    app.extensions["streetflow.engine"] = engine

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.close()


def session() -> Session:
    """This request's session (opened on first use, closed when the request ends)."""
    if "db_session" not in g:
        sessions: sessionmaker[Session] = current_app.extensions[EXT]
        g.db_session = sessions()
    s: Session = g.db_session
    return s


@contextmanager
def write() -> Iterator[Session]:
    """A write transaction that starts with the trail's lock (the house rule), so SQLite takes
    its write lock first instead of failing to upgrade a read snapshot, and PostgreSQL
    serialises writers. Whatever this request read before is ended first."""
    s = session()
    if s.in_transaction():
        s.commit()  # only reads so far: ends the read snapshot
    with s.begin():
        chain.lock_head(s)
        yield s
