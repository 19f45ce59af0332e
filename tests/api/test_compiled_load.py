"""A JSON body's compiled load (api.loading) gives what marshmallow's Schema.load gives, or
nothing: for every body schema of the API, over many bodies (good ones, and ones with wrong
types, lengths, nulls, unknown and missing keys), it never accepts a body marshmallow refuses,
and what it accepts it loads to the same dict, in the same order. And a transition's body, the
API's busiest, is one it is sure of."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from typing import Any

import marshmallow as ma
import pytest
from flask import Flask

from api import loading
from api.resources.cases import TransitionSchema
from tests.api.conftest import Client


def body_schemas(app: Flask) -> list[ma.Schema]:
    """The schema instance of every JSON body the app's views load (flask-smorest's doc)."""
    found: dict[int, ma.Schema] = {}
    for view in app.view_functions.values():
        cls = getattr(view, "view_class", None)
        funcs = [getattr(cls, m.lower()) for m in cls.methods or ()] if cls else [view]
        for func in funcs:
            for param in getattr(func, "_apidoc", {}).get("arguments", {}).get("parameters", []):
                schema = param["schema"]
                if param["in"] == "json" and isinstance(schema, ma.Schema):
                    found[id(schema)] = schema
    return list(found.values())


_STRINGS = ["", "a", "accept", "x" * 32, "x" * 33, "x" * 64, "x" * 65, "x" * 2001, "王芳", " "]
_OTHERS: list[Any] = [None, 0, 7, -1, 1.5, True, False, [], ["a"], ["a", ""], ["x" * 33]]
_OTHERS += [["a"] * 21, [1], [None], {}, {"k": "v"}, {"k": [1, {"n": None}]}, "2026-11-30"]


def values_for(field: ma.fields.Field, rng: random.Random) -> Any:
    pool = _STRINGS + _OTHERS
    if isinstance(field, ma.fields.List):
        pool = [*pool, [rng.choice(_STRINGS) for _ in range(rng.randint(0, 3))]]
    return rng.choice(pool)


def bodies(schema: ma.Schema, rng: random.Random, n: int) -> list[Any]:
    names = [f.data_key or name for name, f in schema.load_fields.items()]
    out: list[Any] = [None, [], "text", 3, {}, {"unknown": "x"}]
    for _ in range(n):
        keys = rng.sample(names, rng.randint(0, len(names)))
        body = {k: values_for(schema.load_fields.get(k) or ma.fields.Raw(), rng) for k in keys}
        if rng.random() < 0.1:
            body["not_a_field"] = "x"
        out.append(body)
    return out


def check(schema: ma.Schema, body: Any) -> bool:
    """Whether the compiled load answered BODY (else it left it to marshmallow)."""
    load = loading.compile_load(schema)
    got = load(body) if load is not None else None
    try:
        want = schema.load(body)
    except ma.ValidationError:
        assert got is None, (type(schema).__name__, body)
        return False
    if got is None:
        return False
    assert got == want, (type(schema).__name__, body)
    assert list(got) == list(want), (type(schema).__name__, body)
    assert type(got) is type(want)
    return True


def test_compiled_loads_agree_with_marshmallow(app: Flask) -> None:
    rng = random.Random(22)
    schemas = body_schemas(app)
    assert len(schemas) > 20
    compiled = [s for s in schemas if loading.compile_load(s) is not None]
    assert any(isinstance(s, TransitionSchema) for s in compiled)
    answered = 0
    for schema in schemas:
        for body in bodies(schema, rng, 400):
            answered += check(schema, body)
    assert answered > 500  # the good bodies were answered, not all left to marshmallow


def test_a_transitions_body_is_loaded_by_the_compiled_load() -> None:
    schema = TransitionSchema()
    load = loading.compile_load(schema)
    assert load is not None
    for body in (
        {"trigger": "accept"},
        {"trigger": "forward", "reason": "not ours", "target": None},
        {"trigger": "whistle", "targets": ["D-A", "D-B"], "lead": "D-B", "data": {"n": [1]}},
    ):
        assert load(body) == schema.load(body)
    for body in (
        {"trigger": ""},
        {"trigger": None},
        {"reason": "no trigger"},
        {"trigger": "accept", "targets": [""]},
        {"trigger": "accept", "targets": "D-A"},
        {"trigger": "accept", "data": ["a"]},
        {"trigger": "accept", "extra": 1},
        {"trigger": 5},
    ):
        assert load(body) is None
        with pytest.raises(ma.ValidationError):
            schema.load(body)


@pytest.mark.parametrize(
    "field",
    [
        ma.fields.String(load_default="x"),
        ma.fields.String(data_key="Other"),
        ma.fields.Integer(),
        ma.fields.Email(),
        ma.fields.List(ma.fields.Integer()),
        ma.fields.Dict(values=ma.fields.String()),
        ma.fields.Nested(TransitionSchema),
    ],
)
def test_what_is_not_compiled(field: ma.fields.Field) -> None:
    schema = ma.Schema.from_dict({"f": field, "trigger": ma.fields.String()})()
    assert loading.compile_load(schema) is None


def test_a_schema_with_hooks_is_not_compiled() -> None:
    class Hooked(ma.Schema):
        name = ma.fields.String()

        @ma.post_load
        def upper(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
            return {k: v.upper() for k, v in data.items()}

    assert loading.compile_load(Hooked()) is None


def test_over_the_api_the_answers_to_bad_bodies_are_marshmallows(app: Flask) -> None:
    """A body the compiled load is unsure of gets webargs' and marshmallow's answer, as before:
    422 with the field's message, for each kind of refusal."""
    client = app.test_client()
    for body, field in itertools.chain(
        [({"trigger": ""}, "trigger"), ({"trigger": 5}, "trigger"), ({}, "trigger")],
        [
            ({"trigger": "accept", "extra": 1}, "extra"),
            ({"trigger": "a", "targets": "x"}, "targets"),
        ],
    ):
        r = client.post("/api/v1/cases/1/transitions", json=body, headers={"Authorization": "x"})
        # Arguments are loaded before the view asks for the token: a 422 names the field.
        assert r.status_code == 422, (body, r.status_code)
        assert r.mimetype == "application/problem+json"
        assert field in r.get_data(as_text=True)


def test_a_body_in_raw_utf8_and_one_in_ascii_escapes_fire_alike(
    login: Callable[..., Client],
) -> None:
    """The body check hands its parsed document on to the arguments only for an ASCII body
    (api.blueprint.CHECKED_JSON); a raw UTF-8 one is parsed again by webargs: both fire, with the
    same reason kept, and a UTF-8 body starting with a byte order mark is refused as before."""
    clerk = login("W-ZHL-01", "clerk")
    new = {"item": "UD-01", "workstation": "W-ZHL-01", "description": "井盖缺失"}
    new["applicant"] = {"name": "李雷", "phone": "13912345678"}
    reason = "不属本站: 转街道"
    kinds = {
        "ascii": json.dumps({"trigger": "forward", "reason": reason}).encode(),
        "utf-8": json.dumps({"trigger": "forward", "reason": reason}, ensure_ascii=False).encode(),
    }
    for kind, body in kinds.items():
        case_id = clerk.post("/cases", json=new).json()["id"]
        assert clerk.post(f"/cases/{case_id}/transitions", json={"trigger": "accept"}).ok
        r = clerk.post(
            f"/cases/{case_id}/transitions",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 200, (kind, r.text)
        trail = clerk.get(f"/cases/{case_id}/trail").json()
        events = trail["items"] if isinstance(trail, dict) else trail
        assert events[-1]["reason"] == reason, kind
    case_id = clerk.post("/cases", json=new).json()["id"]
    r = clerk.post(
        f"/cases/{case_id}/transitions",
        data=b"\xef\xbb\xbf" + kinds["ascii"],
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text
