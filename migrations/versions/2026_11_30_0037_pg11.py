"""the cases opened in a period read day by day, and a name's first two characters read newest
first (PostgreSQL's only)

- ``ix_cases_opened_day``: the cases by the day they were opened in the city's time zone, then
  id. A list of a period's cases newest first read the lowest and highest id of the period from
  the index on the opening instant (every entry of the period: 190,000 for a week at five
  million cases) and walked the primary key between them; now it merges a page of each day's
  entries (workflow.queries.search.opened_days), as SQLite does from its own index by the UTC
  day (0033_lists9).
- ``search_cases_name_start2``: the cases by the first two characters of the applicant's name,
  then id. A search by a name's first two characters read every match from the name index and
  sorted their ids for a page.

- ``ix_cases_inbox``: the cases a unit holds in its inbox's order (the most urgent, then the
  nearest stage limit, then id). The console's inbox collected and sorted every case the unit
  holds for a page of 26.
- ``st_cases_units``: the planner's statistics of the cases' holder, workstation and street
  together (their most common combinations). It took each for independent of the others: a
  workstation holding its own cases was expected to hold 19 of its 1,057 at 200,000 cases, and
  a clerk's inbox (view=inbox) was read by collecting the workstation's every held case and
  sorting them for a page of 26, where the index of what a unit holds by id hands them over
  newest first.

SQLite has none of them (its plans are its own). The models do not declare them
(workflow.store.search_index.include_object).

Revision ID: 0037_pg11
Revises: 0036_catch11
Create Date: 2026-11-30 12:50:00
"""

from collections.abc import Sequence

from alembic import op

from workflow.store.search_index import (
    INBOX_INDEX,
    NAME_START2_INDEX,
    OPENED_DAY_INDEX,
    PG_INBOX,
    PG_NAME_START2,
    PG_OPENED_DAY,
)

revision: str = "0037_pg11"
down_revision: str | None = "0036_catch11"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNITS_STATISTICS = "st_cases_units"
PG_UNITS_STATISTICS = (
    f"CREATE STATISTICS {UNITS_STATISTICS} (mcv) ON holder, workstation, street FROM cases"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(PG_OPENED_DAY)
    op.execute(PG_NAME_START2)
    op.execute(PG_INBOX)
    op.execute(PG_UNITS_STATISTICS)
    # The planner's statistics of the new expressions (a day's share, two characters' share),
    # without which it guesses until autovacuum analyzes the table. Not on an empty table: its
    # statistics would say it has no rows, and a list's estimate trusts the planner once a table
    # has been analyzed (paging._has_statistics).
    if op.get_bind().exec_driver_sql("SELECT EXISTS (SELECT 1 FROM cases)").scalar():
        op.execute("ANALYZE cases")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP STATISTICS IF EXISTS {UNITS_STATISTICS}")
    op.execute(f"DROP INDEX IF EXISTS {INBOX_INDEX}")
    op.execute(f"DROP INDEX IF EXISTS {NAME_START2_INDEX}")
    op.execute(f"DROP INDEX IF EXISTS {OPENED_DAY_INDEX}")
