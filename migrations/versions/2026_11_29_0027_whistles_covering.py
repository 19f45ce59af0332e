"""the whistles a street blew: the index of whistle events holds the trigger too, so that asking
whether a case was whistled reads the index alone (SQLite read each whistle event's row to check
its trigger: at a million cases, a thousand rows scattered over the trail for a page's count)

Revision ID: 0027_whistles_covering
Revises: 0026_task_board
Create Date: 2026-11-29 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027_whistles_covering"
down_revision: str | None = "0026_task_board"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHERE = sa.text("\"trigger\" = 'whistle'")


def _whistles(columns: list[str]) -> None:
    op.drop_index("ix_trail_events_whistles", table_name="trail_events")
    op.create_index(
        "ix_trail_events_whistles",
        "trail_events",
        columns,
        sqlite_where=WHERE,
        postgresql_where=WHERE,
    )


def upgrade() -> None:
    _whistles(["case_id", "trigger"])


def downgrade() -> None:
    _whistles(["case_id"])
