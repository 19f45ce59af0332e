"""Read a definitions folder, report every problem with its file and place, build spec objects."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from workflow.places.files import read_places
from workflow.spec.checks import check_items, check_route, check_units

from .files import Problem, load_rows, read_csv_file, read_yaml, read_yaml_file
from .files import flatten as _flatten
from .files import nearest_line as _nearest_line
from .model import (
    CalendarSpec,
    Definitions,
    ItemSpec,
    RouteSpec,
    UnitSpec,
)
from .schemas import (
    ITEM_COLUMNS,
    REQUIRED_ITEM_COLUMNS,
    UNIT_COLUMNS,
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

    places: dict[str, Any] | None = None
    if not any(p.file == "units.csv" for p in problems):
        places, p = read_places(root, [u for _, u in units])
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
            places=places,
        ),
        [],
    )


def load_definitions(root: Path) -> Definitions:
    defs, problems = read_definitions(root)
    if defs is None:
        raise DefinitionsInvalid(problems)
    return defs
