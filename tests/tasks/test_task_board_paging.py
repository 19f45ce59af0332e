"""The task board's lists (a unit's open tasks, the whistle queue's) in keyset pages: every task
once, in the board's order (the nearest stage limit first, none last, then the oldest), a task
added meanwhile never shifting the pages not read yet; the count exact up to its cap; a cursor
not of this list refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.tasks.helpers import STREET, at_street
from workflow.actors import Actor
from workflow.errors import InvalidInput
from workflow.queries import tasks as task_queries
from workflow.runtime import engine
from workflow.store.models import Task

DEPT = Actor("ga", "D-GA", "staff")


def whistle(s: Session, n: int) -> list[int]:
    ids = []
    for _ in range(n):
        case_id = at_street(s, "PS-06")
        engine.fire(s, case_id, "whistle", STREET, reason="占道经营，需城管报到", targets=["D-GA"])
        ids.append(case_id)
    return ids


def read_all(s: Session, query: Callable[..., object], actor: Actor, limit: int) -> list[Task]:
    out: list[Task] = []
    after = None
    while True:
        found = query(s, actor=actor, after=after, limit=limit)
        out += found.items  # type: ignore[attr-defined]
        after = found.next  # type: ignore[attr-defined]
        if after is None:
            return out


def board_order(tasks: list[Task]) -> list[int]:
    never = dt.datetime.max.replace(tzinfo=dt.UTC)
    return [t.id for t in sorted(tasks, key=lambda t: (t.stage_due_at or never, t.id))]


def test_pages_cover_each_task_once_in_the_boards_order(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        whistle(s, 12)
        # Spread the limits, ties and tasks without one included.
        tasks = s.execute(select(Task).where(Task.unit == "D-GA").order_by(Task.id)).scalars()
        base = engine.utcnow()
        for i, t in enumerate(tasks):
            due = None if i % 5 == 0 else base + dt.timedelta(hours=(7 * i) % 4)
            s.execute(update(Task).where(Task.id == t.id).values(stage_due_at=due))
    with sessions() as s:
        everything = list(
            s.execute(
                select(Task).where(
                    Task.unit == "D-GA", Task.status.in_(("awaiting_report", "working"))
                )
            ).scalars()
        )
        for query in (task_queries.unit_inbox, task_queries.awaiting_report):
            for limit in (1, 5, 25):
                got = [t.id for t in read_all(s, query, DEPT, limit)]
                assert got == board_order(everything)
        first = task_queries.unit_inbox(s, actor=DEPT, limit=5)
        assert (first.total, first.exact) == (12, True)
        # A page by its number is the same as the one the cursor leads to.
        second = task_queries.unit_inbox(s, actor=DEPT, after=first.next, limit=5)
        by_number = task_queries.unit_inbox(s, actor=DEPT, offset=5, limit=5)
        assert [t.id for t in by_number.items] == [t.id for t in second.items]
        # The street sees the tasks of its cases awaiting report (its administrator too), another
        # street none; another unit none.
        assert len(read_all(s, task_queries.awaiting_report, STREET, 25)) == 12
        admin = Actor("a", "S-ZHL", "admin")
        assert len(read_all(s, task_queries.awaiting_report, admin, 25)) == 12
        xgz = task_queries.awaiting_report(s, actor=Actor("x", "S-XGZ", "staff"), limit=25)
        assert (xgz.items, xgz.total) == ([], 0)
        other = task_queries.unit_inbox(s, actor=Actor("x", "D-ZF", "staff"), limit=25)
        assert (other.items, other.total, other.next) == ([], 0, None)
        clerk = task_queries.unit_inbox(s, actor=Actor("c", "W-ZHL-01", "clerk"), limit=25)
        assert clerk.items == [] and clerk.total == 0


def test_a_task_added_meanwhile_shifts_no_page_not_read(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        whistle(s, 6)
    with sessions() as s:
        first = task_queries.unit_inbox(s, actor=DEPT, limit=3)
        rest_before = [
            t.id for t in task_queries.unit_inbox(s, actor=DEPT, after=first.next, limit=3).items
        ]
    with sessions.begin() as s:
        whistle(s, 2)  # later limits: after the pages read so far, never inside them
    with sessions() as s:
        rest = task_queries.unit_inbox(s, actor=DEPT, after=first.next, limit=3)
        assert [t.id for t in rest.items] == rest_before
        assert rest.total == 8


def test_a_cursor_of_another_list_is_refused(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        for bad in ("xyz", "WzEsMiwzXQ"):  # not base64 JSON; [1, 2, 3]: the wrong length
            with pytest.raises(InvalidInput):
                task_queries.unit_inbox(s, actor=DEPT, after=bad, limit=5)
