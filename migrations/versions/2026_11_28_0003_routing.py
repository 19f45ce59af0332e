"""cases pinned to their street's routing table version

Revision ID: 0003_routing
Revises: 0002_appraisal
Create Date: 2026-11-28 01:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_routing"
down_revision: str | None = "0002_appraisal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: cases opened before a street published a routing table follow the district's.
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("routing_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("routing_version")
