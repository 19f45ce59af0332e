"""Storage: migrations match the models on both databases, and SQLite is durable by default."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text

from workflow.store.models import Base
from workflow.store.search_index import include_object


def test_the_migrations_create_exactly_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        # The search index (FTS5 table, pg_trgm indexes) is the migration's, not the models'.
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_sqlite_is_in_wal_mode_with_full_sync(engine: Engine, db_kind: str) -> None:
    if db_kind != "sqlite":
        pytest.skip("SQLite pragmas")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_postgresql_connections_plan_without_parallel_workers(engine: Engine, db_kind: str) -> None:
    """Every connection streetflow opens to PostgreSQL plans its statements without parallel
    workers (workflow.store.db), a new one from the pool included, and keeps that after a
    rollback: starting workers cost a list more than its whole statement."""
    if db_kind != "postgresql":
        pytest.skip("PostgreSQL's setting")
    for _ in range(2):
        with engine.connect() as conn:
            assert conn.execute(text("SHOW max_parallel_workers_per_gather")).scalar() == "0"
            conn.rollback()
            assert conn.execute(text("SHOW max_parallel_workers_per_gather")).scalar() == "0"
        engine.dispose()  # the next connection is a new one
