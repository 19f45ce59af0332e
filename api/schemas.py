"""Schemas shared by the blueprints: bounded numbers, instants and periods, paging arguments and
the page envelope."""

from __future__ import annotations

import datetime as dt
from typing import Any

import marshmallow as ma
from flask import current_app

from workflow.audit.chain import format_at
from workflow.inputs import FIRST_PERIOD_YEAR, INT32, LAST_YEAR, date_range_text, in_range
from workflow.queries.paging import Page


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


def iso(at: dt.datetime | None) -> str | None:
    """An instant as every response writes it (the trail's own format, UTC, microseconds)."""
    return format_at(at) if at is not None else None


class At(ma.fields.String):
    """An instant in a response, written by `iso` (documented as a string)."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if value is None or isinstance(value, str):
            return value
        return iso(value)


class PageArgs(ma.Schema):
    """`page` (from 1) and `per_page` (capped at PER_PAGE_MAX, 100 by default)."""

    page = Int(load_default=1, max=1_000_000)
    per_page = Int(load_default=20)


class KeysetPageArgs(PageArgs):
    """Paging on by cursor: `after` is the `next` of the page read before (then `page` is not
    needed); rows added meanwhile never make a reader miss a row or read one twice."""

    after = Int(metadata={"description": "the `next` of the previous page"})


def page_of(args: dict[str, Any]) -> tuple[int, int]:
    """(offset, limit) of the requested page, per_page capped."""
    per_page = min(int(args.get("per_page", 20)), int(current_app.config["PER_PAGE_MAX"]))
    page = int(args.get("page", 1))
    args["per_page"] = per_page
    if args.get("after") is not None:
        return 0, per_page  # the cursor says where the page begins
    return (page - 1) * per_page, per_page


def page_schema(item: type[ma.Schema], name: str, *, keyset: bool = False) -> type[ma.Schema]:
    """A page envelope: {"items": [...], "page", "per_page", "total"}, and "next" (the cursor
    to pass as `after`; null: the last page) for a list paged by cursor."""
    fields: dict[str, ma.fields.Field] = {
        "items": ma.fields.List(ma.fields.Nested(item), required=True),
        "page": ma.fields.Integer(required=True),
        "per_page": ma.fields.Integer(required=True),
        "total": ma.fields.Integer(
            required=True,
            allow_none=True,
            metadata={
                "description": "how many match, all pages: exact when `total_exact`, else an "
                "estimate (more than 1,000 match: counting them all would cost more than the "
                "page; show it as about that many)"
            },
        ),
        "total_exact": ma.fields.Boolean(
            required=True,
            metadata={"description": "false: `total` is an estimate (约), not a count"},
        ),
    }
    if keyset:
        fields["next"] = ma.fields.Integer(
            required=True,
            allow_none=True,
            metadata={"description": "pass as `after` for the next page; null: the last page"},
        )
    return ma.Schema.from_dict(fields, name=name)


def page_body(
    args: dict[str, Any], page: Page[Any], items: list[Any] | None = None
) -> dict[str, Any]:
    """The envelope of PAGE for a page requested with ARGS (after `page_of`); ITEMS: the rows as
    the item schema reads them, when not the page's own objects."""
    return {
        "items": page.items if items is None else items,
        "page": args.get("page", 1),
        "per_page": args["per_page"],
        "total": page.total,
        "total_exact": page.exact,
        "next": page.next,
    }
