"""The indexes of the task boards (migrations 0029_unit_board, 0031_task_street): a unit's open
tasks (awaiting its report, or its work) and a street's tasks awaiting report, in the board's
order on PostgreSQL: the nearest stage limit first (workflow.queries.tasks.MOST_URGENT_TASKS: a
task without a limit after every real instant), then the id. Partial and expression indexes,
which the models do not declare: Alembic's comparison leaves them out
(workflow.store.search_index.include_object)."""

from __future__ import annotations

UNIT_BOARD_INDEX = "ix_tasks_unit_board"
# The tasks awaiting a report in the same order: a street's whistle board walked it, asking each
# task its case's street, until 0031_task_street gave the street its own (below) and dropped it
# (read by no board since; every task's write paid for it).
AWAITING_BOARD_INDEX = "ix_tasks_awaiting_board"
# The expression is the board's ORDER BY as PostgreSQL sees it once the bound limit is known:
# coalesce(stage_due_at, 9999-12-31 UTC).
PG_UNIT_BOARD = (
    f"CREATE INDEX {UNIT_BOARD_INDEX} ON tasks (unit, "
    "(coalesce(stage_due_at, '9999-12-31 00:00:00+00'::timestamptz)), id) "
    "WHERE status IN ('awaiting_report', 'working')"
)
PG_AWAITING_BOARD = (
    f"CREATE INDEX {AWAITING_BOARD_INDEX} ON tasks ("
    "(coalesce(stage_due_at, '9999-12-31 00:00:00+00'::timestamptz)), id) "
    "WHERE status = 'awaiting_report'"
)

# A street's whistle board from its own tasks (their street, migration 0031_task_street): the
# street's tasks awaiting a report, in the board's order on PostgreSQL; on SQLite by the
# limit (it sorts the street's few hundred by the coalesced limit: an expression with a bound
# value matches no index there). Its count reads the street's entries alone, where the board
# asked each of the city's tasks awaiting report for its case's street.
STREET_BOARD_INDEX = "ix_tasks_street_board"
PG_STREET_BOARD = (
    f"CREATE INDEX {STREET_BOARD_INDEX} ON tasks (street, "
    "(coalesce(stage_due_at, '9999-12-31 00:00:00+00'::timestamptz)), id) "
    "WHERE status = 'awaiting_report'"
)
SQLITE_STREET_BOARD = (
    f"CREATE INDEX {STREET_BOARD_INDEX} ON tasks (street, stage_due_at) "
    "WHERE status = 'awaiting_report'"
)

# PostgreSQL's tasks awaiting report by street and id (migration 0038_pg12): the API's list of a
# street's tasks awaiting report (GET /tasks?status=awaiting_report, oldest first) reads its
# page from here, where it read the street's every task awaiting report from the board's index
# (in the board's order) and sorted their ids (1,700 of a street's at five million cases).
STREET_AWAITING_INDEX = "ix_tasks_street_awaiting"
PG_STREET_AWAITING = (
    f"CREATE INDEX {STREET_AWAITING_INDEX} ON tasks (street, id) WHERE status = 'awaiting_report'"
)
