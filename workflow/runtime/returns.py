"""退单: a unit that believes a case is not its duty asks to return it; a reviewer decides.

- A request names a category of the scheme's list and a reason. While it is pending the case
  keeps its holder and its clock; the review has a limit of its own, and a review past it is
  supervised (a trail event, once).
- The reviewer is the scheme's (the district's supervision unit by default; a route may name
  another, or "street": the case's street office). A task of a joint whistle is returned to the
  street in command; if it refuses and the department asks again, the district arbitrates. Approved: the case goes back to the unit
  that sent it, or to the unit the reviewer names (改派); refused: the requester keeps it.
- A case returned before (any decided return) is a dispute: the next request goes to the
  district's arbitration, whose decision is final and names the responsible unit.
- Appraisal: a refused return counts against the requester (退单驳回率); an approved one against
  nobody, or against the unit the reviewer names as having mis-sent it.

Every step is a trail event in the caller's transaction; the move of an approved return is a
case.transition with the trigger "return", so that replay and the appraisal read it as any move."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from workflow.actors import SYSTEM, Actor
from workflow.audit import chain
from workflow.catalog import registry
from workflow.errors import Conflict, InvalidInput, NotAllowed, NotFound, NotHolder
from workflow.inputs import check_text
from workflow.runtime import engine, stages, tasks
from workflow.runtime.urgency import case_item
from workflow.spec.model import TIER_ROLES
from workflow.spec.practice import practice
from workflow.store.models import Case, ReturnRequest, Task, TrailEvent

REVIEWER_ROLES = frozenset({"staff", "admin"})
STATUSES = ("pending", "approved", "refused", "lapsed")
# Which kind of unit may hold a state of each tier (改派 names one of these).
TIER_KIND = {
    "workstation": "workstation",
    "street_office": "street_office",
    "agency": "dispatched_agency",
    "department": "department",
}


def _reason(reason: str | None, name: str = "reason") -> str:
    if reason is None or not reason.strip():
        raise InvalidInput(errors={name: ["required"]}, code="a_required", params={"field": name})
    if len(reason) > engine.MAX_TEXT:
        raise InvalidInput(
            errors={name: [f"at most {engine.MAX_TEXT}"]},
            code="the_too_long",
            params={"field": name},
        )
    check_text(**{name: reason})
    return reason.strip()


def reviewer_of(session: Session, case: Case, *, arbitration: bool) -> str:
    r = practice(session).returns
    if arbitration:
        return str(r["arbitrator"])
    who = str(r["routes"].get(case.route_name) or r["reviewer"])
    return case.street if who == "street" else who


def _stage_start(session: Session, case: Case) -> TrailEvent | None:
    if case.stage_seq is None:
        return None
    return session.execute(
        select(TrailEvent).where(TrailEvent.seq == case.stage_seq)
    ).scalar_one_or_none()


def sender_of(session: Session, case: Case) -> tuple[str | None, str | None]:
    """(the unit that handed the case to its holder, the state it was in there), or Nones when
    the case began with its holder."""
    ev = _stage_start(session, case)
    if ev is None or not ev.from_holder or ev.from_holder == case.holder:
        return None, None
    return ev.from_holder, ev.from_state


def request_return(
    session: Session,
    *,
    case_id: int,
    actor: Actor,
    category: str,
    reason: str,
    task: int | None = None,
    now: dt.datetime | None = None,
) -> ReturnRequest:
    """The holder asks to return the case. Raises InvalidInput (category, reason, task),
    NotHolder, NotAllowed (closed), Conflict (one pending, or arbitrated already), NotFound."""
    now = now or engine.utcnow()
    chain.lock_head(session)
    case = engine.get_case(session, case_id)
    _check_category(session, category)
    text = _reason(reason)
    if task is not None:
        return _request_task_return(
            session, case, task, actor=actor, category=category, reason=text, now=now
        )
    roles = TIER_ROLES.get(case.tier or "", frozenset()) - {"system", "applicant"}
    if case.tier is None:
        raise NotAllowed(code="nothing_to_return", params={"case": case_id, "state": case.state})
    if actor.unit != case.holder or actor.role not in roles:
        raise NotHolder(code="holder_returns", params={"holder": case.holder, "case": case_id})
    earlier = list(
        session.execute(
            select(ReturnRequest)
            .where(ReturnRequest.case_id == case_id, ReturnRequest.task_id.is_(None))
            .order_by(ReturnRequest.id)
        ).scalars()
    )
    _check_earlier(earlier, "case", case_id)
    # Returned before: the units are bouncing the case; the district arbitrates.
    arbitration = any(r.status in ("approved", "refused") for r in earlier)
    sender, _ = sender_of(session, case)
    assert case.holder is not None
    ret = ReturnRequest(
        case_id=case_id,
        category=category,
        reason=text,
        unit=case.holder,
        requested_by=actor.label,
        requested_at=now,
        stage_seq=case.stage_seq,
        state=case.state,
        sender=sender,
        reviewer=reviewer_of(session, case, arbitration=arbitration),
        arbitration=arbitration,
        review_due_at=review_due(session, case, now),
        status="pending",
    )
    session.add(ret)
    session.flush()
    _requested_event(session, ret, case, actor=actor, now=now)
    return ret


def _check_category(session: Session, category: str) -> None:
    scheme = practice(session)
    if scheme.category(category) is None:
        codes = ", ".join(c["code"] for c in scheme.returns["categories"])
        raise InvalidInput(
            errors={"category": [f"one of {codes}"]},
            code="no_return_category",
            params={"category": category},
        )


def _check_earlier(earlier: list[ReturnRequest], what: str, what_id: int) -> None:
    """One request pending at a time; after an arbitration, none."""
    for r in earlier:
        if r.status == "pending":
            raise Conflict(
                code="return_pending", params={"number": r.id, "what": what, "id": what_id}
            )
        if r.arbitration and r.status in ("approved", "refused"):
            raise Conflict(
                code="arbitration_final",
                params={"number": r.id, "unit": r.to_unit if r.status == "approved" else r.unit},
            )


def review_due(session: Session, case: Case, now: dt.datetime) -> dt.datetime:
    """The review's limit: working hours, or clock hours for an urgent or critical case."""
    clock = engine.clock_of(session, case.urgency, case_item(session, case))
    return clock.add_working_hours(now, practice(session).returns["review_limit_h"])


def _requested_event(
    session: Session, ret: ReturnRequest, case: Case, *, actor: Actor, now: dt.datetime
) -> None:
    chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action="return.requested",
        case_id=case.id,
        to_state=case.state,
        to_holder=ret.unit,
        reason=ret.reason,
        data={
            "return": ret.id,
            "category": ret.category,
            "requester": ret.unit,
            "sender": ret.sender,
            "reviewer": ret.reviewer,
            "arbitration": ret.arbitration,
            "review_due_at": chain.format_at(ret.review_due_at),
            **({"task": ret.task_id} if ret.task_id is not None else {}),
        },
    )


def _task_event(
    session: Session,
    task: Task,
    action: str,
    *,
    actor: Actor,
    now: dt.datetime,
    ret: ReturnRequest,
) -> None:
    """The task's own event of its status change (replay builds the task's row from these):
    into return_requested from its step, or out of it."""
    before = ret.state if action == "task.return_requested" else "return_requested"
    chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action=action,
        case_id=task.case_id,
        to_state=task.state,
        to_holder=task.unit,
        reason=ret.reason if action == "task.return_requested" else ret.decision_reason,
        data={"task": task.id, "status": task.status, "from_status": before, "return": ret.id},
    )


def _request_task_return(
    session: Session,
    case: Case,
    task_id: int,
    *,
    actor: Actor,
    category: str,
    reason: str,
    now: dt.datetime,
) -> ReturnRequest:
    """A called unit asks to be released from its task: the street in command reviews, the
    district arbitrates when the unit insists after a refusal. The task is return_requested
    meanwhile (its clock runs on); the case stays with the street."""
    task = _own_task(session, case, task_id, actor)
    earlier = list(
        session.execute(
            select(ReturnRequest).where(ReturnRequest.task_id == task.id).order_by(ReturnRequest.id)
        ).scalars()
    )
    _check_earlier(earlier, "task", task.id)
    if case.stage_seq != task.round or task.status not in ("awaiting_report", "working"):
        raise NotAllowed(
            code="task_nothing_to_return", params={"task": task.id, "status": task.status}
        )
    arbitration = any(r.status == "refused" for r in earlier)
    reviewer = reviewer_of(session, case, arbitration=True) if arbitration else task.commander
    before = task.status
    ret = ReturnRequest(
        case_id=case.id,
        task_id=task.id,
        category=category,
        reason=reason,
        unit=task.unit,
        requested_by=actor.label,
        requested_at=now,
        stage_seq=task.stage_seq,
        state=before,
        sender=task.commander,
        reviewer=reviewer,
        arbitration=arbitration,
        review_due_at=review_due(session, case, now),
        status="pending",
    )
    session.add(ret)
    task.status = "return_requested"
    task.updated_at = now
    session.flush()  # the task's version goes up once: one step
    _task_event(session, task, "task.return_requested", actor=actor, now=now, ret=ret)
    _requested_event(session, ret, case, actor=actor, now=now)
    return ret


def _own_task(session: Session, case: Case, task_id: int, actor: Actor) -> Task:
    """The case's task TASK_ID, when ACTOR's unit does it (its staff)."""
    task = session.get(Task, task_id, populate_existing=True) if 1 <= task_id < 2**31 else None
    if task is None or task.case_id != case.id:
        raise InvalidInput(
            errors={"task": ["no such task"]}, code="no_such_task", params={"task": task_id}
        )
    if actor.unit != task.unit or actor.role not in tasks.WORK_ROLES:
        raise NotHolder(code="task_staff_return", params={"task": task.id, "unit": task.unit})
    return task


def get_return(session: Session, return_id: int) -> ReturnRequest:
    ret = session.get(ReturnRequest, return_id, populate_existing=True)
    if ret is None:
        raise NotFound(code="no_return", params={"number": return_id})
    return ret


def decide_return(
    session: Session,
    *,
    return_id: int,
    actor: Actor,
    approve: bool,
    reason: str,
    to: str | None = None,
    at_fault: str | None = None,
    now: dt.datetime | None = None,
) -> ReturnRequest:
    """The reviewer's decision, with its reason. Approved: the case goes to TO (by default the
    unit that sent it); AT_FAULT names a unit that mis-sent it (it carries the return in the
    appraisal). Refused: the requester keeps the case and carries it. An arbitration's decision
    names the responsible unit and is final.

    Raises InvalidInput, NotHolder (not the reviewer), Conflict (decided), NotAllowed (the case
    has moved on), NotFound."""
    now = now or engine.utcnow()
    chain.lock_head(session)
    ret = get_return(session, return_id)
    text = _reason(reason)
    if actor.unit != ret.reviewer or actor.role not in REVIEWER_ROLES:
        raise NotHolder(
            code="return_decided_by", params={"number": return_id, "unit": ret.reviewer}
        )
    if ret.status != "pending":
        raise Conflict(
            code="return_decided_already", params={"number": return_id, "status": ret.status}
        )
    case = engine.get_case(session, ret.case_id)
    task = session.get(Task, ret.task_id, populate_existing=True) if ret.task_id else None
    if task is not None:
        if task.status != "return_requested" or case.stage_seq != task.round:
            raise NotAllowed(code="task_moved_on_return", params={"task": task.id})
    elif case.stage_seq != ret.stage_seq or case.holder != ret.unit or case.tier is None:
        raise NotAllowed(code="case_moved_on_return", params={"case": case.id})
    _check_decision(session, approve, to, at_fault)
    data: dict[str, Any] = {"return": ret.id, "requester": ret.unit, "arbitration": ret.arbitration}
    if task is not None:
        _decide_task(session, case, task, ret, actor, approve, text, to, at_fault, now, data)
    elif approve:
        target = _target(session, ret, to)
        data.update(move=_move(session, case, ret, target, actor, text, now))
        ret.status, ret.to_unit, ret.at_fault = "approved", target, at_fault
        data.update(to=target, at_fault=at_fault, responsible=target)
    else:
        ret.status, ret.at_fault = "refused", ret.unit
        data.update(responsible=ret.unit)
    _decided_event(session, ret, case, actor=actor, reason=text, now=now, data=data)
    return ret


def _check_decision(session: Session, approve: bool, to: str | None, at_fault: str | None) -> None:
    if not approve and (to or at_fault):
        raise InvalidInput(
            errors={"to" if to else "at_fault": ["only when approving"]}, code="refused_stays"
        )
    if at_fault is not None and at_fault not in registry.units(session).units:
        raise InvalidInput(
            errors={"at_fault": ["unknown unit"]}, code="no_unit", params={"unit": at_fault}
        )


def _target(session: Session, ret: ReturnRequest, to: str | None) -> str:
    """Where an approved return sends the case: TO, else the unit that sent it."""
    target = to or ret.sender
    if not target:
        raise InvalidInput(
            errors={"to": ["required: the case has no sender"]}, code="name_the_unit"
        )
    if target not in registry.units(session).units:
        raise InvalidInput(errors={"to": ["unknown unit"]}, code="no_unit", params={"unit": target})
    if target == ret.unit:
        raise InvalidInput(errors={"to": ["the requester"]}, code="approve_elsewhere")
    return target


def _decided_event(
    session: Session,
    ret: ReturnRequest,
    case: Case,
    *,
    actor: Actor,
    reason: str,
    now: dt.datetime,
    data: dict[str, Any],
) -> None:
    ret.decided_by = actor.label
    ret.decided_at = now
    ret.decision_reason = reason
    session.flush()
    chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action=f"return.{ret.status}",
        case_id=case.id,
        to_state=case.state,
        to_holder=case.holder,
        reason=reason,
        data=data,
    )


def _decide_task(
    session: Session,
    case: Case,
    task: Task,
    ret: ReturnRequest,
    actor: Actor,
    approve: bool,
    reason: str,
    to: str | None,
    at_fault: str | None,
    now: dt.datetime,
    data: dict[str, Any],
) -> None:
    """Approved: the unit is released (its task cancelled), and with TO another unit is called
    in its place (a new task); refused: the task goes back to its step."""
    if approve and to is not None:
        _check_callable(session, case, task, to)
    if approve:
        task.status = "cancelled"
        task.stage_due_at = task.stage_yellow_at = None
        task.light = "none"
        ret.status, ret.to_unit, ret.at_fault = "approved", to or ret.sender, at_fault
        data.update(to=ret.to_unit, at_fault=at_fault, responsible=ret.to_unit, task=task.id)
    else:
        task.status = ret.state
        ret.status, ret.at_fault = "refused", ret.unit
        data.update(responsible=ret.unit, task=task.id)
    task.updated_at = now
    ret.decision_reason = reason
    session.flush()
    action = "task.released" if approve else "task.return_refused"
    _task_event(session, task, action, actor=actor, now=now, ret=ret)
    if approve and to is not None:
        item = case_item(session, case)
        tasks.open_tasks(
            session,
            case=case,
            state=engine.route_of(session, case).state(case.state),
            units_to_call=[to],
            lead=to if task.lead else None,
            item=item,
            calendar=engine.clock_of(session, case.urgency, item),
            actor_label=actor.label,
            actor_unit=actor.unit,
            now=now,
            reason=reason,
        )


def _check_callable(session: Session, case: Case, task: Task, to: str) -> None:
    """TO may be called in the released unit's place: a department or agency not yet called."""
    units = registry.units(session).units
    if to not in units or units[to].kind not in ("department", "dispatched_agency"):
        raise InvalidInput(
            errors={"to": ["a department or agency"]}, code="cannot_be_called", params={"unit": to}
        )
    if to == task.unit:
        raise InvalidInput(errors={"to": ["the requester"]}, code="approve_release")
    called = {
        t.unit for t in tasks.round_tasks(session, case.id, task.round) if t.status != "cancelled"
    }
    if to in called:
        raise InvalidInput(
            errors={"to": ["called already"]}, code="has_task_already", params={"unit": to}
        )


def _move(
    session: Session,
    case: Case,
    ret: ReturnRequest,
    target: str,
    actor: Actor,
    reason: str,
    now: dt.datetime,
) -> int:
    """Send the case to TARGET: back to the sender's state when TARGET sent it, else to TARGET
    in the same state (改派), which must be a unit of the state's tier. A case.transition with
    the trigger "return"; its seq."""
    route = engine.route_of(session, case)
    units = registry.units(session).units
    sender, sender_state = sender_of(session, case)
    if target == sender and sender_state is not None:
        dest = route.state(sender_state)
    else:
        dest = route.state(case.state)
        kind = TIER_KIND.get(dest.tier or "")
        if kind is None or units[target].kind != kind:
            raise InvalidInput(
                errors={"to": [f"a unit of kind {kind}" if kind else "not in this state"]},
                code="cannot_hold",
                params={"unit": target, "state": case.state},
            )
    item = case_item(session, case)
    clock = engine.clock_of(session, case.urgency, item)
    from_state, from_holder = case.state, case.holder
    left = stages.leave_stage(case, now)
    seq = chain.next_seq(session, case.partition)
    case.state = dest.name
    case.tier = dest.tier
    case.holder = target
    case.whistle_target = target if dest.tier == "department" else None
    case.updated_at = now
    stages.enter_stage(case, dest, item, clock, now, seq=seq)
    session.flush()  # the version goes up: a move is a transition
    data: dict[str, Any] = {**stages.clock_data(case), "return": ret.id}
    if left:
        left["limit"] = route.state(from_state).limit
        data["left"] = left
    if dest.tier == "department":
        data["target"] = target
    ev = chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action="case.transition",
        case_id=case.id,
        trigger="return",
        from_state=from_state,
        to_state=case.state,
        from_holder=from_holder,
        to_holder=case.holder,
        reason=reason,
        data=data,
    )
    assert ev.seq == seq
    return seq


# ---------------------------------------------------------------- the sweep's part


def sweep_returns(session: Session, *, now: dt.datetime) -> tuple[int, int]:
    """Pending returns past their review limit are supervised once (return.review_late, to the
    arbitrator); pending returns whose case has moved on lapse (return.lapsed).
    (late, lapsed) counts."""
    chain.lock_head(session)
    lapsed = _lapse_moved(session, now=now)
    return _supervise_late_reviews(session, now=now), lapsed


def _lapse_moved(session: Session, *, now: dt.datetime) -> int:
    moved = list(
        session.execute(
            select(ReturnRequest)
            .join(Case, Case.id == ReturnRequest.case_id)
            .outerjoin(Task, Task.id == ReturnRequest.task_id)
            .where(ReturnRequest.status == "pending", _moved_on())
            .order_by(ReturnRequest.id)
        ).scalars()
    )
    for ret in moved:
        ret.status = "lapsed"
        session.flush()
        chain.append(
            session,
            at=now,
            actor=SYSTEM.label,
            action="return.lapsed",
            case_id=ret.case_id,
            data={"return": ret.id, "requester": ret.unit},
        )
    return len(moved)


def _moved_on() -> Any:
    """A pending return whose case (or task) is no longer where it was asked for: the task was
    settled meanwhile (cancelled by the street), or the case moved on."""
    of_case = and_(
        ReturnRequest.task_id.is_(None),
        or_(
            Case.tier.is_(None),
            Case.stage_seq != ReturnRequest.stage_seq,
            Case.holder != ReturnRequest.unit,
        ),
    )
    of_task = and_(
        ReturnRequest.task_id.is_not(None),
        or_(Task.status != "return_requested", Case.stage_seq != Task.round),
    )
    return or_(of_case, of_task)


def _supervise_late_reviews(session: Session, *, now: dt.datetime) -> int:
    arbitrator = str(practice(session).returns["arbitrator"])
    overdue = list(
        session.execute(
            select(ReturnRequest)
            .where(
                ReturnRequest.status == "pending",
                ReturnRequest.review_due_at < now,
                ReturnRequest.review_late_at.is_(None),
            )
            .order_by(ReturnRequest.id)
        ).scalars()
    )
    for ret in overdue:
        ret.review_late_at = now
        session.flush()
        chain.append(
            session,
            at=now,
            actor=SYSTEM.label,
            action="return.review_late",
            case_id=ret.case_id,
            data={
                "return": ret.id,
                "reviewer": ret.reviewer,
                "unit": arbitrator,
                "review_due_at": chain.format_at(ret.review_due_at),
            },
        )
    return len(overdue)
