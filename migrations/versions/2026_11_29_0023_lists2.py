"""lists at a million cases, part two: the units that hold or have held each case (kept by a
trigger on the trail), a workstation's names in order

Revision ID: 0023_lists2
Revises: 0022_appraisal_scale
Create Date: 2026-11-29 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from workflow.store import search_index

revision: str = "0023_lists2"
down_revision: str | None = "0022_appraisal_scale"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The rule a department's scope kept asking of each case's trail (an event handing the case to
# the unit), written once per (unit, case) as the event is appended: in the statement that
# appends it, whatever appends it (the engine, the sweep's bulk writes, an import).
SQLITE_TRIGGER = (
    "CREATE TRIGGER case_units_held AFTER INSERT ON trail_events"
    " WHEN new.to_holder IS NOT NULL AND new.case_id IS NOT NULL BEGIN"
    " INSERT OR IGNORE INTO case_units (unit, case_id) VALUES (new.to_holder, new.case_id); END"
)
PG_FUNCTION = (
    "CREATE FUNCTION case_units_held() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " IF NEW.to_holder IS NOT NULL AND NEW.case_id IS NOT NULL THEN"
    " INSERT INTO case_units (unit, case_id) VALUES (NEW.to_holder, NEW.case_id)"
    " ON CONFLICT DO NOTHING; END IF; RETURN NULL; END $$"
)
PG_TRIGGER = (
    "CREATE TRIGGER case_units_held AFTER INSERT ON trail_events"
    " FOR EACH ROW EXECUTE FUNCTION case_units_held()"
)
BACKFILL = (
    "INSERT INTO case_units (unit, case_id) SELECT DISTINCT to_holder, case_id FROM trail_events"
    " WHERE to_holder IS NOT NULL AND case_id IS NOT NULL"
)


def upgrade() -> None:
    op.create_table(
        "case_units",
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("unit", "case_id"),
        sqlite_with_rowid=False,
    )
    pg = op.get_bind().dialect.name == "postgresql"
    if pg:
        # Nothing appends while the backfill reads the trail.
        op.execute("LOCK TABLE trail_events IN SHARE ROW EXCLUSIVE MODE")
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)
    op.execute(BACKFILL)
    op.execute(search_index.PG_WORKSTATION_NAME if pg else search_index.SQLITE_WORKSTATION_NAME)


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {search_index.WORKSTATION_NAME_INDEX}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS case_units_held ON trail_events")
        op.execute("DROP FUNCTION IF EXISTS case_units_held()")
    else:
        op.execute("DROP TRIGGER IF EXISTS case_units_held")
    op.drop_table("case_units")
