"""The organisation and the list of powers and responsibilities, read-only for every signed-in user."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from api import db
from api.auth import current_actor
from api.blueprint import Blueprint
from workflow.catalog import registry
from workflow.spec.serialize import record_to_data

blp = Blueprint("catalog", __name__, url_prefix="/api/v1", description="Units and items")


class UnitSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name_zh = ma.fields.String(required=True)
    name_en = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    parent = ma.fields.String(allow_none=True)
    host_street = ma.fields.String(allow_none=True)
    agency_kind = ma.fields.String(allow_none=True)


class ItemSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name_zh = ma.fields.String(required=True)
    name_en = ma.fields.String(required=True)
    window = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    route = ma.fields.String(required=True)
    department = ma.fields.String(required=True)
    ws_limit_wd = ma.fields.Integer(allow_none=True)
    street_limit_wd = ma.fields.Integer(allow_none=True)
    dept_limit_wd = ma.fields.Integer(allow_none=True)
    response_limit_h = ma.fields.Integer(allow_none=True)
    street_agency = ma.fields.String(allow_none=True)
    whistle_to = ma.fields.List(ma.fields.String())
    materials = ma.fields.List(ma.fields.String())
    legal_basis = ma.fields.String()
    limit_unit = ma.fields.String(
        metadata={
            "description": "how the day limits count: working_days, calendar_days or months",
            "enum": ["working_days", "calendar_days", "months"],
        }
    )
    public = ma.fields.Boolean(
        metadata={"description": "residents may file it from an app (Open311)"}
    )
    lead_unit = ma.fields.String(
        allow_none=True,
        metadata={"description": "the duty's lead unit (属地管理), a whistle's default lead"},
    )
    assist_units = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "the duty's assisting units, a whistle's default assistants"},
    )
    list_version = ma.fields.Integer(required=True)


@blp.route("/units")
class Units(MethodView):
    @blp.response(200, UnitSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """The organisation: district, departments, street offices and their party working
        committees and service centres, workstations with their communities' party and
        residents' committees, agencies"""
        current_actor()
        units = registry.units(db.session())
        return [{**record_to_data(u), "agency_kind": u.agency_kind} for u in units.units.values()]


@blp.route("/items")
class Items(MethodView):
    @blp.response(200, ItemSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """The published list of powers and responsibilities (权责清单)"""
        current_actor()
        items, version = registry.items(db.session())
        return [{**record_to_data(i), "list_version": version} for i in items.values()]


@blp.route("/items/<string:code>")
class Item(MethodView):
    @blp.response(200, ItemSchema)
    @blp.alt_response(404, description="No such item")
    def get(self, code: str) -> dict[str, Any]:
        """One item of the published list"""
        current_actor()
        item, version = registry.item(db.session(), code)
        return {**record_to_data(item), "list_version": version}
