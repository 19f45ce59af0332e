"""the dispatch centre's merges (合并): a case merged into another names it

Revision ID: 0013_dispatch
Revises: 0012_place
Create Date: 2026-11-29 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_dispatch"
down_revision: str | None = "0012_place"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("merged_into", sa.Integer()))
    op.create_index("ix_cases_merged_into", "cases", ["merged_into"])


def downgrade() -> None:
    op.drop_index("ix_cases_merged_into", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("merged_into")
