"""Parallel tasks (multi-instance with a join): a case in a task state is held by the commanding
unit while each unit it called does its part in a task of its own.

A task is spec and instance as a case is: its small machine (awaiting_report -> working -> done,
sent back, cancelled) is built once with transitions and shared; its row is its state; every step
is one trail event carrying the task's id, in the caller's transaction, after the trail lock.
A task step is not a case transition: the case's version counts transitions only, the task has
its own version (its ETag)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from transitions import Machine, MachineError

from workflow.audit import chain
from workflow.catalog import registry, street_routing
from workflow.catalog.registry import UnitIndex
from workflow.errors import InvalidInput, NotAllowed, NotFound, NotHolder, StaleVersion
from workflow.inputs import check_text
from workflow.runtime import stages
from workflow.runtime.clock import Clock, RoundTheClock
from workflow.spec.model import ItemSpec, StateSpec
from workflow.store.models import Case, Task

STATUSES = ("awaiting_report", "working", "done", "cancelled", "return_requested")
OPEN = frozenset({"awaiting_report", "working", "return_requested"})
# A task that no longer keeps the join waiting.
SETTLED = frozenset({"done", "cancelled"})
MAX_RESULT = 4000
# The commanding unit's people who cancel a task or send a part back.
COMMAND_ROLES = frozenset({"staff", "admin"})
# A called unit's people who report and mark their part done.
WORK_ROLES = frozenset({"staff"})
MOVED_ON = "the case left the state that opened the task"

# step -> (trail action, who fires it: "unit" or "commander")
STEPS = {
    "report": ("task.reported", "unit"),
    "done": ("task.done", "unit"),
    "send_back": ("task.sent_back", "commander"),
    "cancel": ("task.cancelled", "commander"),
}
# A task's return (退单, workflow.runtime.returns): asked for, refused (back to its step), or
# approved (the unit released: the task cancelled).
RETURN_ACTIONS = ("task.return_requested", "task.return_refused", "task.released")
# The case's urgency changed: an open task's limit set again on the new clock.
RETIMED = "task.retimed"
TASK_ACTIONS = ("task.opened", *(a for a, _ in STEPS.values()), *RETURN_ACTIONS, RETIMED)


@dataclass(slots=True)
class _Step:
    """The model of one task step: transitions reads and sets ``state`` on it."""

    state: str


def _build() -> Machine:
    return Machine(
        model=None,
        states=list(STATUSES),
        transitions=[
            {"trigger": "report", "source": "awaiting_report", "dest": "working"},
            {"trigger": "done", "source": "working", "dest": "done"},
            # A part sent back is done again; a part not yet done needs no sending back.
            {"trigger": "send_back", "source": "done", "dest": "working"},
            {
                "trigger": "cancel",
                "source": ["awaiting_report", "working", "done", "return_requested"],
                "dest": "cancelled",
            },
        ],
        initial="awaiting_report",
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=False,
    )


MACHINE = _build()


def _next(status: str, step: str) -> str:
    model = _Step(status)
    try:
        MACHINE.events[step].trigger(model)
    except MachineError:
        raise NotAllowed(
            code="task_step_not_allowed",
            params={"step": step, "status": status, "allowed": MACHINE.get_triggers(status)},
        ) from None
    return model.state


# ---------------------------------------------------------------- clocks


def set_clock(
    task: Task, due: dt.datetime | None, calendar: Clock, now: dt.datetime, seq: int
) -> None:
    task.stage_seq = seq
    task.stage_started_at = now
    task.stage_due_at = due
    if due is None:
        task.stage_yellow_at = None
        task.light = "none"
        return
    limit = calendar.working_seconds_between(now, due)
    task.stage_yellow_at = stages.yellow_at(calendar, now, limit, limit)
    task.light = light_of(task, now)


def _stop_clock(task: Task) -> None:
    task.stage_due_at = task.stage_yellow_at = None
    task.light = "none"


def light_of(task: Task, now: dt.datetime) -> str:
    """The task's light as a case's stage has it: green, yellow, red, none (no clock running)."""
    if task.status not in OPEN or task.stage_due_at is None:
        return "none"
    if now > task.stage_due_at:
        return "red"
    if task.stage_yellow_at is not None and now >= task.stage_yellow_at:
        return "yellow"
    return "green"


def report_due(item: ItemSpec, calendar: Clock, start: dt.datetime) -> dt.datetime | None:
    """A called unit reports within the item's response limit (an urgent or critical case: its
    clock-time report limit, round the clock)."""
    if isinstance(calendar, RoundTheClock):
        return calendar.stage_due("report", start)
    if item.response_limit_h is None:
        return None
    return calendar.add_working_hours(start, item.response_limit_h)


def work_due(item: ItemSpec, calendar: Clock, start: dt.datetime) -> dt.datetime | None:
    """A called unit does its part within the item's department limit (clock time when urgent)."""
    days = item.dept_limit_wd
    if isinstance(calendar, RoundTheClock):
        return calendar.stage_due("handling", start) if days else None
    return calendar.add_working_days(start, days) if days else None


def _iso(at: dt.datetime | None) -> str | None:
    return chain.format_at(at) if at else None


# ---------------------------------------------------------------- opening and the join


def check_targets(
    state: StateSpec,
    item: ItemSpec,
    units: UnitIndex,
    targets: Sequence[str],
    lead: str | None,
    reason: str | None,
    already: Sequence[str] = (),
) -> tuple[list[str], str | None]:
    """The units a firing into STATE opens tasks for, and its lead: the firing's TARGETS (each
    a department of the item's whistle_to, or with a reason another department; none twice and
    none ALREADY working in the state) or, for ``per: whistle_to``, the item's whistle_to.

    A firing that names no target calls the item's lead unit and assisting units (属地管理: the
    list's own duties) where the list names them."""
    assert state.tasks is not None
    if state.tasks.per == "whistle_to":
        chosen = [u for u in item.whistle_to if u not in already]
    elif not targets and item.lead_unit:
        chosen = [u for u in (item.lead_unit, *item.assist_units) if u not in already]
    else:
        chosen = list(targets)
        choices = ", ".join(item.whistle_to)
        if not chosen:
            raise InvalidInput(
                errors={"targets": [f"one or more of {choices}"]}, code="name_a_department"
            )
        if len(set(chosen)) != len(chosen):
            raise InvalidInput(errors={"targets": ["named twice"]}, code="department_twice")
        for code in chosen:
            u = units.units.get(code)
            if u is None or u.kind != "department":
                raise InvalidInput(
                    errors={"targets": [f"one or more of {choices}"]},
                    code="not_a_department",
                    params={"unit": code},
                )
            if code not in item.whistle_to and not (reason and reason.strip()):
                raise InvalidInput(
                    errors={"reason": [f"required to call {code}"]},
                    code="not_whistle_target_reason",
                    params={"unit": code, "item": item.code},
                )
            if code in already:
                raise InvalidInput(
                    errors={"targets": ["already called"]},
                    code="already_called",
                    params={"unit": code},
                )
    if lead is not None and lead not in chosen:
        raise InvalidInput(
            errors={"lead": ["a target"]}, code="lead_not_target", params={"unit": lead}
        )
    if not chosen:
        raise InvalidInput(errors={"targets": ["all called already"]}, code="nobody_left")
    return chosen, lead


def round_tasks(session: Session, case_id: int, round_seq: int | None) -> list[Task]:
    if round_seq is None:
        return []
    return list(
        session.execute(
            select(Task).where(Task.case_id == case_id, Task.round == round_seq).order_by(Task.id)
        ).scalars()
    )


def open_tasks(
    session: Session,
    *,
    case: Any,
    state: StateSpec,
    units_to_call: Sequence[str],
    lead: str | None,
    item: ItemSpec,
    calendar: Clock,
    actor_label: str,
    actor_unit: str | None,
    now: dt.datetime,
    status: str = "awaiting_report",
    reason: str | None = None,
) -> list[Task]:
    """One task per unit in the case's current stage (its round), each with a task.opened event.
    The lead (主办) is LEAD, else the list's lead unit when called, else the first unit, unless
    the round has a lead already."""
    assert state.tasks is not None
    existing = round_tasks(session, case.id, case.stage_seq)
    has_lead = any(t.lead and t.status != "cancelled" for t in existing)
    # The round's lead: the one named, else the list's lead unit if it is called, else the first.
    first = item.lead_unit if item.lead_unit in units_to_call else units_to_call[0]
    lead = lead or (None if has_lead else first)
    out: list[Task] = []
    for code in units_to_call:
        task = _new_task(case, state, code, code == lead, status, item, calendar, now)
        task.stage_seq = chain.next_seq(
            session, case.partition
        )  # the event below begins its first step
        session.add(task)
        session.flush()  # its id, for the event: one INSERT, version 1
        chain.append(
            session,
            at=now,
            actor=actor_label,
            unit=actor_unit,
            action="task.opened",
            case_id=case.id,
            to_state=case.state,
            to_holder=code,
            reason=reason,
            data={
                "task": task.id,
                "status": status,
                "lead": task.lead,
                "required": task.required,
                "round": case.stage_seq,
                "report_due_at": _iso(task.report_due_at),
                "due_at": _iso(task.due_at),
            },
        )
        out.append(task)
    return out


def _new_task(
    case: Any,
    state: StateSpec,
    unit: str,
    lead: bool,
    status: str,
    item: ItemSpec,
    calendar: Clock,
    now: dt.datetime,
) -> Task:
    """A task row of UNIT in the case's current round, its first step's clock running."""
    assert state.tasks is not None
    awaiting = status == "awaiting_report"
    task = Task(
        case_id=case.id,
        round=case.stage_seq,
        state=case.state,
        commander=case.holder,
        street=case.street,
        unit=unit,
        lead=lead,
        required=lead or state.tasks.join == "all",
        status=status,
        created_at=now,
        updated_at=now,
        report_due_at=report_due(item, calendar, now) if awaiting else None,
        due_at=None if awaiting else work_due(item, calendar, now),
        light="none",
    )
    set_clock(task, task.report_due_at if awaiting else task.due_at, calendar, now, 0)
    return task


def waiting_of(session: Session, rounds: dict[int, int]) -> set[int]:
    """Of the cases in ROUNDS (case id -> its round, stage_seq), those with a required task of
    that round not settled (waiting_for() of each, in one query)."""
    if not rounds:
        return set()
    rows = session.execute(
        select(Task.case_id, Task.round).where(
            Task.case_id.in_(list(rounds)),
            Task.required.is_(True),
            Task.status.not_in(SETTLED),
        )
    ).all()
    return {case_id for case_id, round_seq in rows if rounds.get(case_id) == round_seq}


def waiting_for(session: Session, case_id: int, round_seq: int | None) -> list[str]:
    """The units whose required task in the round is not settled: the join holds when none."""
    if round_seq is None:
        return []
    return list(
        session.execute(
            select(Task.unit)
            .where(
                Task.case_id == case_id,
                Task.round == round_seq,
                Task.required.is_(True),
                Task.status.not_in(SETTLED),
            )
            .order_by(Task.id)
        ).scalars()
    )


def check_join(session: Session, case: Any) -> None:
    """NotAllowed (409) unless the join of the case's current task state holds."""
    waiting = waiting_for(session, case.id, case.stage_seq)
    if waiting:
        raise NotAllowed(code="waits_for_tasks", params={"units": list(waiting)})


def close_round(
    session: Session,
    *,
    case_id: int,
    round_seq: int | None,
    state: str,
    actor_label: str,
    actor_unit: str | None,
    now: dt.datetime,
) -> None:
    """Cancel the tasks still open when the case leaves the state (with join: required, an
    assistant may still be working): each with its task.cancelled event."""
    for task in round_tasks(session, case_id, round_seq):
        if task.status not in OPEN:
            continue
        before = task.status
        task.status = "cancelled"
        task.updated_at = now
        _stop_clock(task)
        session.flush()
        chain.append(
            session,
            at=now,
            actor=actor_label,
            unit=actor_unit,
            action="task.cancelled",
            case_id=case_id,
            trigger="cancel",
            to_state=state,
            to_holder=task.unit,
            reason=MOVED_ON,
            data={"task": task.id, "status": "cancelled", "from_status": before},
        )


# ---------------------------------------------------------------- steps


def get_task(session: Session, task_id: int) -> Task:
    task = session.get(Task, task_id, populate_existing=True) if 1 <= task_id < 2**31 else None
    if task is None:
        raise NotFound(code="no_task", params={"task": task_id})
    return task


def _text(value: str | None, name: str, *, required: bool) -> str | None:
    if value is None or not value.strip():
        if required:
            raise InvalidInput(errors={name: ["required"]}, code="required", params={"field": name})
        return None
    if len(value) > MAX_RESULT:
        raise InvalidInput(
            errors={name: [f"at most {MAX_RESULT} characters"]},
            code="too_long",
            params={"field": name},
        )
    check_text(**{name: value})
    return value.strip()


def step(
    session: Session,
    task_id: int,
    name: str,
    actor: Any,
    *,
    result: str | None = None,
    reason: str | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Task:
    """Take step NAME (report, done, send_back, cancel) on a task as ACTOR: its status and one
    trail event with its id, in the caller's transaction. Raises NotFound, StaleVersion,
    NotHolder, NotAllowed (not from this status; the case moved on), InvalidInput."""
    from workflow.runtime.engine import clock_of, utcnow, work_calendar

    now = now or utcnow()
    chain.lock_head(session)
    task = get_task(session, task_id)
    if name not in STEPS:
        raise InvalidInput(
            errors={"step": [", ".join(STEPS)]}, code="no_task_step", params={"step": name}
        )
    action, _who = STEPS[name]
    case = session.get(Case, task.case_id, populate_existing=True)
    assert case is not None
    _may_step(task, case, name, actor, expected_version)
    result = _text(result, "result", required=name == "done")
    reason = _text(reason, "reason", required=name in ("send_back", "cancel"))
    before = task.status
    status = _next(before, name)
    data = _step_data(task, before, status, now)
    seq = chain.next_seq(session, case.partition)
    item = _item_of(session, case) if status == "working" else None
    calendar = clock_of(session, case.urgency, item) if item else work_calendar(session)
    # Every change below goes out in one UPDATE: one step, one version.
    with session.no_autoflush:
        task.status = status
        task.updated_at = now
        if item is not None:
            task.due_at = work_due(item, calendar, now)
            set_clock(task, task.due_at, calendar, now, seq)
            data["due_at"] = _iso(task.due_at)
        else:
            _stop_clock(task)
        if name == "done":
            task.result = data["result"] = result
    session.flush()
    chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action=action,
        case_id=case.id,
        trigger=name,
        to_state=case.state,
        to_holder=task.unit,
        reason=reason,
        data=data,
    )
    return task


def _may_step(task: Task, case: Case, name: str, actor: Any, expected: int | None) -> None:
    """Why ACTOR may not take step NAME on TASK now (raised), in the order a caller learns it."""
    if case.state != task.state or case.stage_seq != task.round:
        raise NotAllowed(code="task_moved_on", params={"case": case.id, "task": task.id})
    if STEPS[name][1] == "unit":
        if actor.unit != task.unit or actor.role not in WORK_ROLES:
            raise NotHolder(code="task_unit_only", params={"task": task.id, "unit": task.unit})
    elif actor.unit != case.holder or actor.role not in COMMAND_ROLES:
        raise NotHolder(code="commander_only", params={"step": name, "holder": case.holder})
    if expected is not None and expected != task.version:
        raise StaleVersion(
            code="stale_task",
            params={"task": task.id, "version": task.version, "expected": expected},
        )


def _step_data(task: Task, before: str, status: str, now: dt.datetime) -> dict[str, Any]:
    """The step's event data; a step that ends a timed step says so ("left", as a case's stage
    exit says it: appraisal reads both alike)."""
    data: dict[str, Any] = {"task": task.id, "status": status, "from_status": before}
    if task.stage_due_at is not None and before in ("awaiting_report", "working"):
        data["left"] = {
            "state": before,
            "holder": task.unit,
            "started_at": _iso(task.stage_started_at),
            "due_at": _iso(task.stage_due_at),
            "late": now > task.stage_due_at,
            "limit": "response" if before == "awaiting_report" else "days",
        }
        if before == "awaiting_report":
            data["response_late"] = data["left"]["late"]
    return data


def _item_of(session: Session, case: Case) -> ItemSpec:
    """The case's item as pinned, with its street's routing table applied (its limits)."""
    item, _ = registry.item(session, case.item, case.list_version)
    routing = street_routing.for_case(session, case.street, case.routing_version)
    return routing.apply(item) if routing is not None else item


def set_lights(session: Session, lights: dict[str, list[int]]) -> None:
    """Not a step: the tasks' versions stay."""
    for light, ids in lights.items():
        session.execute(
            update(Task)
            .where(Task.id.in_(ids))
            .values(light=light)
            .execution_options(synchronize_session=False)
        )


def task_json(task: Task, now: dt.datetime | None = None) -> dict[str, Any]:
    """A task as the API and the console show it."""
    light = light_of(task, now) if now is not None else task.light
    return {
        "id": task.id,
        "case": task.case_id,
        "unit": task.unit,
        "lead": task.lead,
        "required": task.required,
        "status": task.status,
        "state": task.state,
        "round": task.round,
        "version": task.version,
        "report_due_at": _iso(task.report_due_at),
        "due_at": _iso(task.due_at),
        "stage_due_at": _iso(task.stage_due_at),
        "light": light,
        "result": task.result,
        "created_at": _iso(task.created_at),
        "updated_at": _iso(task.updated_at),
    }
