"""task street: each task carries its case's street, and a street's tasks awaiting report
have their own index

Revision ID: 0031_task_street
Revises: 0030_http7
Create Date: 2026-11-30 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from workflow.store.board_index import (
    AWAITING_BOARD_INDEX,
    PG_AWAITING_BOARD,
    PG_STREET_BOARD,
    SQLITE_STREET_BOARD,
    STREET_BOARD_INDEX,
)

revision: str = "0031_task_street"
down_revision: str | None = "0030_http7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A street's whistle board asked each of the city's tasks awaiting report for its case's
    # street (26,666 probes into cases at five million cases, 35-48 ms, for a street with none):
    # the task now carries it (workflow.store.models.Task.street). Added in place (ALTER TABLE,
    # a constant default: no copy of the table), then filled from the cases.
    op.add_column(
        "tasks",
        sa.Column("street", sa.String(32), nullable=False, server_default=sa.text("''")),
    )
    pg = op.get_bind().dialect.name == "postgresql"
    # The index first: on PostgreSQL, an index built over the rows the fill below has just
    # updated in place (HOT) is not used by any transaction older than its own (indcheckxmin:
    # a long transaction anywhere in the cluster kept the boards from it).
    op.execute(PG_STREET_BOARD if pg else SQLITE_STREET_BOARD)
    if pg:
        # 0029's index of every task awaiting report, which the street's board walked asking
        # each task its case's street: read by nothing now.
        op.execute(f"DROP INDEX IF EXISTS {AWAITING_BOARD_INDEX}")
        op.execute(
            "UPDATE tasks SET street = cases.street FROM cases WHERE cases.id = tasks.case_id"
        )
    else:
        op.execute(
            "UPDATE tasks SET street = (SELECT cases.street FROM cases WHERE cases.id = tasks.case_id)"
        )


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {STREET_BOARD_INDEX}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_AWAITING_BOARD)
    op.execute('ALTER TABLE tasks DROP COLUMN "street"')
