"""A task carries its case's street (migration 0031_task_street), and who sees which task is what
it was when each task's case was asked: the same tasks, in the same order, with the same totals,
for a street, a department and the district. A case placed in another street at the dispatch
centre brings that street to its tasks; `audit replay` names a task whose street is not its
case's."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import staff_of
from tests.tasks.helpers import CLERK, STREET, at_street
from tests.tasks.test_task_board_paging import DEPT, board_order, read_all
from workflow.actors import Actor
from workflow.audit.replay import differences
from workflow.dispatch import centre
from workflow.errors import NotFound
from workflow.queries import tasks as task_queries
from workflow.runtime import engine, tasks
from workflow.store.board_index import STREET_BOARD_INDEX
from workflow.store.migrate import alembic_config, upgrade
from workflow.store.models import Case, Task

XGZ_CLERK = Actor("clerk2", "W-XGZ-01", "clerk")
XGZ = Actor("street2", "S-XGZ", "staff")
DISTRICT = Actor("district", "X-SN", "admin")
DISPATCHER = Actor("dispatcher", "H-SN", "dispatcher")


def _whistled(s: Session, case_id: int, street: Actor, targets: list[str]) -> None:
    engine.fire(s, case_id, "whistle", street, reason="占道经营，需报到", targets=targets)


@pytest.fixture
def two_streets(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Whistles at Zhuhai Road and at Hong Kong Middle Road, some reported, one case moved to
    Hong Kong Middle Road at the dispatch centre before it reached a street."""
    with sessions.begin() as s:
        for i in range(5):
            _whistled(s, at_street(s, "PS-06"), STREET, ["D-GA", "D-ZJ"] if i % 2 else ["D-GA"])
        for _ in range(4):
            _whistled(s, at_street(s, "PS-06", clerk=XGZ_CLERK), XGZ, ["D-GA"])
        # Proposed at Zhuhai Road, placed at Hong Kong Middle Road by the dispatcher.
        moved = centre.open_at_dispatch(
            s,
            actor=DISPATCHER,
            applicant_name="王芳",
            applicant_phone="13800000000",
            workstation="W-ZHL-01",
            description="占道经营",
        )
        assert moved.street == "S-ZHL"
        centre.place(s, moved.id, DISPATCHER, "W-XGZ-01")
        centre.dispatch(s, moved.id, DISPATCHER, "W-XGZ-01", item="PS-06")
        engine.fire(s, moved.id, "accept", XGZ_CLERK)
        engine.fire(s, moved.id, "forward", XGZ_CLERK)
        _whistled(s, moved.id, XGZ, ["D-GA", "D-ZJ"])
        # Reported, so off the whistle board, still in the lists.
        for t in s.execute(select(Task).where(Task.unit == "D-ZJ").order_by(Task.id)).scalars():
            tasks.step(s, t.id, "report", staff_of("D-ZJ"))
            break
    return sessions


def _of_cases_in(s: Session, street: str, *where: object) -> list[Task]:
    """The tasks of the street's cases, asked of each task's case (the rule before the task
    carried its street)."""
    return list(
        s.execute(
            select(Task)
            .join(Case, Case.id == Task.case_id)
            .where(Case.street == street, *where)  # type: ignore[arg-type]
            .order_by(Task.id)
        ).scalars()
    )


def _listed(s: Session, actor: Actor, **kw: object) -> list[int]:
    out: list[int] = []
    after = None
    while True:
        found = task_queries.list_tasks(s, actor=actor, after=after, limit=3, **kw)  # type: ignore[arg-type]
        out += [t.id for t in found.items]
        after = found.next
        if after is None:
            return out


def _ids(tasks_: list[Task]) -> list[int]:
    return [t.id for t in tasks_]


def test_each_task_carries_its_cases_street(two_streets: sessionmaker[Session]) -> None:
    with two_streets() as s:
        rows = s.execute(select(Task.street, Case.street).join(Case, Case.id == Task.case_id))
        pairs = list(rows)
        assert len(pairs) == 5 + 2 + 4 + 2
        assert all(task == case for task, case in pairs)
        assert {task for task, _ in pairs} == {"S-ZHL", "S-XGZ"}
        assert list(differences(s)) == []


def test_who_sees_which_task_is_unchanged(two_streets: sessionmaker[Session]) -> None:
    awaiting = Task.status == "awaiting_report"
    with two_streets() as s:
        for street in (STREET, XGZ, Actor("a", "S-ZHL", "admin")):
            code = street.unit or ""
            theirs = _of_cases_in(s, code)
            assert theirs
            # The API's list, oldest first: all, and those awaiting report.
            assert _listed(s, street) == _ids(theirs)
            assert _listed(s, street, status="awaiting_report") == _ids(
                _of_cases_in(s, code, awaiting)
            )
            # The whistle board: in the board's order, counted the same.
            expected = board_order(_of_cases_in(s, code, awaiting))
            for n in (1, 4, 25):
                got = read_all(s, task_queries.awaiting_report, street, n)
                assert [t.id for t in got] == expected
            first = task_queries.awaiting_report(s, actor=street, limit=4)
            assert (first.total, first.exact) == (len(expected), True)
            by_number = task_queries.awaiting_report(s, actor=street, offset=4, limit=4)
            assert [t.id for t in by_number.items] == expected[4:8]
            # One task, and a page's cases' tasks.
            other = next(t for t in s.execute(select(Task)).scalars() if t not in theirs)
            assert task_queries.get_task(s, actor=street, task_id=theirs[0].id).id == theirs[0].id
            with pytest.raises(NotFound):
                task_queries.get_task(s, actor=street, task_id=other.id)
            by_case = task_queries.tasks_of_cases(
                s, actor=street, case_ids=[theirs[0].case_id, other.case_id]
            )
            assert _ids(by_case[theirs[0].case_id]) == _ids(
                [t for t in theirs if t.case_id == theirs[0].case_id]
            )
            assert by_case[other.case_id] == []
        # A department: its own tasks of both streets' cases, nobody else's.
        ga = list(s.execute(select(Task).where(Task.unit == "D-GA").order_by(Task.id)).scalars())
        assert {t.street for t in ga} == {"S-ZHL", "S-XGZ"}
        assert _listed(s, DEPT) == _ids(ga)
        expected = board_order([t for t in ga if t.status == "awaiting_report"])
        assert [t.id for t in read_all(s, task_queries.awaiting_report, DEPT, 4)] == expected
        assert [t.id for t in read_all(s, task_queries.unit_inbox, DEPT, 4)] == board_order(ga)
        # The district's administrator: every task.
        everything = list(s.execute(select(Task).order_by(Task.id)).scalars())
        assert _listed(s, DISTRICT) == _ids(everything)
        assert _listed(s, DISTRICT, status="awaiting_report") == _ids(
            [t for t in everything if t.status == "awaiting_report"]
        )
        # A workstation's clerk: still its cases' tasks, asked of the case.
        assert _listed(s, CLERK) == _ids(
            [t for t in everything if s.get(Case, t.case_id).workstation == "W-ZHL-01"]  # type: ignore[union-attr]
        )


def test_a_streets_whistle_board_reads_its_own_index(
    two_streets: sessionmaker[Session], db_kind: str
) -> None:
    with two_streets() as s:
        if db_kind == "postgresql":
            s.connection().exec_driver_sql("SET LOCAL enable_seqscan = off")
            s.connection().exec_driver_sql("ANALYZE tasks")
            query = (
                "EXPLAIN SELECT id FROM tasks WHERE street = 'S-XGZ' AND status = "
                "'awaiting_report' ORDER BY coalesce(stage_due_at, "
                "'9999-12-31 00:00:00+00'::timestamptz), id LIMIT 5"
            )
        else:
            s.connection().exec_driver_sql("ANALYZE")
            query = (
                "EXPLAIN QUERY PLAN SELECT id FROM tasks WHERE street = 'S-XGZ' AND status = "
                "'awaiting_report' ORDER BY coalesce(stage_due_at, '9999'), id LIMIT 5"
            )
        used = "\n".join(str(r) for r in s.connection().exec_driver_sql(query))
        assert STREET_BOARD_INDEX in used


def test_replay_names_a_tasks_street_changed_behind_the_services_back(
    two_streets: sessionmaker[Session],
) -> None:
    with two_streets.begin() as s:
        task = s.execute(select(Task).where(Task.street == "S-XGZ").limit(1)).scalar_one()
        s.execute(text("UPDATE tasks SET street = 'S-ZHL' WHERE id = :id"), {"id": task.id})
    with two_streets() as s:
        found = [(d.kind, d.id, d.field, d.stored, d.trail) for d in differences(s)]
    assert found == [("task", task.id, "street", "S-ZHL", "S-XGZ")]


def test_the_migration_fills_each_tasks_street_from_its_case(
    two_streets: sessionmaker[Session], engine: Engine
) -> None:
    with two_streets() as s:
        before = {street.unit: _ids(_of_cases_in(s, street.unit or "")) for street in (STREET, XGZ)}
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0030_http7")  # the column dropped
    upgrade(engine)
    with two_streets() as s:
        for street in (STREET, XGZ):
            assert _listed(s, street) == before[street.unit]
        assert list(differences(s)) == []
