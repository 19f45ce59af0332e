"""Route templates: read every version, check or publish one given as JSON (admin), draw one."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from api import db
from api.auth import current_actor, require_roles
from api.schemas import Int
from workflow.catalog import registry
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


class RouteVersionSchema(RouteSummarySchema):
    versions = ma.fields.List(ma.fields.Integer())
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
    }
    if versions is not None:
        out["versions"] = versions
        out["definition"] = row.content
    return out


def _version(name: str, version: int | None) -> dict[str, Any]:
    s = db.session()
    rows = registry.route_versions(s, name)
    row = (
        rows[-1]
        if rows and version is None
        else next((r for r in rows if r.version == version), None)
    )
    if row is None:
        what = f"route {name!r}" + (f" version {version}" if version else "")
        abort(404, message=f"no published {what}")
    assert row is not None
    return _row_json(row, [r.version for r in rows])


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
    @blp.alt_response(403, description="Not an administrator")
    def post(self, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """Publish a route as a new version (administrators); unchanged content keeps its version"""
        actor = require_roles("admin")
        route, problems = _check(body)
        if route is None or problems:
            errors: dict[str, list[str]] = {}
            for p in problems:
                errors.setdefault(p.place or "_schema", []).append(p.message)
            raise InvalidInput(f"the route has {len(problems)} problem(s)", errors)
        from workflow.spec.loader import route_to_data

        with db.write() as s:
            change = registry.publish_one(
                s, "route", route.name, route_to_data(route), actor=actor.label, now=_now()
            )
        out = {"name": change.name, "version": change.version, "changed": change.changed}
        return out, (201 if change.changed else 200)


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
    def get(self, args: dict[str, Any], name: str) -> Response:
        """The route as a picture (SVG)"""
        current_actor()
        version = args.get("version")
        if version is None and not registry.route_versions(db.session(), name):
            abort(404, message=f"no published route {name!r}")
        route, _, _ = registry.route(db.session(), name, version)
        return Response(route_svg(route), mimetype="image/svg+xml")
