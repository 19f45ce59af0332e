"""street variants of routes: a route version may be published for one street

Revision ID: 0006_street_variants
Revises: 0005_audit
Create Date: 2026-11-29 06:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_street_variants"
down_revision: str | None = "0005_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: every version published so far is the district's own.
    with op.batch_alter_table("definition_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("street", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("definition_versions", schema=None) as batch_op:
        batch_op.drop_column("street")
