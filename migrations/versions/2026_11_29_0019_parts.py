"""trail partitions: a partition on cases and events, a parts count on the head rows, the
checkpoint's heads and Merkle root, and (PostgreSQL) the sequence partitioned writers draw from

Revision ID: 0019_parts
Revises: 0018_find
Create Date: 2026-11-29 12:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_parts"
down_revision: str | None = "0018_find"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Columns are added and dropped in place (ALTER TABLE), not by a batch's copy of the table: the
# append-only triggers on trail_events and checkpoints stay.
_ADDED = (
    ("cases", "partition", sa.Integer(), "0"),
    ("trail_events", "partition", sa.Integer(), "0"),
    ("trail_head", "parts", sa.Integer(), "1"),
    ("trail_head", "dealt", sa.Integer(), "1"),
)


def upgrade() -> None:
    for table, name, type_, default in _ADDED:
        op.add_column(
            table, sa.Column(name, type_, nullable=False, server_default=sa.text(default))
        )
    op.add_column("checkpoints", sa.Column("heads", sa.JSON(), nullable=True))
    op.add_column("checkpoints", sa.Column("root", sa.String(64), nullable=True))
    op.create_index("ix_trail_events_partition_seq", "trail_events", ["partition", "seq"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE trail_seq AS bigint")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE trail_seq")
    op.drop_index("ix_trail_events_partition_seq", "trail_events")
    dropped = [("checkpoints", "root"), ("checkpoints", "heads")]
    dropped += [(table, name) for table, name, _, _ in _ADDED]
    for table, name in dropped:
        op.execute(f'ALTER TABLE {table} DROP COLUMN "{name}"')
