"""The framework: health, tokens, problem+json for every kind of error, the OpenAPI document."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import requests
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import PASSWORD, Client
from workflow import users
from workflow.store.models import ApiToken

PROBLEM = "application/problem+json"


def assert_problem(r: requests.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status and body["title"] and "detail" in body
    return body


def test_health_and_ready(anon: Client) -> None:
    assert anon.get("/healthz").json() == {"status": "ok"}
    assert anon.get("/readyz").json() == {"status": "ready"}


def test_token_login_and_use(anon: Client, add_user: Callable[..., str]) -> None:
    name = add_user("W-ZHL-01", "clerk")
    r = anon.post("/auth/token", json={"username": name, "password": PASSWORD})
    assert r.status_code == 201
    body = r.json()
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert expires > dt.datetime.now(dt.UTC)
    me = Client(anon.base, body["token"])
    assert me.get("/units").status_code == 200
    assert_problem(anon.get("/units"), 401)
    assert anon.get("/units").headers["WWW-Authenticate"].startswith("Bearer")


def test_tokens_are_stored_hashed(
    anon: Client, add_user: Callable[..., str], sessions: sessionmaker[Session]
) -> None:
    name = add_user("W-ZHL-01", "clerk")
    token = anon.post("/auth/token", json={"username": name, "password": PASSWORD}).json()["token"]
    with sessions() as s:
        hashes = list(s.execute(select(ApiToken.token_hash)).scalars())
    assert hashes == [users.sha256(token)]


def test_wrong_password_and_unknown_user(anon: Client, add_user: Callable[..., str]) -> None:
    name = add_user("W-ZHL-01", "clerk")
    assert_problem(anon.post("/auth/token", json={"username": name, "password": "nope"}), 401)
    assert_problem(anon.post("/auth/token", json={"username": "ghost", "password": "x"}), 401)


def test_repeated_failed_logins_are_refused_for_a_while(
    anon: Client, add_user: Callable[..., str]
) -> None:
    name = add_user("W-ZHL-01", "clerk")
    other = add_user("W-ZHL-01", "clerk")
    for _ in range(5):
        assert (
            anon.post("/auth/token", json={"username": name, "password": "bad"}).status_code == 401
        )
    # Now even the right password is refused for this user, with a Retry-After ...
    r = anon.post("/auth/token", json={"username": name, "password": PASSWORD})
    assert_problem(r, 429)
    assert "Retry-After" in r.headers
    # ... while other users still log in.
    assert (
        anon.post("/auth/token", json={"username": other, "password": PASSWORD}).status_code == 201
    )


def test_disabled_user_token_stops_at_once(
    login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    me = login("W-ZHL-01", "clerk")
    assert me.get("/units").status_code == 200
    with sessions.begin() as s:
        users.disable_user(s, name=me.name, actor="test")
    assert_problem(me.get("/units"), 401)
    r = me.post("/auth/token", json={"username": me.name, "password": PASSWORD})
    assert_problem(r, 401)


def test_expired_token_is_refused(
    login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    me = login("W-ZHL-01", "clerk")
    with sessions.begin() as s:
        s.execute(update(ApiToken).values(expires_at=dt.datetime.now(dt.UTC)))
    assert_problem(me.get("/units"), 401)


def test_error_kinds_are_problem_json(login: Callable[..., Client], anon: Client) -> None:
    me = login("W-ZHL-01", "clerk")
    assert_problem(me.get("/no/such/thing"), 404)
    assert_problem(me.request("DELETE", "/units"), 405)
    assert "GET" in me.request("DELETE", "/units").headers["Allow"]
    assert_problem(
        anon.post("/auth/token", data="{broken", headers={"Content-Type": "application/json"}), 400
    )
    assert_problem(
        anon.post(
            "/auth/token",
            data=b'{"username": "\xff\xfe"}',
            headers={"Content-Type": "application/json"},
        ),
        400,
    )
    assert_problem(
        anon.post("/auth/token", data="username=x", headers={"Content-Type": "text/plain"}), 415
    )
    assert_problem(
        anon.post(
            "/auth/token",
            data="x" * (2 * 1024 * 1024),
            headers={"Content-Type": "application/json"},
        ),
        413,
    )
    body = assert_problem(anon.post("/auth/token", json={"username": 5}), 422)
    assert set(body["errors"]) == {"username", "password"}
    assert_problem(me.get("/items/NO-SUCH"), 404)


def test_openapi_document_and_offline_page(anon: Client) -> None:
    doc = anon.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/units" in doc["paths"]
    page = anon.get("/api/v1/docs")
    assert page.status_code == 200
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in page.text
    assert "://" not in page.text.split("<script", 1)[1].split("</script>")[0]
    js = anon.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000


def test_openapi_document_lists_every_operation(app: Flask, anon: Client) -> None:
    """Every operation the API serves is in its document, with the tag of its blueprint (the
    document is written when first read, not when the app is made: nothing may be left out)."""
    doc = anon.get("/api/v1/openapi.json").json()
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith(("api-docs.", "docs_")):
            continue  # the document and its page describe the API, they are not part of it
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            served.add((method.lower(), path))
            assert rule.endpoint.split(".")[0] in doc["paths"][path][method.lower()]["tags"]
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops if m != "parameters"}
    assert len(served) > 50 and served == documented
    assert {t["name"] for t in doc["tags"]} >= {"cases", "auth", "dispatch"}


def test_units_and_items(login: Callable[..., Client]) -> None:
    me = login("D-ZF", "staff")
    units = {u["code"]: u for u in me.get("/units").json()}
    assert units["W-ZHL-01"]["parent"] == "S-ZHL"
    assert units["A-ZHL-ZF"]["agency_kind"] == "ZF"
    items = me.get("/items").json()
    assert len(items) == 44
    one = me.get(f"/items/{items[0]['code']}").json()
    assert one == items[0]


def test_token_count_unchanged_by_failures(
    anon: Client, add_user: Callable[..., str], sessions: sessionmaker[Session]
) -> None:
    name = add_user("W-ZHL-01", "clerk")
    anon.post("/auth/token", json={"username": name, "password": "wrong"})
    with sessions() as s:
        assert s.execute(select(func.count()).select_from(ApiToken)).scalar_one() == 0


def test_cli_users_disable_stops_tokens_at_once(login: Callable[..., Client], env: object) -> None:
    from click.testing import CliRunner

    from api.cli import main

    me = login("W-ZHL-01", "clerk")
    assert me.get("/units").status_code == 200
    result = CliRunner().invoke(main, ["users", "disable", me.name])
    assert result.exit_code == 0, result.output
    assert_problem(me.get("/units"), 401)
