"""the overdue cases: an index of the open cases by id, with their whole limit, so that a list of
the overdue ones counts them up to its cap, samples them for an estimate and reads its page from
the index alone (at 200,000 cases SQLite read 3,700 cases' rows to count a thousand and 4,096
more for the estimate)

Revision ID: 0032_sql8
Revises: 0031_task_street
Create Date: 2026-11-30 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032_sql8"
down_revision: str | None = "0031_task_street"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("closed_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_cases_open_due",
        "cases",
        ["id", "due_at", "closed_at"],
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_cases_open_due", table_name="cases")
