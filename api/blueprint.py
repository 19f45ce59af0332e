"""flask-smorest's Blueprint, with each argument schema built once instead of per request,
optional headers that a request does not send not run through their schema, and a JSON body
that a simple schema surely accepts loaded by its compiled load (api.loading)."""

from __future__ import annotations

from typing import Any

import flask
import flask_smorest
from marshmallow import Schema
from marshmallow.utils import missing as ma_missing
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, is_json_request

from api import dumping, loading

# The request's JSON body as the app's body check parsed it (api/__init__.py), where webargs
# would parse it the same: an attribute of the request.
CHECKED_JSON = "streetflow_checked_json"


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
    requests: their load was a fiftieth of the request's CPU). A JSON body is loaded by its
    schema's compiled load (api.loading) when that is sure of it; any other body, and every
    error, by webargs and marshmallow as before."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Each schema instance's compiled load (None: not compiled), by the instance's id;
        # the schemas are the blueprints' own, built once (Blueprint.arguments).
        self._loads: dict[int, tuple[Schema, Any]] = {}

    def parse(
        self, argmap: Any, req: Any = None, *, location: str | None = None, **kwargs: Any
    ) -> Any:
        if isinstance(argmap, Schema) and kwargs.get("validate") is None:
            if location == "headers" and _nothing_to_load(argmap, (req or flask.request).headers):
                return {}
            # (An `unknown` given to the parser or the call: webargs' own load.)
            default = webargs_core._UNKNOWN_DEFAULT_PARAM
            if location == "json" and self.unknown == kwargs.get("unknown", default) == default:
                loaded = self._compiled_json(argmap, req or flask.request)
                if loaded is not None:
                    return loaded
        return super().parse(argmap, req, location=location, **kwargs)

    def _compiled_json(self, schema: Schema, req: Any) -> dict[str, Any] | None:
        """The body as SCHEMA's compiled load gives it, or None (not compiled, not sure of
        it, not JSON, not parsed as webargs parses it): then webargs does it all."""
        held = self._loads.get(id(schema))
        if held is None or held[0] is not schema:
            held = self._loads[id(schema)] = (schema, loading.compile_load(schema))
        load = held[1]
        if load is None or not is_json_request(req):
            return None
        # The body as the app's body check parsed it (the same document), else parsed here.
        body = getattr(req, CHECKED_JSON, ma_missing)
        if body is ma_missing:
            try:
                body = self._raw_load_json(req)
            except (ValueError, UnicodeDecodeError):  # json.JSONDecodeError is a ValueError
                return None
        if body is ma_missing:
            return None
        out: dict[str, Any] | None = load(body)
        return out


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
