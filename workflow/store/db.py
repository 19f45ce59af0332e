"""The database engine and session factory, with SQLite made durable and safe for several writers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from workflow.config import SESSION_INFO_KEY, Settings


def _sqlite_from_hint(_compiler: Any, _table: Any, text: str) -> str:
    """A table hint for SQLite (`.with_hint(t, "NOT INDEXED", "sqlite")`), rendered after the
    table's name as SQLite reads it; SQLAlchemy renders none for SQLite by itself."""
    return text


SQLiteCompiler.get_from_hint_text = _sqlite_from_hint  # type: ignore[method-assign,assignment]


def make_engine(url: str, *, synchronous: str = "FULL", **kwargs: Any) -> Engine:
    """An engine for URL. SQLite runs in WAL mode with synchronous=FULL: a commit survives a
    power cut. PostgreSQL is used as it comes (psycopg 3), without parallel workers."""
    u = make_url(url)
    # JSON columns hold canonical JSON (sorted keys, no spaces, UTF-8): a trail event's data is
    # stored as the very bytes its hash covers, so verify can hash them without re-encoding.
    kwargs.setdefault("json_serializer", _canonical_json)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _serial(dbapi_conn: Any, _record: Any) -> None:
        # No parallel workers: streetflow's statements read a page, a count to a cap or one
        # case. PostgreSQL's planner chose two workers for a street's opened cases counted to
        # 1,001 at five million cases, and starting them took 20 ms of the list's 36, where one
        # process counts them in 4. The month's appraisal took as long without them.
        with dbapi_conn.cursor() as cur:
            cur.execute("SET max_parallel_workers_per_gather = 0")
        dbapi_conn.commit()

    return engine


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def make_sessionmaker(engine: Engine, settings: Settings | None = None) -> sessionmaker[Session]:
    """Sessions on ENGINE that carry SETTINGS (workflow.config.of() reads them back): the engine,
    the clock and the appraisal take the timezone and working hours from there."""
    info = {SESSION_INFO_KEY: settings} if settings is not None else None
    return sessionmaker(engine, expire_on_commit=False, info=info)
