"""The route diagram in the console user's language: states, triggers and tiers by their labels,
the legend and the task note translated (workflow.runtime.diagram draws it)."""

from __future__ import annotations

import re

from flask import render_template, request
from flask_babel import gettext as _

from api import db
from api.console import labels
from api.console.common import bp, signed_in
from workflow.catalog import registry
from workflow.runtime.diagram import Words, route_svg
from workflow.spec.model import RouteSpec


def words(route: RouteSpec) -> Words:
    own = {s.name: s.label_zh for s in route.states if s.label_zh}

    def state(name: str) -> str:
        if name not in labels.STATES and labels.is_zh() and own.get(name):
            return own[name] or name
        return labels.label("state", name)

    def tasks(per: str, join: str) -> str:
        who = (
            _("one task per department called")
            if per == "targets"
            else _("one task per department of the item")
        )
        until = _("until every task is done") if join == "all" else _("until the lead's is done")
        return f"∥ {who}, {until}"

    return Words(
        state=state,
        trigger=lambda t: labels.label("trigger", t),
        tier=lambda t: labels.label("tier", t),
        title=f"{route.title_zh}（{route.name}）"
        if labels.is_zh()
        else f"{route.title_en} ({route.name})",
        tasks=tasks,
        legend=_("Legend: each band is a tier"),
        reason=_("* a reason is required"),
        final=_("final state"),
    )


ZOOMS = (50, 75, 100, 150, 200)


@bp.get("/admin/routes/<name>/view")
@signed_in("admin", "auditor", "staff", "clerk")
def diagram_page(name: str) -> str:
    """The route diagram on a page of its own, the whole width, at a chosen zoom (fit to the
    width by default): a large route is readable without a separate viewer."""
    from api.console.admin import _route_row, _version_arg

    row, versions = _route_row(name, _version_arg("version"))
    route, _v, _d = registry.route(db.session(), name, row.version)
    raw = request.args.get("zoom", "")
    zoom = int(raw) if raw.isdigit() and int(raw) in ZOOMS else None
    # The picture's own width (Graphviz gives points), so that 100% is its natural size.
    svg = route_svg(route, words(route))
    m = re.search(rb'<svg width="([0-9.]+)pt"', svg)
    natural = round(float(m.group(1)) * 4 / 3) if m else 1000
    return render_template(
        "console/diagram.html",
        row=row,
        route=route,
        versions=versions,
        zoom=zoom,
        zooms=ZOOMS,
        width=round(natural * zoom / 100) if zoom else None,
        title=f"{route.title_zh}" if labels.is_zh() else route.title_en,
    )


def transition_words(key: str) -> str:
    """A route diff's transition (`source --trigger--> dest`) in the user's words."""
    source, _sep, rest = key.partition(" --")
    trigger, _sep, dest = rest.partition("--> ")
    if not dest:
        return key
    return (
        f"{labels.label('state', source)} —{labels.label('trigger', trigger)}→ "
        f"{labels.label('state', dest)}"
    )


def column_name(field: str) -> str:
    """A column of the list as the user reads it: its Chinese header, or its English column."""
    from workflow.catalog.sheet import HEADER_OF

    return HEADER_OF.get(field, field) if labels.is_zh() else field
