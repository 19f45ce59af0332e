"""returns (退单), case urgency (紧急程度) and the supervision ladder (催办, 督办, 挂牌督办)

Revision ID: 0011_returns_urgency_ladder
Revises: 0010_voice_feedback
Create Date: 2026-11-29 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_returns_urgency_ladder"
down_revision: str | None = "0010_voice_feedback"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "cases", sa.Column("urgency", sa.String(16), nullable=False, server_default="normal")
    )
    for column in (
        sa.Column("explanation", sa.Text()),
        sa.Column("fix_date", sa.Date()),
        sa.Column("answered_by", sa.String(64)),
        sa.Column("answered_at", TS),
        sa.Column("list_at", TS),
        sa.Column("listed_at", TS),
        sa.Column("listed_unit", sa.String(32)),
    ):
        op.add_column("supervisions", column)
    op.create_index("ix_supervisions_list_at", "supervisions", ["list_at"])
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("stage_seq", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(32), nullable=False),
        sa.Column("stage_due_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=False),
        sa.UniqueConstraint("case_id", "stage_seq", name="uq_reminders_case_stage"),
    )
    op.create_index("ix_reminders_case_id", "reminders", ["case_id"])
    op.create_index("ix_reminders_holder", "reminders", ["holder"])
    op.create_table(
        "returns",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("task_id", sa.Integer()),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("stage_seq", sa.BigInteger()),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("sender", sa.String(32)),
        sa.Column("reviewer", sa.String(32), nullable=False),
        sa.Column("arbitration", sa.Boolean(), nullable=False),
        sa.Column("review_due_at", TS, nullable=False),
        sa.Column("review_late_at", TS),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("decided_at", TS),
        sa.Column("decision_reason", sa.Text()),
        sa.Column("to_unit", sa.String(32)),
        sa.Column("at_fault", sa.String(32)),
    )
    op.create_index("ix_returns_case_id", "returns", ["case_id"])
    op.create_index("ix_returns_status_reviewer", "returns", ["status", "reviewer"])
    op.create_index("ix_returns_unit_status", "returns", ["unit", "status"])


def downgrade() -> None:
    op.drop_table("returns")
    op.drop_table("reminders")
    op.drop_index("ix_supervisions_list_at", "supervisions")
    with op.batch_alter_table("supervisions") as batch:
        for name in (
            "explanation",
            "fix_date",
            "answered_by",
            "answered_at",
            "list_at",
            "listed_at",
            "listed_unit",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("urgency")
