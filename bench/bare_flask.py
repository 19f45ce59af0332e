"""The baseline of bench/http.py: a bare Flask app on the same stack (Flask, SQLAlchemy, the same
SQLite settings) doing the same writes per request as a transition through the API: take the
trail's lock, update the case row, append one hash-chained trail event, commit durably. No
authentication, no scope, no route machine, no schemas."""

from __future__ import annotations

import datetime as dt
import os
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
