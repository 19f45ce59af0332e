"""the sweep's writes: two supervisions indexes that no query needs (case_id: the leading column
of the unique (case_id, stage_seq); list_at: the listing reads the partial ix_supervisions_to_list,
and nothing else asks by list_at)

Revision ID: 0027_sweep5
Revises: 0026_task_board
Create Date: 2026-11-29 21:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027_sweep5"
down_revision: str | None = "0026_task_board"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A catch-up sweep inserts a supervision per late stage by the hundred thousand: each index
    # is one more b-tree written per row (and by case_id, at a random place).
    op.drop_index("ix_supervisions_case_id", table_name="supervisions")
    op.drop_index("ix_supervisions_list_at", table_name="supervisions")


def downgrade() -> None:
    op.create_index("ix_supervisions_list_at", "supervisions", ["list_at"])
    op.create_index("ix_supervisions_case_id", "supervisions", ["case_id"])
