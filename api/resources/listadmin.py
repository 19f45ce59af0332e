"""Administrators change the list: spreadsheet import (dry run and diff) and export, street
routing tables, and moving running cases to another route version."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import marshmallow as ma
from flask import Response
from flask.views import MethodView
from flask_smorest import abort

from api import db
from api.auth import current_actor, require_roles
from api.blueprint import Blueprint
from api.schemas import Int
from workflow.catalog import authority, registry, sheet_names, street_routing
from workflow.catalog.listdiff import diff_lists, publish_list
from workflow.catalog.sheet import read_sheet, write_sheet
from workflow.errors import InvalidInput
from workflow.runtime import migration

blp = Blueprint(
    "listadmin",
    __name__,
    url_prefix="/api/v1",
    description="The list as a spreadsheet, street routing tables, moving running cases",
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A 43-item list is about 10 KB as XLSX; the API's body limit (1 MiB) bounds the upload.
# The name only says the format (.xlsx or .csv); read_sheet refuses any other.
FILENAME = ma.validate.Length(min=1, max=200)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ---------------------------------------------------------------- schemas


class ImportSchema(ma.Schema):
    filename = ma.fields.String(
        required=True, validate=FILENAME, metadata={"example": "权责清单-2027.xlsx"}
    )
    content_base64 = ma.fields.String(
        required=True, metadata={"description": "the file's bytes, base64-encoded"}
    )
    dry_run = ma.fields.Boolean(load_default=False)


class FieldChangeSchema(ma.Schema):
    field = ma.fields.String(required=True)
    old = ma.fields.Raw(allow_none=True)
    new = ma.fields.Raw(allow_none=True)


class RunningCaseSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    list_version = ma.fields.Integer(required=True)


class ItemChangeSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name_zh = ma.fields.String(required=True)
    changes = ma.fields.List(ma.fields.Nested(FieldChangeSchema))
    running_cases = ma.fields.List(
        ma.fields.Nested(RunningCaseSchema),
        metadata={"description": "cases of this item still running; they keep their list version"},
    )


class DiffSchema(ma.Schema):
    published_version = ma.fields.Integer(required=True)
    added = ma.fields.List(ma.fields.Nested(ItemChangeSchema))
    removed = ma.fields.List(ma.fields.Nested(ItemChangeSchema))
    changed = ma.fields.List(ma.fields.Nested(ItemChangeSchema))


class ImportResultSchema(ma.Schema):
    diff = ma.fields.Nested(DiffSchema, required=True)
    dry_run = ma.fields.Boolean(required=True)
    version = ma.fields.Integer(
        allow_none=True, metadata={"description": "the list version now (null on a dry run)"}
    )
    changed = ma.fields.Boolean(required=True)
    notes = ma.fields.List(ma.fields.String())


class ExportArgs(ma.Schema):
    format = ma.fields.String(load_default="xlsx", validate=ma.validate.OneOf(("xlsx", "csv")))
    chinese = ma.fields.Boolean(load_default=False)
    version = Int()


class RoutingEntrySchema(ma.Schema):
    street_office = ma.fields.String(metadata={"description": "unit holding street_office states"})
    agency = ma.fields.String(metadata={"description": "unit holding agency states"})
    ws_limit_wd = ma.fields.Integer()
    street_limit_wd = ma.fields.Integer()


class RoutingBodySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    items = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.Length(min=1, max=32)),
        values=ma.fields.Dict(),
        required=True,
        metadata={"example": {"UD-01": {"agency": "A-ZHL-PCS", "street_limit_wd": 2}}},
    )


class RoutingSchema(ma.Schema):
    street = ma.fields.String(required=True)
    version = ma.fields.Integer(allow_none=True, metadata={"description": "null: none published"})
    items = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Nested(RoutingEntrySchema), required=True
    )
    changed = ma.fields.Boolean()


class MigrationSchema(ma.Schema):
    from_version = Int(required=True)
    to_version = Int(required=True)
    map = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.Length(min=1, max=64)),
        values=ma.fields.String(validate=ma.validate.Length(min=1, max=64)),
        load_default=dict,
        metadata={"description": "old state -> new state"},
    )
    to_route = ma.fields.String(validate=ma.validate.Length(min=1, max=64))
    item = ma.fields.String(validate=ma.validate.Length(min=1, max=32))
    list_version = Int()
    reason = ma.fields.String(validate=ma.validate.Length(max=4000))
    dry_run = ma.fields.Boolean(load_default=True)


class MoveSchema(ma.Schema):
    case = ma.fields.Integer(required=True)
    item = ma.fields.String(required=True)
    from_state = ma.fields.String(required=True)
    from_holder = ma.fields.String(allow_none=True)
    to_state = ma.fields.String(allow_none=True)
    to_holder = ma.fields.String(allow_none=True)
    ok = ma.fields.Boolean(required=True)
    why_not = ma.fields.String(allow_none=True)


class PlanSchema(ma.Schema):
    route = ma.fields.String(required=True)
    from_version = ma.fields.Integer(required=True)
    to_route = ma.fields.String(required=True)
    to_version = ma.fields.Integer(required=True)
    list_version = ma.fields.Integer(required=True)
    applied = ma.fields.Boolean(required=True)
    movable = ma.fields.Integer(required=True)
    blocked = ma.fields.Integer(required=True)
    cases = ma.fields.List(ma.fields.Nested(MoveSchema), required=True)


# ---------------------------------------------------------------- the list


@blp.route("/list/import")
class ListImport(MethodView):
    @blp.arguments(ImportSchema)
    @blp.response(200, ImportResultSchema)
    @blp.alt_response(403, description="Not an administrator; publishing: not the district's")
    @blp.alt_response(422, description="A bad row: errors name each row and column")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Check a list spreadsheet (XLSX or CSV, base64), diff it against the published list,
        and publish it unless dry_run (any administrator checks; a district administrator
        publishes: the list binds the whole district)"""
        actor = require_roles("admin")
        if not body["dry_run"]:
            authority.require_publisher(db.session(), actor)
        try:
            data = base64.b64decode(body["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput(
                "content_base64 is not base64", {"content_base64": ["not base64"]}
            ) from None
        name = Path(body["filename"]).name
        if body["dry_run"]:
            return _import(db.session(), data, name, publish_as=None)
        with db.write() as s:
            return _import(s, data, name, publish_as=actor.label)


def _import(s: Any, data: bytes, name: str, *, publish_as: str | None) -> dict[str, Any]:
    sheet = read_sheet(data, name, session=s)
    if sheet.problems:
        errors: dict[str, list[str]] = {}
        for p in sheet.problems:
            errors.setdefault(p.place or name, []).append(p.message)
        raise InvalidInput(f"{len(sheet.problems)} problem(s) in {name}: nothing published", errors)
    diff = diff_lists(s, sheet.items)
    notes = []
    if sheet.names_missing:
        notes.append("no English names: each item keeps its published one")
    if sheet.names_filled:
        notes.append("new items take their Chinese name: " + ", ".join(sheet.names_filled))
    out: dict[str, Any] = {"diff": diff.as_dict(), "notes": notes}
    if publish_as is None:
        return {**out, "dry_run": True, "version": None, "changed": not diff.empty}
    change = publish_list(s, sheet.items, actor=publish_as, now=_now())
    return {**out, "dry_run": False, "version": change.version, "changed": change.changed}


@blp.route("/list/export")
class ListExport(MethodView):
    @blp.arguments(ExportArgs, location="query")
    @blp.response(200, {"type": "string", "format": "binary"}, content_type=XLSX)
    @blp.alt_response(403, description="Not an administrator")
    @blp.alt_response(404, description="No such list version")
    def get(self, args: dict[str, Any]) -> Response:
        """The published list as XLSX (or CSV with format=csv), as `list import` reads it back
        (administrators)"""
        require_roles("admin")
        items, version = registry.items(db.session(), args.get("version"))
        suffix = args["format"]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"list.{suffix}"
            names = sheet_names.Names.of(db.session()) if args["chinese"] else None
            write_sheet(list(items.values()), path, chinese=args["chinese"], names=names)
            payload = path.read_bytes()
        mimetype = XLSX if suffix == "xlsx" else "text/csv; charset=utf-8"
        return Response(
            payload,
            mimetype=mimetype,
            headers={"Content-Disposition": f'attachment; filename="list-v{version}.{suffix}"'},
        )


# ---------------------------------------------------------------- street routing tables


def _street(code: str) -> None:
    u = registry.units(db.session()).units.get(code)
    if u is None or u.kind != "street_office":
        abort(404, message=f"no street office {code!r}")


def _table_json(street: str, table: street_routing.StreetRouting | None) -> dict[str, Any]:
    if table is None:
        return {"street": street, "version": None, "items": {}}
    items = {k: dict(v) for k, v in table.items.items()}
    return {"street": street, "version": table.version, "items": items}


@blp.route("/streets/<string:code>/routing")
class StreetRouting(MethodView):
    @blp.response(200, RoutingSchema)
    @blp.alt_response(404, description="No such street office")
    def get(self, code: str) -> dict[str, Any]:
        """A street's routing table: per item, who holds the street stage and shorter limits"""
        current_actor()
        _street(code)
        return _table_json(code, street_routing.table(db.session(), code))

    @blp.arguments(RoutingBodySchema)
    @blp.response(201, RoutingSchema)
    @blp.alt_response(200, schema=RoutingSchema, description="Unchanged: the same version")
    @blp.alt_response(403, description="Not an administrator of this street")
    @blp.alt_response(404, description="No such street office")
    @blp.alt_response(422, description="A foreign unit, a longer limit, an unknown item")
    def put(self, body: dict[str, Any], code: str) -> tuple[dict[str, Any], int]:
        """Publish the street's routing table (that street's administrator); cases opened
        afterwards follow it, cases already open keep theirs"""
        actor = require_roles("admin")
        _street(code)
        if actor.unit != code:
            abort(403, message=f"only an administrator of {code} sets its routing table")
        with db.write() as s:
            change = street_routing.publish_table(
                s, code, body, actor=actor.label, now=_now(), file="body"
            )
            out = _table_json(code, street_routing.table(s, code))
        return {**out, "changed": change.changed}, (201 if change.changed else 200)


# ---------------------------------------------------------------- moving running cases


@blp.route("/routes/<string:name>/migrations")
class Migrations(MethodView):
    @blp.arguments(MigrationSchema)
    @blp.response(200, PlanSchema)
    @blp.alt_response(403, description="Not an administrator")
    @blp.alt_response(404, description="No such route version")
    @blp.alt_response(422, description="A bad mapping")
    def post(self, body: dict[str, Any], name: str) -> dict[str, Any]:
        """Move the running cases on a route version to another (dry_run, the default: only say
        which can move and why the others cannot). A street's administrator moves the cases of
        their street; the district's, every case (administrators)"""
        actor = require_roles("admin")
        units = registry.units(db.session())
        street = units.street_of(actor.unit or "")
        kwargs: dict[str, Any] = {
            "route": name,
            "from_version": body["from_version"],
            "to_version": body["to_version"],
            "mapping": body["map"],
            "to_route": body.get("to_route"),
            "list_version": body.get("list_version"),
            "item": body.get("item"),
            "street": street,
        }
        if body["dry_run"]:
            return migration.plan(db.session(), **kwargs).as_dict()
        with db.write() as s:
            result = migration.apply(
                s,
                actor=actor.label,
                unit=actor.unit,
                reason=body.get("reason"),
                now=_now(),
                **kwargs,
            )
        return result.as_dict()
