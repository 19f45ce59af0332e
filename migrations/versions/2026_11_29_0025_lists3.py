"""lists3: the cases' opening time indexed with the id

Revision ID: 0025_lists3
Revises: 0024_blocks_append_only
Create Date: 2026-11-29 17:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025_lists3"
down_revision: str | None = "0024_blocks_append_only"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The cases opened in a period: their lowest and highest id read from the index alone
    # (workflow.queries.search._ids_opened). SQLite's index on the opening time held the id
    # already (its rowid); PostgreSQL's read each case's row for it.
    op.create_index("ix_cases_created_id", "cases", ["created_at", "id"])
    op.drop_index("ix_cases_created_at", "cases")


def downgrade() -> None:
    op.create_index("ix_cases_created_at", "cases", ["created_at"])
    op.drop_index("ix_cases_created_id", "cases")
