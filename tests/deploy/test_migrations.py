"""Migrations apply cleanly on both databases: up from empty, down to nothing, up again."""

from __future__ import annotations

from collections.abc import Callable

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from workflow.store.db import make_engine
from workflow.store.migrate import alembic_config, upgrade
from workflow.store.models import Base
from workflow.store.search_index import include_object

# The search index (FTS5 table, pg_trgm indexes) is the migration's, not the models'.
SEARCH = {"include_object": include_object}


def test_upgrade_from_empty_downgrade_to_base_and_up_again(
    new_database: Callable[[], str],
) -> None:
    engine = make_engine(new_database())
    try:
        upgrade(engine)
        with engine.connect() as conn:
            assert (
                compare_metadata(MigrationContext.configure(conn, opts=SEARCH), Base.metadata) == []
            )

        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        if engine.dialect.name == "postgresql":  # the trail's guard functions go too
            with engine.connect() as conn:
                left = conn.execute(
                    text(
                        "SELECT proname FROM pg_proc JOIN pg_namespace n ON n.oid = pronamespace"
                        " WHERE nspname = 'public'"
                    )
                ).all()
            assert left == []

        upgrade(engine)
        with engine.connect() as conn:
            assert (
                compare_metadata(MigrationContext.configure(conn, opts=SEARCH), Base.metadata) == []
            )
            assert MigrationContext.configure(conn).get_current_revision() is not None
    finally:
        engine.dispose()
