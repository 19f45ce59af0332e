"""the whistles a street blew, from the cases: whether a case was ever whistled (cases.whistled,
kept by a trigger on the trail) and an index of the whistled cases by street and id

Nothing on a case said it was whistled (whistle_target is cleared when the case moves on), so a
street's whistles were its cases with a whistle event in their trail: a count to the cap merged
the street's every id with the city's whistle events (14,000 index entries and 7,000 events
read at 200,000 cases for a count of 1,001). The column is set in the statement that appends
the case's whistle event (as case_units is, migration 0023_lists2), whatever appends it (the
engine, a bulk import), and this migration sets it for the cases whistled before it.

Revision ID: 0035_lists10
Revises: 0034_appr9
Create Date: 2026-11-30 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035_lists10"
down_revision: str | None = "0034_appr9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGER = (
    "CREATE TRIGGER cases_whistled AFTER INSERT ON trail_events"
    " WHEN new.\"trigger\" = 'whistle' AND new.case_id IS NOT NULL BEGIN"
    " UPDATE cases SET whistled = 1 WHERE id = new.case_id AND whistled = 0; END"
)
PG_FUNCTION = (
    "CREATE FUNCTION cases_whistled() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " UPDATE cases SET whistled = true WHERE id = NEW.case_id AND NOT whistled;"
    " RETURN NULL; END $$"
)
PG_TRIGGER = (
    "CREATE TRIGGER cases_whistled AFTER INSERT ON trail_events FOR EACH ROW"
    " WHEN (NEW.\"trigger\" = 'whistle' AND NEW.case_id IS NOT NULL)"
    " EXECUTE FUNCTION cases_whistled()"
)
# (the literal: the condition of the trail's partial index of its whistle events)
BACKFILL = (
    "UPDATE cases SET whistled = {true} WHERE id IN"
    " (SELECT case_id FROM trail_events WHERE \"trigger\" = 'whistle')"
)
INDEX = "ix_cases_street_whistled"
# Every GIN index of the cases (the searches' trigram indexes): its pending entries (the
# backfill's updated rows) moved into the index itself. A GIN index keeps new entries in a
# pending list that every search reads through until a vacuum merges them: after the backfill at
# a million cases the phone search read 374 pages instead of 19 (31-38 ms against 12-14).
# VACUUM cannot run in the migration's transaction; this function can.
GIN_CLEAN = (
    "SELECT gin_clean_pending_list(x.indexrelid) FROM pg_index x"
    " JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am a ON a.oid = i.relam"
    " WHERE x.indrelid = 'cases'::regclass AND a.amname = 'gin'"
)


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.add_column(
        "cases", sa.Column("whistled", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    if pg:
        # Nothing appends while the backfill reads the trail.
        op.execute("LOCK TABLE trail_events IN SHARE ROW EXCLUSIVE MODE")
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)
    op.execute(BACKFILL.format(true="true" if pg else "1"))
    op.create_index(
        INDEX,
        "cases",
        ["street", "id", "whistled"],
        sqlite_where=sa.text("whistled = 1"),
        postgresql_where=sa.text("whistled"),
    )
    if pg and op.get_bind().execute(sa.text("SELECT EXISTS (SELECT 1 FROM cases)")).scalar():
        # The planner's estimate of a street's whistles (a count beyond the cap) reads the new
        # column's statistics: without them it guesses until autovacuum analyzes the table.
        # (Not an empty table: its statistics would say it has none, and a list's estimate
        # trusts the planner once a table has been analyzed: paging._has_statistics.)
        op.execute("ANALYZE cases")
    if pg:
        op.execute(GIN_CLEAN)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="cases")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS cases_whistled ON trail_events")
        op.execute("DROP FUNCTION IF EXISTS cases_whistled()")
    else:
        op.execute("DROP TRIGGER IF EXISTS cases_whistled")
    op.drop_column("cases", "whistled")
