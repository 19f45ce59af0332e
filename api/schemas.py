"""Schemas shared by the blueprints: paging arguments and the page envelope."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app


class PageArgs(ma.Schema):
    """`page` (from 1) and `per_page` (capped at PER_PAGE_MAX, 100 by default)."""

    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=1_000_000))
    per_page = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1))


def page_of(args: dict[str, Any]) -> tuple[int, int]:
    """(offset, limit) of the requested page, per_page capped."""
    per_page = min(int(args.get("per_page", 20)), int(current_app.config["PER_PAGE_MAX"]))
    page = int(args.get("page", 1))
    args["per_page"] = per_page
    return (page - 1) * per_page, per_page


def page_schema(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A page envelope: {"items": [...], "page", "per_page", "total"}."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item), required=True),
            "page": ma.fields.Integer(required=True),
            "per_page": ma.fields.Integer(required=True),
            "total": ma.fields.Integer(required=True),
        },
        name=name,
    )
