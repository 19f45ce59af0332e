"""lists at a million cases: the trail indexed by action and by trigger

Revision ID: 0021_lists
Revises: 0020_sweep3
Create Date: 2026-11-29 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_lists"
down_revision: str | None = "0020_sweep3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# A list newest first within one street, workstation, holder or urgency: the index hands the
# rows over in id order (SQLite sorted a street's 160,000 cases for each page of 25).
CASE_LISTS = ("street", "workstation", "holder", "urgency")


def upgrade() -> None:
    for column in CASE_LISTS:
        op.create_index(f"ix_cases_{column}_id", "cases", [column, "id"])
    # The cases opened in a period (a date filter).
    op.create_index("ix_cases_created_at", "cases", ["created_at"])
    # A state's cases newest first, and a street's cases in a state (its whistle queue).
    op.create_index("ix_cases_state_id", "cases", ["state", "id"])
    op.create_index("ix_cases_street_state", "cases", ["street", "state"])
    # The trail's actions for the console's filter (a loose index scan). Partial on a condition
    # only that scan states (seq > 0), so that no other query is planned on it: with a plain
    # index on the action, SQLite took it over the instants' index for the appraisal's queries
    # (all the trail's transitions read instead of a month's events: 0.65 s to 2.5 s).
    op.create_index(
        "ix_trail_events_action_listed",
        "trail_events",
        ["action"],
        sqlite_where=sa.text("seq > 0"),
        postgresql_where=sa.text("seq > 0"),
    )
    # The cases whistled on (the whistles a street blew). Partial, for the literal condition the
    # list states, as the actions' index above: the appraisal's queries keep their plans.
    op.create_index(
        "ix_trail_events_whistles",
        "trail_events",
        ["case_id"],
        sqlite_where=sa.text("\"trigger\" = 'whistle'"),
        postgresql_where=sa.text("\"trigger\" = 'whistle'"),
    )


def downgrade() -> None:
    op.drop_index("ix_trail_events_whistles", "trail_events")
    op.drop_index("ix_trail_events_action_listed", "trail_events")
    op.drop_index("ix_cases_street_state", "cases")
    op.drop_index("ix_cases_state_id", "cases")
    op.drop_index("ix_cases_created_at", "cases")
    for column in reversed(CASE_LISTS):
        op.drop_index(f"ix_cases_{column}_id", "cases")
