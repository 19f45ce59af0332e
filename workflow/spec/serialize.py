"""Definitions to and from the plain data stored with a published version (and given over HTTP)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from workflow.spec.schemas import URGENCY_COLUMNS

from .model import (
    CalendarSpec,
    ItemSpec,
    RouteSpec,
    UnitSpec,
)
from .schemas import (
    CalendarSchema,
    RouteSchema,
)

# Urgency columns left at their defaults are not stored: an unchanged list keeps its digest.
_URGENCY_FIELDS = frozenset(URGENCY_COLUMNS)


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
