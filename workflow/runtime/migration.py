"""Moving running cases to another route version (instance migration), by a state mapping.

A dry run says which running cases can move and which cannot, and why; applying moves those
that can, each with one ``case.migrated`` trail event, and bumps each case's version by one.
A moved case can be moved back the same way (with the mapping reversed).

What moves: the case's route (name and version), its list version (the target list, the
latest by default: the item's row there must name the target route), its state, tier and
holder. What stays: the street routing table it is pinned to, the whole case's deadline
(``due_at``, promised when the case was opened), the start of the current stage. The current
stage's deadline is recomputed from its start with the target's limit, so a shortened limit
applies at once (the stage may turn red). A case waiting on the applicant (clock stopped)
keeps its clock: it may move only to another applicant state, and a working case may not move
into one. A street's variant of a route is a target for that street's cases only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from workflow.audit import chain
from workflow.catalog import registry, street_routing
from workflow.errors import InvalidInput, NotFound, StaleVersion
from workflow.instants import utcnow
from workflow.runtime import stages, tasks
from workflow.runtime.engine import work_calendar
from workflow.runtime.holders import resolve_holder
from workflow.spec.model import ItemSpec, RouteSpec, StateSpec
from workflow.store.models import Case, TrailEvent

# progress(phase, done, total): called after each case, for a command's progress display.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Move:
    """One running case: where it would go, or why it cannot."""

    case_id: int
    item: str
    from_state: str
    from_holder: str | None
    to_state: str | None = None
    to_holder: str | None = None
    why_not: str | None = None

    @property
    def ok(self) -> bool:
        return self.why_not is None

    def __str__(self) -> str:
        if self.ok:
            return (
                f"case {self.case_id} ({self.item}): {self.from_state} @ {self.from_holder}"
                f" -> {self.to_state} @ {self.to_holder}"
            )
        return (
            f"case {self.case_id} ({self.item}) in {self.from_state}: cannot move: {self.why_not}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "case": self.case_id,
            "item": self.item,
            "from_state": self.from_state,
            "from_holder": self.from_holder,
            "to_state": self.to_state,
            "to_holder": self.to_holder,
            "ok": self.ok,
            "why_not": self.why_not,
        }


@dataclass
class Plan:
    route: str
    from_version: int
    to_route: str
    to_version: int
    list_version: int
    moves: list[Move] = field(default_factory=list)
    applied: bool = False

    @property
    def movable(self) -> list[Move]:
        return [m for m in self.moves if m.ok]

    @property
    def blocked(self) -> list[Move]:
        return [m for m in self.moves if not m.ok]

    def as_dict(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "from_version": self.from_version,
            "to_route": self.to_route,
            "to_version": self.to_version,
            "list_version": self.list_version,
            "applied": self.applied,
            "movable": len(self.movable),
            "blocked": len(self.blocked),
            "cases": [m.as_dict() for m in self.moves],
        }


class _NotMovable(Exception):
    """Why a case cannot move (the message)."""


def _plan_one(
    session: Session,
    case: Case,
    target: RouteSpec,
    mapping: Mapping[str, str],
    items: Mapping[str, ItemSpec],
    list_version: int,
) -> tuple[Move, ItemSpec | None]:
    try:
        dest, item = _destination(case, target, mapping, items, list_version)
        _tasks_movable(session, case, dest)
        holder, item = _holder_in(session, case, dest, item)
    except _NotMovable as why:
        return Move(case.id, case.item, case.state, case.holder, why_not=str(why)), None
    return (
        Move(
            case.id,
            case.item,
            case.state,
            case.holder,
            to_state=dest.name,
            to_holder=holder,
        ),
        item,
    )


def _tasks_movable(session: Session, case: Case, dest: StateSpec) -> None:
    """A case in a task state keeps its open tasks only in a task state; a case whistled to one
    department under an older version (the department holding it) gets a task for it there."""
    open_tasks = [
        t for t in tasks.round_tasks(session, case.id, case.stage_seq) if t.status in tasks.OPEN
    ]
    if open_tasks and dest.tasks is None:
        busy = ", ".join(t.unit for t in open_tasks)
        raise _NotMovable(f"its tasks ({busy}) are open and {dest.name!r} has no tasks")
    if dest.tasks is not None and not open_tasks and case.tier != "department":
        raise _NotMovable(f"{dest.name!r} waits on tasks and no department is working on the case")
    if dest.tasks is not None and dest.tier == "department":
        raise _NotMovable(f"{dest.name!r} is a task state held by a department")


def _destination(
    case: Case,
    target: RouteSpec,
    mapping: Mapping[str, str],
    items: Mapping[str, ItemSpec],
    list_version: int,
) -> tuple[StateSpec, ItemSpec]:
    """The state of TARGET that CASE would move to, and its item in LIST_VERSION."""
    dest_name = mapping.get(case.state)
    if dest_name is None:
        if case.state not in target.state_names:
            raise _NotMovable(
                f"state {case.state!r} is not mapped and {target.name} has no such state"
            )
        dest_name = case.state
    if dest_name not in target.state_names:
        raise _NotMovable(f"target state {dest_name!r} is unknown in {target.name}")
    dest = target.state(dest_name)
    if dest.final:
        raise _NotMovable(f"target state {dest_name!r} is final: moving does not decide a case")
    item = items.get(case.item)
    if item is None:
        raise _NotMovable(f"item {case.item} is not in list version {list_version}")
    if item.route != target.name:
        raise _NotMovable(
            f"item {case.item} is on route {item.route} in list version {list_version}"
        )
    if (case.tier == "applicant") != (dest.tier == "applicant"):
        raise _NotMovable(
            "it would start or stop the applicant's clock "
            f"({case.state} is {case.tier}, {dest_name} is {dest.tier})"
        )
    return dest, item


def _holder_in(
    session: Session, case: Case, dest: StateSpec, item: ItemSpec
) -> tuple[str, ItemSpec]:
    """The unit that would hold CASE in DEST, and its item as the street's routing pins it."""
    routing = street_routing.for_case(session, case.street, case.routing_version)
    if routing is not None:
        item = routing.apply(item)
    units = registry.units(session)
    # A whistle's target keeps holding a department stage; otherwise the department holding it.
    current = case.holder if case.tier == "department" else None
    holder = resolve_holder(
        dest.tier,
        workstation=case.workstation,
        street=case.street,
        item=item,
        units=units,
        target=case.whistle_target if dest.tier == "department" else None,
        current_department=current,
        street_holders=routing.holders(case.item) if routing else None,
    )
    if holder is None or holder not in units.units:
        raise _NotMovable(
            f"no unit would hold it in {dest.name} ({dest.tier} tier): {holder or 'none'}"
        )
    if dest.tier == "department" and units.units[holder].kind != "department":
        raise _NotMovable(f"{holder} is not a department for {dest.name}")
    return holder, item


def plan(
    session: Session,
    *,
    route: str,
    from_version: int,
    to_version: int,
    mapping: Mapping[str, str],
    to_route: str | None = None,
    list_version: int | None = None,
    item: str | None = None,
    street: str | None = None,
    progress: Progress | None = None,
) -> Plan:
    """The dry run: every running case on ROUTE version FROM_VERSION (of ITEM, of STREET, if given) and
    where it would go on TO_ROUTE (default ROUTE) version TO_VERSION. Raises NotFound for an
    unknown route or version, InvalidInput for a mapping naming a state ROUTE does not have."""
    plan_, _ = _plan(
        session,
        route=route,
        from_version=from_version,
        to_version=to_version,
        mapping=mapping,
        to_route=to_route,
        list_version=list_version,
        item=item,
        street=street,
        progress=progress,
    )
    return plan_


def _plan(
    session: Session,
    *,
    route: str,
    from_version: int,
    to_version: int,
    mapping: Mapping[str, str],
    to_route: str | None,
    list_version: int | None,
    item: str | None,
    street: str | None = None,
    progress: Progress | None = None,
) -> tuple[Plan, dict[int, tuple[Case, ItemSpec]]]:
    to_route = to_route or route
    source, _, _ = registry.route(session, route, from_version)
    target, _, _ = registry.route(session, to_route, to_version)
    if route == to_route and from_version == to_version:
        raise InvalidInput(
            "a case moves to another version",
            {"to_version": ["same as from_version"]},
            code="move_to_another_version",
        )
    # A street's variant is for that street's cases only.
    variant_of = registry.route_street(session, to_route, to_version)
    if variant_of is not None:
        if street is not None and street != variant_of:
            raise InvalidInput(
                f"{to_route} version {to_version} is the variant of {variant_of}: "
                f"only {variant_of}'s cases move to it",
                {"to_version": [f"a variant of {variant_of}"]},
                code="variant_cases_only",
                params={"route": to_route, "version": to_version, "street": variant_of},
            )
        street = variant_of
    unknown = sorted(set(mapping) - set(source.state_names))
    if unknown:
        raise InvalidInput(
            f"route {route} version {from_version} has no state {', '.join(unknown)}",
            {"map": [f"unknown source state {s!r}" for s in unknown]},
            code="map_unknown_state",
            params={"route": route, "version": from_version, "states": unknown},
        )
    items, lv = registry.items(session, list_version)
    result = Plan(route, from_version, to_route, to_version, lv)
    ready: dict[int, tuple[Case, ItemSpec]] = {}
    cases = _running_cases(session, route, from_version, item=item, street=street)
    for n, case in enumerate(cases, start=1):
        move, spec = _plan_one(session, case, target, mapping, items, lv)
        result.moves.append(move)
        if spec is not None:
            ready[case.id] = (case, spec)
        if progress:
            progress("checking", n, len(cases))
    return result, ready


def _running_cases(
    session: Session, route: str, version: int, *, item: str | None, street: str | None
) -> list[Case]:
    """The cases still running on ROUTE version VERSION (of ITEM, of STREET, if given)."""
    query = (
        select(Case)
        .where(
            Case.route_name == route,
            Case.route_version == version,
            Case.closed_at.is_(None),
        )
        .order_by(Case.id)
    )
    if item:
        query = query.where(Case.item == item)
    if street:
        query = query.where(Case.street == street)
    return list(session.execute(query).scalars())


def apply(
    session: Session,
    *,
    route: str,
    from_version: int,
    to_version: int,
    mapping: Mapping[str, str],
    actor: str,
    unit: str | None = None,
    to_route: str | None = None,
    list_version: int | None = None,
    item: str | None = None,
    street: str | None = None,
    reason: str | None = None,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
) -> Plan:
    """Move every case that can move, one ``case.migrated`` event each, in the caller's
    transaction; the others stay as they are (listed in the plan with why)."""
    now = now or utcnow()
    chain.lock_head(session)
    result, ready = _plan(
        session,
        route=route,
        from_version=from_version,
        to_version=to_version,
        mapping=mapping,
        to_route=to_route,
        list_version=list_version,
        item=item,
        street=street,
        progress=progress,
    )
    target, _, _ = registry.route(session, result.to_route, to_version)
    calendar = work_calendar(session)
    movable = result.movable
    for n, move in enumerate(movable, start=1):
        case, spec = ready[move.case_id]
        _move(session, case, move, target, spec, result, calendar, actor, unit, reason, now)
        if progress:
            progress("moving", n, len(movable))
    try:
        session.flush()
    except StaleDataError:
        raise StaleVersion(code="changed_while_moving") from None
    result.applied = True
    return result


def _move(
    session: Session,
    case: Case,
    move: Move,
    target: RouteSpec,
    item: ItemSpec,
    result: Plan,
    calendar: Any,
    actor: str,
    unit: str | None,
    reason: str | None,
    now: dt.datetime,
) -> TrailEvent:
    assert move.to_state is not None
    dest = target.state(move.to_state)
    from_list = case.list_version
    # Whistled to one department under the older version: it keeps its part as a task.
    called = move.from_holder if dest.tasks is not None and case.tier == "department" else None
    case.route_name = target.name
    case.route_version = result.to_version
    case.list_version = result.list_version
    case.state = move.to_state
    case.tier = dest.tier
    case.holder = move.to_holder
    if dest.tier != "department":
        case.whistle_target = None
    case.updated_at = now
    if case.paused_at is None:
        # Same stage start, the target's limit: a shortened limit applies at once.
        case.stage_due_at = stages.stage_limit_due(dest, item, calendar, case.stage_started_at)
        case.light = stages.light_of(case, now, calendar)
    data: dict[str, Any] = {
        "route": result.route,
        "from_version": result.from_version,
        "to_version": result.to_version,
        "from_list_version": from_list,
        "to_list_version": result.list_version,
        **stages.clock_data(case),
    }
    if result.to_route != result.route:
        data["to_route"] = result.to_route
    if called is not None:
        data["task_for"] = called
    event = chain.append(
        session,
        at=now,
        actor=actor,
        unit=unit,
        action="case.migrated",
        case_id=case.id,
        from_state=move.from_state,
        to_state=case.state,
        from_holder=move.from_holder,
        to_holder=case.holder,
        reason=reason,
        data=data,
    )
    if called is not None:
        _keep_called(session, case, dest, move, item, result, calendar, actor, unit, reason, now)
    return event


def _keep_called(
    session: Session,
    case: Case,
    dest: StateSpec,
    move: Move,
    item: ItemSpec,
    result: Plan,
    calendar: Any,
    actor: str,
    unit: str | None,
    reason: str | None,
    now: dt.datetime,
) -> None:
    """The department a case was whistled to under the older version keeps its part as a task
    (the lead), awaiting its report still or working already, as it was."""
    assert move.from_holder is not None
    from_route, _, _ = registry.route(session, result.route, result.from_version)
    tasks.open_tasks(
        session,
        case=case,
        state=dest,
        units_to_call=[move.from_holder],
        lead=move.from_holder,
        item=item,
        calendar=calendar,
        actor_label=actor,
        actor_unit=unit,
        now=now,
        status="awaiting_report"
        if from_route.state(move.from_state).limit == "response"
        else "working",
        reason=reason,
    )


def plan_or_apply(session: Session, *, dry_run: bool, **kwargs: Any) -> Plan:
    """The dry run, or the moves: one entry point for the CLI and the API."""
    if not dry_run:
        return apply(session, **kwargs)
    kwargs.pop("actor", None)
    kwargs.pop("unit", None)
    kwargs.pop("reason", None)
    return plan(session, **kwargs)


def parse_mapping(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """'old=new' pairs as a mapping; InvalidInput for a malformed or repeated one."""
    out: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        old, new = old.strip(), new.strip()
        if not sep or not old or not new:
            raise InvalidInput(
                errors={"map": [f"{pair!r}: use old=new"]},
                code="map_not_old_new",
                params={"pair": pair},
            )
        if old in out:
            raise InvalidInput(
                errors={"map": [f"{old!r} twice"]}, code="state_mapped_twice", params={"state": old}
            )
        out[old] = new
    return out


__all__ = ["Move", "NotFound", "Plan", "apply", "parse_mapping", "plan"]
