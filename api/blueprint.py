"""flask-smorest's Blueprint, with each argument schema built once instead of per request, and
optional headers that a request does not send not run through their schema."""

from __future__ import annotations

from typing import Any

import flask
import flask_smorest
from marshmallow import Schema
from marshmallow.utils import missing as ma_missing
from webargs.flaskparser import FlaskParser

from api import dumping


def _nothing_to_load(schema: Schema, headers: Any) -> bool:
    """Whether SCHEMA, given a request's HEADERS, would load to {} for certain: none of its fields
    is sent, required or has a default, and it has no hooks (pre/post-load, validators)."""
    if any(schema._hooks.values()):  # (a defaultdict: empty lists for hooks looked up)
        return False
    for name, field in schema.load_fields.items():
        if field.required or field.load_default is not ma_missing:
            return False
        if (field.data_key or name) in headers:
            return False
    return True


class Parser(FlaskParser):
    """webargs' Flask parser; a headers schema whose fields the request does not send loads to
    {} without marshmallow (a transition's Idempotency-Key and If-Match, absent from most
    requests: their load was a fiftieth of the request's CPU)."""

    def parse(
        self, argmap: Any, req: Any = None, *, location: str | None = None, **kwargs: Any
    ) -> Any:
        if (
            location == "headers"
            and isinstance(argmap, Schema)
            and kwargs.get("validate") is None
            and _nothing_to_load(argmap, (req or flask.request).headers)
        ):
            return {}
        return super().parse(argmap, req, location=location, **kwargs)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Any:
        # webargs instantiates a schema given as a class on every request (a marshmallow
        # Schema's __init__ is a tenth of a transition's CPU); an instance is reused. The
        # OpenAPI document names an instance's component as it names its class.
        if isinstance(schema, type) and issubclass(schema, Schema):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)

    def response(self, status_code: Any, schema: Any = None, **kwargs: Any) -> Any:
        # The answer is dumped by the schema compiled (api.dumping: the same output); the
        # schema is the one documented.
        if isinstance(schema, type) and issubclass(schema, Schema):
            schema = schema()
        if isinstance(schema, Schema):
            schema = dumping.install(schema)
        return super().response(status_code, schema, **kwargs)
