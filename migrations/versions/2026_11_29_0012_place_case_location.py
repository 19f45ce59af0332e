"""a case's location: the point and the address it was reported at (routing by place)

Revision ID: 0012_place
Revises: 0011_returns_urgency_ladder
Create Date: 2026-11-29 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_place"
down_revision: str | None = "0011_returns_urgency_ladder"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("lat", sa.Float()))
    op.add_column("cases", sa.Column("long", sa.Float()))
    op.add_column("cases", sa.Column("address", sa.String(500)))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("address")
        batch.drop_column("long")
        batch.drop_column("lat")
