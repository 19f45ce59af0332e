"""One transitions.Machine per route version, built once and shared by every case on it.

A case is never added to a machine (that costs tens of KB per model and slows down as models
pile up). Each firing passes a short-lived Firing object as the model instead: it carries the
case's state and everything the conditions and callbacks need, and is dropped afterwards."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session
from transitions import EventData, Machine

from workflow.actors import Actor
from workflow.audit import chain
from workflow.catalog.registry import UnitIndex
from workflow.errors import InvalidInput, NotHolder
from workflow.runtime import stages, tasks
from workflow.runtime.clock import Clock
from workflow.runtime.holders import dispatch_choices, resolve_holder
from workflow.spec.model import ItemSpec, RouteSpec, StateSpec, TransitionSpec
from workflow.store.models import Case, TrailEvent


@dataclass(slots=True)
class Firing:
    """The model of one firing: transitions reads and sets ``state`` on it."""

    state: str
    case: Case
    actor: Actor
    route: RouteSpec
    item: ItemSpec
    units: UnitIndex
    calendar: Clock
    session: Session
    now: dt.datetime
    reason: str | None = None
    target: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    to_holder: str | None = None
    event: TrailEvent | None = None
    # The street's routing table for this case's item: tier -> unit (empty: the default).
    street_holders: dict[str, str] = field(default_factory=dict)
    # The chain head read by fire()'s lock_head: the event is appended right after it.
    head: tuple[int, str] | None = None
    # The session's connection, where fire() runs its statements.
    conn: Connection | None = None
    # A joint whistle's departments (into a task state) and its lead; () and None otherwise.
    targets: tuple[str, ...] = ()
    lead: str | None = None
    # The units a firing into a task state calls, as checked.
    calling: list[str] = field(default_factory=list)
    # 办理结果: what was done, written when a case is resolved or completed.
    result: str | None = None
    # Worked out only (engine.plan_fire): the case's new values and the event's fields are
    # set, nothing is written; engine.commit_fire writes them under the lock.
    plan_only: bool = False
    # The trail event's fields, once the case's new values are set (_change).
    fields: dict[str, Any] | None = None
    # The stage_seq of the stage the firing leaves (its task round, for _tasks_after).
    round_left: int | None = None
    # The transition fired (set with fields).
    transition: TransitionSpec | None = None


# The triggers that end the work on a case and so carry its result (办理结果).
RESULT_TRIGGERS = frozenset({"resolve", "complete"})


def may_fire(spec: TransitionSpec, actor: Actor, case: Case) -> NotHolder | None:
    """Why ACTOR may not fire SPEC on CASE (the refusal to raise), or None when they may."""
    if actor.role not in spec.roles:
        return NotHolder(
            code="fired_by",
            params={"trigger": spec.trigger, "roles": list(spec.roles), "role": actor.role},
        )
    if actor.role in ("system", "applicant"):
        return None
    if actor.unit != case.holder:
        return NotHolder(code="held_by_other", params={"holder": case.holder, "unit": actor.unit})
    return None


# ---------------------------------------------------------------- conditions and callbacks


def _firing(ev: EventData) -> Firing:
    assert isinstance(ev.model, Firing)
    return ev.model


# Conditions raise the engine's exceptions instead of returning False, so that the caller
# learns why a trigger did not fire.


def _may_fire(spec: TransitionSpec, ev: EventData) -> bool:
    """The transition's condition: the actor holds the case with a role allowed to fire it, a
    reason is given where the route asks for one, the target (a whistle's) is allowed."""
    f = _firing(ev)
    why = may_fire(spec, f.actor, f.case)
    if why:
        raise why
    _reason_given(spec, f)
    _target_allowed(spec, f)
    if f.result is not None and spec.trigger not in RESULT_TRIGGERS:
        raise InvalidInput(
            f"{spec.trigger!r} takes no result",
            {"result": ["only on resolve or complete"]},
            code="takes_no_result",
            params={"trigger": spec.trigger},
        )
    return True


def _reason_given(spec: TransitionSpec, f: Firing) -> None:
    if spec.reason_required and not (f.reason and f.reason.strip()):
        raise InvalidInput(
            errors={"reason": [f"required for {spec.trigger}"]},
            code="needs_reason",
            params={"trigger": spec.trigger},
        )


def _target_allowed(spec: TransitionSpec, f: Firing) -> None:
    if spec.target == "whistle_to" and f.route.state(spec.dest).tasks is not None:
        return  # the task state's own check (_tasks_allowed) names the units
    if f.targets and len(f.targets) > 1:
        raise InvalidInput(
            errors={"targets": ["one department only"]},
            code="one_target",
            params={"trigger": spec.trigger},
        )
    if spec.target == "whistle_to":
        if not f.target:
            raise InvalidInput(
                errors={"target": [f"one of {', '.join(f.item.whistle_to)}"]},
                code="needs_target",
                params={"trigger": spec.trigger},
            )
        if f.target not in f.item.whistle_to:
            raise InvalidInput(
                errors={"target": [f"one of {', '.join(f.item.whistle_to)}"]},
                code="not_whistle_target",
                params={"target": f.target, "item": f.item.code},
            )
    elif f.target and f.route.state(spec.dest).tier == "agency":
        # A dispatch: the street chooses among its fitting agencies, or keeps the case.
        choices = dispatch_choices(f.case.street, f.item, f.units, f.street_holders.get("agency"))
        if f.target not in choices:
            raise InvalidInput(
                f"{f.target!r} is not an agency {f.case.street} may dispatch item {f.item.code} to",
                {"target": [f"one of {', '.join(choices)}"]},
                code="not_dispatch_agency",
                params={"target": f.target, "street": f.case.street, "item": f.item.code},
            )
    elif f.target:
        raise InvalidInput(
            errors={"target": ["not allowed for this trigger"]},
            code="takes_no_target",
            params={"trigger": spec.trigger},
        )


def _tasks_allowed(spec: TransitionSpec, ev: EventData) -> bool:
    """Into a task state: the units to call are good (see tasks.check_targets)."""
    f = _firing(ev)
    dest = f.route.state(spec.dest)
    already: list[str] = []
    if spec.source == spec.dest:
        # Calling more units into the same state: those working in it now are not called twice.
        already = [
            t.unit
            for t in tasks.round_tasks(f.session, f.case.id, f.case.stage_seq)
            if t.status != "cancelled"
        ]
    elif f.lead is not None and not f.targets:
        raise InvalidInput(errors={"lead": ["name the targets too"]}, code="lead_without_targets")
    f.calling, f.lead = tasks.check_targets(
        dest, f.item, f.units, f.targets, f.lead, f.reason, already
    )
    return True


def _join_holds(spec: TransitionSpec, ev: EventData) -> bool:
    """Out of a task state: every required task of the round is done or cancelled."""
    tasks.check_join(_firing(ev).session, _firing(ev).case)
    return True


def _resolve_holder(spec: TransitionSpec, ev: EventData) -> None:
    f = _firing(ev)
    tier = f.route.state(spec.dest).tier
    current = f.case.holder if f.route.state(spec.source).tier == "department" else None
    f.to_holder = resolve_holder(
        tier,
        workstation=f.case.workstation,
        street=f.case.street,
        item=f.item,
        units=f.units,
        target=f.target,
        current_department=current,
        # A dispatch's chosen agency is the street's choice, over its routing table's default.
        street_holders={k: v for k, v in f.street_holders.items() if k != "agency"}
        if tier == "agency" and f.target
        else f.street_holders,
    )


# The stage_seq of a stage entered by a firing worked out before its event's seq is known
# (engine.plan_fire): commit_fire puts the seq in its place under the lock.
SEQ_TO_COME = -1


def _record(spec: TransitionSpec, ev: EventData) -> None:
    """Apply the new state to the case row and append its one trail event (only the former
    when the firing is worked out ahead of its lock: plan_only)."""
    f = _firing(ev)
    if f.plan_only:
        _change(spec, f, SEQ_TO_COME)
        return
    # The event appended below, which begins the new stage.
    head_seq = f.head[0] if f.head is not None else None
    _change(spec, f, chain.next_seq(f.session, f.case.partition, head_seq))
    append_event(f)


def append_event(f: Firing) -> None:
    """The firing's trail event (fields set by _change), and the tasks of a task state left or
    entered, in the caller's transaction under the chain's lock."""
    spec = f.transition
    assert f.fields is not None and spec is not None
    case = f.case
    f.event = chain.append(
        f.session, head=f.head, conn=f.conn, partition=case.partition, **f.fields
    )
    source, dest = f.route.state(spec.source), f.route.state(spec.dest)
    if source.tasks is not None or dest.tasks is not None:
        same_stage = spec.source == spec.dest and dest.tasks is not None
        _tasks_after(f, source, dest, same_stage, f.round_left)


def _change(spec: TransitionSpec, f: Firing, seq: int) -> None:
    """The case's new state, holder and clock (a stage entered begins at event SEQ), and the
    fields of its trail event: no statement runs."""
    case = f.case
    dest = f.route.state(spec.dest)
    source = f.route.state(spec.source)
    from_state, from_holder = case.state, case.holder
    # Calling more units into a task state goes on with the same stage (and its tasks).
    same_stage = spec.source == spec.dest and dest.tasks is not None
    round_left = case.stage_seq
    left = None if same_stage else stages.leave_stage(case, f.now)
    case.state = f.state
    case.tier = dest.tier
    case.holder = f.to_holder
    if spec.target and dest.tasks is None:
        case.whistle_target = f.target
    elif dest.tier != "department" or dest.tasks is not None:
        case.whistle_target = None
    case.updated_at = f.now
    if not same_stage:
        stages.enter_stage(case, dest, f.item, f.calendar, f.now, seq=seq)
    data: dict[str, Any] = stages.clock_data(case)
    if left:
        data["left"] = left
        if source.limit == "response" and left["due_at"] is not None:
            # Leaving a response state is the response (accepting a report, reporting for
            # duty after a whistle): appraisal's response rate counts these.
            data["response_late"] = left["late"]
    # Appraisal facts: the kind of limit of the stage left ("response" or "days"), and
    # "paused" when the case now waits on the applicant: its stage is paused, not ended.
    if left:
        left["limit"] = f.route.state(from_state).limit
    if dest.tier == "applicant":
        data["paused"] = True
    _target_data(f, data, same_stage)
    if f.result is not None:
        data["result"] = f.result
        case.result = f.result
    if f.data:
        data["input"] = f.data
    fields: dict[str, Any] = dict(
        at=f.now,
        actor=f.actor.label,
        unit=f.actor.unit,
        action="case.transition",
        case_id=case.id,
        trigger=spec.trigger,
        from_state=from_state,
        to_state=case.state,
        from_holder=from_holder,
        to_holder=case.holder,
        reason=f.reason,
        data=data,
    )
    f.fields = fields
    f.round_left = round_left
    f.transition = spec


def _target_data(f: Firing, data: dict[str, Any], same_stage: bool) -> None:
    """A whistle's departments in its event: the units called and the lead, or the target."""
    if f.calling:
        data["targets"] = list(f.calling)
        data["lead"] = f.lead or (f.calling[0] if not same_stage else None)
    elif f.target and f.case.tier == "agency":
        data["agency"] = f.target  # a dispatch's choice (not a whistle's target)
    elif f.target:
        data["target"] = f.target


def _tasks_after(
    f: Firing, source: StateSpec, dest: StateSpec, same_stage: bool, round_left: int | None
) -> None:
    """After the transition's event: the tasks of a task state left are closed, and those of a
    task state entered (or called into again) opened, each with its own event."""
    label, unit = f.actor.label, f.actor.unit
    if source.tasks is not None and not same_stage:
        tasks.close_round(
            f.session,
            case_id=f.case.id,
            round_seq=round_left,
            state=f.case.state,
            actor_label=label,
            actor_unit=unit,
            now=f.now,
        )
    if dest.tasks is not None:
        tasks.open_tasks(
            f.session,
            case=f.case,
            state=dest,
            units_to_call=f.calling,
            lead=f.lead,
            item=f.item,
            calendar=f.calendar,
            actor_label=label,
            actor_unit=unit,
            now=f.now,
        )


def _conditions(route: RouteSpec, t: TransitionSpec) -> list[Any]:
    """The transition's conditions: task checks only where the route has task states, so a
    firing on a route without them pays nothing for them."""
    out: list[Any] = [partial(_may_fire, t)]
    if route.state(t.dest).tasks is not None:
        out.append(partial(_tasks_allowed, t))
    if route.state(t.source).tasks is not None and t.source != t.dest:
        out.append(partial(_join_holds, t))
    return out


def build_machine(route: RouteSpec) -> Machine:
    transitions = [
        {
            "trigger": t.trigger,
            "source": t.source,
            "dest": t.dest,
            "conditions": _conditions(route, t),
            "before": [partial(_resolve_holder, t)],
            "after": [partial(_record, t)],
        }
        for t in route.transitions
    ]
    return Machine(
        model=None,
        states=list(route.state_names),
        transitions=transitions,
        initial=route.initial,
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=False,
    )


_machines: dict[str, Machine] = {}
_lock = threading.Lock()


def machine_for(route: RouteSpec, digest: str) -> Machine:
    """The shared machine of a route version (keyed by its content digest)."""
    m = _machines.get(digest)
    if m is None:
        with _lock:
            m = _machines.get(digest)
            if m is None:
                m = _machines[digest] = build_machine(route)
    return m
