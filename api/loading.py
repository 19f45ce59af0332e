"""A request body's load, compiled once for a simple schema: what marshmallow's Schema.load
returns for a body it accepts, without its per-field layers (the error store, each field's
deserialize and its validators' And). A transition's body (`{"trigger": "accept"}`) went
through some sixty Python calls in marshmallow alone: a fortieth of the request's CPU.

Only bodies the compiled load is sure of are answered by it: a JSON object whose keys are all
fields of the schema, each value of its field's type and passing its validators, every required
field present. Anything else (an unknown key, a wrong type, a value a validator refuses, a
missing field) returns None, and the caller loads the body with marshmallow as before: every
error, its message and its status come from marshmallow itself. A schema with hooks (pre/post
load, validates), a field with pre/post load functions, a default, a `data_key` or an attribute
path, or a field type other than a plain String, a List of plain Strings or a Dict of any
values under plain String keys, is not compiled at all (None for every body)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow import fields
from marshmallow.utils import missing as MISSING

Load = Callable[[Any], Any]  # the body -> the value loaded, or _NO when unsure
_NO = object()


def _checked(field: fields.Field, convert: Load) -> Load:
    """CONVERT's value, then FIELD's validators (a refusal or a False: _NO)."""
    validators = list(field.validators)
    if not validators:
        return convert

    def load(value: Any) -> Any:
        out = convert(value)
        if out is _NO:
            return _NO
        for validator in validators:
            try:
                if validator(out) is False:
                    return _NO
            except ma.ValidationError:
                return _NO
        return out

    return load


def _string(value: Any) -> Any:
    # String._deserialize takes bytes too; a JSON body has none.
    return value if type(value) is str else _NO


def _plain(field: fields.Field) -> bool:
    """FIELD has nothing that would make its load differ from its type's own."""
    return (
        not field.pre_load
        and not field.post_load
        and field.load_default is MISSING
        and field.data_key is None
        and field.attribute is None
    )


def _field_loader(field: fields.Field) -> Load | None:
    """FIELD's value loaded as Field.deserialize loads a value that is present, or None when
    the field is not compiled."""
    if not _plain(field):
        return None
    kind = type(field)
    if kind is fields.String:
        convert: Load = _string
    elif kind is fields.List:
        inner = field.inner  # type: ignore[attr-defined]
        if type(inner) is not fields.String or not _plain(inner) or inner.allow_none:
            return None
        each = _checked(inner, _string)

        def convert(value: Any) -> Any:
            if type(value) is not list:
                return _NO
            out = [each(v) for v in value]
            return _NO if any(v is _NO for v in out) else out

    elif kind is fields.Dict:
        keys, values = field.key_field, field.value_field  # type: ignore[attr-defined]
        if values is not None:
            return None
        if keys is not None and (type(keys) is not fields.String or not _plain(keys)):
            return None
        if keys is not None and keys.validators:
            return None

        def convert(value: Any) -> Any:
            if type(value) is not dict or not all(type(k) is str for k in value):
                return _NO
            return dict(value)

    else:
        return None
    load = _checked(field, convert)
    allow_none = field.allow_none

    def present(value: Any) -> Any:
        if value is None:
            return None if allow_none else _NO
        return load(value)

    return present


def compile_load(schema: ma.Schema) -> Callable[[Any], dict[str, Any] | None] | None:
    """SCHEMA's load of a body it accepts (None for any other body), or None when SCHEMA is
    not compiled."""
    if any(schema._hooks.values()) or schema.many or schema.partial:
        return None
    if schema.unknown not in (ma.RAISE, ma.EXCLUDE):
        return None
    loaders: list[tuple[str, Load]] = []
    required: set[str] = set()
    for name, field in schema.load_fields.items():
        loader = _field_loader(field)
        if loader is None or "." in name:
            return None
        loaders.append((name, loader))
        if field.required:
            required.add(name)
    known = frozenset(name for name, _ in loaders)
    dict_class = schema.dict_class

    def load(body: Any) -> dict[str, Any] | None:
        if type(body) is not dict:
            return None
        if not known.issuperset(body) or not required.issubset(body):
            return None  # an unknown key (an error or, with EXCLUDE, left to it), one missing
        out = dict_class()
        for name, loader in loaders:
            if name in body:
                value = loader(body[name])
                if value is _NO:
                    return None
                out[name] = value
        return out

    return load
