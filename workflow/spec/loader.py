"""Read a definitions folder, report every problem with its file and place, build spec objects."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from .files import Problem, load_rows, read_csv_file, read_yaml, read_yaml_file
from .files import flatten as _flatten
from .files import nearest_line as _nearest_line
from .model import (
    MEDIATION_ITEM_TYPE,
    PARTY_ITEM_TYPE,
    PARTY_TIERS,
    TIER_LIMIT_FIELD,
    TIER_ROLES,
    CalendarSpec,
    Definitions,
    ItemSpec,
    RouteSpec,
    StateSpec,
    TransitionSpec,
    UnitSpec,
)
from .schemas import (
    ITEM_COLUMNS,
    REQUIRED_ITEM_COLUMNS,
    UNIT_COLUMNS,
    URGENCY_COLUMNS,
    CalendarSchema,
    ItemRowSchema,
    RouteSchema,
    UnitRowSchema,
)
from .scheme import read_scheme


class DefinitionsInvalid(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


# ---------------------------------------------------------------- routes


def load_route_data(
    data: Any, file: str, lines: Mapping[str, int] | None = None
) -> tuple[RouteSpec | None, list[Problem]]:
    """Load one route from already-parsed data (YAML file or JSON body) and check its shape."""
    lines = lines or {}
    if not isinstance(data, Mapping):
        return None, [Problem(file, "", "a route must be a mapping", lines.get(""))]
    try:
        route: RouteSpec = RouteSchema().load(data)
    except ValidationError as exc:
        return None, [
            Problem(file, place, msg, _nearest_line(lines, place))
            for place, msg in _flatten(exc.messages)
        ]
    return route, check_route(route, file, lines)


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


def _read_route_file(path: Path, rel: str) -> tuple[RouteSpec | None, list[Problem]]:
    data, lines, problems = read_yaml_file(path, rel)
    if problems:
        return None, problems
    route, problems = load_route_data(data, rel, lines)
    if route and route.name != path.stem:
        problems.append(
            Problem(rel, "name", f"must match the file name {path.stem!r}", lines.get("name"))
        )
    return route, problems


def read_route_text(text: str, rel: str) -> tuple[RouteSpec | None, list[Problem]]:
    """One route from YAML text (a file or an upload), every problem with its line."""
    data, lines, problems = read_yaml(text, rel)
    if problems:
        return None, problems
    return load_route_data(data, rel, lines)


# ---------------------------------------------------------------- CSV files


def load_item_rows(
    rows: list[tuple[int, dict[str, str]]], rel: str
) -> tuple[list[tuple[int, ItemSpec]], list[Problem]]:
    return load_rows(rows, rel, ItemRowSchema())


def _read_units(path: Path, rel: str) -> tuple[list[tuple[int, UnitSpec]], list[Problem]]:
    rows, problems = read_csv_file(path, rel, UNIT_COLUMNS, UNIT_COLUMNS)
    units, more = load_rows(rows, rel, UnitRowSchema())
    return units, problems + more


def check_units(units: list[tuple[int, UnitSpec]], rel: str) -> list[Problem]:
    problems: list[Problem] = []
    by_code: dict[str, UnitSpec] = {}
    for n, u in units:
        if u.code in by_code:
            problems.append(Problem(rel, f"row {n}, column code", f"{u.code} appears twice", n))
        by_code[u.code] = u
    expect_parent = {
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
    single = {"party_committee", "residents_committee", "mediation_committee"}
    single |= {"street_party_committee", "service_centre"}
    taken: dict[tuple[str, str], str] = {}
    for n, u in units:
        want = expect_parent.get(u.kind)
        if want:
            parent = by_code.get(u.parent or "")
            if parent is None or parent.kind != want:
                problems.append(
                    Problem(rel, f"row {n}, column parent", f"must name a {want} unit", n)
                )
            elif u.kind in single:
                other = taken.setdefault((u.kind, parent.code), u.code)
                if other != u.code:
                    problems.append(
                        Problem(
                            rel,
                            f"row {n}, column parent",
                            f"{parent.code} has a {u.kind} already: {other}",
                            n,
                        )
                    )
        if u.kind == "party_department" and u.parent:
            # 区委组织部 answers to the district party committee, not the district government.
            problems.append(
                Problem(
                    rel,
                    f"row {n}, column parent",
                    "a party department is not under the district government: leave it empty",
                    n,
                )
            )
        if u.kind == "dispatched_agency":
            host = by_code.get(u.host_street or "")
            if host is None or host.kind != "street_office":
                problems.append(
                    Problem(rel, f"row {n}, column host_street", "must name a street office", n)
                )
        elif u.host_street:
            problems.append(
                Problem(rel, f"row {n}, column host_street", "only a stationed agency has one", n)
            )
    return problems


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
    seen: set[str] = set()
    # Which communities and streets lack the body a tier needs (for the first few to name).
    workstations = [u.code for u in units if u.kind == "workstation"]
    streets = [u.code for u in units if u.kind == "street_office"]
    has_party = {u.parent for u in units if u.kind == "party_committee"}
    residents = {u.code: u.parent for u in units if u.kind == "residents_committee"}
    has_mediation = {
        residents.get(u.parent or "") for u in units if u.kind == "mediation_committee"
    }
    has_street_party = {u.parent for u in units if u.kind == "street_party_committee"}
    missing_body = {
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

    def add(n: int, column: str, msg: str) -> None:
        problems.append(Problem(rel, f"row {n}, column {column}", msg, n))

    for n, item in items:
        if item.code in seen:
            add(n, "code", f"{item.code} appears twice")
        seen.add(item.code)
        party = item.kind == PARTY_ITEM_TYPE
        if party and kind_of.get(item.department) != "party_department":
            add(
                n,
                "department",
                f"a party item's department is a party body, not {item.department!r}",
            )
        elif not party and kind_of.get(item.department) != "department":
            add(n, "department", f"unknown department {item.department!r}")
        if item.street_agency and item.street_agency not in agency_kinds:
            add(n, "street_agency", f"unknown agency kind {item.street_agency!r}")
        for target in item.whistle_to:
            if kind_of.get(target) != "department":
                add(n, "whistle_to", f"whistle target {target!r} is not a department")
        for column, codes in (
            ("lead_unit", (item.lead_unit,)),
            ("assist_units", item.assist_units),
        ):
            for code in codes:
                if code is None:
                    continue
                if kind_of.get(code) != "department":
                    add(n, column, f"{code!r} is not a department")
                elif item.whistle_to and code not in item.whistle_to:
                    add(n, column, f"{code!r} is not among the item's whistle_to")
        if item.lead_unit and item.lead_unit in item.assist_units:
            add(n, "assist_units", f"{item.lead_unit!r} leads already")
        if item.assist_units and not item.lead_unit:
            add(n, "lead_unit", "assisting units need a lead unit")
        route = routes.get(item.route)
        if route is None:
            add(n, "route", f"unknown route {item.route!r}")
            continue
        tiers = {s.tier for s in route.states if s.tier}
        if party:
            off_line = sorted(s.name for s in route.states if s.tier and s.tier not in PARTY_TIERS)
            if off_line or any("clerk" in t.roles for t in route.transitions):
                add(
                    n,
                    "route",
                    f"a party item is received and decided on the party line "
                    f"(party_committee, street_party); route {route.name} puts "
                    f"{', '.join(off_line) or 'a transition'} in a workstation clerk's hands",
                )
        if item.kind == MEDIATION_ITEM_TYPE:
            first = route.state(route.initial) if route.initial in route.state_names else None
            if first is None or first.tier != "mediation_committee":
                add(
                    n,
                    "route",
                    f"a people's mediation item starts at the residents' committee's mediation "
                    f"committee; route {route.name} starts elsewhere",
                )
        for tier in sorted(tiers & set(missing_body)):
            body, lacking = missing_body[tier]
            if lacking:
                more = f" (and {len(lacking) - 3} more)" if len(lacking) > 3 else ""
                add(n, "route", f"no {body} for {', '.join(lacking[:3])}{more}")
        for state in route.states:
            if not state.tier or state.tier == "applicant":
                continue
            if state.limit == "response":
                if item.response_limit_h is None and state.name != route.initial:
                    add(n, "response_limit_h", f"route {route.name} needs it for {state.name}")
                continue
            column = TIER_LIMIT_FIELD[state.tier]
            if item.day_limit(state.tier) is None:
                add(n, column, f"route {route.name} needs a limit for the {state.tier} tier")
        if any(t.target == "whistle_to" for t in route.transitions) and not item.whistle_to:
            add(n, "whistle_to", f"route {route.name} can whistle: name at least one department")
    # One problem per missing column and item, not one per state of that tier.
    return sorted(set(problems), key=lambda p: (p.line or 0, p.place, p.message))


def _read_calendar(path: Path, rel: str) -> tuple[CalendarSpec | None, list[Problem]]:
    data, lines, problems = read_yaml_file(path, rel)
    if problems:
        return None, problems
    try:
        return CalendarSchema().load(data or {}), []
    except ValidationError as exc:
        return None, [
            Problem(rel, p, m, _nearest_line(lines, p)) for p, m in _flatten(exc.messages)
        ]


# ---------------------------------------------------------------- the whole folder


def _read_routes(route_dir: Path) -> tuple[dict[str, RouteSpec], set[str], list[Problem]]:
    """The routes of routes/*.yaml by name, the names of the broken files, every problem."""
    routes: dict[str, RouteSpec] = {}
    broken: set[str] = set()
    problems: list[Problem] = []
    files = sorted(route_dir.glob("*.yaml")) if route_dir.is_dir() else []
    if not files:
        problems.append(Problem("routes/", "", "no route files (routes/*.yaml)"))
    for f in files:
        route, p = _read_route_file(f, f"routes/{f.name}")
        problems += p
        if route is not None and not p:
            routes[route.name] = route
        else:
            broken.add(f.stem)
    return routes, broken, problems


def read_definitions(root: Path) -> tuple[Definitions | None, list[Problem]]:
    """Every problem in the folder, or the definitions when there is none."""
    root = Path(root)
    problems: list[Problem] = []
    if not root.is_dir():
        return None, [Problem(str(root), "", "not a definitions folder")]

    units: list[tuple[int, UnitSpec]] = []
    if (root / "units.csv").is_file():
        units, p = _read_units(root / "units.csv", "units.csv")
        problems += p + check_units(units, "units.csv")
    else:
        problems.append(Problem("units.csv", "", "missing file"))

    routes, broken_routes, p = _read_routes(root / "routes")
    problems += p

    items: list[tuple[int, ItemSpec]] = []
    if (root / "items.csv").is_file():
        rows, p = read_csv_file(
            root / "items.csv", "items.csv", ITEM_COLUMNS, REQUIRED_ITEM_COLUMNS
        )
        items, p2 = load_item_rows(rows, "items.csv")
        # Items on a route whose file is broken are not reported again: the route's file is.
        checked = [(n, i) for n, i in items if i.route not in broken_routes]
        problems += p + p2 + check_items(checked, "items.csv", [u for _, u in units], routes)
    else:
        problems.append(Problem("items.csv", "", "missing file"))

    calendar = CalendarSpec()
    if (root / "calendar.yaml").is_file():
        cal, p = _read_calendar(root / "calendar.yaml", "calendar.yaml")
        problems += p
        calendar = cal or calendar

    appraisal: dict[str, Any] | None = None
    if (root / "appraisal.yaml").is_file():
        appraisal, p = read_scheme(root / "appraisal.yaml", "appraisal.yaml")
        problems += p

    if problems:
        return None, problems
    return (
        Definitions(
            units=tuple(u for _, u in units),
            items=tuple(i for _, i in items),
            routes=tuple(routes[k] for k in sorted(routes)),
            calendar=calendar,
            appraisal=appraisal,
        ),
        [],
    )


def load_definitions(root: Path) -> Definitions:
    defs, problems = read_definitions(root)
    if defs is None:
        raise DefinitionsInvalid(problems)
    return defs


# ---------------------------------------------------------------- stored form


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return value


def route_to_data(route: RouteSpec) -> dict[str, Any]:
    """The route as the file and the API write it; RouteSchema loads it back."""
    states: dict[str, Any] = {}
    for s in route.states:
        d: dict[str, Any] = {"final": True} if s.final else {"tier": s.tier}
        if s.limit != "days":
            d["limit"] = s.limit
        if s.on_timeout:
            d["on_timeout"] = s.on_timeout
        if s.label_zh:
            d["label_zh"] = s.label_zh
        if s.tasks is not None:
            d["tasks"] = {"per": s.tasks.per, "join": s.tasks.join}
        states[s.name] = d
    transitions = []
    for t in route.transitions:
        d = {"trigger": t.trigger, "source": t.source, "dest": t.dest, "roles": list(t.roles)}
        if t.reason_required:
            d["reason_required"] = True
        if t.target:
            d["target"] = t.target
        transitions.append(d)
    return {
        "name": route.name,
        "title_zh": route.title_zh,
        "title_en": route.title_en,
        "initial": route.initial,
        "states": states,
        "transitions": transitions,
    }


def route_from_data(data: Mapping[str, Any]) -> RouteSpec:
    route: RouteSpec = RouteSchema().load(data)
    return route


def record_to_data(obj: Any) -> dict[str, Any]:
    data = {k: _plain(v) for k, v in dataclasses.asdict(obj).items()}
    if isinstance(obj, ItemSpec):
        # An item without urgency settings publishes as before: the same content, the same
        # digest, so an unchanged list is not a new version.
        for f in dataclasses.fields(ItemSpec):
            if f.name in _URGENCY_FIELDS and data.get(f.name) == f.default:
                del data[f.name]
    return data


_URGENCY_FIELDS = frozenset(URGENCY_COLUMNS)


def item_from_data(d: Mapping[str, Any]) -> ItemSpec:
    return ItemSpec(
        **{
            **d,
            "whistle_to": tuple(d["whistle_to"]),
            "materials": tuple(d["materials"]),
            "assist_units": tuple(d.get("assist_units") or ()),
        }
    )


def unit_from_data(d: Mapping[str, Any]) -> UnitSpec:
    return UnitSpec(**d)


def calendar_to_data(cal: CalendarSpec) -> dict[str, Any]:
    return {
        "holidays": _plain(cal.holidays),
        "workdays": _plain(cal.workdays),
        "working_hours": [[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in cal.working_hours],
    }


def calendar_from_data(d: Mapping[str, Any]) -> CalendarSpec:
    cal: CalendarSpec = CalendarSchema().load(dict(d))
    return cal


__all__ = [
    "DefinitionsInvalid",
    "Problem",
    "TransitionSpec",
    "check_route",
    "load_definitions",
    "load_route_data",
    "read_definitions",
]
