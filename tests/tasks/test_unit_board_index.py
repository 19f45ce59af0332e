"""A unit's task board and a street's whistle board read through their own indexes on PostgreSQL
(migrations 0029_unit_board, 0031_task_street): the same tasks in the board's order (the nearest stage limit first,
none last, ties by id), page after page, as when the tasks are collected and sorted; and the
index is what a page reads."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.tasks.helpers import STREET
from tests.tasks.test_task_board_paging import DEPT, board_order, read_all, whistle
from workflow.actors import Actor
from workflow.queries import tasks as task_queries
from workflow.store.board_index import STREET_BOARD_INDEX, UNIT_BOARD_INDEX
from workflow.store.models import Case, Task


@pytest.fixture
def board(sessions: sessionmaker[Session], db_kind: str) -> sessionmaker[Session]:
    if db_kind != "postgresql":
        pytest.skip("PostgreSQL's index")
    with sessions.begin() as s:
        whistle(s, 14)
        tasks = s.execute(select(Task).where(Task.unit == "D-GA").order_by(Task.id)).scalars()
        base = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)
        for i, t in enumerate(tasks):
            # ties, tasks without a limit, one done (off the board)
            due = None if i % 4 == 0 else base + dt.timedelta(hours=(5 * i) % 3)
            values = {"stage_due_at": due, **({"status": "done"} if i == 6 else {})}
            s.execute(update(Task).where(Task.id == t.id).values(**values))
    return sessions


def test_the_board_read_through_its_index_is_the_boards_order(
    board: sessionmaker[Session],
) -> None:
    with board() as s:
        everything = list(
            s.execute(
                select(Task).where(
                    Task.unit == "D-GA", Task.status.in_(("awaiting_report", "working"))
                )
            ).scalars()
        )
        expected = board_order(everything)
        assert len(expected) == 13
        sorted_pages = {
            n: [t.id for t in read_all(s, task_queries.unit_inbox, DEPT, n)] for n in (1, 4)
        }
        # Collecting and sorting is no longer an option: the index's order is read.
        s.connection().exec_driver_sql("SET LOCAL enable_sort = off")
        s.connection().exec_driver_sql("SET LOCAL enable_bitmapscan = off")
        page = task_queries.unit_inbox(s, actor=DEPT, limit=4)
        for n in (1, 4):
            assert [t.id for t in read_all(s, task_queries.unit_inbox, DEPT, n)] == expected
            assert sorted_pages[n] == expected
        assert [t.id for t in page.items] == expected[:4]
        assert (page.total, page.exact) == (13, True)
        by_number = task_queries.unit_inbox(s, actor=DEPT, offset=8, limit=4)
        assert [t.id for t in by_number.items] == expected[8:12]
        used = s.connection().exec_driver_sql(
            "EXPLAIN SELECT id FROM tasks WHERE unit = 'D-GA' AND status IN "
            "('awaiting_report', 'working') ORDER BY coalesce(stage_due_at, "
            "'9999-12-31 00:00:00+00'::timestamptz), id LIMIT 5"
        )
        assert UNIT_BOARD_INDEX in "\n".join(r[0] for r in used)


def test_a_streets_whistle_board_read_through_its_index_is_the_boards_order(
    board: sessionmaker[Session],
) -> None:
    with board() as s:
        awaiting = list(
            s.execute(
                select(Task)
                .join(Case, Case.id == Task.case_id)
                .where(Case.street == STREET.unit, Task.status == "awaiting_report")
            ).scalars()
        )
        expected = board_order(awaiting)
        assert len(expected) == 13
        before = [t.id for t in read_all(s, task_queries.awaiting_report, STREET, 4)]
        s.connection().exec_driver_sql("SET LOCAL enable_sort = off")
        s.connection().exec_driver_sql("SET LOCAL enable_bitmapscan = off")
        for n in (1, 4, 25):
            assert [t.id for t in read_all(s, task_queries.awaiting_report, STREET, n)] == expected
        assert before == expected
        first = task_queries.awaiting_report(s, actor=STREET, limit=4)
        assert (first.total, first.exact) == (13, True)
        by_number = task_queries.awaiting_report(s, actor=STREET, offset=4, limit=4)
        assert [t.id for t in by_number.items] == expected[4:8]
        other = task_queries.awaiting_report(s, actor=Actor("x", "S-XGZ", "staff"), limit=25)
        assert (other.items, other.total) == ([], 0)
        used = s.connection().exec_driver_sql(
            "EXPLAIN SELECT id FROM tasks WHERE street = 'S-ZHL' AND status = 'awaiting_report' "
            "ORDER BY coalesce(stage_due_at, '9999-12-31 00:00:00+00'::timestamptz), id LIMIT 5"
        )
        assert STREET_BOARD_INDEX in "\n".join(r[0] for r in used)
