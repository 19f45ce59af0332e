"""five lists whose work grew with the instance, each read from an index of its own
(PostgreSQL's only)

- ``search_cases_workstation_phone_tail``: the cases by workstation and the applicant's phone
  read backwards. A clerk's search by a phone's last digits read the workstation's every case
  from another index and the trigram index's matches, and kept those in both.
- ``search_cases_workstation_name_start2``: the cases by workstation, the first two characters
  of the applicant's name and id, the name beside. A clerk's search by a name's first two
  characters read every match of the workstation and sorted them, or (as the planner's sample of
  the names had it) the city's every match, keeping the workstation's.
- ``ix_cases_holder_workstation``: the held cases by holder, workstation and id. A clerk's
  inbox counted its cases to the cap through a bitmap of the workstation's every case and the
  rows of the first 1,001.
- ``ix_cases_similar``: the open cases (not merged) by workstation, item and opening instant.
  A case page's likely duplicates read the item's every case into a bitmap.
- ``ix_tasks_street_awaiting``: the tasks awaiting report by street and id. The API's list of a
  street's tasks awaiting report read the street's every such task and sorted them.

SQLite has none of them (its plans are its own). The models do not declare them
(workflow.store.search_index.include_object). The migration analyzes the cases (the new
expression's statistics) unless the table is empty.

Revision ID: 0038_pg12
Revises: 0037_pg11
Create Date: 2026-11-30 15:30:00
"""

from collections.abc import Sequence

from alembic import op

from workflow.store.board_index import PG_STREET_AWAITING, STREET_AWAITING_INDEX
from workflow.store.search_index import (
    HELD_WORKSTATION_INDEX,
    PG_HELD_WORKSTATION,
    PG_SIMILAR,
    PG_WORKSTATION_NAME_START2,
    PG_WORKSTATION_PHONE,
    SIMILAR_INDEX,
    WORKSTATION_NAME_START2_INDEX,
    WORKSTATION_PHONE_INDEX,
)

revision: str = "0038_pg12"
down_revision: str | None = "0037_pg11"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(PG_WORKSTATION_PHONE)
    op.execute(PG_WORKSTATION_NAME_START2)
    op.execute(PG_HELD_WORKSTATION)
    op.execute(PG_SIMILAR)
    op.execute(PG_STREET_AWAITING)
    # The planner's statistics of the reversed phone (an expression's share), as 0037_pg11: not
    # on an empty table (paging._has_statistics trusts an analyzed table's).
    if op.get_bind().exec_driver_sql("SELECT EXISTS (SELECT 1 FROM cases)").scalar():
        op.execute("ANALYZE cases")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {STREET_AWAITING_INDEX}")
    op.execute(f"DROP INDEX IF EXISTS {SIMILAR_INDEX}")
    op.execute(f"DROP INDEX IF EXISTS {HELD_WORKSTATION_INDEX}")
    op.execute(f"DROP INDEX IF EXISTS {WORKSTATION_NAME_START2_INDEX}")
    op.execute(f"DROP INDEX IF EXISTS {WORKSTATION_PHONE_INDEX}")
