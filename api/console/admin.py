"""The administrator's pages: the list of powers and responsibilities by window, route versions with their
diagrams and a readable diff, and uploading a route checked line by line before publishing.

District administrators publish for the whole district (routes, the list); a street's
administrators publish their street's variant of a route only."""

from __future__ import annotations

import base64
import binascii
import difflib
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from api import db
from api.console import diagrams
from api.console.common import bp, caller, now, signed_in
from workflow.catalog import authority, registry
from workflow.catalog.listdiff import diff_lists, publish_list
from workflow.catalog.sheet import read_sheet
from workflow.inputs import INT32
from workflow.runtime.diagram import route_svg
from workflow.spec.loader import read_route_text
from workflow.spec.model import TIER_LIMIT_FIELD, RouteSpec
from workflow.spec.serialize import route_to_data
from workflow.store.models import DefinitionVersion

MAX_UPLOAD = 512 * 1024
SHEETS = (".xlsx", ".csv")


def _route_row(name: str, version: int | None) -> tuple[DefinitionVersion, list[int]]:
    rows = registry.route_versions(db.session(), name)
    if not rows:
        abort(404, _("No route %(name)s.", name=name))
    row = rows[-1] if version is None else next((r for r in rows if r.version == version), None)
    if row is None:
        abort(404, _("Route %(name)s has no version %(v)s.", name=name, v=version))
    return row, [r.version for r in rows]


def _version_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        version = int(raw)
    except ValueError:
        abort(400, _("A version is a whole number."))
    if not 1 <= version <= INT32:
        abort(404, _("No version %(v)s.", v=raw[:20]))
    return version


def limits_of(item: Any, route: RouteSpec) -> list[dict[str, Any]]:
    """The route's tiers in order of first use, each with the item's limit there."""
    out, seen = [], set()
    for st in route.states:
        if st.final or st.tier in (None, "applicant") or st.tier in seen:
            continue
        seen.add(st.tier)
        field = TIER_LIMIT_FIELD.get(st.tier or "")
        out.append({"tier": st.tier, "days": getattr(item, field) if field else None})
    return out


@bp.get("/admin/items")
@signed_in("admin")
def items() -> str:
    """The list grouped by service window."""
    s = db.session()
    catalog, version = registry.items(s)
    by_window: dict[str, list[Any]] = defaultdict(list)
    for it in catalog.values():
        by_window[it.window].append(it)
    routes = {it.route: registry.route(s, it.route)[0] for it in catalog.values()}
    return render_template(
        "console/items.html",
        windows=sorted(by_window.items()),
        version=version,
        limits={code: limits_of(it, routes[it.route]) for code, it in catalog.items()},
        routes=routes,
    )


@bp.get("/admin/items/<code>")
@signed_in("admin")
def item(code: str) -> str:
    s = db.session()
    catalog, version = registry.items(s)
    it = catalog.get(code)
    if it is None:
        abort(404, _("No item %(code)s.", code=code))
    route, route_version, _digest = registry.route(s, it.route)
    return render_template(
        "console/item.html",
        item=it,
        version=version,
        route=route,
        route_version=route_version,
        limits=limits_of(it, route),
    )


def publishing() -> dict[str, Any]:
    """What the signed-in administrator may publish: district-wide, and for which streets."""
    s = db.session()
    actor = caller().actor
    district = authority.is_district_admin(s, actor)
    own = authority.street_of_admin(s, actor)
    if district:
        streets = [u.code for u in registry.units(s).units.values() if u.kind == "street_office"]
    else:
        streets = [own] if own else []
    return {"district": district, "streets": sorted(streets)}


@bp.get("/admin/routes")
@signed_in("admin")
def routes() -> str:
    s = db.session()
    return render_template(
        "console/routes.html",
        routes=[
            (
                [r for r in registry.route_versions(s, n) if r.street is None],
                registry.route_variants(s, n),
            )
            for n in registry.route_names(s)
        ],
    )


@bp.get("/admin/routes/<name>")
@signed_in("admin")
def route(name: str) -> str:
    """A route version with its diagram, and a diff against another version."""
    row, versions = _route_row(name, _version_arg("version"))
    other = _version_arg("against")
    diff = None
    if other is not None:
        old, _versions = _route_row(name, other)
        diff = route_diff(old.content, row.content)
    rows = registry.route_versions(db.session(), name)
    return render_template(
        "console/route.html",
        row=row,
        versions=versions,
        streets={r.version: r.street for r in rows},
        variants=registry.route_variants(db.session(), name),
        may=publishing(),
        against=other,
        diff=diff,
        yaml_text=_yaml(row.content),
    )


@bp.post("/admin/routes/<name>/withdraw")
@signed_in("admin")
def withdraw(name: str) -> Any:
    """Withdraw a street's variant: the street's new cases follow the district's version again."""
    street = request.form.get("street", "")
    _refuse_unless_may(publishing(), street)
    if street not in registry.route_variants(db.session(), name):
        abort(404, _("%(street)s has no variant of route %(name)s.", street=street, name=name))
    with db.write() as w:
        authority.withdraw_variant(w, name, street, actor=caller().actor, now=now())
    flash(
        _(
            "The variant of %(street)s is withdrawn: its new cases follow the district's version.",
            street=street,
        ),
        "ok",
    )
    return redirect(url_for("console.route", name=name))


@bp.get("/admin/routes/<name>/diagram.svg")
@signed_in("admin", "auditor", "staff", "clerk")
def diagram(name: str) -> Response:
    row, _versions = _route_row(name, _version_arg("version"))
    route, _v, _d = registry.route(db.session(), name, row.version)
    return Response(route_svg(route, diagrams.words(route)), mimetype="image/svg+xml")


def _yaml(content: Any) -> str:
    # Flow style for the leaves: one line per state and per transition, as the files are
    # written, so the line diff says which transition changed.
    return yaml.safe_dump(
        content, allow_unicode=True, sort_keys=False, width=200, default_flow_style=None
    )


def _transition_key(t: dict[str, Any]) -> str:
    return f"{t['source']} --{t['trigger']}--> {t['dest']}"


def route_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What changed between two versions of a route: states and transitions added, removed or
    changed, and the line diff of their YAML."""
    old_states, new_states = old.get("states", {}), new.get("states", {})
    old_t = {_transition_key(t): t for t in old.get("transitions", [])}
    new_t = {_transition_key(t): t for t in new.get("transitions", [])}
    lines = list(
        difflib.unified_diff(
            _yaml(old).splitlines(), _yaml(new).splitlines(), "old", "new", lineterm="", n=2
        )
    )[2:]
    return {
        "states_added": sorted(set(new_states) - set(old_states)),
        "states_removed": sorted(set(old_states) - set(new_states)),
        "states_changed": sorted(
            n for n in set(old_states) & set(new_states) if old_states[n] != new_states[n]
        ),
        "transitions_added": sorted(set(new_t) - set(old_t)),
        "transitions_removed": sorted(set(old_t) - set(new_t)),
        "transitions_changed": sorted(k for k in set(old_t) & set(new_t) if old_t[k] != new_t[k]),
        "lines": lines,
    }


@bp.route("/admin/upload", methods=["GET", "POST"])
@signed_in("admin")
def upload() -> Any:
    """Check an uploaded route (YAML) or list (XLSX or CSV); publish it only when it has no
    problem and the administrator confirms (the checked file travels in the confirming form)."""
    if request.method == "GET":
        return render_template("console/upload.html", problems=None)
    data, filename = _uploaded()
    if data is None:
        return render_template("console/upload.html", problems=None), 400
    if filename.lower().endswith(SHEETS):
        return _upload_list(data, filename)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        flash(_("The file is not UTF-8 text."), "error")
        return render_template("console/upload.html", problems=None), 400
    route, problems = read_route_text(text, filename)
    may = publishing()
    if route is not None and not problems and request.form.get("publish") == "yes":
        street = request.form.get("street") or None
        _refuse_unless_may(may, street)
        c = caller()
        with db.write() as w:
            change = authority.publish_route(w, route, actor=c.actor, street=street, now=now())
        if change.changed and street:
            flash(
                _(
                    "Route %(name)s published for %(street)s as version %(v)s.",
                    name=route.name,
                    street=street,
                    v=change.version,
                ),
                "ok",
            )
        elif change.changed:
            flash(
                _("Route %(name)s published as version %(v)s.", name=route.name, v=change.version),
                "ok",
            )
        else:
            flash(_("Route %(name)s is unchanged: nothing published.", name=route.name), "ok")
        return redirect(url_for("console.route", name=route.name, version=change.version))
    diff = None
    in_force = None
    if route is not None and not problems:
        # Against what is in force where this administrator would publish: a street
        # administrator's street (its variant, else the district's), or the district.
        street = None if may["district"] or not may["streets"] else may["streets"][0]
        current = registry.route_in_force(db.session(), route.name, street)
        if current is not None:
            in_force = current
            diff = route_diff(current.content, route_to_data(route))
    return render_template(
        "console/upload.html",
        problems=sorted(problems, key=lambda p: (p.line or 0, p.place)),
        what="route",
        route=route,
        content=base64.b64encode(data).decode(),
        filename=filename,
        source_lines=text.splitlines(),
        diff=diff,
        in_force=in_force,
        may=may,
    ), (422 if problems else 200)


def _refuse_unless_may(may: dict[str, Any], street: str | None) -> None:
    """403 unless the signed-in administrator may publish for STREET (None: district-wide)."""
    if street is None and not may["district"]:
        abort(403, _("Only a district administrator publishes for the whole district."))
    if street is not None and street not in may["streets"]:
        abort(
            403,
            _(
                "Only an administrator of %(street)s or of the district publishes for it.",
                street=street,
            ),
        )


def _upload_list(data: bytes, filename: str) -> Any:
    """The list of powers and responsibilities from a spreadsheet: every bad row said, or the changes
    against the published list (with the running cases they touch), then publish."""
    may = publishing()
    if request.form.get("publish") == "yes":
        _refuse_unless_may(may, None)
        c = caller()
        with db.write() as w:
            sheet = read_sheet(data, filename, session=w)
            if not sheet.problems:
                change = publish_list(w, sheet.items, actor=c.actor.label, now=now())
        if not sheet.problems:
            if change.changed:
                flash(_("The list published as version %(v)s.", v=change.version), "ok")
            else:
                flash(_("The list is unchanged: nothing published."), "ok")
            return redirect(url_for("console.items"))
    s = db.session()
    sheet = read_sheet(data, filename, session=s)
    diff = None if sheet.problems else diff_lists(s, sheet.items)
    return render_template(
        "console/upload.html",
        problems=sorted(sheet.problems, key=lambda p: (p.line or 0, p.place)),
        what="list",
        content=base64.b64encode(data).decode(),
        filename=filename,
        source_lines=[],
        list_diff=diff,
        items_count=len(sheet.items),
        may=may,
    ), (422 if sheet.problems else 200)


def _uploaded() -> tuple[bytes | None, str]:
    """The file's bytes and name: from the file input, or from the confirming form."""
    if "content" in request.form:
        try:
            data = base64.b64decode(request.form["content"], validate=True)
        except (binascii.Error, ValueError):
            abort(400, _("The form was damaged; upload the file again."))
        return data, Path(request.form.get("filename", "route.yaml")).name[:100]
    f = request.files.get("file")
    if f is None or not f.filename:
        flash(_("Choose a route file (.yaml) or a list spreadsheet (.xlsx, .csv)."), "error")
        return None, ""
    raw = f.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        flash(_("The file is larger than %(n)s KiB.", n=MAX_UPLOAD // 1024), "error")
        return None, ""
    return raw, Path(f.filename).name[:100]
