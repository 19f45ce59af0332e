"""A response schema's dump, compiled once: the same output as marshmallow's Schema.dump,
without its per-value layers (Field.serialize, get_value, the accessor, the field's own
_serialize): a page of 25 cases is some 700 values, and dumping them cost a tenth of the
list's request. The schema itself is unchanged, and so is the OpenAPI document built from it.

Only what is known to dump the same way is compiled (the plain String, Integer, Float,
Boolean, Raw, Dict, List and Nested fields, read by attribute name or dict key); any other
field is dumped by its own `_serialize` after the same look-up, and a schema with hooks or
its own get_attribute is not compiled at all (its dump stays marshmallow's)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow import fields
from marshmallow.decorators import POST_DUMP, PRE_DUMP
from marshmallow.utils import ensure_text_type
from marshmallow.utils import missing as MISSING

Convert = Callable[[Any, str, Any], Any]  # (value, attr, obj) -> the value dumped
Dump = Callable[[Any], Any]


def _get(obj: Any, key: str) -> Any:
    """marshmallow.utils._get_value_for_key with no default: a key of a mapping, else the
    attribute (a dict without KEY: the dict's attribute of that name, as marshmallow does)."""
    if not hasattr(obj, "__getitem__"):
        return getattr(obj, key, MISSING)
    try:
        return obj[key]
    except (KeyError, IndexError, TypeError, AttributeError):
        return getattr(obj, key, MISSING)


def _string(value: Any, attr: str, obj: Any) -> Any:
    if value is None or type(value) is str:
        return value
    return ensure_text_type(value)


def _integer(value: Any, attr: str, obj: Any) -> Any:
    if value is None or type(value) is int:
        return value
    return int(value)


def _float(value: Any, attr: str, obj: Any) -> Any:
    if value is None or type(value) is float:
        return value
    return float(value)


def _as_is(value: Any, attr: str, obj: Any) -> Any:
    return value


def _dict(value: Any, attr: str, obj: Any) -> Any:
    return None if value is None else dict(value)


def _converter(field: fields.Field) -> Convert:
    """The field's _serialize(value, attr, obj), or a plain function doing the same."""
    kind = type(field)
    if kind is fields.String:
        return _string
    if kind is fields.Integer and not field.as_string:  # type: ignore[attr-defined]
        return _integer
    if kind is fields.Float and not field.as_string:  # type: ignore[attr-defined]
        return _float
    if kind in (fields.Boolean, fields.Raw, fields.Field):
        return _as_is
    if kind is fields.Dict and not field.key_field and not field.value_field:  # type: ignore[attr-defined]
        return _dict
    if kind is fields.List:
        inner = _converter(field.inner)  # type: ignore[attr-defined]

        def each(value: Any, attr: str, obj: Any) -> Any:
            if value is None:
                return None
            return [inner(v, attr, obj) for v in value]

        return each
    if kind is fields.Nested:
        nested = field.schema  # type: ignore[attr-defined]
        dump_nested = compiled(nested)
        if dump_nested is not None:
            many = bool(nested.many or field.many)  # type: ignore[attr-defined]

            def one(value: Any, attr: str, obj: Any) -> Any:
                if value is None:
                    return None
                return dump_nested(value, many=many)

            return one
    return field._serialize


def _plain(field: fields.Field) -> bool:
    """Whether the field reads its value as Field.serialize does by default (a look-up by its
    attribute name, no dump_default)."""
    return (
        field._CHECK_ATTRIBUTE
        and type(field).serialize is fields.Field.serialize
        and type(field).get_value is fields.Field.get_value
        and field.dump_default is MISSING
        and "." not in (field.attribute or "")
    )


_compiled: dict[int, tuple[ma.Schema, Callable[..., Any] | None]] = {}


def compiled(schema: ma.Schema) -> Callable[..., Any] | None:
    """SCHEMA's dump(obj, many=None) compiled, or None where it is not (hooks, its own
    get_attribute or dict_class)."""
    hit = _compiled.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    out = _compile(schema)
    _compiled[id(schema)] = (schema, out)
    return out


def _compile(schema: ma.Schema) -> Callable[..., Any] | None:
    if (
        schema._hooks[PRE_DUMP]
        or schema._hooks[POST_DUMP]
        or type(schema).get_attribute is not ma.Schema.get_attribute
        or type(schema)._serialize is not ma.Schema._serialize
        or schema.dict_class is not dict
    ):
        return None
    # (the key written, the field's name, the key or attribute read, the conversion: None for
    # a field dumped by its own serialize)
    plan: list[tuple[str, str, str, Convert | None, fields.Field]] = []
    for name, field in schema.dump_fields.items():
        key = field.data_key if field.data_key is not None else name
        convert = _converter(field) if _plain(field) else None
        plan.append((key, name, field.attribute or name, convert, field))
    get_attribute = schema.get_attribute

    def single(obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, name, read, convert, field in plan:
            if convert is None:
                value = field.serialize(name, obj, accessor=get_attribute)
            else:
                value = _get(obj, read)
                if value is not MISSING:
                    value = convert(value, name, obj)
            if value is not MISSING:
                out[key] = value
        return out

    default_many = bool(schema.many)

    def dump(obj: Any, *, many: bool | None = None) -> Any:
        if (default_many if many is None else many) and obj is not None:
            return [single(d) for d in obj]
        return single(obj)

    return dump


def install(schema: ma.Schema) -> ma.Schema:
    """SCHEMA with its dump replaced by the compiled one (where it compiles): what a response
    decorator dumps with."""
    fast = compiled(schema)
    if fast is not None:
        schema.dump = fast  # type: ignore[method-assign]
    return schema
