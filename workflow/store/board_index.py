"""The indexes of the task boards on PostgreSQL (migration 0029_unit_board): a unit's open
tasks (awaiting its report, or its work) in the board's order, the nearest stage limit first
(workflow.queries.tasks.MOST_URGENT_TASKS: a task without a limit after every real instant),
then the id. Partial and an expression index, which the models do not declare: Alembic's
comparison leaves it out (workflow.store.search_index.include_object)."""

from __future__ import annotations

UNIT_BOARD_INDEX = "ix_tasks_unit_board"
# The tasks awaiting a report in the same order: a street's whistle board walks it, asking each
# task its case's street, and stops at the page.
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
