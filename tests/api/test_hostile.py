"""Hostile input: each request below gets a problem+json answer with the stated status, and
nothing in the database changes (no case, no trail event, no token, no key)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import requests
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import PASSWORD, Client
from workflow.store.models import ApiToken, Case, IdempotencyKey, TrailHead

ANSWER = {"level": 5, "resolved": True, "channel": "phone"}
JSON = {"Content-Type": "application/json"}
GOOD = {
    "item": "UD-01",
    "workstation": "W-ZHL-01",
    "applicant": {"name": "王芳", "phone": "13912345678"},
}
DEEP = "[" * 100_000 + "]" * 100_000

# (name, method, path, requests kwargs, expected status). {case} is an existing case's id.
HOSTILE: list[tuple[str, str, str, dict[str, Any], int]] = [
    ("broken JSON", "POST", "/cases", {"data": '{"item": ', "headers": JSON}, 400),
    (
        "JSON with a trailing comma",
        "POST",
        "/cases",
        {"data": '{"item": "UD-01",}', "headers": JSON},
        400,
    ),
    ("bad UTF-8", "POST", "/cases", {"data": b'{"item": "\xc3\x28"}', "headers": JSON}, 400),
    ("NaN", "POST", "/cases", {"data": '{"item": NaN}', "headers": JSON}, 400),
    (
        "number out of range",
        "POST",
        "/cases/{case}/feedback",
        {"data": '{"level": 1e999}', "headers": JSON},
        400,
    ),
    ("nesting to exhaust the stack", "POST", "/cases", {"data": DEEP, "headers": JSON}, 400),
    ("NUL in text", "POST", "/cases", {"json": {**GOOD, "description": "a\u0000b"}}, 422),
    ("NUL in a query", "GET", "/cases?state=%00", {}, 422),
    ("a list, not an object", "POST", "/cases", {"json": [GOOD]}, 422),
    ("item of the wrong type", "POST", "/cases", {"json": {**GOOD, "item": 5}}, 422),
    ("applicant a string", "POST", "/cases", {"json": {**GOOD, "applicant": "王芳"}}, 422),
    ("form a list", "POST", "/cases", {"json": {**GOOD, "form": [1, 2]}}, 422),
    ("unknown field", "POST", "/cases", {"json": {**GOOD, "admin": True}}, 422),
    ("huge description", "POST", "/cases", {"json": {**GOOD, "description": "x" * 100_000}}, 422),
    ("huge name", "POST", "/cases", {"json": {**GOOD, "applicant": {"name": "名" * 5000}}}, 422),
    ("oversized body", "POST", "/cases", {"data": "x" * (2 * 1024 * 1024), "headers": JSON}, 413),
    (
        "text/plain body",
        "POST",
        "/cases",
        {"data": "item=UD-01", "headers": {"Content-Type": "text/plain"}},
        415,
    ),
    ("form-encoded body", "POST", "/cases", {"data": {"item": "UD-01"}}, 415),
    (
        "no content type",
        "POST",
        "/cases/{case}/transitions",
        {"data": b'{"trigger": "accept"}', "headers": {"Content-Type": ""}},
        415,
    ),
    ("trigger null", "POST", "/cases/{case}/transitions", {"json": {"trigger": None}}, 422),
    ("trigger a number", "POST", "/cases/{case}/transitions", {"json": {"trigger": 1}}, 422),
    (
        "SQL as a trigger",
        "POST",
        "/cases/{case}/transitions",
        {"json": {"trigger": "accept'; DROP TABLE cases; --"}},
        422,
    ),
    (
        "data a string",
        "POST",
        "/cases/{case}/transitions",
        {"json": {"trigger": "accept", "data": "x"}},
        422,
    ),
    (
        "garbage If-Match",
        "POST",
        "/cases/{case}/transitions",
        {"json": {"trigger": "accept"}, "headers": {"If-Match": "'; DROP"}},
        412,
    ),
    (
        "huge Idempotency-Key",
        "POST",
        "/cases/{case}/transitions",
        {"json": {"trigger": "accept"}, "headers": {"Idempotency-Key": "k" * 500}},
        422,
    ),
    ("level a string", "POST", "/cases/{case}/feedback", {"json": {**ANSWER, "level": "5"}}, 422),
    ("level huge", "POST", "/cases/{case}/feedback", {"json": {**ANSWER, "level": 10**30}}, 422),
    ("level a bool", "POST", "/cases/{case}/feedback", {"json": {**ANSWER, "level": True}}, 422),
    ("SQL-looking id", "GET", "/cases/1;DROP TABLE cases", {}, 404),
    ("SQL-looking id, encoded", "GET", "/cases/1%20OR%201%3D1", {}, 404),
    ("negative id", "GET", "/cases/-1", {}, 404),
    ("id beyond any integer column", "GET", "/cases/99999999999999999999", {}, 404),
    (
        "id beyond, on transitions",
        "POST",
        "/cases/99999999999999999999/transitions",
        {"json": {"trigger": "accept"}},
        404,
    ),
    ("SQL-looking item code", "GET", "/items/' OR '1'='1", {}, 404),
    ("path traversal", "GET", "/routes/..%2F..%2Fetc%2Fpasswd", {}, 404),
    ("page not a number", "GET", "/cases?page=abc", {}, 422),
    ("page zero", "GET", "/cases?page=0", {}, 422),
    ("per_page negative", "GET", "/cases?per_page=-5", {}, 422),
    ("light unknown", "GET", "/cases?light=%27%20OR%201%3D1", {}, 422),
    ("version huge", "GET", "/routes/incident/versions/99999999999999999999", {}, 404),
    ("wrong method", "PUT", "/cases/{case}", {"json": {}}, 405),
    ("route not an object", "POST", "/routes/validate", {"json": "states"}, 422),
]


def snapshot(sessions: sessionmaker[Session]) -> tuple[Any, ...]:
    with sessions() as s:
        return (
            s.execute(select(func.count()).select_from(Case)).scalar_one(),
            s.execute(select(func.sum(Case.version))).scalar_one(),
            s.execute(select(TrailHead.seq, TrailHead.hash)).one(),
            s.execute(select(func.count()).select_from(ApiToken)).scalar_one(),
            s.execute(select(func.count()).select_from(IdempotencyKey)).scalar_one(),
        )


def assert_problem(r: requests.Response, status: int, what: str) -> None:
    assert r.status_code == status, f"{what}: {r.status_code} {r.text[:300]}"
    assert r.headers["Content-Type"].startswith("application/problem+json"), what
    body = r.json()
    assert body["status"] == status and body["title"] and isinstance(body["detail"], str), what
    assert "<html" not in r.text.lower() and "Traceback" not in r.text, what


@pytest.fixture
def admin(login: Callable[..., Client]) -> Client:
    return login("S-ZHL", "admin")


def test_hostile_inputs(
    login: Callable[..., Client], make_case: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    case_id = make_case("UD-01")
    clerk = login("W-ZHL-01", "clerk")
    before = snapshot(sessions)
    for what, method, path, kwargs, status in HOSTILE:
        r = clerk.request(method, path.format(case=case_id), **kwargs)
        assert_problem(r, status, what)
    assert snapshot(sessions) == before


def test_sql_in_filters_finds_nothing(
    login: Callable[..., Client], make_case: Callable[..., int]
) -> None:
    make_case("UD-01")
    clerk = login("W-ZHL-01", "clerk")
    for value in ("' OR 1=1 --", "reported' OR 'a'='a", "1; DELETE FROM cases"):
        for name in ("state", "holder", "item"):
            page = clerk.get("/cases", params={name: value}).json()
            assert page["total"] == 0, (name, value)
    assert clerk.get("/cases").json()["total"] == 1


FORGED = [
    "Bearer forged-token",
    "Bearer " + "a" * 5000,
    "Bearer",
    "Basic Y2xlcms6Y2xlcmstZGVtby0yMDI2",
    "forged-token",
    "Bearer ' OR '1'='1",
    "Bearer \u00e9\u00e9",
]


def test_forged_tokens(
    anon: Client, make_case: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    case_id = make_case("UD-01")
    before = snapshot(sessions)
    for authorization in FORGED:
        headers = {"Authorization": authorization.encode("utf-8")}
        for method, path, body in (
            ("GET", "/cases", None),
            ("GET", f"/cases/{case_id}", None),
            ("POST", f"/cases/{case_id}/transitions", {"trigger": "accept"}),
            ("POST", "/cases", GOOD),
        ):
            r = anon.request(method, path, json=body, headers=headers)
            assert_problem(r, 401, f"{authorization[:20]} {method} {path}")
    assert snapshot(sessions) == before


def test_expired_token_changes_nothing(
    login: Callable[..., Client], make_case: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    case_id = make_case("UD-01")
    clerk = login("W-ZHL-01", "clerk")
    with sessions.begin() as s:
        s.execute(
            update(ApiToken).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    before = snapshot(sessions)
    r = clerk.post(f"/cases/{case_id}/transitions", json={"trigger": "accept"})
    assert_problem(r, 401, "expired")
    assert snapshot(sessions) == before


def test_login_hostile(
    anon: Client, add_user: Callable[..., str], sessions: sessionmaker[Session]
) -> None:
    name = add_user("W-ZHL-01", "clerk")
    before = snapshot(sessions)
    cases = [
        ({"json": {"username": name, "password": PASSWORD + "x"}}, 401),
        ({"json": {"username": f"{name}' OR '1'='1", "password": "x"}}, 401),
        ({"json": {"username": ["x"], "password": "x"}}, 422),
        ({"json": {"username": name}}, 422),
        ({"json": {"username": "x" * 10_000, "password": "x"}}, 422),
        ({"data": "{", "headers": JSON}, 400),
    ]
    for kwargs, status in cases:
        assert_problem(anon.post("/auth/token", **kwargs), status, str(kwargs)[:60])
    assert snapshot(sessions) == before
