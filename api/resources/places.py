"""Places: where a location lands, the published communities, and the hot spots (主动治理)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import marshmallow as ma
from flask import Response, jsonify
from flask.views import MethodView

from api import db
from api.auth import current_caller
from api.blueprint import Blueprint
from workflow.catalog import registry
from workflow.errors import NotFound
from workflow.places import hotspots as hot
from workflow.places import routing

blp = Blueprint(
    "places", __name__, url_prefix="/api/v1", description="Places: communities and hot spots"
)


class LocateArgs(ma.Schema):
    lat = ma.fields.Float(allow_nan=False, validate=ma.validate.Range(-90, 90))
    long = ma.fields.Float(allow_nan=False, validate=ma.validate.Range(-180, 180))
    address = ma.fields.String(validate=ma.validate.Length(min=1, max=routing.MAX_ADDRESS))


class PlacedSchema(ma.Schema):
    workstation = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    street = ma.fields.String(required=True)
    by = ma.fields.String(required=True, metadata={"description": "point or address"})
    version = ma.fields.Integer(required=True, metadata={"description": "of the places"})


class HotspotArgs(ma.Schema):
    from_ = ma.fields.Date(
        data_key="from", required=True, metadata={"description": "first day (district time)"}
    )
    to = ma.fields.Date(required=True, metadata={"description": "last day, included"})
    street = ma.fields.String(
        validate=ma.validate.Length(min=1, max=32),
        metadata={"description": "one street (the district's users); a street sees its own"},
    )


class HotCommunitySchema(ma.Schema):
    workstation = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    street = ma.fields.String(required=True)
    count = ma.fields.Integer(required=True)


class HotItemSchema(ma.Schema):
    item = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    count = ma.fields.Integer(required=True)


class HotCellSchema(ma.Schema):
    workstation = ma.fields.String(required=True)
    item = ma.fields.String(required=True)
    count = ma.fields.Integer(required=True)


class HotspotsSchema(ma.Schema):
    from_ = ma.fields.Date(data_key="from", required=True)
    to = ma.fields.Date(required=True)
    street = ma.fields.String(allow_none=True, required=True)
    total = ma.fields.Integer(required=True)
    communities = ma.fields.List(ma.fields.Nested(HotCommunitySchema), required=True)
    items = ma.fields.List(ma.fields.Nested(HotItemSchema), required=True)
    cells = ma.fields.List(
        ma.fields.Nested(HotCellSchema),
        required=True,
        metadata={"description": "community x item, the largest first"},
    )


class CommunitiesSchema(ma.Schema):
    type = ma.fields.String(required=True, metadata={"example": "FeatureCollection"})
    name = ma.fields.String()
    note = ma.fields.String(metadata={"description": "what the boundaries are (the demo's)"})
    illustrative = ma.fields.Boolean(metadata={"description": "the demo's drawn boundaries"})
    features = ma.fields.List(
        ma.fields.Dict(),
        required=True,
        metadata={"description": "one Feature per workstation: properties.workstation, a Polygon"},
    )
    version = ma.fields.Integer(required=True)


@blp.route("/places/locate")
class Locate(MethodView):
    @blp.arguments(LocateArgs, location="query")
    @blp.response(200, PlacedSchema)
    @blp.alt_response(404, description="The location lies in no community")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The community a point (lat, long) or an address lies in

        A point on an edge two communities share lands at the lower workstation code; a point
        is tried before an address."""
        current_caller()
        s = db.session()
        location = routing.check_location(args.get("lat"), args.get("long"), args.get("address"))
        if location is None:
            raise NotFound("give lat and long, or an address")
        placed, version = routing.locate(s, location)
        if placed is None:
            raise NotFound(routing.CANNOT_PLACE)
        u = registry.units(s).get(placed.workstation)
        return {
            "workstation": u.code,
            "name": u.name_zh,
            "street": u.parent or "",
            "by": placed.by,
            "version": version,
        }


@blp.route("/places/communities")
class Communities(MethodView):
    @blp.response(200, CommunitiesSchema, content_type="application/geo+json")
    @blp.alt_response(404, description="No places were published")
    def get(self) -> Response:
        """The communities' boundaries in force, as GeoJSON (with `version`)"""
        current_caller()
        s = db.session()
        places = routing.current(s)
        if places is None:
            raise NotFound("no places were published (definitions/places/)")
        content = registry.latest_row(s, "places", "places")
        assert content is not None
        resp = jsonify({**content.content["communities"], "version": places.version})
        resp.mimetype = "application/geo+json"
        return resp


@blp.route("/hotspots")
class Hotspots(MethodView):
    @blp.arguments(HotspotArgs, location="query")
    @blp.response(200, HotspotsSchema)
    @blp.alt_response(403, description="Not a street office's or the district's user")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Hot spots (主动治理): the cases opened in a period by community and item

        A street office's staff and administrators see their own street; the district's
        users see every street or the one they name. At most 366 days."""
        actor = current_caller().actor
        s = db.session()
        street = hot.streets_for(s, actor, args.get("street"))
        start, end = hot.days(s, args["from_"], args["to"])
        h = hot.hotspots(s, start=start, end=end, street=street)
        return hotspots_json(s, h, args["from_"], args["to"])


def hotspots_json(s: Any, h: hot.Hotspots, first: dt.date, last: dt.date) -> dict[str, Any]:
    units = registry.units(s).units
    items, _ = registry.items(s)

    def item_name(code: str) -> str:
        it = items.get(code)
        return it.name_zh if it else code

    return {
        "from_": first,
        "to": last,
        "street": h.street,
        "total": h.total,
        "communities": [
            {
                "workstation": ws,
                "name": units[ws].name_zh if ws in units else ws,
                "street": units[ws].parent or "" if ws in units else "",
                "count": n,
            }
            for ws, n in sorted(h.by_community.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "items": [{"item": k, "name": item_name(k), "count": n} for k, n in h.by_item.items()],
        "cells": [{"workstation": w, "item": i, "count": n} for w, i, n in h.top(10_000)],
    }
