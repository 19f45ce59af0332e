"""the appraisal's open overdue on PostgreSQL: the trail's index by case carries each event's
holder (INCLUDE to_holder), so that each case's last clock event and whether the case is still
held at the period's end are read from the index, and only the rows of the cases still held are
read (at 200,000 cases every event's row was read); SQLite's index is unchanged

Revision ID: 0034_appr9
Revises: 0033_lists9
Create Date: 2026-11-30 06:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0034_appr9"
down_revision: str | None = "0033_lists9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_trail_events_case_seq_action_at"
COLUMNS = ["case_id", "seq", "action", "at"]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(NAME, table_name="trail_events")
    op.create_index(NAME, "trail_events", COLUMNS, postgresql_include=["to_holder"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(NAME, table_name="trail_events")
    op.create_index(NAME, "trail_events", COLUMNS)
