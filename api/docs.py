"""The interactive API page's assets, served from the installed swagger-ui-bundle package."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint("docs_assets", __name__)


@bp.get("/api/v1/docs/assets/<path:filename>")
def asset(filename: str) -> Response:
    resp = send_from_directory(swagger_ui_path, filename, max_age=3600)
    return resp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
