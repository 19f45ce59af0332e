"""doing the work: a case's result (办理结果)

Revision ID: 0014_work_case_result
Revises: 0013_dispatch
Create Date: 2026-11-29 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_work_case_result"
down_revision: str | None = "0013_dispatch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("result", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("cases", "result")
