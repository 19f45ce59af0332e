"""fire() writes with Core statements: what a caller holding the case, or the database, sees."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0
from workflow.audit import chain
from workflow.errors import StaleVersion
from workflow.runtime import engine
from workflow.runtime.machines import Actor
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.models import Case, TrailEvent


def open_incident(s: Session, clerk: Actor) -> int:
    case = engine.open_case(
        s,
        item="UD-01",
        workstation="W-ZHL-01",
        actor=clerk,
        applicant_name="李娜",
        applicant_phone="13912345678",
        now=T0,
    )
    return case.id


def test_a_case_held_by_the_session_shows_the_firing(
    sessions: sessionmaker[Session], clerk: Actor
) -> None:
    with sessions.begin() as s:
        cid = open_incident(s, clerk)
    with sessions.begin() as s:
        held = s.get(Case, cid)
        assert held is not None and held.state == "reported"
        before = held.version
        ev = engine.fire(s, cid, "accept", clerk, now=T0)
        # No refresh: the session's own Case shows the row as written, version and all.
        assert (held.state, held.holder, held.version) == ("ws_handling", "W-ZHL-01", before + 1)
        assert held.stage_seq == ev.seq
        # ... and it is clean: committing writes nothing more (no second version bump).
        engine.fire(s, cid, "forward", clerk, expected_version=held.version, now=T0)
    with sessions.begin() as s:
        case = s.execute(select(Case).where(Case.id == cid)).scalar_one()
        assert (case.state, case.version) == ("street_handling", before + 2)
        events = s.execute(
            select(TrailEvent).where(TrailEvent.case_id == cid).order_by(TrailEvent.seq)
        ).scalars()
        stored = {e.seq: e for e in events}
        assert stored[ev.seq].hash == ev.hash and stored[ev.seq].data == ev.data
        assert chain.event_dict(stored[ev.seq]) == chain.event_dict(ev)


def test_a_stale_expected_version_changes_nothing(
    sessions: sessionmaker[Session], clerk: Actor
) -> None:
    with sessions.begin() as s:
        cid = open_incident(s, clerk)
        version = s.get(Case, cid).version  # type: ignore[union-attr]
    with sessions.begin() as s, pytest.raises(StaleVersion):
        engine.fire(s, cid, "accept", clerk, expected_version=version + 1, now=T0)
    with sessions.begin() as s:
        assert s.get(Case, cid).state == "reported"  # type: ignore[union-attr]


def test_a_locked_sqlite_database_is_sqlalchemys_operational_error(
    db_kind: str, db_url: str, sessions: sessionmaker[Session], clerk: Actor
) -> None:
    """The API and CLI answer SQLAlchemy's OperationalError (busy database) with a clear message,
    so fire()'s statements on SQLite's own cursor must raise that, not the driver's error."""
    if db_kind != "sqlite":
        pytest.skip("SQLite's write lock")
    with sessions.begin() as s:
        cid = open_incident(s, clerk)
    other = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    other.execute("BEGIN IMMEDIATE")
    quick = make_engine(db_url, connect_args={"timeout": 0.1})
    try:
        with make_sessionmaker(quick).begin() as s:
            s.connection().exec_driver_sql("PRAGMA busy_timeout=100")
            with pytest.raises(OperationalError):
                engine.fire(s, cid, "accept", clerk, now=T0)
    finally:
        other.rollback()
        other.close()
        quick.dispose()
