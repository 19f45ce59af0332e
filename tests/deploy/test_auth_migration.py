"""The upgrade that makes user names unique regardless of case: existing users get their folded
name; names that would clash stop the upgrade, named, with nothing changed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from alembic.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy import Engine, text

from workflow.store.db import make_engine
from workflow.store.migrate import upgrade

BEFORE = "0006_street_variants"


def add_users(engine: Engine, *names: str) -> None:
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO units (code, name_zh, name_en, kind) "
                "VALUES ('W-1', '一站', 'Station 1', 'workstation')"
            )
        )
        for name in names:
            conn.execute(
                text(
                    "INSERT INTO users (name, unit, role, password_hash, disabled, created_at) "
                    "VALUES (:n, 'W-1', 'clerk', 'x', false, :t)"
                ),
                {"n": name, "t": now},
            )


def revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_existing_names_get_their_folded_key(new_database: Callable[[], str]) -> None:
    engine = make_engine(new_database())
    try:
        upgrade(engine, BEFORE)
        add_users(engine, "Wang.Fang", "li")
        upgrade(engine)
        with engine.connect() as conn:
            keys = dict(conn.execute(text("SELECT name, name_key FROM users")).all())
        assert keys == {"Wang.Fang": "wang.fang", "li": "li"}
    finally:
        engine.dispose()


def test_clashing_names_stop_the_upgrade_and_are_named(new_database: Callable[[], str]) -> None:
    engine = make_engine(new_database())
    try:
        upgrade(engine, BEFORE)
        add_users(engine, "Wang", "wang", "li")
        with pytest.raises(CommandError, match="'Wang' / 'wang'") as caught:
            upgrade(engine)
        assert "'li'" not in str(caught.value)
        assert revision(engine) == BEFORE  # nothing changed
        with engine.begin() as conn:  # the administrator decides which one is renamed
            conn.execute(text("UPDATE users SET name = 'wang2' WHERE name = 'wang'"))
        upgrade(engine)
        assert revision(engine) != BEFORE
    finally:
        engine.dispose()
