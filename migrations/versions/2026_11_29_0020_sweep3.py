"""sweep at city scale: the notifications by case (a sweep's lights told), the supervisions
not listed yet by list_at (a sweep's listing)

Revision ID: 0020_sweep3
Revises: 0019_parts
Create Date: 2026-11-29 12:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_sweep3"
down_revision: str | None = "0019_parts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOT_LISTED = sa.text("listed_at IS NULL")


def upgrade() -> None:
    op.create_index("ix_notifications_case_seq", "notifications", ["case_id", "seq"])
    op.create_index(
        "ix_supervisions_to_list",
        "supervisions",
        ["list_at"],
        sqlite_where=NOT_LISTED,
        postgresql_where=NOT_LISTED,
    )


def downgrade() -> None:
    op.drop_index("ix_supervisions_to_list", "supervisions")
    op.drop_index("ix_notifications_case_seq", "notifications")
