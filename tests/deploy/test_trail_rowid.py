"""An instance made before 0041_trail_rowid upgrades with its trail whole: on SQLite the trail's
seq becomes the table's rowid (no index of its own), every event keeps its columns and hash, the
chain holds, the guards still refuse an edit, and new events link on; a downgrade gives the old
table back, as whole."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import DatabaseError

from tests.conftest import T0, open_case_as, trail_intact, walk
from workflow.catalog import registry
from workflow.config import DEFAULT_DEFINITIONS
from workflow.spec.loader import load_definitions
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.migrate import alembic_config, upgrade

BEFORE = "0040_trail_actions"


def _events(db: sa.Engine) -> list[tuple[object, ...]]:
    with db.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text("SELECT * FROM trail_events ORDER BY seq"))]


def _key_is_rowid(db: sa.Engine) -> bool:
    """An event read by its seq is read from the table itself (SQLite's plan says so), and the
    key has no index of its own."""
    with db.connect() as conn:
        own_index = conn.execute(
            sa.text(
                "SELECT count(*) FROM sqlite_master"
                " WHERE tbl_name = 'trail_events' AND name LIKE 'sqlite_autoindex%'"
            )
        ).scalar_one()
        plan = " ".join(
            str(row[-1])
            for row in conn.execute(
                sa.text("EXPLAIN QUERY PLAN SELECT * FROM trail_events WHERE seq = 1")
            )
        )
    return own_index == 0 and "INTEGER PRIMARY KEY" in plan


def _refuses_edits(db: sa.Engine) -> bool:
    for sql in ("UPDATE trail_events SET actor = 'x'", "DELETE FROM trail_events"):
        with db.connect() as conn:
            try:
                conn.execute(sa.text(sql))
            except DatabaseError:
                continue
            return False
    return True


def test_an_old_sqlite_trail_becomes_rowid_keyed_and_stays_whole(
    db_kind: str, new_database: Callable[[], str]
) -> None:
    if db_kind != "sqlite":
        pytest.skip("PostgreSQL's trail keeps its BIGINT key: the migration does nothing there")
    db = make_engine(new_database())
    upgrade(db, BEFORE)
    sessions = make_sessionmaker(db)
    with sessions.begin() as s:
        registry.publish(
            s, load_definitions(DEFAULT_DEFINITIONS), actor="test", now=T0 - dt.timedelta(days=60)
        )
        case_id = open_case_as(s, at=T0).id
        walk(s, case_id, "accept", at=T0)
    before = _events(db)
    assert len(before) >= 2 and not _key_is_rowid(db)

    upgrade(db)
    assert _events(db) == before
    assert _key_is_rowid(db)
    assert _refuses_edits(db)
    with sessions.begin() as s:  # new events link on
        walk(s, case_id, "forward", at=T0 + dt.timedelta(hours=1))
    after = _events(db)
    assert after[: len(before)] == before and len(after) > len(before)
    with sessions() as s:
        assert trail_intact(s)

    cfg = alembic_config()
    with db.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, BEFORE)
    assert _events(db) == after
    assert not _key_is_rowid(db)
    assert _refuses_edits(db)
    db.dispose()
