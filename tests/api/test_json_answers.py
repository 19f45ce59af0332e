"""The app's JSON answers (api.JSONProvider: the encoder built once) are the bytes Flask's own
provider makes, for every kind of value Flask knows how to spell, and it follows a change of
the provider's settings as Flask's does."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import uuid

import pytest
from flask import Flask
from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup

from api import JSONProvider


@dataclasses.dataclass
class Point:
    x: int
    name: str


VALUES = [
    {"id": 1, "name": "香港花园社区工作站", "nested": {"b": [1, 2.5, None, True]}, "a": "x"},
    [dt.datetime(2026, 11, 30, 9, 30, tzinfo=dt.UTC), dt.date(2026, 1, 2)],
    {"d": decimal.Decimal("1.10"), "u": uuid.UUID(int=7), "p": Point(1, "p"), "m": Markup("<b>")},
    "a string with \u2028 and \x00 and emoji \U0001f600",
    None,
    [],
]


def both(app: Flask) -> tuple[JSONProvider, DefaultJSONProvider]:
    ours = app.json
    assert isinstance(ours, JSONProvider)
    theirs = DefaultJSONProvider(app)
    theirs.sort_keys = ours.sort_keys
    return ours, theirs


@pytest.mark.parametrize("value", VALUES)
def test_the_same_bytes_as_flasks(app: Flask, value: object) -> None:
    ours, theirs = both(app)
    with app.app_context():
        assert ours.response(value).get_data() == theirs.response(value).get_data()
        assert ours.response(value).mimetype == "application/json"


def test_settings_changed_are_followed(app: Flask) -> None:
    ours, theirs = both(app)
    value = {"b": "王", "a": 1}
    with app.app_context():
        first = ours.response(value).get_data()
        assert first == b'{"b":"\\u738b","a":1}\n'
        for attr, setting in (("sort_keys", True), ("ensure_ascii", False)):
            setattr(ours, attr, setting)
            setattr(theirs, attr, setting)
            assert ours.response(value).get_data() == theirs.response(value).get_data()
        ours.compact = theirs.compact = False  # indented, as in debug mode
        assert ours.response(value).get_data() == theirs.response(value).get_data()
        assert b"\n  " in ours.response(value).get_data()


def test_an_unknown_type_is_refused_as_flask_refuses_it(app: Flask) -> None:
    ours, _ = both(app)
    with app.app_context(), pytest.raises(TypeError, match="not JSON serializable"):
        ours.response({"x": object()})
