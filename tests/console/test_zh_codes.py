"""Every refusal the engine raises has a code the console says in Chinese, and a definition
file's own check sentences are said in Chinese on the upload page."""

from __future__ import annotations

import ast

import pytest
from flask import Flask

from tests.console.conftest import ROOT
from workflow import users
from workflow.errors import InvalidInput

REFUSALS = {"InvalidInput", "NotFound", "NotAllowed", "NotHolder", "Conflict", "NotPermitted"}


def test_every_refusal_of_the_engine_has_a_code() -> None:
    uncoded = []
    for path in sorted((ROOT / "workflow").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            func = node.exc.func
            name = getattr(func, "id", None) or getattr(func, "attr", None)
            if name in REFUSALS and not any(k.arg == "code" for k in node.exc.keywords):
                uncoded.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not uncoded


def test_a_weak_password_is_refused_in_chinese(app: Flask) -> None:
    from api.console.messages import say

    with pytest.raises(InvalidInput) as caught:
        users._check_password_strength("password", "zhao")
    # The CLI and the API keep the English.
    assert caught.value.detail == (
        "this password is one of the most common ones; guessers try it first"
    )
    with app.test_request_context("/console/"):
        assert say(caught.value) == "这是最常见的密码之一，猜密码的人最先试它"


def test_a_definition_check_is_said_in_chinese(app: Flask) -> None:
    from api.console.messages import problem_text

    with app.test_request_context("/console/"):
        assert problem_text("unknown route 'GA-9'") == "未知流程“GA-9”"
        assert problem_text("a working state with no way out") == "办理状态没有出口"
        # Marshmallow's own sentences still are.
        assert problem_text("Not a valid integer.") != "Not a valid integer."
        # A sentence nobody listed is shown as it came.
        assert problem_text("something else entirely") == "something else entirely"
