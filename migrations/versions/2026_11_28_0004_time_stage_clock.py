"""time: the stage's sequence, limit and yellow instant on each case, for the sweep

Revision ID: 0004_time
Revises: 0003_routing
Create Date: 2026-11-28 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_time"
down_revision: str | None = "0003_routing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # stage_seq: the trail event that began the stage (a supervision is raised once per stage);
    # stage_limit_s: the stage's whole limit in working seconds, kept across a pause, so that
    # yellow stays at 75% of the limit; stage_yellow_at: when the light turns yellow, so that
    # the sweep finds what changed with an indexed query instead of computing every case.
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage_seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("stage_limit_s", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("stage_yellow_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_cases_stage_yellow_at", ["stage_yellow_at"], unique=False)
        batch_op.create_index("ix_cases_stage_due_at", ["stage_due_at"], unique=False)
        batch_op.create_index("ix_cases_light", ["light"], unique=False)
    with op.batch_alter_table("extensions", schema=None) as batch_op:
        batch_op.create_index("ix_extensions_case_status", ["case_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("extensions", schema=None) as batch_op:
        batch_op.drop_index("ix_extensions_case_status")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_light")
        batch_op.drop_index("ix_cases_stage_due_at")
        batch_op.drop_index("ix_cases_stage_yellow_at")
        batch_op.drop_column("stage_yellow_at")
        batch_op.drop_column("stage_limit_s")
        batch_op.drop_column("stage_seq")
