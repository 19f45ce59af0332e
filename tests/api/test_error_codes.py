"""The error codes: each with its English wording and the console's Chinese, listed in the API's
documentation; a refusal over HTTP carries its code and params beside its English detail."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from babel.messages.pofile import read_po

from tests.console.conftest import ROOT
from workflow import messages
from workflow.errors import InvalidInput


def test_every_code_is_documented_and_translated() -> None:
    page = (ROOT / "docs" / "api" / "errors.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", page, re.M))
    assert documented == set(messages.MESSAGES)
    po = ROOT / "api" / "console" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        catalogue = read_po(f)
    for code, wording in messages.MESSAGES.items():
        said = catalogue.get(wording)
        assert said is not None and said.string and not said.fuzzy, code
        # The Chinese names the same params as the English.
        assert set(re.findall(r"%\(\w+\)s", said.string)) == set(
            re.findall(r"%\(\w+\)s", wording)
        ), code


def test_the_english_detail_is_the_code_s_wording() -> None:
    exc = InvalidInput(code="needs_reason", params={"trigger": "whistle"})
    assert exc.detail == "'whistle' needs a reason"
    assert (exc.code, exc.params) == ("needs_reason", {"trigger": "whistle"})
    listed = InvalidInput(
        code="not_allowed_in_state", params={"trigger": "a", "state": "s", "allowed": []}
    )
    assert listed.detail == "'a' is not allowed in state 's' (allowed: none)"


def test_a_refusal_over_http_carries_its_code(
    login: Callable[..., Any], make_case: Callable[..., int]
) -> None:
    case_id = make_case("GA-03")
    clerk = login("W-ZHL-01", "clerk")
    r = clerk.post(f"/cases/{case_id}/transitions", json={"trigger": "refuse"})
    assert r.status_code == 422
    body = r.json()
    assert body["detail"] == "'refuse' needs a reason"
    assert body["code"] == "needs_reason" and body["params"] == {"trigger": "refuse"}
    r = clerk.post(f"/cases/{case_id}/transitions", json={"trigger": "complete"})
    body = r.json()
    assert r.status_code == 409 and body["code"] == "not_allowed_in_state"
    assert body["params"]["state"] == "submitted" and "accept" in body["params"]["allowed"]
    # An error that is not a refusal of the engine has no code.
    r = clerk.get("/no-such-thing")
    assert r.status_code == 404 and "code" not in r.json()
