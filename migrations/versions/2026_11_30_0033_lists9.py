"""the cases opened in a period, read day by day (SQLite's only).

SQLite's index of the cases by the day (UTC) they were opened, then id (and the instant, so that
SQLite reads it alone: it takes an index of an expression for covering a query only when the
columns the query names are in it; without, each entry read a case's row, and the last day's
entries past the period's end were read row by row: 7 ms at a million cases): a list of a
week's cases newest first reads a page of each day's entries, merged (the days at the period's
ends checked against its bounds), where it read the week's every entry from the index on
the opening instant and sorted their ids; its estimate samples runs of ids in it, where it read
4,096 cases' rows (workflow.queries.search.opened_days). PostgreSQL does not get it (it reads
the period's range of ids, search._ids_opened, and estimates a count from its planner); the
models do not declare it (workflow.store.search_index.include_object). An index of the trail by
(seq, case) for a unit's estimate was tried and left out: the list's SQL barely moved (the
sample's 4,096 cases are still read) and every trail write would have kept it (71 MB at a
million cases).

Revision ID: 0033_lists9
Revises: 0032_sql8
Create Date: 2026-11-30 06:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0033_lists9"
down_revision: str | None = "0032_sql8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_OPENED_DAY = (
    "CREATE INDEX ix_cases_opened_day ON cases (substr(created_at, 1, 10), id, created_at)"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE_OPENED_DAY)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP INDEX ix_cases_opened_day")
