"""unit board: a unit's open tasks, and the tasks awaiting report, in the board's order
(PostgreSQL)

Revision ID: 0029_unit_board
Revises: 0028_console5
Create Date: 2026-11-29 21:00:00
"""

from collections.abc import Sequence

from alembic import op

from workflow.store.board_index import (
    AWAITING_BOARD_INDEX,
    PG_AWAITING_BOARD,
    PG_UNIT_BOARD,
    UNIT_BOARD_INDEX,
)

revision: str = "0029_unit_board"
down_revision: str | None = "0028_console5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A unit's task board (workflow.queries.tasks.unit_inbox): its open tasks, the nearest stage
    # limit first, read in that order from the index and stopped at the page. PostgreSQL
    # collected and sorted them all for each page (10,000 of a department's at five million
    # cases). SQLite keeps its plan (its own index on (unit, status)): not created there.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_UNIT_BOARD)
        # A street's whistle board: the tasks awaiting report in the same order
        # (workflow.queries.tasks.awaiting_report).
        op.execute(PG_AWAITING_BOARD)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {AWAITING_BOARD_INDEX}")
        op.execute(f"DROP INDEX IF EXISTS {UNIT_BOARD_INDEX}")
