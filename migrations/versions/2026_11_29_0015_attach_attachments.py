"""attachments: photos and scanned documents on cases, stored by SHA-256

Revision ID: 0015_attach
Revises: 0014_work_case_result
Create Date: 2026-11-29 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_attach"
down_revision: str | None = "0014_work_case_result"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("task_id", sa.Integer()),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("material", sa.String(200)),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("location_kept", sa.Boolean(), nullable=False),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.Column("unit", sa.String(32)),
        sa.Column("added_at", TS, nullable=False),
    )
    op.create_index("ix_attachments_case_id", "attachments", ["case_id", "id"])
    op.create_index("ix_attachments_sha256", "attachments", ["sha256"])


def downgrade() -> None:
    op.drop_table("attachments")
