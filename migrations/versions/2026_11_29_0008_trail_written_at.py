"""trail events record when the database wrote them

Revision ID: 0008_trail_written_at
Revises: 0007_users_sessions
Create Date: 2026-11-29 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_trail_written_at"
down_revision: str | None = "0007_users_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_NOW = "(strftime('%Y-%m-%d %H:%M:%f', 'now'))"


def _sqlite_guards(create: bool) -> None:
    for what in ("UPDATE", "DELETE"):
        name = f"trail_events_no_{what.lower()}"
        op.execute(
            f"CREATE TRIGGER {name} BEFORE {what} ON trail_events "
            "BEGIN SELECT RAISE(ABORT, 'the trail is append-only'); END"
            if create
            else f"DROP TRIGGER IF EXISTS {name}"
        )


def upgrade() -> None:
    # Events written before this revision keep NULL: when they were written is not known.
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds no column with a non-constant default: the table is rebuilt (its
        # append-only triggers go with the old table and are made again).
        _sqlite_guards(create=False)
        with op.batch_alter_table("trail_events", recreate="always") as batch:
            batch.add_column(sa.Column("written_at", sa.DateTime(timezone=True), nullable=True))
        with op.batch_alter_table("trail_events", recreate="always") as batch:
            batch.alter_column("written_at", server_default=sa.text(SQLITE_NOW))
        _sqlite_guards(create=True)
        return
    op.add_column("trail_events", sa.Column("written_at", sa.DateTime(timezone=True)))
    op.alter_column("trail_events", "written_at", server_default=sa.text("clock_timestamp()"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_guards(create=False)
        with op.batch_alter_table("trail_events", recreate="always") as batch:
            batch.drop_column("written_at")
        _sqlite_guards(create=True)
        return
    op.drop_column("trail_events", "written_at")
