"""The baseline of bench/http.py: a bare Flask app on the same stack (Flask, SQLAlchemy, the same
SQLite settings) doing the same writes per request as a transition through the API: take the
trail's lock, update the case row, append one hash-chained trail event, commit durably. No
authentication, no scope, no route machine, no schemas.

create_sqlite3() is the same app with the stdlib `sqlite3` module instead of SQLAlchemy (the
issue's baseline): BEGIN IMMEDIATE, the head read, the case UPDATE, the hash-chained INSERT and
the head moved, one durable commit."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
from typing import Any

from flask import Flask, request
from sqlalchemy import select, update

from workflow.audit import chain
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.models import Case


def create() -> Flask:
    sessions = make_sessionmaker(make_engine(os.environ["STREETFLOW_DATABASE_URL"]))
    app = Flask(__name__)

    @app.post("/bare/cases/<int:case_id>/transitions")
    def fire(case_id: int) -> dict[str, Any]:
        body = request.get_json()
        now = dt.datetime.now(dt.UTC)
        with sessions.begin() as s:
            chain.lock_head(s)
            row = s.execute(
                select(Case.state, Case.version, Case.holder).where(Case.id == case_id)
            ).one()
            s.execute(
                update(Case)
                .where(Case.id == case_id, Case.version == row.version)
                .values(state="ws_handling", version=row.version + 1, updated_at=now)
            )
            chain.append(
                s,
                at=now,
                actor="clerk",
                unit="W-ZHL-01",
                action="case.transition",
                case_id=case_id,
                trigger=body["trigger"],
                from_state=row.state,
                to_state="ws_handling",
                from_holder=row.holder,
                to_holder=row.holder,
                data={},
            )
        return {"id": case_id, "state": "ws_handling", "version": row.version + 1}

    return app


def create_sqlite3() -> Flask:
    path = os.environ["STREETFLOW_DATABASE_URL"].removeprefix("sqlite:///")
    local = threading.local()
    app = Flask(__name__)

    def conn() -> sqlite3.Connection:
        c: sqlite3.Connection | None = getattr(local, "conn", None)
        if c is None:
            c = local.conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=FULL")
            c.execute("PRAGMA busy_timeout=30000")
        return c

    @app.post("/bare/cases/<int:case_id>/transitions")
    def fire(case_id: int) -> dict[str, Any]:
        body = request.get_json()
        now = dt.datetime.now(dt.UTC)
        c = conn()
        c.execute("BEGIN IMMEDIATE")
        try:
            seq, prev = c.execute("SELECT seq, hash FROM trail_head WHERE id = 1").fetchone()
            state, version, holder = c.execute(
                "SELECT state, version, holder FROM cases WHERE id = ?", (case_id,)
            ).fetchone()
            c.execute(
                "UPDATE cases SET state = ?, version = ?, updated_at = ? "
                "WHERE id = ? AND version = ?",
                (
                    "ws_handling",
                    version + 1,
                    now.strftime("%Y-%m-%d %H:%M:%S.%f"),
                    case_id,
                    version,
                ),
            )
            data_text = "{}"
            ev = {
                "seq": seq + 1,
                "actor": "clerk",
                "unit": "W-ZHL-01",
                "action": "case.transition",
                "trigger": body["trigger"],
                "from_state": state,
                "to_state": "ws_handling",
                "from_holder": holder,
                "to_holder": holder,
                "reason": None,
                "prev_hash": prev,
            }
            hashed = {k: ev[k] for k in chain.HASHED_FIELDS if k not in ("at", "case", "data")}
            hashed.update(at=chain.format_at(now), case=case_id)
            digest = chain.link_hash(prev, chain.body_json(hashed, data_text).encode("utf-8"))
            c.execute(
                "INSERT INTO trail_events (seq, at, case_id, actor, unit, action, trigger, "
                "from_state, to_state, from_holder, to_holder, reason, data, prev_hash, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    seq + 1,
                    now.strftime("%Y-%m-%d %H:%M:%S.%f"),
                    case_id,
                    ev["actor"],
                    ev["unit"],
                    ev["action"],
                    ev["trigger"],
                    state,
                    "ws_handling",
                    holder,
                    holder,
                    None,
                    data_text,
                    prev,
                    digest,
                ),
            )
            c.execute("UPDATE trail_head SET seq = ?, hash = ? WHERE id = 1", (seq + 1, digest))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        return {"id": case_id, "state": "ws_handling", "version": version + 1}

    return app
