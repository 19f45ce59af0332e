"""Recompute each task's unit, status and version from the trail alone, and compare with its
row: a task's steps are trail events carrying its id, as a case's transitions are."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.runtime.tasks import TASK_ACTIONS
from workflow.store.models import Task, TrailEvent

Row = tuple[int | None, str | None, str | None, int]


@dataclass(frozen=True)
class TaskDifference:
    task_id: int
    row: Row | None
    trail: Row | None

    def __str__(self) -> str:
        return f"task {self.task_id}: row {self.row} but trail says {self.trail}"


def replay_tasks(session: Session, *, batch: int = 5000) -> dict[int, Row]:
    """task id -> (case, unit, status, version) as the trail tells it."""
    out: dict[int, Row] = {}
    events = session.execute(
        select(TrailEvent.case_id, TrailEvent.action, TrailEvent.to_holder, TrailEvent.data)
        .where(TrailEvent.action.in_(TASK_ACTIONS))
        .order_by(TrailEvent.seq)
        .execution_options(yield_per=batch)
    )
    for case_id, action, unit, data in events:
        task_id = int(data["task"])
        if action == "task.opened":
            out[task_id] = (case_id, unit, data["status"], 1)
            continue
        before = out.get(task_id)
        version = (before[3] if before else 0) + 1
        out[task_id] = (case_id, unit, data["status"], version)
    return out


def task_differences(session: Session) -> Iterator[TaskDifference]:
    """Every task whose row differs from what the trail says (or that has only one of the two)."""
    replayed = replay_tasks(session)
    seen: set[int] = set()
    rows = session.execute(
        select(Task.id, Task.case_id, Task.unit, Task.status, Task.version).order_by(Task.id)
    ).all()
    for tid, case_id, unit, status, version in rows:
        seen.add(tid)
        row: Row = (case_id, unit, status, version)
        trail = replayed.get(tid)
        if row != trail:
            yield TaskDifference(tid, row, trail)
    for tid in sorted(set(replayed) - seen):
        yield TaskDifference(tid, None, replayed[tid])
