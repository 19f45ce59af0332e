"""the trail's events of an action in seq order: the actions' partial index by (action, seq)

An auditor's trail filtered by an action (the API's `/audit/events?action=`, the console's
trail page) was read in seq order from the primary key, each event asked for its action: the
district's 334 appeals of a million cases took 0.9 s on SQLite, a street's none of them 1.6 s
(every event read). The partial index of the actions (0021_lists) held the action alone, so the
events of an action came out in rowid order, not seq's, and were sorted whole (a street's opened
cases: 1.2 s). With the seq beside the action the index hands an action's events over in the
list's order, and a page stops at its page. Still partial on `seq > 0` (which every event
meets), for the reason 0021_lists gives: no other query is planned on it (the appraisal's keep
the instants' index). The list states the condition (workflow.queries.trail.list_events); the
actions' loose scan too.

Revision ID: 0040_trail_actions
Revises: 0039_pg12
Create Date: 2026-11-30 23:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0040_trail_actions"
down_revision: str | None = "0039_pg12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "ix_trail_events_action_listed"
NEW = "ix_trail_events_action_seq"
LISTED = sa.text("seq > 0")


def upgrade() -> None:
    op.create_index(
        NEW, "trail_events", ["action", "seq"], sqlite_where=LISTED, postgresql_where=LISTED
    )
    op.drop_index(OLD, table_name="trail_events")


def downgrade() -> None:
    op.create_index(OLD, "trail_events", ["action"], sqlite_where=LISTED, postgresql_where=LISTED)
    op.drop_index(NEW, table_name="trail_events")
