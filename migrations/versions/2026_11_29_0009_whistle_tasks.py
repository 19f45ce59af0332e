"""tasks: parallel tasks of a case (a joint whistle's departments), task supervisions and extensions

Revision ID: 0009_whistle_tasks
Revises: 0008_trail_written_at
Create Date: 2026-11-29 07:00:00

A new table; supervisions and extensions gain a nullable task id (existing rows are the cases'
own stages, as before).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_whistle_tasks"
down_revision: str | None = "0008_trail_written_at"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("commander", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("lead", sa.Boolean(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("report_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stage_seq", sa.BigInteger(), nullable=True),
        sa.Column("stage_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stage_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stage_yellow_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("light", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_tasks_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index("ix_tasks_case_round", "tasks", ["case_id", "round"])
    op.create_index("ix_tasks_unit_status", "tasks", ["unit", "status"])
    op.create_index("ix_tasks_stage_due_at", "tasks", ["stage_due_at"])
    with op.batch_alter_table("supervisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("task_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("extensions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("task_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("extensions", schema=None) as batch_op:
        batch_op.drop_column("task_id")
    with op.batch_alter_table("supervisions", schema=None) as batch_op:
        batch_op.drop_column("task_id")
    op.drop_index("ix_tasks_stage_due_at", table_name="tasks")
    op.drop_index("ix_tasks_unit_status", table_name="tasks")
    op.drop_index("ix_tasks_case_round", table_name="tasks")
    op.drop_table("tasks")
