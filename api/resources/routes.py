"""Route templates: read every version, check or publish one given as JSON, draw one.

The district's versions are published by district administrators; a street's variant (in force
for that street's new cases) by that street's administrators or the district's."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response
from flask.views import MethodView
from flask_smorest import abort

from api import db
from api.auth import current_actor, require_roles
from api.blueprint import Blueprint
from api.schemas import Int
from workflow.catalog import authority, registry
from workflow.errors import InvalidInput
from workflow.runtime.diagram import route_svg
from workflow.spec.loader import Problem, load_route_data
from workflow.store.models import DefinitionVersion

blp = Blueprint("routes", __name__, url_prefix="/api/v1/routes", description="Route templates")


class RouteSummarySchema(ma.Schema):
    name = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True)
    title_zh = ma.fields.String()
    title_en = ma.fields.String()
    digest = ma.fields.String(required=True)
    published_at = ma.fields.DateTime(required=True)
    published_by = ma.fields.String()
    street = ma.fields.String(
        allow_none=True,
        metadata={"description": "the street this version is the variant of; null: the district's"},
    )


class VariantSchema(ma.Schema):
    street = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True)


class RouteVersionSchema(RouteSummarySchema):
    versions = ma.fields.List(
        ma.fields.Integer(), metadata={"description": "every version, the streets' variants too"}
    )
    variants = ma.fields.List(
        ma.fields.Nested(VariantSchema),
        metadata={"description": "each street's variant in force for its new cases"},
    )
    definition = ma.fields.Dict(
        required=True, metadata={"description": "the route as routes/*.yaml holds it"}
    )


class RouteBodySchema(ma.Schema):
    """A route as in routes/*.yaml; the full rules are checked by the definitions loader."""

    class Meta:
        unknown = ma.INCLUDE

    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    title_zh = ma.fields.String(required=True)
    title_en = ma.fields.String(required=True)
    initial = ma.fields.String(required=True)
    states = ma.fields.Dict(required=True)
    transitions = ma.fields.List(ma.fields.Dict(), required=True)


class ProblemLineSchema(ma.Schema):
    place = ma.fields.String(required=True)
    message = ma.fields.String(required=True)


class ValidationSchema(ma.Schema):
    valid = ma.fields.Boolean(required=True)
    problems = ma.fields.List(ma.fields.Nested(ProblemLineSchema), required=True)


class PublishedSchema(ma.Schema):
    name = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True)
    changed = ma.fields.Boolean(required=True)
    street = ma.fields.String(
        allow_none=True, metadata={"description": "the street of a variant; null: the district's"}
    )


class DiagramArgs(ma.Schema):
    version = Int()


def _row_json(row: DefinitionVersion, versions: list[int] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": row.name,
        "version": row.version,
        "title_zh": row.content.get("title_zh"),
        "title_en": row.content.get("title_en"),
        "digest": row.digest,
        "published_at": row.published_at,
        "published_by": row.published_by,
        "street": row.street,
    }
    if versions is not None:
        out["versions"] = versions
        out["definition"] = row.content
    return out


def _version(name: str, version: int | None, street: str | None = None) -> dict[str, Any]:
    """A route version; with no VERSION, the one in force for STREET's new cases (its variant,
    else the district's latest), or the district's latest."""
    s = db.session()
    rows = registry.route_versions(s, name)
    row: DefinitionVersion | None
    if version is None:
        row = registry.route_in_force(s, name, street)
    else:
        row = next((r for r in rows if r.version == version), None)
    if row is None:
        what = f"route {name!r}" + (f" version {version}" if version else "")
        abort(404, message=f"no published {what}")
    assert row is not None
    out = _row_json(row, [r.version for r in rows])
    out["variants"] = _variants(name)
    return out


def _variants(name: str) -> list[dict[str, Any]]:
    return [
        {"street": street, "version": row.version}
        for street, row in registry.route_variants(db.session(), name).items()
    ]


def _publish(body: dict[str, Any], street: str | None) -> tuple[dict[str, Any], int]:
    actor = require_roles("admin")
    with db.write() as s:
        # Who may publish is asked before the route is read: a refusal says nothing of it.
        authority.require_publisher(s, actor, street)
        route, problems = _check(body)
        if route is None or problems:
            errors: dict[str, list[str]] = {}
            for p in problems:
                errors.setdefault(p.place or "_schema", []).append(p.message)
            raise InvalidInput(f"the route has {len(problems)} problem(s)", errors)
        change = authority.publish_route(s, route, actor=actor, street=street, now=_now())
    out = {
        "name": change.name,
        "version": change.version,
        "changed": change.changed,
        "street": change.street,
    }
    return out, (201 if change.changed else 200)


def _check(body: dict[str, Any]) -> tuple[Any, list[Problem]]:
    return load_route_data(body, "route")


@blp.route("")
class Routes(MethodView):
    @blp.response(200, RouteSummarySchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every route template at its latest version"""
        current_actor()
        s = db.session()
        out = []
        for name in registry.route_names(s):
            out.append(_row_json(registry.route_versions(s, name)[-1]))
        return out

    @blp.arguments(RouteBodySchema)
    @blp.response(201, PublishedSchema)
    @blp.alt_response(200, schema=PublishedSchema, description="Unchanged: the same version")
    @blp.alt_response(403, description="Not a district administrator")
    @blp.alt_response(422, description="The route has problems: errors name each place")
    def post(self, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """Publish a route as the district's new version (district administrators); unchanged
        content keeps its version. Streets without a variant of it follow it for new cases"""
        return _publish(body, None)


def _now() -> Any:
    from workflow.runtime.engine import utcnow

    return utcnow()


@blp.route("/validate")
class Validate(MethodView):
    @blp.arguments(RouteBodySchema)
    @blp.response(200, ValidationSchema)
    @blp.alt_response(403, description="Not an administrator")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Check a route without publishing it (administrators)"""
        require_roles("admin")
        _, problems = _check(body)
        return {
            "valid": not problems,
            "problems": [{"place": p.place, "message": p.message} for p in problems],
        }


@blp.route("/<string:name>")
class RouteResource(MethodView):
    @blp.response(200, RouteVersionSchema)
    @blp.alt_response(404, description="No such route")
    def get(self, name: str) -> dict[str, Any]:
        """A route's latest version, with the list of its versions"""
        current_actor()
        return _version(name, None)


@blp.route("/<string:name>/streets")
class RouteVariants(MethodView):
    @blp.response(200, VariantSchema(many=True))
    @blp.alt_response(404, description="No such route")
    def get(self, name: str) -> list[dict[str, Any]]:
        """Each street's variant of the route in force for its new cases"""
        current_actor()
        if registry.latest_row(db.session(), "route", name) is None:
            abort(404, message=f"no published route {name!r}")
        return _variants(name)


@blp.route("/<string:name>/streets/<string:street>")
class RouteForStreet(MethodView):
    @blp.response(200, RouteVersionSchema)
    @blp.alt_response(404, description="No such route or street office")
    def get(self, name: str, street: str) -> dict[str, Any]:
        """The version in force for a street's new cases: its variant (street set), else the
        district's latest (street null)"""
        current_actor()
        _street_office(street)
        return _version(name, None, street)

    @blp.arguments(RouteBodySchema)
    @blp.response(201, PublishedSchema)
    @blp.alt_response(200, schema=PublishedSchema, description="Unchanged: the same version")
    @blp.alt_response(403, description="Not an administrator of this street or the district")
    @blp.alt_response(404, description="No such street office")
    @blp.alt_response(422, description="The route has problems, or names another route")
    def post(self, body: dict[str, Any], name: str, street: str) -> tuple[dict[str, Any], int]:
        """Publish the street's variant of a district route (that street's administrators, or
        the district's): the street's cases opened afterwards follow it; running cases and
        other streets keep theirs. Unchanged content keeps its version"""
        actor = require_roles("admin")
        authority.require_publisher(db.session(), actor, street)
        _street_office(street)
        if body.get("name") != name:
            raise InvalidInput(
                f"the body is route {body.get('name')!r}, not {name!r}",
                {"name": [f"must be {name!r}"]},
            )
        return _publish(body, street)

    @blp.response(200, RouteVersionSchema)
    @blp.alt_response(403, description="Not an administrator of this street or the district")
    @blp.alt_response(404, description="No such street office, or it has no variant in force")
    def delete(self, name: str, street: str) -> dict[str, Any]:
        """Withdraw the street's variant (that street's administrators, or the district's): its
        cases opened afterwards follow the district's version again, which is returned; cases
        on the variant keep it"""
        actor = require_roles("admin")
        authority.require_publisher(db.session(), actor, street)
        _street_office(street)
        with db.write() as s:
            authority.withdraw_variant(s, name, street, actor=actor, now=_now())
        return _version(name, None, street)


def _street_office(code: str) -> None:
    u = registry.units(db.session()).units.get(code)
    if u is None or u.kind != "street_office":
        abort(404, message=f"no street office {code!r}")


@blp.route("/<string:name>/versions/<int:version>")
class RouteVersion(MethodView):
    @blp.response(200, RouteVersionSchema)
    @blp.alt_response(404, description="No such route version")
    def get(self, name: str, version: int) -> dict[str, Any]:
        """One version of a route"""
        current_actor()
        return _version(name, version)


@blp.route("/<string:name>/diagram.svg")
class Diagram(MethodView):
    @blp.arguments(DiagramArgs, location="query")
    @blp.response(200, {"type": "string", "format": "binary"}, content_type="image/svg+xml")
    @blp.alt_response(404, description="No such route")
    @blp.alt_response(503, description="Graphviz is not installed on the server (no_graphviz)")
    def get(self, args: dict[str, Any], name: str) -> Response:
        """The route as a picture (SVG)"""
        current_actor()
        version = args.get("version")
        if version is None and not registry.route_versions(db.session(), name):
            abort(404, message=f"no published route {name!r}")
        route, _, _ = registry.route(db.session(), name, version)
        return Response(route_svg(route), mimetype="image/svg+xml")
