"""Open311 GeoReport v2 (prefix /open311/v2): the list as services, cases as service requests."""

from __future__ import annotations

from flask import Blueprint, Response, json

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")


def error_response(status: int, description: str, fmt: str = "json") -> Response:
    """Errors as GeoReport v2 says: [{"code", "description"}] (or <errors> in XML)."""
    body = json.dumps([{"code": status, "description": description}])
    return Response(body, status=status, mimetype="application/json")
