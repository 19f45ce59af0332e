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

from workflow.audit import chain
from workflow.catalog.registry import UnitIndex
from workflow.errors import InvalidInput, NotHolder
from workflow.runtime import stages
from workflow.runtime.clock import Clock
from workflow.runtime.holders import resolve_holder
from workflow.spec.model import ItemSpec, RouteSpec, TransitionSpec
from workflow.store.models import Case, TrailEvent


@dataclass(frozen=True)
class Actor:
    """Who fires a trigger: a user (name, unit, role), the resident, or the system (the sweep)."""

    name: str
    unit: str | None
    role: str

    @property
    def label(self) -> str:
        return self.name


SYSTEM = Actor("system", None, "system")


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


def may_fire(spec: TransitionSpec, actor: Actor, case: Case) -> str | None:
    """Why ACTOR may not fire SPEC on CASE, or None when they may."""
    if actor.role not in spec.roles:
        allowed = ", ".join(spec.roles)
        return f"{spec.trigger!r} is fired by {allowed}, not by a {actor.role}"
    if actor.role in ("system", "applicant"):
        return None
    if actor.unit != case.holder:
        return f"the case is held by {case.holder}, not by {actor.unit}"
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
        raise NotHolder(why)
    _reason_given(spec, f)
    _target_allowed(spec, f)
    return True


def _reason_given(spec: TransitionSpec, f: Firing) -> None:
    if spec.reason_required and not (f.reason and f.reason.strip()):
        raise InvalidInput(
            f"{spec.trigger!r} needs a reason", {"reason": [f"required for {spec.trigger}"]}
        )


def _target_allowed(spec: TransitionSpec, f: Firing) -> None:
    if spec.target == "whistle_to":
        if not f.target:
            raise InvalidInput(
                f"{spec.trigger!r} needs a target department",
                {"target": [f"one of {', '.join(f.item.whistle_to)}"]},
            )
        if f.target not in f.item.whistle_to:
            raise InvalidInput(
                f"{f.target!r} is not a whistle target of item {f.item.code}",
                {"target": [f"one of {', '.join(f.item.whistle_to)}"]},
            )
    elif f.target:
        raise InvalidInput(
            f"{spec.trigger!r} takes no target", {"target": ["not allowed for this trigger"]}
        )


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
        street_holders=f.street_holders,
    )


def _record(spec: TransitionSpec, ev: EventData) -> None:
    """Apply the new state to the case row and append its one trail event."""
    f = _firing(ev)
    case = f.case
    dest = f.route.state(spec.dest)
    source = f.route.state(spec.source)
    from_state, from_holder = case.state, case.holder
    # The event appended below, which begins the new stage.
    seq = f.head[0] + 1 if f.head is not None else chain.next_seq(f.session)
    left = stages.leave_stage(case, f.now)
    case.state = f.state
    case.tier = dest.tier
    case.holder = f.to_holder
    if spec.target:
        case.whistle_target = f.target
    elif dest.tier != "department":
        case.whistle_target = None
    case.updated_at = f.now
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
    if f.target:
        data["target"] = f.target
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
    f.event = chain.append(f.session, head=f.head, conn=f.conn, **fields)


def build_machine(route: RouteSpec) -> Machine:
    transitions = [
        {
            "trigger": t.trigger,
            "source": t.source,
            "dest": t.dest,
            "conditions": [partial(_may_fire, t)],
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
