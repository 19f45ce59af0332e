"""the trail's index on (to_holder, case_id) dropped: nothing reads it since case_units

The index was the department's scope (a unit's cases: those with an event handing the case to
the unit). Since 0023_lists2 that scope is read from case_units, and no query of the engine, the
API, the console or the appraisal reads this index on either database at city scale (each plan
checked: bench/README.md, "catch11"); it only cost every appended event an entry at a random
place (a page a sweep's stage at 200,000 cases, half the sweep's trail pages).

Revision ID: 0036_catch11
Revises: 0035_lists10
Create Date: 2026-11-30 13:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0036_catch11"
down_revision: str | None = "0035_lists10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_trail_events_to_holder_case"


def upgrade() -> None:
    op.drop_index(INDEX, table_name="trail_events")


def downgrade() -> None:
    op.create_index(INDEX, "trail_events", ["to_holder", "case_id"])
