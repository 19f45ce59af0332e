"""The dispatch centre (派单中心: the district's 12345 hotline, a street's 12349): a case that came
in without a place or with an unclear item waits in its queue; the dispatcher classifies it
(chooses the item), places it (chooses the community), raises its urgency, and dispatches it to
the workstation, the street or the department the list allows, or answers a question on the spot.

A case at the centre has no route yet: its state is DISPATCH_STATE, its tier DISPATCH_TIER, its
holder the centre; its item is "" until classified and its route version 0 until dispatched; its
workstation is the community chosen so far, or the centre itself while it has no place (the
column names the unit that received it). Each step is one trail event, in the caller's
transaction, and `audit replay` rebuilds the case from them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from workflow.actors import Actor
from workflow.audit import chain
from workflow.catalog import registry
from workflow.catalog.registry import UnitIndex
from workflow.errors import InvalidInput, NotAllowed, NotHolder
from workflow.instants import utcnow
from workflow.places.routing import Location
from workflow.queries.cases import URGENCY_RANK
from workflow.queries.paging import Key, Page, seek
from workflow.queries.search import COUNT_CAP
from workflow.runtime import engine, stages
from workflow.runtime.holders import resolve_holder
from workflow.spec.model import DISPATCH_STATE, DISPATCH_TIER, ItemSpec, RouteSpec, StateSpec
from workflow.store.models import Case, Task

DISPATCHER = "dispatcher"
# Who may open a case at the centre: its dispatcher (a call), a clerk or an outside channel
# whose location could not be placed (workflow.dispatch is what they call).
OPENERS = frozenset({DISPATCHER, "clerk", "applicant"})
# Where a dispatch may send a case, as the tier of the state it enters.
DESTINATION_TIERS = ("workstation", "street_office", "department")
# The trigger that ends a consultation with the answer given.
ANSWER = "answer"


# ---------------------------------------------------------------- who, where


def centre_of(units: UnitIndex, code: str | None) -> str:
    u = units.units.get(code or "")
    if u is None or u.kind != "dispatch_centre":
        raise InvalidInput(
            f"{code!r} is not a dispatch centre",
            {"centre": ["unknown"]},
            code="not_a_centre",
            params={"centre": code},
        )
    return u.code


def default_centre(session: Session, street: str | None = None) -> str:
    """The centre that receives what cannot be placed: STREET's own (12349) when it has one,
    else the district's (12345)."""
    units = registry.units(session)
    centres = sorted(c for c, u in units.units.items() if u.kind == "dispatch_centre")
    if not centres:
        raise InvalidInput(
            "the organisation has no dispatch centre", {"centre": ["none"]}, code="no_centre"
        )
    for code in centres:
        if street and units.units[code].parent == street:
            return code
    district = [c for c in centres if units.street_of(c) is None]
    return (district or centres)[0]


def _check_dispatcher(case: Case, actor: Actor) -> None:
    if case.state != DISPATCH_STATE:
        raise NotAllowed(
            f"case {case.id} is not at the dispatch centre: it is {case.state}",
            code="not_at_centre",
            params={"case": case.id, "state": case.state},
        )
    if actor.role != DISPATCHER or actor.unit != case.holder:
        raise NotHolder(
            f"only a dispatcher of {case.holder} acts on case {case.id} there",
            code="centre_dispatchers_only",
            params={"unit": case.holder, "case": case.id},
        )


def _workstation(units: UnitIndex, centre: str, code: str) -> tuple[str, str]:
    """(workstation, its street), checked: a street's centre places only in its street."""
    u = units.units.get(code)
    if u is None or u.kind != "workstation":
        raise InvalidInput(
            f"{code!r} is not a community workstation",
            {"workstation": ["unknown"]},
            code="not_a_workstation",
            params={"workstation": code},
        )
    own = units.street_of(centre)
    if own is not None and u.parent != own:
        raise InvalidInput(
            f"{code} is not in the street of {centre}",
            {"workstation": [f"a workstation of {own}"]},
            code="workstation_not_in_street",
            params={"workstation": code, "centre": centre},
        )
    return u.code, u.parent or ""


def _item(session: Session, code: str) -> tuple[ItemSpec, int]:
    items, version = registry.items(session)
    spec = items.get(code)
    if spec is None:
        raise InvalidInput(
            f"no item {code!r} in the list",
            {"item": ["unknown item"]},
            code="no_item",
            params={"item": code},
        )
    return spec, version


def placed(units: UnitIndex, case: Case) -> bool:
    """Whether the case has a community (else its workstation column names the centre)."""
    u = units.units.get(case.workstation)
    return u is not None and u.kind == "workstation"


# ---------------------------------------------------------------- opening


def open_at_dispatch(
    session: Session,
    *,
    actor: Actor,
    applicant_name: str,
    applicant_phone: str = "",
    description: str = "",
    form: dict[str, Any] | None = None,
    item: str | None = None,
    workstation: str | None = None,
    centre: str | None = None,
    channel: str = "hotline",
    urgency: str | None = None,
    now: dt.datetime | None = None,
    location: Location | None = None,
) -> Case:
    """Open a case at the dispatch centre's queue, without a workstation (or with the one
    proposed: WORKSTATION) and with the ITEM if known. CENTRE: the dispatcher's own; for a
    clerk or an outside channel, the given one, else default_centre() (the proposed
    workstation's street's, else the district's). LOCATION: where it was reported, when routing by
    place could not place it (kept on the case for the dispatcher). Raises InvalidInput,
    NotHolder."""
    now = now or utcnow()
    chain.lock_head(session)
    engine.check_urgency(urgency)
    if actor.role not in OPENERS:
        raise NotHolder(
            "a dispatcher, a clerk or an outside channel opens a case at the centre",
            code="centre_openers",
        )
    units = registry.units(session)
    if actor.role == DISPATCHER:
        if centre not in (None, actor.unit):
            raise NotHolder(
                f"a dispatcher of {actor.unit} opens cases at {actor.unit} only",
                code="dispatcher_own_centre",
                params={"unit": actor.unit},
            )
        centre = centre_of(units, actor.unit)
    spec, list_version = _item(session, item) if item else (None, registry.items(session)[1])
    street = ""
    if workstation:
        proposed = units.units.get(workstation)
        street = proposed.parent or "" if proposed is not None else ""
    centre = centre_of(units, centre or default_centre(session, street or None))
    if workstation:
        workstation, street = _workstation(units, centre, workstation)
    engine._text(applicant_name, "applicant.name", required=True, limit=128)
    engine._text(applicant_phone, "applicant.phone", limit=32)
    engine._text(description, "description")
    form = engine._plain_json(form, "form") if form else {}
    case = Case(
        item=spec.code if spec else "",
        list_version=list_version,
        route_name="",
        route_version=0,
        routing_version=None,
        workstation=workstation or centre,
        street=street or units.street_of(centre) or "",
        state=DISPATCH_STATE,
        tier=DISPATCH_TIER,
        holder=centre,
        created_at=now,
        updated_at=now,
        stage_started_at=now,
        stage_seq=chain.next_seq(session),
        light="none",
        urgency=urgency or (spec.urgency if spec else "normal"),
        channel=channel,
        applicant_name=applicant_name.strip(),
        applicant_phone=(applicant_phone or "").strip(),
        description=description or "",
        form=form,
        lat=location.lat if location else None,
        long=location.long if location else None,
        address=location.address if location else None,
    )
    session.add(case)
    session.flush()
    chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action="case.opened",
        case_id=case.id,
        to_state=case.state,
        to_holder=case.holder,
        data={
            "item": case.item,
            "route": "",
            "route_version": 0,
            "list_version": list_version,
            "workstation": case.workstation,
            "street": case.street,
            "channel": channel,
            "dispatch_centre": centre,
            **({"placed_by": "unplaced"} if location is not None else {}),
            **({"urgency": case.urgency} if case.urgency != "normal" else {}),
            **stages.clock_data(case),
        },
    )
    return case


# ---------------------------------------------------------------- steps at the centre


def _set(session: Session, case: Case, values: dict[str, Any]) -> None:
    """Not a transition: a Core UPDATE leaves the case's version (its ETag) alone."""
    session.execute(
        update(Case)
        .where(Case.id == case.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    for k, v in values.items():
        set_committed_value(case, k, v)


def _reason(reason: str | None) -> str | None:
    return engine._text(reason, "reason").strip() or None


def classify(
    session: Session,
    case_id: int,
    actor: Actor,
    item: str,
    *,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """Choose the item of a case at the centre (a case.classified event)."""
    now = now or utcnow()
    chain.lock_head(session)
    case = engine.get_case(session, case_id)
    _check_dispatcher(case, actor)
    spec, _ = _item(session, item)
    if spec.code == case.item:
        return case
    old = case.item
    _set(session, case, {"item": spec.code, "updated_at": now})
    chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action="case.classified",
        case_id=case.id,
        to_state=case.state,
        to_holder=case.holder,
        reason=_reason(reason),
        data={"item": spec.code, "from": old or None},
    )
    return case


def place(
    session: Session,
    case_id: int,
    actor: Actor,
    workstation: str,
    *,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """Choose (or confirm) the community of a case at the centre (a case.placed event)."""
    now = now or utcnow()
    chain.lock_head(session)
    case = engine.get_case(session, case_id)
    _check_dispatcher(case, actor)
    units = registry.units(session)
    code, street = _workstation(units, case.holder or "", workstation)
    if code == case.workstation:
        return case
    old = case.workstation if placed(units, case) else None
    _set(session, case, {"workstation": code, "street": street, "updated_at": now})
    # A case's tasks carry its street (a street's boards read them alone): they move with it.
    session.execute(
        update(Task)
        .where(Task.case_id == case.id, Task.street != street)
        .values(street=street)
        .execution_options(synchronize_session="fetch")
    )
    chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action="case.placed",
        case_id=case.id,
        to_state=case.state,
        to_holder=case.holder,
        reason=_reason(reason),
        data={"workstation": code, "street": street, "from": old},
    )
    return case


# ---------------------------------------------------------------- where a case may go


@dataclasses.dataclass(frozen=True)
class Destination:
    """Where a dispatch may send a case of an item placed at a workstation: the unit that will
    hold it, the tier and the route's state it enters."""

    unit: str
    tier: str
    state: str


@dataclasses.dataclass
class _Pinned:
    item: ItemSpec
    list_version: int
    route: RouteSpec
    route_version: int
    routing: Any
    workstation: str
    street: str
    units: UnitIndex


def _pin(session: Session, item: str, workstation: str, street: str) -> _Pinned:
    """The item on the latest list, the route in force in the street (its variant, if any) and
    the street's routing table, as a case opened at the window would be pinned."""
    spec, list_version = _item(session, item)
    opening = engine._Opening(spec, list_version, registry.units(session), workstation, street)
    engine._pin_route_and_routing(session, opening)
    return _Pinned(
        opening.item,
        list_version,
        opening.route,
        opening.route_version,
        opening.routing,
        workstation,
        street,
        opening.units,
    )


def _entry(route: RouteSpec, item: ItemSpec, tier: str) -> StateSpec | None:
    """The state a dispatch to TIER enters, when the list allows it. To the workstation: the
    route's first state (the community receives it, as at the window). To the street office or
    the department: the route's first state held at that tier that a case may be handed to (not
    a whistle's awaiting report, not a state of parallel tasks), and only when the item's row
    gives that tier a time limit (the list says the tier takes part)."""
    if tier == "workstation":
        return route.state(route.initial)
    if not item.day_limit(tier):
        return None
    for st in route.states:
        if st.tier == tier and not st.final and st.tasks is None and st.limit != "response":
            return st
    return None


def _destinations(p: _Pinned) -> list[Destination]:
    out: list[Destination] = []
    holders = p.routing.holders(p.item.code) if p.routing else None
    for tier in DESTINATION_TIERS:
        st = _entry(p.route, p.item, tier)
        if st is None:
            continue
        unit = resolve_holder(
            st.tier,
            workstation=p.workstation,
            street=p.street,
            item=p.item,
            units=p.units,
            street_holders=holders,
        )
        if unit is not None and all(d.unit != unit for d in out):
            out.append(Destination(unit, tier, st.name))
    return out


def destinations(session: Session, item: str, workstation: str) -> list[Destination]:
    """Where a case of ITEM placed at WORKSTATION may be dispatched (see _entry)."""
    units = registry.units(session)
    ws = units.units.get(workstation)
    if ws is None or ws.kind != "workstation":
        raise InvalidInput(
            f"{workstation!r} is not a community workstation",
            {"workstation": ["unknown"]},
            code="not_a_workstation",
            params={"workstation": workstation},
        )
    return _destinations(_pin(session, item, ws.code, ws.parent or ""))


def is_consultation(route: RouteSpec) -> bool:
    """A consultation's route: its first state ends, by `answer`, in a final state."""
    t = route.transition(route.initial, ANSWER)
    return t is not None and route.state(t.dest).final


# ---------------------------------------------------------------- leaving the centre


def _prepare(
    session: Session,
    case: Case,
    actor: Actor,
    *,
    item: str | None,
    workstation: str | None,
    urgency: str | None,
    reason: str | None,
    now: dt.datetime,
) -> None:
    """The steps a dispatch form may carry, each its own event: classify, place, urgency."""
    if item and item != case.item:
        classify(session, case.id, actor, item, now=now)
    if workstation and workstation != case.workstation:
        place(session, case.id, actor, workstation, now=now)
    if urgency and urgency != case.urgency:
        from workflow.runtime import urgency as urgencies  # it reads the engine too

        urgencies.set_urgency(
            session,
            case_id=case.id,
            actor=actor,
            urgency=urgency,
            reason=reason or "raised at the dispatch centre",
            now=now,
        )


def dispatch(
    session: Session,
    case_id: int,
    actor: Actor,
    to: str,
    *,
    item: str | None = None,
    workstation: str | None = None,
    urgency: str | None = None,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """Send a case from the centre's queue TO a unit: its workstation (the route's first
    state), its street office or the item's department where the list allows (destinations()).
    ITEM, WORKSTATION and URGENCY, when given, are classified, placed and set first (their own
    events). The case is pinned to the latest list and the route in force in its street, and
    its clocks start now. Raises InvalidInput (no item, no place, a destination not allowed),
    NotAllowed (not at the centre), NotHolder (not its dispatcher)."""
    now = now or utcnow()
    chain.lock_head(session)
    case = engine.get_case(session, case_id)
    _check_dispatcher(case, actor)
    units = registry.units(session)
    target = units.units.get(to or "")
    if target is not None and target.kind == "workstation" and not workstation:
        workstation = target.code
    _prepare(
        session,
        case,
        actor,
        item=item,
        workstation=workstation,
        urgency=urgency,
        reason=reason,
        now=now,
    )
    if not case.item:
        raise InvalidInput(
            "classify the case first: it has no item", {"item": ["required"]}, code="classify_first"
        )
    if not placed(units, case):
        raise InvalidInput(
            "place the case first: it has no community",
            {"workstation": ["required"]},
            code="place_first",
        )
    pinned = _pin(session, case.item, case.workstation, case.street)
    allowed = _destinations(pinned)
    dest = next((d for d in allowed if d.unit == to), None)
    if dest is None:
        raise InvalidInput(
            f"case {case.id} of {case.item} may not be dispatched to {to!r}",
            {"to": [f"one of {', '.join(d.unit for d in allowed)}"]},
            code="not_dispatchable_to",
            params={"case": case.id, "item": case.item, "target": to},
        )
    return _leave(
        session,
        case,
        actor,
        pinned,
        pinned.route.state(dest.state),
        now,
        action="case.dispatched",
        reason=_reason(reason),
        to=dest,
    )


def answer(
    session: Session,
    case_id: int,
    actor: Actor,
    text: str,
    *,
    item: str | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """Answer a question on the spot: the case (of a consultation item: is_consultation) ends
    in its route's answered state with TEXT, the answer given, as the event's reason; the
    resident is asked to rate it as for any case that ends."""
    now = now or utcnow()
    chain.lock_head(session)
    case = engine.get_case(session, case_id)
    _check_dispatcher(case, actor)
    answer_text = engine._text(text, "answer", required=True).strip()
    if item and item != case.item:
        classify(session, case.id, actor, item, now=now)
    if not case.item:
        raise InvalidInput(
            "classify the case first: it has no item", {"item": ["required"]}, code="classify_first"
        )
    units = registry.units(session)
    # The answer needs no community: the case stays with the centre's street (if any).
    ws = case.workstation if placed(units, case) else case.holder or ""
    pinned = _pin(session, case.item, ws, case.street)
    if not is_consultation(pinned.route):
        raise InvalidInput(
            f"{case.item} is not a consultation: dispatch it instead",
            {"item": ["a consultation item (its route ends by `answer`)"]},
            code="not_a_consultation",
            params={"item": case.item},
        )
    t = pinned.route.transition(pinned.route.initial, ANSWER)
    assert t is not None
    done = _leave(
        session,
        case,
        actor,
        pinned,
        pinned.route.state(t.dest),
        now,
        action="case.answered",
        reason=answer_text,
        to=None,
    )
    engine._ended(session, case.id, now)
    return done


def _leave(
    session: Session,
    case: Case,
    actor: Actor,
    p: _Pinned,
    state: StateSpec,
    now: dt.datetime,
    *,
    action: str,
    reason: str | None,
    to: Destination | None,
) -> Case:
    """The case leaves the centre into STATE of its pinned route: one event (ACTION) carrying
    what the case is pinned to, as case.opened does at the window."""
    calendar = engine.clock_of(session, case.urgency, p.item)
    holder = (
        to.unit
        if to is not None
        else resolve_holder(
            state.tier, workstation=p.workstation, street=p.street, item=p.item, units=p.units
        )
    )
    before = (case.state, case.holder)
    case.item = p.item.code
    case.list_version = p.list_version
    case.route_name = p.route.name
    case.route_version = p.route_version
    case.routing_version = p.routing.version if p.routing else None
    case.state = state.name
    case.tier = state.tier
    case.holder = holder
    case.updated_at = now
    case.due_at = stages.case_due(p.route, p.item, calendar, now)
    stages.enter_stage(
        case, state, p.item, calendar, now, seq=chain.next_seq(session, case.partition)
    )
    session.flush()
    variant = registry.route_street(session, p.route.name, p.route_version) is not None
    chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action=action,
        case_id=case.id,
        from_state=before[0],
        to_state=case.state,
        from_holder=before[1],
        to_holder=case.holder,
        reason=reason,
        data={
            "item": p.item.code,
            "route": p.route.name,
            "route_version": p.route_version,
            **({"route_street": p.street} if variant else {}),
            "list_version": p.list_version,
            **({"routing_version": p.routing.version} if p.routing else {}),
            "workstation": case.workstation,
            "street": case.street,
            **({"to": to.unit, "tier": to.tier} if to is not None else {}),
            **stages.clock_data(case),
        },
    )
    return case


# ---------------------------------------------------------------- the queue


def queue(session: Session, actor: Actor, *, offset: int = 0, limit: int = 50) -> Page[Case]:
    """What waits at the actor's centre: the most urgent first, then the oldest."""
    if actor.role != DISPATCHER:
        raise NotHolder(
            "the dispatch centre's queue is its dispatchers'", code="centre_queue_dispatchers"
        )
    where: list[ColumnElement[bool]] = [
        Case.holder == actor.unit,
        Case.state == DISPATCH_STATE,
    ]
    # Keyset underneath: a numbered page is found from the key of the case before it.
    keys: list[Key] = [(URGENCY_RANK, False), (Case.created_at, False), (Case.id, False)]
    found = seek(session, Case, where, keys, offset=offset, limit=limit, count_cap=COUNT_CAP)
    return Page(found.items, found.total, None, found.exact)
