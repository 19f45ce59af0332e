"""Random interleavings of task steps by random actors never leave a case resolvable before its
join holds, and every task row replays from the trail."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0
from tests.tasks.helpers import STREET, at_street
from workflow.actors import Actor
from workflow.audit.replay import differences
from workflow.errors import WorkflowError
from workflow.runtime import engine, tasks
from workflow.store.models import Task

DEPARTMENTS = ["D-GA", "D-ZJ", "D-ZF"]
ACTORS = [
    STREET,
    *(Actor(f"staff@{u}", u, "staff") for u in DEPARTMENTS),
    Actor("a", "S-ZHL", "admin"),
]
STEPS = [*tasks.STEPS, "add"]

moves = st.lists(
    st.tuples(
        st.integers(0, 2),  # which department's task
        st.sampled_from(STEPS),
        st.sampled_from([*[None] * 3, *range(len(ACTORS))]),  # None: the one whose step it is
    ),
    min_size=1,
    max_size=30,
)


def resolvable(sessions: sessionmaker[Session], cid: int, at: dt.datetime) -> bool:
    """Whether the street could resolve now (tried, then rolled back)."""
    with sessions() as s:
        s.begin()
        try:
            engine.fire(s, cid, "resolve", STREET, now=at)
        except WorkflowError:
            return False
        finally:
            s.rollback()
        return True


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=st.integers(1, 3), plan=moves)
def test_no_interleaving_of_task_steps_resolves_before_the_join(
    sessions: sessionmaker[Session], first: int, plan: list[tuple[int, str, int | None]]
) -> None:
    with sessions.begin() as s:
        cid = at_street(s, "PS-06")
        engine.fire(
            s, cid, "whistle", STREET, reason="联合处置", targets=DEPARTMENTS[:first], now=T0
        )
    at = T0
    for n, (which, step, who) in enumerate(plan):
        at = T0 + dt.timedelta(minutes=10 * (n + 1))
        unit = DEPARTMENTS[which]
        with sessions() as s:
            task = (
                s.execute(
                    select(Task)
                    .where(Task.case_id == cid, Task.unit == unit)
                    .order_by(Task.id.desc())
                )
                .scalars()
                .first()
            )
        if step == "add" or task is None:
            try:
                with sessions.begin() as s:
                    engine.fire(s, cid, "whistle", STREET, reason="增派", targets=[unit], now=at)
            except WorkflowError:
                pass
        else:
            if who is None:
                actor = STREET if tasks.STEPS[step][1] == "commander" else ACTORS[1 + which]
            else:
                actor = ACTORS[who]
            try:
                with sessions.begin() as s:
                    tasks.step(s, task.id, step, actor, result="已办", reason="理由", now=at)
            except WorkflowError:
                pass
        with sessions() as s:
            case = engine.get_case(s, cid)
            if case.state != "coordinating":
                break
            statuses = [
                t.status for t in s.execute(select(Task).where(Task.case_id == cid)).scalars()
            ]
        # The join (every task of the round done or cancelled) is exactly when the street may
        # resolve.
        holds = all(x in ("done", "cancelled") for x in statuses)
        assert resolvable(sessions, cid, at) == holds, statuses
        if holds and n % 3 == 0:
            with sessions.begin() as s:
                engine.fire(s, cid, "resolve", STREET, now=at)
    with sessions() as s:
        assert list(differences(s)) == []
