"""the task board in pages: tasks by status and stage limit (a street's tasks awaiting report,
found without reading every task)

Revision ID: 0026_task_board
Revises: 0025_lists3
Create Date: 2026-11-29 18:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026_task_board"
down_revision: str | None = "0025_lists3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_tasks_status_due", "tasks", ["status", "stage_due_at"])


def downgrade() -> None:
    op.drop_index("ix_tasks_status_due", table_name="tasks")
