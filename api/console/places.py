"""Places in the console: a case's small map (drawn on the server from the boundaries), and the
hot spots page (主动治理) for a street office and the district."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup

from api import db
from api.console import labels
from api.console.common import bp, caller, current_caller, signed_in, unit_name
from workflow.catalog import registry
from workflow.errors import InvalidInput, NotHolder
from workflow.places import drawing, routing
from workflow.places import hotspots as hot
from workflow.store.models import Case

DEFAULT_DAYS = 30


def needs_place(item: Any) -> bool:
    """Whether the intake form asks where: an incident (诉求处置) or an item asking for 位置."""
    return item is not None and (item.route == "incident" or "位置" in item.materials)


def sees_hotspots() -> bool:
    c = current_caller()
    if c is None:
        return False
    try:
        hot.streets_for(db.session(), c.actor, None)
    except NotHolder:
        return False
    return True


def _names() -> dict[str, str]:
    units = registry.units(db.session()).units
    return {code: labels.named(u, code) for code, u in units.items() if u.kind == "workstation"}


# A street's map as drawn for a case page, without the case's point: (places, organisation,
# language, the communities framed, the one marked) -> SVG. A case page drew every community of
# the district each time (a twentieth of the page); the published places and organisation never
# change (a new version is a new object, and the objects are kept in the key so that their ids
# are not reused while an entry lives).
_maps: dict[tuple[int, int, bool, tuple[str, ...], str], tuple[Any, Any, str]] = {}
MAP_WIDTH = 360


def case_map(case: Case) -> Markup | None:
    """The case's street with its community outlined and the point it was reported at; None
    when no places were published."""
    s = db.session()
    places = routing.current(s)
    if places is None:
        return None
    index = registry.units(s)
    units = index.units
    street = {code: u.parent for code, u in units.items() if u.kind == "workstation"}
    focus = [code for code in places.boundaries if street.get(code) == case.street]
    point = (case.lat, case.long) if case.lat is not None and case.long is not None else None
    if point is not None and places.at_point(*point) not in focus:
        focus.append(places.at_point(*point) or case.workstation)
    key = (id(places), id(index), labels.is_zh(), tuple(focus), case.workstation)
    hit = _maps.get(key)
    if hit is not None and hit[0] is places and hit[1] is index:
        svg = hit[2]
    else:
        svg = drawing.draw(
            places,
            names=_names(),
            focus=focus,
            marked=case.workstation,
            label=_("Map of %(community)s", community=unit_name(case.workstation)),
            width=MAP_WIDTH,
        )
        if len(_maps) >= 2_000:  # the district's communities, by language: a few hundred
            _maps.clear()
        _maps[key] = (places, index, svg)
    if point is not None:
        svg = drawing.with_point(svg, places, focus=focus, point=point, width=MAP_WIDTH)
    return Markup(svg)  # drawing.draw escapes every text it writes


@bp.app_context_processor
def _places_globals() -> dict[str, Any]:
    return {"case_map": case_map, "sees_hotspots": sees_hotspots, "needs_place": needs_place}


def _day(name: str, default: dt.date) -> dt.date:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            _("%(field)s: a day as YYYY-MM-DD", field=name), {name: ["YYYY-MM-DD"]}
        ) from None


@bp.get("/hotspots")
@signed_in()
def hotspots() -> Any:
    """Where complaints repeat: the period's cases by community (a shaded map) and by item."""
    c = caller()
    s = db.session()
    today = dt.datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()
    first = _day("from", today - dt.timedelta(days=DEFAULT_DAYS - 1))
    last = _day("to", today)
    asked = request.args.get("street", "").strip() or None
    street = hot.streets_for(s, c.actor, asked)
    start, end = hot.days(s, first, last)
    h = hot.hotspots(s, start=start, end=end, street=street)
    places = routing.current(s)
    names = _names()
    items, _v = registry.items(s)
    fills = drawing.shades(h.by_community)
    svg = None
    if places is not None:
        svg = Markup(  # drawing.draw escapes every text it writes
            drawing.draw(
                places,
                names=names,
                fills=fills,
                titles={
                    ws: _("%(community)s: %(n)s cases", community=names.get(ws, ws), n=n)
                    for ws, n in h.by_community.items()
                },
                focus=h.communities,
                label=_("Cases by community"),
                width=640,
            )
        )
    units = registry.units(s).units
    district = units.get(c.unit or "")
    streets = (
        sorted(code for code, u in units.items() if u.kind == "street_office")
        if district is not None and district.kind == "district"
        else []
    )
    return render_template(
        "console/hotspots.html",
        first=first,
        last=last,
        street=street,
        streets=streets,
        hot=h,
        svg=svg,
        legend=drawing.legend(max(h.by_community.values(), default=0)),
        fills=fills,
        names=names,
        item_name=lambda code: labels.named(items.get(code), code),
        illustrative=bool(places and places.illustrative),
    )
