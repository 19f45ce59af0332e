"""narrow reads for the whistles a street blew and for pages chosen by number: the index of
whistle events holds the trigger too, so that asking whether a case was whistled reads the index
alone (SQLite read each whistle event's row to check its trigger: at a million cases, a thousand
rows scattered over the trail for a page's count); on SQLite, an index of the cases' ids alone,
so that skipping to a page by its number, or sampling ids for an estimate, walks ids and not the
cases' rows (PostgreSQL's primary key is such an index already)

Revision ID: 0028_console5
Revises: 0027_sweep5
Create Date: 2026-11-29 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from workflow.store.search_index import CASE_IDS_INDEX

revision: str = "0028_console5"
down_revision: str | None = "0027_sweep5"
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
    if op.get_bind().dialect.name == "sqlite":
        op.create_index(CASE_IDS_INDEX, "cases", ["id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index(CASE_IDS_INDEX, table_name="cases")
    _whistles(["case_id"])
