"""a unit's inbox read in its order from SQLite's index (SQLite's only)

- ``ix_cases_inbox``: the cases a unit holds in its inbox's order (critical, urgent, the
  others; the nearest stage limit first, none last; then id), of the cases held. The console's
  inbox collected and sorted every case the unit holds for a page of 26 (about 5,000 for a
  clerk's workstation at a million cases); now it reads the page's entries in order
  (workflow.queries.search.SQLITE_MOST_URGENT_FIRST writes the order as the index does).
  PostgreSQL has had its own since 0037_pg11 (the same name; a no-op here on PostgreSQL).

The models do not declare it (workflow.store.search_index.include_object).

Revision ID: 0038_lists12
Revises: 0037_pg11
Create Date: 2026-11-30 15:30:00
"""

from collections.abc import Sequence

from alembic import op

from workflow.store.search_index import INBOX_INDEX, SQLITE_INBOX

revision: str = "0038_lists12"
down_revision: str | None = "0037_pg11"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE_INBOX)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP INDEX IF EXISTS {INBOX_INDEX}")
