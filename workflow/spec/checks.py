"""The checks of definitions beyond their schemas: routes (reachable states, ways out, who may fire),
units and the list (kinds, parents, tiers, limits, party and mediation items)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping

from .files import Problem
from .files import nearest_line as _nearest_line
from .model import (
    MEDIATION_ITEM_TYPE,
    PARTY_ITEM_TYPE,
    PARTY_TIERS,
    TIER_LIMIT_FIELD,
    TIER_ROLES,
    ItemSpec,
    RouteSpec,
    StateSpec,
    UnitSpec,
)


def check_route(
    route: RouteSpec, file: str, lines: Mapping[str, int] | None = None
) -> list[Problem]:
    """The graph rules: known states, reachable, a way out of every working state, firable."""
    lines = lines or {}
    problems: list[Problem] = []

    def add(place: str, msg: str) -> None:
        problems.append(Problem(file, place, msg, _nearest_line(lines, place)))

    names = set(route.state_names)
    if route.initial not in names:
        add("initial", f"unknown state {route.initial!r}")
    for s in route.states:
        place = f"states.{s.name}"
        if s.final and s.tier:
            add(place, "a final state has no tier")
        if not s.final and not s.tier:
            add(place, "a working state needs a tier")
        if s.final and s.on_timeout:
            add(place, "a final state has no timeout")
        if s.on_timeout:
            timeout = route.transition(s.name, s.on_timeout)
            if timeout is None:
                add(f"{place}.on_timeout", f"no transition {s.on_timeout!r} leaves {s.name!r}")
            elif "system" not in timeout.roles:
                # The sweep fires it as the system actor.
                add(f"{place}.on_timeout", f"{s.on_timeout!r} must list the role 'system'")
        if s.tasks is not None:
            _check_task_state(route, s, add)
    seen: set[tuple[str, str]] = set()
    for i, t in enumerate(route.transitions):
        place = f"transitions[{i}]"
        for end in ("source", "dest"):
            if getattr(t, end) not in names:
                add(f"{place}.{end}", f"unknown state {getattr(t, end)!r}")
        if (t.source, t.trigger) in seen:
            add(place, f"{t.trigger!r} leaves {t.source!r} twice")
        seen.add((t.source, t.trigger))
        if t.source in names:
            src = route.state(t.source)
            if src.final:
                add(f"{place}.source", f"final state {t.source!r} cannot be left")
            elif src.tier and not TIER_ROLES[src.tier] & set(t.roles):
                add(
                    f"{place}.roles",
                    f"no one may fire {t.trigger!r}: roles {list(t.roles)} "
                    f"do not act in a {src.tier} state",
                )
    for name in _unreachable(route, names):
        add(f"states.{name}", "unreachable from the initial state")
    for s in route.states:
        if not s.final and not any(t.source == s.name for t in route.transitions):
            add(f"states.{s.name}", "a working state with no way out")
    return problems


def _check_task_state(route: RouteSpec, s: StateSpec, add: Callable[[str, str], None]) -> None:
    """A task state is held by the commanding unit (the departments work in its tasks), is
    entered by a firing that names the units when its tasks are per target, and has a way out."""
    place = f"states.{s.name}.tasks"
    if s.final or s.tier in (None, "applicant", "department"):
        add(place, "tasks are opened in a working state held by the commanding unit")
    if s.name == route.initial:
        add(place, "the initial state cannot open tasks: nothing names their units yet")
    entering = [t for t in route.transitions if t.dest == s.name and t.source != s.name]
    if s.tasks is not None and s.tasks.per == "targets":
        for t in entering:
            if t.target != "whistle_to":
                add(
                    place,
                    f"{t.trigger!r} enters {s.name!r} without naming its units (target: whistle_to)",
                )
    if not any(t.source == s.name and t.dest != s.name for t in route.transitions):
        add(place, "a task state needs a way out for after the join")


def _unreachable(route: RouteSpec, names: set[str]) -> list[str]:
    """The states that no way from the initial state reaches (none when that is unknown)."""
    if route.initial not in names:
        return []
    reachable = {route.initial}
    queue = deque([route.initial])
    while queue:
        here = queue.popleft()
        for t in route.transitions:
            if t.source == here and t.dest in names and t.dest not in reachable:
                reachable.add(t.dest)
                queue.append(t.dest)
    return [s.name for s in route.states if s.name not in reachable]


# The kind of unit each kind hangs on (its parent column).
EXPECTED_PARENT = {
    "department": "district",
    "street_office": "district",
    "workstation": "street_office",
    "dispatched_agency": "department",
    # The community's two committees hang on its workstation (the community's key).
    "party_committee": "workstation",
    "residents_committee": "workstation",
    "mediation_committee": "residents_committee",
    "street_party_committee": "street_office",
    "service_centre": "street_office",
}
# One of each per community (workstation), residents' committee or street.
ONE_PER_PARENT = frozenset(
    {
        "party_committee",
        "residents_committee",
        "mediation_committee",
        "street_party_committee",
        "service_centre",
    }
)


def check_units(units: list[tuple[int, UnitSpec]], rel: str) -> list[Problem]:
    problems: list[Problem] = []
    by_code: dict[str, UnitSpec] = {}
    for n, u in units:
        if u.code in by_code:
            problems.append(Problem(rel, f"row {n}, column code", f"{u.code} appears twice", n))
        by_code[u.code] = u
    taken: dict[tuple[str, str], str] = {}
    for n, u in units:

        def add(column: str, msg: str, n: int = n) -> None:
            problems.append(Problem(rel, f"row {n}, column {column}", msg, n))

        want = EXPECTED_PARENT.get(u.kind)
        if u.kind == "dispatch_centre":
            # The district's hotline (12345) or a street's (12349).
            parent = by_code.get(u.parent or "")
            if parent is None or parent.kind not in ("district", "street_office"):
                add("parent", "must name the district or a street_office unit")
        elif want:
            parent = by_code.get(u.parent or "")
            if parent is None or parent.kind != want:
                add("parent", f"must name a {want} unit")
            elif u.kind in ONE_PER_PARENT:
                other = taken.setdefault((u.kind, parent.code), u.code)
                if other != u.code:
                    add("parent", f"{parent.code} has a {u.kind} already: {other}")
        if u.kind == "party_department" and u.parent:
            # 区委组织部 answers to the district party committee, not the district government.
            add("parent", "a party department is not under the district government: leave it empty")
        if u.kind == "dispatched_agency":
            host = by_code.get(u.host_street or "")
            if host is None or host.kind != "street_office":
                add("host_street", "must name a street office")
        elif u.host_street:
            add("host_street", "only a stationed agency has one")
    return problems


Add = Callable[[str, str], None]  # (column, message) for one row of the list


def check_items(
    items: list[tuple[int, ItemSpec]],
    rel: str,
    units: Iterable[UnitSpec],
    routes: Mapping[str, RouteSpec],
) -> list[Problem]:
    """Cross-references of the list: routes, departments, agency kinds, limits, whistle targets."""
    problems: list[Problem] = []
    units = list(units)
    kind_of = {u.code: u.kind for u in units}
    agency_kinds = {u.agency_kind for u in units if u.agency_kind}
    missing = _missing_bodies(units)
    seen: set[str] = set()
    for n, item in items:

        def add(column: str, msg: str, n: int = n) -> None:
            problems.append(Problem(rel, f"row {n}, column {column}", msg, n))

        if item.code in seen:
            add("code", f"{item.code} appears twice")
        seen.add(item.code)
        _check_units_named(item, kind_of, agency_kinds, add)
        route = routes.get(item.route)
        if route is None:
            add("route", f"unknown route {item.route!r}")
            continue
        _check_route_fits(item, route, missing, add)
    # One problem per missing column and item, not one per state of that tier.
    return sorted(set(problems), key=lambda p: (p.line or 0, p.place, p.message))


def _missing_bodies(units: list[UnitSpec]) -> dict[str, tuple[str, list[str]]]:
    """For each tier held by a community's or street's body: its name, and the communities or
    streets that lack it (a route using that tier cannot place their cases)."""
    workstations = [u.code for u in units if u.kind == "workstation"]
    streets = [u.code for u in units if u.kind == "street_office"]
    has_party = {u.parent for u in units if u.kind == "party_committee"}
    residents = {u.code: u.parent for u in units if u.kind == "residents_committee"}
    has_mediation = {
        residents.get(u.parent or "") for u in units if u.kind == "mediation_committee"
    }
    has_street_party = {u.parent for u in units if u.kind == "street_party_committee"}
    return {
        "party_committee": (
            "community party committee",
            [w for w in workstations if w not in has_party],
        ),
        "mediation_committee": (
            "people's mediation committee",
            [w for w in workstations if w not in has_mediation],
        ),
        "street_party": (
            "street party working committee",
            [s for s in streets if s not in has_street_party],
        ),
    }


def _check_units_named(
    item: ItemSpec, kind_of: Mapping[str, str], agency_kinds: set[str], add: Add
) -> None:
    """The units an item names: its department (a party body for a party item), its agency
    kind, its whistle targets, and its lead and assisting units."""
    party = item.kind == PARTY_ITEM_TYPE
    if party and kind_of.get(item.department) != "party_department":
        add("department", f"a party item's department is a party body, not {item.department!r}")
    elif not party and kind_of.get(item.department) != "department":
        add("department", f"unknown department {item.department!r}")
    if item.street_agency and item.street_agency not in agency_kinds:
        add("street_agency", f"unknown agency kind {item.street_agency!r}")
    for target in item.whistle_to:
        if kind_of.get(target) != "department":
            add("whistle_to", f"whistle target {target!r} is not a department")
    for column, codes in (("lead_unit", (item.lead_unit,)), ("assist_units", item.assist_units)):
        for code in codes:
            if code is None:
                continue
            if kind_of.get(code) != "department":
                add(column, f"{code!r} is not a department")
            elif item.whistle_to and code not in item.whistle_to:
                add(column, f"{code!r} is not among the item's whistle_to")
    if item.lead_unit and item.lead_unit in item.assist_units:
        add("assist_units", f"{item.lead_unit!r} leads already")
    if item.assist_units and not item.lead_unit:
        add("lead_unit", "assisting units need a lead unit")


def _check_route_fits(
    item: ItemSpec,
    route: RouteSpec,
    missing: Mapping[str, tuple[str, list[str]]],
    add: Add,
) -> None:
    """The item's route suits it: the party line for a party item, the mediation committee
    first for a mediation item, a body for every tier it uses, a limit for every working
    state's tier, whistle targets where the route can whistle."""
    if item.kind == PARTY_ITEM_TYPE:
        off_line = sorted(s.name for s in route.states if s.tier and s.tier not in PARTY_TIERS)
        if off_line or any("clerk" in t.roles for t in route.transitions):
            add(
                "route",
                f"a party item is received and decided on the party line "
                f"(party_committee, street_party); route {route.name} puts "
                f"{', '.join(off_line) or 'a transition'} in a workstation clerk's hands",
            )
    if item.kind == MEDIATION_ITEM_TYPE:
        first = route.state(route.initial) if route.initial in route.state_names else None
        if first is None or first.tier != "mediation_committee":
            add(
                "route",
                f"a people's mediation item starts at the residents' committee's mediation "
                f"committee; route {route.name} starts elsewhere",
            )
    tiers = {s.tier for s in route.states if s.tier}
    for tier in sorted(tiers & set(missing)):
        body, lacking = missing[tier]
        if lacking:
            more = f" (and {len(lacking) - 3} more)" if len(lacking) > 3 else ""
            add("route", f"no {body} for {', '.join(lacking[:3])}{more}")
    for state in route.states:
        if not state.tier or state.tier == "applicant":
            continue
        if state.limit == "response":
            if item.response_limit_h is None and state.name != route.initial:
                add("response_limit_h", f"route {route.name} needs it for {state.name}")
            continue
        if item.day_limit(state.tier) is None:
            column = TIER_LIMIT_FIELD[state.tier]
            add(column, f"route {route.name} needs a limit for the {state.tier} tier")
    if any(t.target == "whistle_to" for t in route.transitions) and not item.whistle_to:
        add("whistle_to", f"route {route.name} can whistle: name at least one department")
