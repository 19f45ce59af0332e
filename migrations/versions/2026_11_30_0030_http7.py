"""a firing's writes: the single-column indexes of the stage's instants, which no query reads
(the sweep asks by light and instant: ix_cases_light_yellow, ix_cases_light_due and the tasks'
pair)

Revision ID: 0030_http7
Revises: 0029_unit_board
Create Date: 2026-11-30 00:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0030_http7"
down_revision: str | None = "0029_unit_board"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every firing into a new stage moves the case's entry in each index of its instants (two
    # pages each, of the 28 a transition wrote on SQLite); these two on the cases, and the
    # tasks' one, are read by no query: the sweep and the lists were checked (bench/README.md,
    # http7).
    op.drop_index("ix_cases_stage_due_at", table_name="cases")
    op.drop_index("ix_cases_stage_yellow_at", table_name="cases")
    op.drop_index("ix_tasks_stage_due_at", table_name="tasks")


def downgrade() -> None:
    op.create_index("ix_tasks_stage_due_at", "tasks", ["stage_due_at"])
    op.create_index("ix_cases_stage_yellow_at", "cases", ["stage_yellow_at"])
    op.create_index("ix_cases_stage_due_at", "cases", ["stage_due_at"])
