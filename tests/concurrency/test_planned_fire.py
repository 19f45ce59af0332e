"""A firing worked out without the write lock (engine.plan_fire) and written under it
(engine.commit_fire), with two real connections to one database: the lock is not needed to
plan, a case changed since the plan is fired again as it is now, and racing writers leave one
winner per case, every acknowledged event in the trail and one valid chain."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.trail import trail_problems
from workflow.actors import Actor
from workflow.audit import chain
from workflow.errors import NotAllowed, WorkflowError
from workflow.instants import iso
from workflow.runtime import engine, urgency
from workflow.store.models import Case, TrailEvent

CLERK = Actor("clerk", "W-ZHL-01", "clerk")


def triggers_of(sessions: sessionmaker[Session], case_id: int) -> list[str | None]:
    with sessions() as s:
        return list(
            s.execute(
                select(TrailEvent.trigger)
                .where(TrailEvent.case_id == case_id, TrailEvent.action == "case.transition")
                .order_by(TrailEvent.seq)
            ).scalars()
        )


def test_a_firing_is_planned_while_another_writer_holds_the_lock(
    sessions: sessionmaker[Session], make_case: Callable[..., int]
) -> None:
    case_id = make_case()
    planned: dict[str, Any] = {}
    with sessions() as writer, sessions() as s:
        writer.begin()
        chain.lock_head(writer)  # SQLite: the database's write lock; PostgreSQL: every head
        # (On main the firing's reads came after the lock: this thread waited for the writer.)
        t = threading.Thread(
            target=lambda: planned.update(plan=engine.plan_fire(s, case_id, "accept", CLERK))
        )
        t.start()
        t.join(20)
        assert not t.is_alive(), "planning waited for the write lock"
        writer.rollback()
        s.rollback()  # the plan's reads: a read snapshot, ended
        with s.begin():
            event = engine.commit_fire(s, planned["plan"])
        assert event.trigger == "accept" and not planned["plan"].redone
    with sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.state == "ws_handling" and case.version == 2
        assert case.stage_seq == event.seq  # the stage entered starts at its event
    assert triggers_of(sessions, case_id) == ["accept"]
    assert trail_problems(sessions) == []


def test_a_case_moved_on_since_the_plan_is_refused_as_it_is_now(
    sessions: sessionmaker[Session], make_case: Callable[..., int]
) -> None:
    case_id = make_case()
    with sessions() as s:
        plan = engine.plan_fire(s, case_id, "accept", CLERK)
        s.rollback()
        with sessions.begin() as other:  # another connection accepts first, and commits
            engine.fire(other, case_id, "accept", CLERK)
        with pytest.raises(NotAllowed) as refused, s.begin():
            engine.commit_fire(s, plan)
    assert refused.value.code == "not_allowed_in_state"
    assert triggers_of(sessions, case_id) == ["accept"]
    with sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.version == 2
    assert trail_problems(sessions) == []


def test_a_case_changed_since_the_plan_is_fired_on_as_it_is_now(
    sessions: sessionmaker[Session], make_case: Callable[..., int]
) -> None:
    case_id = make_case()
    with sessions() as s:
        plan = engine.plan_fire(s, case_id, "accept", CLERK)
        s.rollback()
        with sessions.begin() as other:  # made urgent meanwhile: the version moves, not the state
            raised = urgency.set_urgency(
                other, case_id=case_id, actor=CLERK, urgency="urgent", reason="积水漫进楼道"
            )
        with s.begin():
            event = engine.commit_fire(s, plan)
    assert plan.redone
    assert event.at >= raised.at  # fired after the change, at its own time
    with sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None
        # Both changes kept: urgent (which leaves the version as it is: the row, not the
        # version, tells the change), accepted on the urgent clock, the stage from its event.
        assert (case.urgency, case.state, case.version) == ("urgent", "ws_handling", 2)
        assert case.stage_seq == event.seq
        assert event.data["stage_due_at"] == iso(case.stage_due_at)
        actions = s.execute(
            select(TrailEvent.action).where(TrailEvent.case_id == case_id).order_by(TrailEvent.seq)
        ).scalars()
        assert list(actions) == ["case.opened", "case.urgency_changed", "case.transition"]
    assert trail_problems(sessions) == []


def test_racing_writers_leave_one_winner_per_case_and_one_chain(
    sessions: sessionmaker[Session], make_case: Callable[..., int]
) -> None:
    cases = [make_case() for _ in range(12)]
    acknowledged: list[tuple[int, int]] = []  # (case, seq) of each firing that committed
    refused: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(2)

    def writer() -> None:
        with sessions() as s:
            for case_id in cases:
                barrier.wait(30)
                try:
                    plan = engine.plan_fire(s, case_id, "accept", CLERK)
                    s.rollback()
                    with s.begin():
                        event = engine.commit_fire(s, plan)
                except WorkflowError:
                    s.rollback()
                    with lock:
                        refused.append(case_id)
                    continue
                with lock:
                    acknowledged.append((case_id, event.seq))

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(c for c, _ in acknowledged) == cases
    assert sorted(refused) == cases
    with sessions() as s:
        for case_id, seq in acknowledged:
            ev = s.execute(select(TrailEvent).where(TrailEvent.seq == seq)).scalar_one()
            assert (ev.case_id, ev.trigger) == (case_id, "accept")
    for case_id in cases:
        assert triggers_of(sessions, case_id) == ["accept"]
    assert trail_problems(sessions) == []
