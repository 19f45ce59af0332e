"""Running cases whistled under the route before tasks move to the route with tasks: the
department holding the case keeps its part as a task, and the street takes command."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0, staff_of
from tests.tasks.helpers import STREET, at_street, publish_old_incident
from workflow.audit.replay import differences
from workflow.errors import NotAllowed, NotHolder
from workflow.runtime import engine, migration, tasks
from workflow.store.models import Task

LATER = T0 + dt.timedelta(hours=1)
MAP = {"awaiting_report": "coordinating", "dept_handling": "coordinating"}


def test_a_whistled_case_moves_and_its_department_keeps_its_part_as_a_task(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        old = publish_old_incident(s)
        waiting, working, plain = at_street(s), at_street(s), at_street(s)
        for cid in (waiting, working):
            engine.fire(s, cid, "whistle", STREET, reason="需执法", target="D-ZF", now=T0)
        engine.fire(s, working, "report", staff_of("D-ZF"), now=T0)
        assert engine.get_case(s, working).holder == "D-ZF"
    with sessions.begin() as s:
        plan = migration.apply(
            s,
            route="incident",
            from_version=old,
            to_version=1,
            mapping=MAP,
            actor="admin",
            unit="X-SN",
            reason="吹哨改为街道统筹",
            now=LATER,
        )
        assert {m.case_id for m in plan.movable} == {waiting, working, plain}
    with sessions.begin() as s:
        for cid, status in ((waiting, "awaiting_report"), (working, "working")):
            case = engine.get_case(s, cid)
            assert (case.route_version, case.state, case.holder) == (1, "coordinating", "S-ZHL")
            task = s.execute(select(Task).where(Task.case_id == cid)).scalar_one()
            assert (task.unit, task.status, task.lead) == ("D-ZF", status, True)
        assert engine.get_case(s, plain).state == "street_handling"
    # The street now waits for the department's part, then resolves.
    with sessions.begin() as s, pytest.raises(NotAllowed):
        engine.fire(s, working, "resolve", STREET, now=LATER)
    with sessions.begin() as s:
        task = s.execute(select(Task).where(Task.case_id == working)).scalar_one()
        tasks.step(s, task.id, "done", staff_of("D-ZF"), result="已拆除", now=LATER)
        engine.fire(s, working, "resolve", STREET, now=LATER)
        # The department no longer resolves on its own.
        with pytest.raises(NotHolder):
            engine.fire(s, waiting, "resolve", staff_of("D-ZF"), now=LATER)
    with sessions() as s:
        assert list(differences(s)) == []


def test_a_case_with_open_tasks_does_not_move_where_they_would_be_lost(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        cid = at_street(s)
        engine.fire(s, cid, "whistle", STREET, reason="需执法", targets=["D-ZF", "D-ZJ"], now=T0)
        old = publish_old_incident(s)
        plan = migration.plan(
            s,
            route="incident",
            from_version=1,
            to_version=old,
            mapping={"coordinating": "street_handling"},
        )
        [move] = plan.moves
        assert move.why_not is not None and "D-ZF, D-ZJ" in move.why_not
