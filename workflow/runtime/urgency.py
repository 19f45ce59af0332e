"""紧急程度: raising or lowering a case's urgency, with a reason, and the clock that follows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from workflow.actors import Actor
from workflow.audit import chain
from workflow.catalog import registry, street_routing
from workflow.errors import Conflict, InvalidInput, NotAllowed, NotHolder
from workflow.inputs import check_text
from workflow.runtime import engine, stages, tasks
from workflow.spec.model import DISPATCH_STATE, TIER_ROLES, URGENCIES, ItemSpec
from workflow.store.models import Case, TrailEvent

# Who besides the holder may change a case's urgency: the dispatch centre, the street office of
# the case's street (its staff), and the workstation's clerk that received it.
DISPATCHER = "dispatcher"
URGENCY_ORDER = {u: n for n, u in enumerate(URGENCIES)}


def may_change(case: Case, actor: Actor) -> bool:
    if actor.role == DISPATCHER:
        return True
    roles = TIER_ROLES.get(case.tier or "", frozenset()) - {"system", "applicant"}
    if actor.unit == case.holder and actor.role in roles:
        return True
    if actor.unit == case.street and actor.role in ("staff", "admin"):
        return True
    return actor.unit == case.workstation and actor.role == "clerk"


def case_item(session: Session, case: Case) -> ItemSpec:
    item, _ = registry.item(session, case.item, case.list_version)
    routing = street_routing.for_case(session, case.street, case.routing_version)
    return routing.apply(item) if routing is not None else item


def set_urgency(
    session: Session,
    *,
    case_id: int,
    actor: Actor,
    urgency: str,
    reason: str,
    now: dt.datetime | None = None,
) -> TrailEvent:
    """Raise or lower a case's urgency. The current stage gets the new clock's limit from now
    (a fresh limit: time already spent is not charged twice), and so does the whole case; while
    the clock is stopped for the applicant, the time left is kept and counted on the new clock.

    Not a transition: the case's version stays. Raises InvalidInput, NotHolder, NotAllowed
    (closed case), Conflict (already at that urgency), NotFound."""
    now = now or engine.utcnow()
    chain.lock_head(session)
    case = engine.get_case(session, case_id)
    text = _check_change(case, actor, urgency, reason)
    old = case.urgency
    retimed: list[int] = []
    if case.state == DISPATCH_STATE:
        # At the dispatch centre no limit runs yet: the new clock starts on dispatch.
        _write(session, case, {"urgency": urgency})
    else:
        item = case_item(session, case)
        clock = engine.clock_of(session, urgency, item)
        values = _new_limits(session, case, item, clock, now) if case.paused_at is None else {}
        values["urgency"] = urgency
        _write(session, case, values)
        light = stages.light_of(case, now)
        if light != case.light:
            _write(session, case, {"light": light})
        retimed = _retime_tasks(session, case, item, clock, actor=actor, now=now)
    change = "raised" if URGENCY_ORDER[urgency] > URGENCY_ORDER.get(old, 0) else "lowered"
    data = {"urgency": urgency, "from": old, "change": change, **stages.clock_data(case)}
    return chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action="case.urgency_changed",
        case_id=case.id,
        to_state=case.state,
        to_holder=case.holder,
        reason=text,
        data={**data, **({"tasks": retimed} if retimed else {})},
    )


def _check_change(case: Case, actor: Actor, urgency: str, reason: str | None) -> str:
    """The reason, once the change is a valid one by someone who may make it."""
    if urgency not in URGENCIES:
        raise InvalidInput(
            errors={"urgency": [f"one of {', '.join(URGENCIES)}"]},
            code="no_urgency",
            params={"urgency": urgency},
        )
    if reason is None or not reason.strip():
        raise InvalidInput(
            errors={"reason": ["required"]}, code="a_required", params={"field": "reason"}
        )
    if len(reason) > engine.MAX_TEXT:
        raise InvalidInput(
            errors={"reason": [f"at most {engine.MAX_TEXT}"]},
            code="the_too_long",
            params={"field": "reason"},
        )
    check_text(reason=reason)
    if not may_change(case, actor):
        raise NotHolder(code="urgency_changer", params={"holder": case.holder})
    if case.tier is None:
        raise NotAllowed(code="case_closed", params={"case": case.id, "state": case.state})
    if case.urgency == urgency:
        raise Conflict(code="urgency_already", params={"case": case.id, "urgency": urgency})
    return reason.strip()


def _new_limits(
    session: Session, case: Case, item: ItemSpec, clock: Any, now: dt.datetime
) -> dict[str, Any]:
    """The current stage's and the whole case's limits on CLOCK, from NOW."""
    route = engine.route_of(session, case)
    due = stages.stage_limit_due(route.state(case.state), item, clock, now)
    values: dict[str, Any] = {
        "stage_due_at": due,
        "due_at": stages.case_due(route, item, clock, now),
    }
    if due is None:
        values["stage_limit_s"] = values["stage_yellow_at"] = None
    else:
        limit = int(clock.working_seconds_between(now, due))
        values["stage_limit_s"] = limit
        values["stage_yellow_at"] = stages.yellow_at(clock, now, limit, limit)
    return values


def _write(session: Session, case: Case, values: dict[str, Any]) -> None:
    """Not a transition: a Core UPDATE leaves the case's version alone."""
    session.execute(
        update(Case)
        .where(Case.id == case.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    for k, v in values.items():
        set_committed_value(case, k, v)


def _retime_tasks(
    session: Session, case: Case, item: ItemSpec, clock: Any, *, actor: Actor, now: dt.datetime
) -> list[int]:
    """The open tasks of the case's current round take the new clock's limit from now too (a
    department called to a fire reports within the critical limit). One task.retimed each."""
    out: list[int] = []
    for task in tasks.round_tasks(session, case.id, case.stage_seq):
        if task.status not in ("awaiting_report", "working"):
            continue
        seq = chain.next_seq(session, case.partition)
        data: dict[str, Any] = {"task": task.id, "status": task.status}
        if task.status == "awaiting_report":
            task.report_due_at = tasks.report_due(item, clock, now)
            due = task.report_due_at
            data["report_due_at"] = chain.format_at(due) if due else None
        else:
            task.due_at = tasks.work_due(item, clock, now)
            due = task.due_at
            data["due_at"] = chain.format_at(due) if due else None
        tasks.set_clock(task, due, clock, now, seq)
        task.updated_at = now
        session.flush()
        chain.append(
            session,
            at=now,
            actor=actor.label,
            unit=actor.unit,
            action="task.retimed",
            case_id=case.id,
            to_state=task.state,
            to_holder=task.unit,
            data=data,
        )
        out.append(task.id)
    return out
