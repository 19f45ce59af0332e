"""Opening cases and firing triggers: each change and its trail event in the caller's transaction."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from transitions import MachineError

from workflow import config
from workflow.actors import Actor
from workflow.audit import chain
from workflow.catalog import registry, street_routing
from workflow.catalog.registry import UnitIndex
from workflow.errors import InvalidInput, NotAllowed, NotFound, NotHolder, StaleVersion
from workflow.inputs import MAX_DATA_BYTES, check_phone, check_text
from workflow.instants import utcnow
from workflow.places import routing as places
from workflow.runtime import holders, stages, tasks
from workflow.runtime.clock import Clock, WorkCalendar, calendar_of, case_clock
from workflow.runtime.holders import resolve_holder
from workflow.runtime.machines import (
    SEQ_TO_COME,
    Firing,
    append_event,
    machine_for,
    may_fire,
)
from workflow.spec.model import URGENCIES, CalendarSpec, ItemSpec, RouteSpec
from workflow.spec.practice import practice
from workflow.store import direct
from workflow.store.models import Case, Task, TrailEvent

MAX_TEXT = 4000


def work_calendar(session: Session, spec: CalendarSpec | None = None) -> WorkCalendar:
    """The published calendar (SPEC when the caller has read it) in the settings' timezone, with
    the settings' working hours over its own when set."""
    local = config.of(session)
    return calendar_of(
        spec if spec is not None else registry.calendar(session),
        local.timezone,
        local.working_hours,
    )


def clock_of(
    session: Session,
    urgency: str | None,
    item: ItemSpec,
    calendar: WorkCalendar | None = None,
) -> Clock:
    """The clock of a case of ITEM at URGENCY: working time when normal, else clock time with
    the item's limits (the scheme's where the list leaves them empty)."""
    calendar = calendar or work_calendar(session)
    if urgency in (None, "normal"):
        return calendar
    return case_clock(calendar, urgency, practice(session).clock_limits(item, urgency))


def check_urgency(urgency: str | None) -> str | None:
    if urgency is not None and urgency not in URGENCIES:
        raise InvalidInput(
            errors={"urgency": [f"one of {', '.join(URGENCIES)}"]},
            code="no_urgency",
            params={"urgency": urgency},
        )
    return urgency


def _text(value: str | None, name: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    if value is None or not str(value).strip():
        if required:
            raise InvalidInput(errors={name: ["required"]}, code="required", params={"field": name})
        return ""
    if len(value) > limit:
        raise InvalidInput(
            errors={name: [f"at most {limit} characters"]}, code="too_long", params={"field": name}
        )
    check_text(**{name: value})
    return value


def open_case(
    session: Session,
    *,
    item: str,
    workstation: str | None,
    actor: Actor,
    applicant_name: str,
    applicant_phone: str,
    description: str = "",
    form: dict[str, Any] | None = None,
    channel: str = "window",
    urgency: str | None = None,
    now: dt.datetime | None = None,
    lat: float | str | None = None,
    long: float | str | None = None,
    address: str | None = None,
    materials_override: str | None = None,
) -> Case:
    """Open a case of ITEM at WORKSTATION on the latest list and route versions.

    The actor is a clerk of that workstation, or an outside channel (role ``applicant``).
    URGENCY: normal, urgent or critical; by default the item's. LAT/LONG and ADDRESS: where it
    was reported, kept on the case; with no WORKSTATION the case lands at the community the
    location lies in (routing by place), and what cannot be placed goes to the dispatch centre's
    queue (workflow.dispatch.centre.open_at_dispatch). When FORM lists the materials
    received (``materials``), each of the item's is required unless MATERIALS_OVERRIDE gives
    the reason to open without it (the reason and what was missing go into the trail)."""
    now = now or utcnow()
    # SQLite: the write lock first (a read snapshot cannot be upgraded once another writer has
    # committed; one writer at a time anyway). PostgreSQL: only the new case's partition's head,
    # once its street is known, so that openings in other partitions do not wait.
    partitioned = session.connection().dialect.name == "postgresql"
    if not partitioned:
        chain.lock_head(session)
    check_urgency(urgency)
    location = places.check_location(lat, long, address)
    placed_by: dict[str, Any] = {}
    if workstation is None:
        if location is None:
            raise InvalidInput(
                "name a workstation or give a location",
                {"workstation": ["required without lat/long or an address"]},
                code="workstation_or_location",
            )
        placed, places_version = places.locate(session, location)
        if placed is None:
            # What cannot be placed goes to the dispatch centre's queue (imported here: the
            # dispatch module builds on this one).
            from workflow.dispatch import centre as dispatch_centre

            return dispatch_centre.open_at_dispatch(
                session,
                item=item or None,
                actor=actor,
                applicant_name=applicant_name,
                applicant_phone=applicant_phone,
                description=description,
                form=form,
                channel=channel,
                urgency=urgency,
                now=now,
                location=location,
            )
        workstation = placed.workstation
        placed_by = {"placed_by": placed.by, "places_version": places_version}
    opening = _opening(session, item, workstation, actor)
    _text(applicant_name, "applicant.name", required=True, limit=128)
    _text(applicant_phone, "applicant.phone", limit=32)
    check_phone(applicant_phone)
    _text(description, "description")
    form = _plain_json(form, "form") if form else {}
    missing = _missing_materials(opening.item, form, materials_override)
    _pin_route_and_routing(session, opening)
    _check_receiver(opening, actor)
    level = urgency or opening.item.urgency
    calendar = clock_of(session, level, opening.item)
    case = _new_case(
        opening,
        calendar,
        now,
        urgency=level,
        channel=channel,
        applicant_name=applicant_name.strip(),
        applicant_phone=(applicant_phone or "").strip(),
        description=description or "",
        form=form or {},
        lat=location.lat if location else None,
        long=location.long if location else None,
        address=location.address if location else None,
    )
    # Its trail partition, for good: by its street (the whole history in one chain).
    case.partition = chain.partition_for_street(session, opening.street)
    if partitioned:
        chain.lock_head(session, [case.partition])
    first = opening.route.state(opening.route.initial)
    stages.enter_stage(
        case, first, opening.item, calendar, now, seq=chain.next_seq(session, case.partition)
    )
    session.add(case)
    session.flush()
    # Personal data stays out of the trail: it is exported and kept for ever.
    chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action="case.opened",
        case_id=case.id,
        partition=case.partition,
        to_state=case.state,
        to_holder=case.holder,
        # Where it was reported stays out too (a home address); how it was placed goes in.
        data={
            **_opened_data(session, case, opening),
            **placed_by,
            **(
                {"materials_missing": missing, "materials_override": materials_override}
                if missing
                else {}
            ),
        },
    )
    return case


def _missing_materials(item: ItemSpec, form: dict[str, Any], override: str | None) -> list[str]:
    """The item's materials the form's list lacks (none checked when the form lists none);
    refused unless OVERRIDE gives a reason."""
    if "materials" not in form:
        return []
    given = form["materials"]
    if not isinstance(given, list) or not all(isinstance(m, str) for m in given):
        raise InvalidInput(
            "form.materials is not a list of names",
            {"form.materials": ["a list"]},
            code="materials_not_list",
        )
    missing = [m for m in item.materials if m not in given]
    if missing and not (override and override.strip()):
        raise InvalidInput(
            f"materials missing: {', '.join(missing)} (give a reason to open without them)",
            {"materials": [f"missing: {', '.join(missing)}"]},
            code="materials_missing",
            params={"materials": list(missing)},
        )
    if override is not None:
        _text(override, "materials_override")
    return missing


@dataclasses.dataclass
class _Opening:
    """What a new case is pinned to: the item and list version, the route (the street's variant
    when it has one) and the street's routing table in force."""

    item: ItemSpec
    list_version: int
    units: UnitIndex
    workstation: str
    street: str
    route: RouteSpec = dataclasses.field(init=False)
    route_version: int = dataclasses.field(init=False)
    routing: street_routing.StreetRouting | None = dataclasses.field(init=False)


def _opening(session: Session, item: str, workstation: str, actor: Actor) -> _Opening:
    """The item on the latest list and the workstation, checked; the actor may open there."""
    items, list_version = registry.items(session)
    spec = items.get(item)
    if spec is None:
        raise InvalidInput(errors={"item": ["unknown item"]}, code="no_item", params={"item": item})
    units = registry.units(session)
    ws = units.units.get(workstation)
    if ws is None or ws.kind != "workstation":
        raise InvalidInput(
            errors={"workstation": ["unknown"]},
            code="not_a_workstation",
            params={"workstation": workstation},
        )
    # The community's committees receive their own items (两委一站): the party committee's staff
    # open a party application, the mediation committee's a mediation request (which items:
    # _check_receiver, once the route is known).
    committee = (
        actor.role == "staff"
        and actor.unit is not None
        and units.community_of(actor.unit) == workstation
    )
    if (
        actor.role != "applicant"
        and (actor.role != "clerk" or actor.unit != workstation)
        and not committee
    ):
        raise NotHolder(code="not_an_opener", params={"workstation": workstation})
    return _Opening(spec, list_version, units, workstation, ws.parent or "")


def _check_receiver(opening: _Opening, actor: Actor) -> None:
    """A committee's staff open only the items whose route starts at their committee."""
    if actor.role != "staff":
        return
    first = opening.route.state(opening.route.initial)
    if opening.units.body(opening.workstation, first.tier or "") != actor.unit:
        raise NotHolder(code="not_an_opener", params={"workstation": opening.workstation})


def _pin_route_and_routing(session: Session, opening: _Opening) -> None:
    # The street's variant of the route when it has one, else the district's version.
    street = opening.street or None
    route, opening.route_version, digest = registry.route(
        session, opening.item.route, street=street
    )
    machine_for(route, digest)  # build (and check) the machine before the case exists
    opening.route = route
    # The street's routing table in force now: its holders and shorter limits, pinned.
    opening.routing = street_routing.table(session, opening.street)
    if opening.routing is not None:
        opening.item = opening.routing.apply(opening.item)


def _new_case(opening: _Opening, calendar: Clock, now: dt.datetime, **details: Any) -> Case:
    """The case in its route's first state, with its first holder and the whole case's limit;
    DETAILS are the applicant's and the channel's."""
    route, spec, routing = opening.route, opening.item, opening.routing
    first = route.state(route.initial)
    return Case(
        item=spec.code,
        list_version=opening.list_version,
        route_name=route.name,
        route_version=opening.route_version,
        workstation=opening.workstation,
        street=opening.street,
        state=route.initial,
        tier=first.tier,
        holder=resolve_holder(
            first.tier,
            workstation=opening.workstation,
            street=opening.street,
            item=spec,
            units=opening.units,
            street_holders=routing.holders(spec.code) if routing else None,
        ),
        routing_version=routing.version if routing else None,
        created_at=now,
        updated_at=now,
        stage_started_at=now,
        due_at=stages.case_due(route, spec, calendar, now),
        **details,
    )


def _opened_data(session: Session, case: Case, opening: _Opening) -> dict[str, Any]:
    """The case.opened event's data: what the case is pinned to, and its clock."""
    route, version, routing = opening.route, opening.route_version, opening.routing
    variant = _is_variant(session, route.name, version)
    return {
        "item": opening.item.code,
        "route": route.name,
        "route_version": version,
        **({"route_street": opening.street} if variant else {}),
        "list_version": opening.list_version,
        **({"routing_version": routing.version} if routing else {}),
        "workstation": opening.workstation,
        "street": opening.street,
        "channel": case.channel,
        **({"urgency": case.urgency} if case.urgency != "normal" else {}),
        **stages.clock_data(case),
    }


def _is_variant(session: Session, route: str, version: int) -> bool:
    return registry.route_street(session, route, version) is not None


def get_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id, populate_existing=True)
    if case is None:
        raise NotFound(code="no_case", params={"case": case_id})
    return case


# ---------------------------------------------------------------- fire(): the hot path
# A firing reads the case and writes the case row, its trail event and the chain head with Core
# statements built once: the ORM's load and unit of work cost more than all the rest of fire().
_cases = cast(Table, Case.__table__)
_tasks = cast(Table, Task.__table__)
# What a firing reads and may change: not the applicant's details, the form or the rating (the
# form is JSON, decoded on every read).
_NOT_READ = frozenset(
    {"channel", "applicant_name", "applicant_phone", "description", "form", "created_at"}
    | {"rating_score", "rating_comment"}
)
_CASE_COLUMNS = tuple(c.key for c in _cases.columns if c.key not in _NOT_READ)
# The case's row, and the latest units and calendar digests along (one statement, not two);
# with the chain's head too where lock_for_read() took the lock without reading it.
_read_case_columns = (
    *(_cases.c[name] for name in _CASE_COLUMNS),
    registry.UNITS_DIGEST,
    registry.CALENDAR_DIGEST,
)
_READ_CASE = direct.Statement(
    select(*_read_case_columns).where(_cases.c.id == bindparam("case_id"))
)
_READ_CASE_AND_HEAD = direct.Statement(
    select(
        *_read_case_columns, chain.HEAD_SEQ, chain.HEAD_HASH, chain.HEAD_PARTS, chain.HEAD_TOP
    ).where(_cases.c.id == bindparam("case_id"))
)
# plan_fire's read: the case as fire() reads it, the columns its answer shows too (not the
# form or description), no head (no lock is held). commit_fire reads again what fire() reads.
_PLAN_COLUMNS = ("channel", "applicant_name", "applicant_phone", "created_at")
_CHECKED = (*_CASE_COLUMNS, "units_digest", "calendar_digest")
_PLAN_CASE = direct.Statement(
    select(*_read_case_columns, *(_cases.c[name] for name in _PLAN_COLUMNS)).where(
        _cases.c.id == bindparam("case_id")
    )
)
# commit_fire's reads under the lock: fire()'s, and whether the case has any tasks (its answer
# then lists none without asking).
_HAS_TASKS = select(_tasks.c.id).where(_tasks.c.case_id == _cases.c.id).exists().label("has_tasks")
_RECHECK = direct.Statement(
    select(*_read_case_columns, _HAS_TASKS).where(_cases.c.id == bindparam("case_id"))
)
_RECHECK_AND_HEAD = direct.Statement(
    select(
        *_read_case_columns,
        _HAS_TASKS,
        chain.HEAD_SEQ,
        chain.HEAD_HASH,
        chain.HEAD_PARTS,
        chain.HEAD_TOP,
    ).where(_cases.c.id == bindparam("case_id"))
)
# UPDATE ... SET the changed columns, version + 1 WHERE id and version as read (the ORM's
# version_id_col check), built once for each set of changed columns.
_writes: dict[tuple[str, ...], direct.Statement] = {}


def _write_statement(changed: tuple[str, ...]) -> direct.Statement:
    stmt = _writes.get(changed)
    if stmt is None:
        stmt = _writes[changed] = direct.Statement(
            update(_cases)
            .where(_cases.c.id == bindparam("case_id"), _cases.c.version == bindparam("old"))
            .values({name: bindparam(name) for name in (*changed, "version")})
        )
    return stmt


_case_key = Case.__mapper__.identity_key_from_primary_key


class _CaseRow:
    """A case's row as plain attributes, what a firing reads and sets in place of a Case: an
    ORM instance pays an attribute event on every set, and this one is never added anyway.
    It has the columns of _CASE_COLUMNS only: a callback reading another one fails loudly."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _read_case(
    conn: Connection, session: Session, case_id: int
) -> tuple[Case, dict[str, Any], tuple[UnitIndex, CalendarSpec], tuple[int, str]]:
    """Take the lock of the case's partition of the chain; the case's row, as a Case that is not
    in the session (a plain holder of its values), the latest units and calendar, and the head
    of the case's partition. On SQLite one SELECT after BEGIN IMMEDIATE; on PostgreSQL one
    UPDATE of the partition's head row (the case's partition never changes) before it."""
    fast = chain.lock_for_read(session, conn)
    head = None if fast else chain.lock_case_head(session, case_id)
    # The caller's pending changes (to this case too) are written first, under the lock: the
    # row read below is then the one the firing changes, and nothing the caller set is lost.
    session.flush()
    read = _READ_CASE_AND_HEAD if fast else _READ_CASE
    values = read.run(conn, {"case_id": case_id}).one_or_none()
    if values is None:
        raise NotFound(code="no_case", params={"case": case_id})
    if fast:
        head = (values.pop("head_seq"), values.pop("head_hash"))
        chain.read_locked(session, values.pop("head_parts"), values.pop("head_top"))
    assert head is not None
    latest = registry.units_and_calendar_of(
        session, values.pop("units_digest"), values.pop("calendar_digest")
    )
    return cast(Case, _CaseRow(values)), values, latest, head


def _write_case(conn: Connection, session: Session, case: Case, before: dict[str, Any]) -> None:
    """Write what the firing changed, with the version checked and bumped (as a flush would);
    then the session's own Case of this id, if it holds one, shows the row as written."""
    now = vars(case)  # every column is there: read in full, then set by the firing
    changed = tuple(n for n in _CASE_COLUMNS if now[n] != before[n])
    params = {n: now[n] for n in changed}
    version = before["version"] + 1
    params.update(case_id=before["id"], old=before["version"], version=version)
    if _write_statement(changed).run(conn, params).rowcount != 1:
        raise StaleVersion(code="changed_by_someone", params={"case": before["id"]})
    case.version = version
    # (An empty identity map, as in most firings, is not asked.)
    held = session.identity_map.get(_case_key((before["id"],))) if session.identity_map else None
    if held is not None:
        for name in _CASE_COLUMNS:
            set_committed_value(held, name, now[name])


def fire(
    session: Session,
    case_id: int,
    trigger: str,
    actor: Actor,
    *,
    reason: str | None = None,
    target: str | None = None,
    targets: list[str] | tuple[str, ...] | None = None,
    lead: str | None = None,
    data: dict[str, Any] | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
    result: str | None = None,
) -> TrailEvent:
    """Fire TRIGGER on a case as ACTOR: the case's state, holder and version change and one trail
    event is appended, in the caller's transaction. Into a task state, TARGETS (or TARGET) are
    the units called, LEAD their lead. RESULT (办理结果) goes with resolve or complete: kept
    on the case and in the event. Raises InvalidInput (unknown trigger, missing reason, bad
    target), StaleVersion, NotAllowed (not from this state; a join not held), NotHolder, NotFound."""
    args = _FireArgs(
        trigger,
        actor,
        reason,
        target,
        targets,
        lead,
        data,
        expected_version,
        now or utcnow(),
        result,
    )
    return _fire_locked(session, case_id, args).event  # type: ignore[return-value]


@dataclasses.dataclass(frozen=True, slots=True)
class _FireArgs:
    """fire()'s arguments, kept by a planned firing to be fired again under the lock."""

    trigger: str
    actor: Actor
    reason: str | None
    target: str | None
    targets: list[str] | tuple[str, ...] | None
    lead: str | None
    data: dict[str, Any] | None
    expected_version: int | None
    now: dt.datetime
    result: str | None
    at_given: bool = False  # NOW is the caller's, not the clock's


def _fire_locked(session: Session, case_id: int, args: _FireArgs) -> Firing:
    """fire(): the lock first, then the case read, worked out and written."""
    # Core statements go to the connection directly: the session's execute() adds nothing here.
    conn = session.connection()
    case, before, latest, head = _read_case(conn, session, case_id)
    firing = _work_out(session, conn, case_id, case, latest, args, head=head)
    assert firing is not None
    _write_case(conn, session, case, before)
    if case.holder is None and before["holder"] is not None:
        _ended(session, case_id, args.now)
    return firing


def _work_out(
    session: Session,
    conn: Connection,
    case_id: int,
    case: Case,
    latest: tuple[UnitIndex, CalendarSpec],
    args: _FireArgs,
    *,
    head: tuple[int, str] | None = None,
    plan_only: bool = False,
) -> Firing | None:
    """Check the firing and run the route's machine on the case read: the case's new values and
    its trail event (appended unless PLAN_ONLY). None when PLAN_ONLY and the transition leaves
    or enters a task state: its checks and writes read the tasks, it is fired under the lock."""
    units, calendar_spec = latest
    trigger, reason, result = args.trigger, args.reason, args.result
    if not case.route_version or case.merged_into is not None:
        # At the dispatch centre (no route yet: workflow.dispatch moves it on), or merged.
        raise NotAllowed(
            f"case {case_id} is {case.state}: no trigger fires on it",
            code="no_trigger_fires",
            params={"case": case_id, "state": case.state},
        )
    route, _, digest = registry.route(session, case.route_name, case.route_version)
    machine = machine_for(route, digest)
    if trigger not in machine.events:  # the route's triggers, without building their set
        raise _no_such_trigger(route, trigger)
    if args.expected_version is not None and args.expected_version != case.version:
        raise StaleVersion(
            code="stale_case",
            params={"case": case_id, "version": case.version, "expected": args.expected_version},
        )
    if plan_only and route.has_tasks:
        spec = route.transition(case.state, trigger)
        if spec is not None and (
            route.state(spec.source).tasks is not None or route.state(spec.dest).tasks is not None
        ):
            return None
    if reason is not None:
        _text(reason, "reason")
    if result is not None:
        result = _text(result, "result").strip() or None
    item, routing = _item_as_routed(session, case)
    firing = Firing(
        state=case.state,
        case=case,
        actor=args.actor,
        route=route,
        item=item,
        units=units,
        calendar=clock_of(session, case.urgency, item, work_calendar(session, calendar_spec)),
        session=session,
        now=args.now,
        reason=reason.strip() if reason else None,
        **_targets(args.target, args.targets),
        lead=args.lead or None,
        data=_plain_json(args.data, "data") if args.data else {},
        street_holders=routing.holders(case.item) if routing else {},
        head=head,
        conn=conn,
        result=result,
        plan_only=plan_only,
    )
    try:
        fired = machine.events[trigger].trigger(firing)
    except MachineError:
        raise _not_allowed(machine, trigger, case.state) from None
    if not fired or firing.fields is None:
        # A condition said no without saying why: nothing was written, and the caller learns it.
        raise NotAllowed(
            f"{trigger!r} did not fire on case {case_id} in state {case.state!r}",
            code="trigger_did_not_fire",
            params={"trigger": trigger, "case": case_id, "state": case.state},
        )
    return firing


# ---------------------------------------------------------------- a firing planned, then written
# The API works a firing out on a read snapshot, without the write lock (the case, the
# definitions, the machine's checks, the new state and its deadlines), then takes the lock only
# to check that the case has not changed since and to write. A case that did change is fired
# again under the lock, as fire() would have: the caller sees what one firing after the other
# gives (a refusal where the trigger no longer fits), never a conflict it did not ask for.


@dataclasses.dataclass
class PlannedFiring:
    """A firing worked out on a read snapshot (plan_fire), to be written by commit_fire."""

    case_id: int
    args: _FireArgs
    # The case as read (its columns and the render's); what commit_fire checks (the case's
    # columns a firing reads and the digests of the units and calendar it used); the machine's
    # model after firing (None: a task state's transition, fired whole under the lock).
    before: dict[str, Any]
    seen: dict[str, Any]
    firing: Firing | None
    units: UnitIndex
    # After commit_fire: the case as written, and whether it was fired again under the lock.
    case: Case | None = None
    redone: bool = False
    # Whether the case had any tasks under the lock, when the plan was written (None: fired
    # under the lock, or not yet).
    has_tasks: bool | None = None


def plan_fire(
    session: Session,
    case_id: int,
    trigger: str,
    actor: Actor,
    *,
    reason: str | None = None,
    target: str | None = None,
    targets: list[str] | tuple[str, ...] | None = None,
    lead: str | None = None,
    data: dict[str, Any] | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
    result: str | None = None,
) -> PlannedFiring:
    """fire()'s reads and checks, and the case's new values, in the session's read snapshot:
    no lock is taken and nothing is written. The caller ends the snapshot (it is not a write
    transaction) and calls commit_fire() in its write transaction. Raises fire()'s refusals as
    the case is in the snapshot."""
    args = _FireArgs(
        trigger,
        actor,
        reason,
        target,
        targets,
        lead,
        data,
        expected_version,
        now or utcnow(),
        result,
        at_given=now is not None,
    )
    conn = session.connection()
    values = _PLAN_CASE.run(conn, {"case_id": case_id}).one_or_none()
    if values is None:
        raise NotFound(code="no_case", params={"case": case_id})
    seen = {name: values[name] for name in _CHECKED}
    latest = registry.units_and_calendar_of(
        session, values.pop("units_digest"), values.pop("calendar_digest")
    )
    case = cast(Case, _CaseRow(values))
    firing = _work_out(session, conn, case_id, case, latest, args, plan_only=True)
    return PlannedFiring(case_id, args, values, seen, firing, latest[0])


def commit_fire(session: Session, plan: PlannedFiring) -> TrailEvent:
    """Write a planned firing in the caller's write transaction: the lock of the case's partition
    of the chain first (SQLite: BEGIN IMMEDIATE, the database's write lock), then the case's
    version read again. Unchanged since the plan: its event is appended (seq and hash from the
    head read with the version) and the case row written. Changed (or a task state's firing):
    fired again under the lock, as fire() does, from the case as it is now."""
    firing, before, case_id = plan.firing, plan.before, plan.case_id
    conn = session.connection()
    fast = chain.lock_for_read(session, conn)
    head = None if fast else chain.lock_case_head(session, case_id)
    session.flush()  # the caller's pending changes, under the lock (as fire() does)
    read = _RECHECK_AND_HEAD if fast else _RECHECK
    now = read.run(conn, {"case_id": case_id}).one_or_none()
    if now is None:
        raise NotFound(code="no_case", params={"case": case_id})
    has_tasks = bool(now.pop("has_tasks"))
    if fast:
        head = (now.pop("head_seq"), now.pop("head_hash"))
        chain.read_locked(session, now.pop("head_parts"), now.pop("head_top"))
    # The whole row, not only its version: some changes leave the version (a new urgency, the
    # sweep's light), and a firing worked out from other values may not be written.
    if firing is None or now != plan.seen:
        plan.redone = firing is not None
        args = plan.args
        if not args.at_given:
            # After whatever came in between: the time it is now, not the plan's.
            args = dataclasses.replace(args, now=max(args.now, utcnow()))
        firing = _fire_locked(session, case_id, args)
        plan.case = firing.case
        assert firing.event is not None
        return firing.event
    assert head is not None
    plan.has_tasks = has_tasks
    case = firing.case
    firing.head = head
    firing.conn = conn
    seq = chain.next_seq(session, case.partition, head[0])
    if case.stage_seq == SEQ_TO_COME:
        case.stage_seq = seq
    append_event(firing)
    _write_case(conn, session, case, before)
    if case.holder is None and before["holder"] is not None:
        _ended(session, case_id, plan.args.now)
    plan.case = case
    assert firing.event is not None
    return firing.event


def _item_as_routed(session: Session, case: Case) -> tuple[ItemSpec, Any]:
    """The case's item as its street's routing table (pinned) adapts it, and that table."""
    item, _ = registry.item(session, case.item, case.list_version)
    routing = street_routing.for_case(session, case.street, case.routing_version)
    return (routing.apply(item) if routing is not None else item), routing


def _ended(session: Session, case_id: int, now: dt.datetime) -> None:
    """The case has ended: the resident is asked (好差评), in the firing's transaction."""
    from workflow.feedback import links  # the feedback package reads the engine

    links.case_ended(session, case_id, now)


def _targets(target: str | None, targets: list[str] | tuple[str, ...] | None) -> dict[str, Any]:
    """A firing's target and targets: one target is a list of one, a list of one a target."""
    if not targets:
        return {"target": target or None, "targets": (target,) if target else ()}
    if target and target not in targets:
        raise InvalidInput(errors={"target": ["use targets alone"]}, code="target_or_targets")
    return {"target": targets[0] if len(targets) == 1 else None, "targets": tuple(targets)}


# The refusals of fire(), built off its path.
def _no_such_trigger(route: RouteSpec, trigger: str) -> InvalidInput:
    return InvalidInput(
        errors={"trigger": [f"one of {', '.join(sorted(route.triggers))}"]},
        code="no_trigger",
        params={"route": route.name, "trigger": trigger},
    )


def _not_allowed(machine: Any, trigger: str, state: str) -> NotAllowed:
    return NotAllowed(
        code="not_allowed_in_state",
        params={"trigger": trigger, "state": state, "allowed": machine.get_triggers(state)},
    )


def _plain_json(data: dict[str, Any], name: str) -> dict[str, Any]:
    """DATA as JSON gives it back (string keys, lists): what the trail stores and hashes. Its
    text follows the text policy and it is at most MAX_DATA_BYTES: the trail keeps it for ever."""
    check_text(**{name: data})
    try:
        text = chain.canonical_text(data)
        value = json.loads(text)
    except (TypeError, ValueError) as err:
        raise InvalidInput(
            errors={name: ["must be a JSON object"]},
            code="not_json",
            params={"field": name, "error": str(err)},
        ) from None
    if not isinstance(value, dict):
        raise InvalidInput(
            errors={name: ["must be a JSON object"]}, code="not_json_object", params={"field": name}
        )
    size = len(text.encode("utf-8"))
    if size > MAX_DATA_BYTES:
        raise InvalidInput(
            errors={name: [f"at most {MAX_DATA_BYTES} bytes as JSON"]},
            code="too_large",
            params={"field": name, "size": size},
        )
    return value


def available_triggers(
    session: Session, case: Case, actor: Actor, *, waiting: bool | None = None
) -> list[str]:
    """What ACTOR may fire on CASE now (reasons and targets are asked for on firing). WAITING:
    whether a required task of the case's round is unsettled, where the caller read it already
    (available_triggers_of)."""
    if not case.route_version or case.merged_into is not None:
        return []  # at the dispatch centre (no route yet), or merged into another case
    route, _, digest = registry.route(session, case.route_name, case.route_version)
    machine = machine_for(route, digest)
    out: list[str] = []
    # In a task state, the way out is offered once the join holds.
    if route.state(case.state).tasks is None:
        waiting = False
    elif waiting is None:
        waiting = bool(tasks.waiting_for(session, case.id, case.stage_seq))
    for trigger in _triggers_from(machine, digest, case.state):
        spec = route.transition(case.state, trigger)
        if spec is not None and may_fire(spec, actor, case) is None:
            if waiting and spec.dest != case.state:
                continue
            out.append(trigger)
    return out


def available_triggers_of(
    session: Session, cases: list[Case], actor: Actor
) -> dict[int, list[str]]:
    """available_triggers() of a page's cases (id -> triggers), each answer worked out once for
    the cases that share it (route version, state, held by the caller's unit or not, waiting on
    a task or not), and whether a task holds the join asked in one query for the page."""
    rounds: dict[int, int] = {}
    for c in cases:
        if c.route_version and c.merged_into is None and c.stage_seq is not None:
            route = registry.route(session, c.route_name, c.route_version)[0]
            if route.state(c.state).tasks is not None:
                rounds[c.id] = c.stage_seq
    waiting = tasks.waiting_of(session, rounds)
    out: dict[int, list[str]] = {}
    # may_fire() reads of the case only whether the caller's unit holds it.
    seen: dict[tuple[str, int | None, str, bool, bool], list[str]] = {}
    for c in cases:
        if not c.route_version or c.merged_into is not None:
            out[c.id] = []
            continue
        key = (c.route_name, c.route_version, c.state, c.holder == actor.unit, c.id in waiting)
        found = seen.get(key)
        if found is None:
            found = seen[key] = available_triggers(session, c, actor, waiting=c.id in waiting)
        out[c.id] = list(found)
    return out


# The machine's triggers from a state (get_triggers() walks every event each time), by the
# route version's digest and the state: machines are never changed once built.
_triggers: dict[tuple[str, str], tuple[str, ...]] = {}


def _triggers_from(machine: Any, digest: str, state: str) -> tuple[str, ...]:
    found = _triggers.get((digest, state))
    if found is None:
        found = _triggers[(digest, state)] = tuple(machine.get_triggers(state))
    return found


def route_of(session: Session, case: Case) -> Any:
    return registry.route(session, case.route_name, case.route_version)[0]


@dataclasses.dataclass(frozen=True)
class Promise:
    """承诺时限: what a resident is told before a case of an item is opened at a workstation."""

    days: int
    unit: str  # the item's limit unit (working_days, natural_days)
    due_at: dt.datetime  # if opened now, at the item's urgency
    response_h: int | None  # the response limit (hours), where the route starts with one


def promise(
    session: Session, item: str, workstation: str, now: dt.datetime | None = None
) -> Promise:
    """The whole-case limit of ITEM opened at WORKSTATION now: the street's routing table and
    variant of the route applied, as open_case would."""
    now = now or utcnow()
    spec, _ = registry.item(session, item)
    ws = registry.units(session).units.get(workstation)
    street = ws.parent if ws is not None and ws.parent else None
    route = registry.route(session, spec.route, street=street)[0]
    routing = street_routing.table(session, street) if street else None
    if routing is not None:
        spec = routing.apply(spec)
    clock = clock_of(session, spec.urgency, spec)
    first = route.state(route.initial)
    return Promise(
        days=stages.case_limit_days(route, spec),
        unit=spec.limit_unit,
        due_at=stages.case_due(route, spec, clock, now),
        response_h=spec.response_limit_h if first.limit == "response" else None,
    )


def dispatch_choices(session: Session, case: Case) -> list[str]:
    """The units the case's street may dispatch it to now: its fitting stationed agencies (the
    default first: its routing table's, else the item's kind) and the street office itself."""
    item, routing = _item_as_routed(session, case)
    routed = routing.holders(case.item).get("agency") if routing is not None else None
    return holders.dispatch_choices(case.street, item, registry.units(session), routed)
