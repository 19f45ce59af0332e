"""flask-smorest's Blueprint, with each argument schema built once instead of per request."""

from __future__ import annotations

from typing import Any

import flask_smorest
from marshmallow import Schema


class Blueprint(flask_smorest.Blueprint):
    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Any:
        # webargs instantiates a schema given as a class on every request (a marshmallow
        # Schema's __init__ is a tenth of a transition's CPU); an instance is reused. The
        # OpenAPI document names an instance's component as it names its class.
        if isinstance(schema, type) and issubclass(schema, Schema):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)
