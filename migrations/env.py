"""Alembic environment: streetflow passes its own connection or URL; no alembic.ini needed."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from workflow.store.db import make_engine
from workflow.store.models import Base
from workflow.store.search_index import include_object

config = context.config
target_metadata = Base.metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        run(conn)
    engine.dispose()
