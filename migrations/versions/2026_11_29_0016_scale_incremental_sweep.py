"""the incremental sweep: cases' and tasks' lights indexed with their next instants, and the
trail seq the last complete sweep started at

Revision ID: 0016_scale
Revises: 0015_attach
Create Date: 2026-11-29 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_scale"
down_revision: str | None = "0015_attach"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A sweep asks "green past its yellow instant" and "not red past its deadline": with the
    # light first, the index holds only the stages still to be looked at, not every late one.
    for table in ("cases", "tasks"):
        op.create_index(f"ix_{table}_light_yellow", table, ["light", "stage_yellow_at"])
        op.create_index(f"ix_{table}_light_due", table, ["light", "stage_due_at"])
    op.create_table(
        "sweep_marks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("trail_seq", sa.BigInteger(), nullable=False),
        sa.Column("swept_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sweep_marks")
    for table in ("cases", "tasks"):
        op.drop_index(f"ix_{table}_light_due", table)
        op.drop_index(f"ix_{table}_light_yellow", table)
