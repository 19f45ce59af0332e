"""Schemas shared by the blueprints: bounded numbers, instants and periods, paging arguments and
the page envelope."""

from __future__ import annotations

import datetime as dt
from typing import Any

import marshmallow as ma
from flask import current_app

from workflow.inputs import FIRST_PERIOD_YEAR, INT32, LAST_YEAR, date_range_text, in_range


class Int(ma.fields.Integer):
    """An integer input within [min, max] (by default 1 to the largest INTEGER column value):
    a 422 beyond, never an overflow in the database."""

    def __init__(self, *, min: int = 1, max: int = INT32, **kwargs: Any) -> None:
        extra = kwargs.pop("validate", None)
        validators: list[Any] = [ma.validate.Range(min=min, max=max)]
        if extra is not None:
            validators += extra if isinstance(extra, list) else [extra]
        super().__init__(validate=validators, **kwargs)


class Instant(ma.fields.AwareDateTime):
    """An ISO-8601 instant with its UTC offset, within the years the service accepts."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dt.datetime:
        at: dt.datetime = super()._deserialize(value, attr, data, **kwargs)
        if not in_range(at):
            raise ma.ValidationError(f"an instant {date_range_text()}")
        return at


class Period(ma.fields.String):
    """A month, YYYY-MM, of the years FIRST_PERIOD_YEAR to LAST_YEAR."""

    def __init__(self, **kwargs: Any) -> None:
        pattern = r"^\d{4}-(0[1-9]|1[0-2])$"
        super().__init__(
            validate=[ma.validate.Regexp(pattern, error="a month like 2026-11"), _period_years],
            metadata={"pattern": pattern, "example": "2026-11"},
            **kwargs,
        )


def _period_years(value: str) -> None:
    if value[:4].isdigit() and not FIRST_PERIOD_YEAR <= int(value[:4]) <= LAST_YEAR:
        raise ma.ValidationError(f"a month of {FIRST_PERIOD_YEAR}-01 to {LAST_YEAR}-12")


class PageArgs(ma.Schema):
    """`page` (from 1) and `per_page` (capped at PER_PAGE_MAX, 100 by default)."""

    page = Int(load_default=1, max=1_000_000)
    per_page = Int(load_default=20)


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
