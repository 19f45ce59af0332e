"""Tasks as their users list them: scoped, filtered, keyset-paged (``after`` is the last id seen).

Who sees which task is a domain rule, here for the API and the console alike:
- a called unit (a department) sees its own tasks, never another unit's part of the same case;
- the street (staff, administrators) sees the tasks of its cases, a workstation's clerk those of
  its cases; the district's administrators and auditors every task; another auditor the tasks of
  the cases in their part of the trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import ColumnElement, exists, false, func, literal, or_, select, true
from sqlalchemy.orm import Session

from workflow import privacy
from workflow.actors import Actor
from workflow.catalog import registry
from workflow.catalog.registry import UnitIndex
from workflow.errors import InvalidInput, NotFound
from workflow.queries.paging import Key, Page, Seek, page, seek
from workflow.runtime.tasks import STATUSES
from workflow.store.models import Case, Task, TrailEvent, UTCDateTime

MAX_PAGE = 200


def _kind(session: Session, unit: str | None) -> str | None:
    u = registry.units(session).units.get(unit or "")
    return u.kind if u else None


def scope(session: Session, actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on tasks selecting what ACTOR may see."""
    unit = actor.unit or ""
    kind = _kind(session, unit)

    def of_cases(where: ColumnElement[bool]) -> ColumnElement[bool]:
        # Asked of each task by the case's primary key: IN built the set of a street's every
        # case (160,000 at a million) for each page's two dozen tasks.
        return exists().where(Case.id == Task.case_id, where)

    if actor.role == "auditor":
        return true() if kind == "district" else of_cases(privacy.auditor_cases(session, actor))
    if kind == "district" and actor.role == "admin":
        return true()
    if kind == "street_office" and actor.role in ("staff", "admin"):
        # The tasks of its cases: a task carries its case's street (kept equal to it).
        return Task.street == unit
    if kind == "workstation" and actor.role == "clerk":
        return of_cases(Case.workstation == unit)
    if actor.role == "staff" and kind is not None:
        return Task.unit == unit
    return false()


def list_tasks(
    session: Session,
    *,
    actor: Actor,
    unit: str | None = None,
    status: str | None = None,
    case: int | None = None,
    after: int | None = None,
    limit: int = 50,
) -> Page[Task]:
    """The tasks ACTOR may see, oldest first (keyset on the id: AFTER is the last id read)."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(
            errors={"status": [", ".join(STATUSES)]},
            code="no_task_status",
            params={"status": status},
        )
    where = [scope(session, actor)]
    if unit:
        where.append(Task.unit == unit)
    if status:
        where.append(Task.status == status)
    if case is not None:
        where.append(Task.case_id == case)
    return page(
        session,
        Task,
        where,
        key=Task.id,
        descending=False,
        after=after,
        limit=max(1, min(limit, MAX_PAGE)),
        count=False,
    )


def get_task(session: Session, *, actor: Actor, task_id: int) -> Task:
    """One task in ACTOR's scope; NotFound (404) otherwise, the same as no such task."""
    if not 1 <= task_id < 2**31:
        raise NotFound(code="no_task", params={"task": task_id})
    task = session.execute(
        select(Task)
        .where(Task.id == task_id, scope(session, actor))
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if task is None:
        raise NotFound(code="no_task", params={"task": task_id})
    return task


def tasks_of_case(
    session: Session,
    *,
    actor: Actor,
    case_id: int,
    case: Case | None = None,
    units: UnitIndex | None = None,
) -> Sequence[Task]:
    """The tasks of a case that ACTOR may see (a department: its own only), oldest first.
    CASE and UNITS, where the caller has them: the scope is worked out from the case's
    workstation and street (scope()'s rule for one case) instead of asked of the database."""
    if case is None or units is None or actor.role == "auditor":
        where: ColumnElement[bool] | None = scope(session, actor)
    else:
        where = _scope_of(actor, case, units)
    if where is None:
        return []
    return list(
        session.execute(select(Task).where(Task.case_id == case_id, where).order_by(Task.id))
        .scalars()
        .all()
    )


def _scope_of(actor: Actor, case: Case, units: UnitIndex) -> ColumnElement[bool] | None:
    """scope() for the tasks of CASE (not an auditor's): true() for all, None for none."""
    unit = actor.unit or ""
    u = units.units.get(unit)
    kind = u.kind if u else None
    if kind == "district" and actor.role == "admin":
        return true()
    if kind == "street_office" and actor.role in ("staff", "admin"):
        return true() if case.street == unit else None
    if kind == "workstation" and actor.role == "clerk":
        return true() if case.workstation == unit else None
    if actor.role == "staff" and kind is not None:
        return Task.unit == unit
    return None


def tasks_of_cases(
    session: Session, *, actor: Actor, case_ids: Sequence[int]
) -> dict[int, list[Task]]:
    """tasks_of_case for the cases of a page, in one query: case id -> its tasks, oldest first."""
    out: dict[int, list[Task]] = {i: [] for i in case_ids}
    if not case_ids:
        return out
    stmt = select(Task).where(Task.case_id.in_(list(case_ids)), scope(session, actor))
    # By the page's cases: SQLite took a department's scope (its every task, 15,000 at a
    # million cases) for the index instead.
    stmt = stmt.with_hint(Task, "INDEXED BY ix_tasks_case_round", "sqlite")
    for t in session.execute(stmt.order_by(Task.id)).scalars():
        out[t.case_id].append(t)
    return out


def trail_filter(session: Session, actor: Actor) -> ColumnElement[bool]:
    """On a case's trail, a called unit reads the steps of its own tasks, not other units' parts
    (their results included); everyone else in scope reads every step."""
    if actor.role == "auditor" or _kind(session, actor.unit) not in (
        "department",
        "dispatched_agency",
    ):
        return true()
    return or_(TrailEvent.action.not_like("task.%"), TrailEvent.to_holder == actor.unit)


# The task board's order as a key to page by: the nearest stage limit first,
# tasks without one last, then the oldest.
NEVER = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
MOST_URGENT_TASKS: list[Key] = [
    (func.coalesce(Task.stage_due_at, literal(NEVER, UTCDateTime())), False),
    (Task.id, False),
]
# Counted exactly up to this many; beyond, an estimate (as the case lists).
BOARD_COUNT_CAP = 1_000


def _unit_inbox_where(session: Session, actor: Actor) -> list[ColumnElement[bool]] | None:
    if actor.role != "staff" or not actor.unit:
        return None
    return [
        scope(session, actor),
        Task.unit == actor.unit,
        Task.status.in_(("awaiting_report", "working")),
    ]


def _awaiting_report_where(session: Session, actor: Actor) -> list[ColumnElement[bool]]:
    # A street's: scope()'s rule (its cases' tasks, by the street each carries), read from the
    # street's own index of its tasks awaiting report (migration 0031_task_street).
    where = [scope(session, actor), Task.status == "awaiting_report"]
    if _kind(session, actor.unit) != "street_office":
        where.append(Task.unit == (actor.unit or ""))
    return where


def _board(
    session: Session,
    where: list[ColumnElement[bool]] | None,
    *,
    after: str | None,
    offset: int,
    limit: int,
) -> Seek[Task]:
    if where is None:
        return Seek([], 0, True, None)
    return seek(
        session,
        Task,
        where,
        MOST_URGENT_TASKS,
        after=after,
        offset=offset,
        limit=max(1, min(limit, MAX_PAGE)),
        count_cap=BOARD_COUNT_CAP,
    )


def unit_inbox(
    session: Session, *, actor: Actor, after: str | None = None, offset: int = 0, limit: int
) -> Seek[Task]:
    """The open tasks of ACTOR's unit (awaiting its report, or its work), most urgent first, a
    page of them: after the cursor AFTER, or from task OFFSET on; the count exact up to
    BOARD_COUNT_CAP, beyond it an estimate."""
    return _board(
        session, _unit_inbox_where(session, actor), after=after, offset=offset, limit=limit
    )


def awaiting_report(
    session: Session, *, actor: Actor, after: str | None = None, offset: int = 0, limit: int
) -> Seek[Task]:
    """The whistle queue's tasks: a street's cases' departments yet to report, or a department's
    own calls yet to answer; most urgent first, in pages as unit_inbox()."""
    return _board(
        session, _awaiting_report_where(session, actor), after=after, offset=offset, limit=limit
    )
