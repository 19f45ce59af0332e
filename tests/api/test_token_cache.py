"""Verified bearer tokens are kept a moment per process (api.auth.TOKEN_CACHE_SECONDS): a revoke
in this process still stops a token at once, one from elsewhere within that moment."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from api import auth
from tests.api.conftest import PASSWORD, Client
from workflow import users
from workflow.store.models import ApiToken


def refused(r: requests.Response) -> bool:
    return r.status_code == 401 and r.headers["Content-Type"].startswith("application/problem+json")


def test_new_password_stops_a_token_just_used(
    login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    me = login("W-ZHL-01", "clerk")
    assert me.get("/units").status_code == 200  # verified, and now kept
    with sessions.begin() as s:
        users.set_password(s, name=me.name, password="another-pass-77", actor="test")
    assert refused(me.get("/units"))
    r = me.post("/auth/token", json={"username": me.name, "password": PASSWORD})
    assert r.status_code == 401


def test_disable_stops_every_token_of_the_user_just_used(
    login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    me = login("W-ZHL-01", "clerk")
    other = login("W-ZHL-01", "clerk")
    assert me.get("/units").status_code == 200
    assert other.get("/units").status_code == 200
    with sessions.begin() as s:
        users.disable_user(s, name=me.name, actor="test")
    assert refused(me.get("/units"))
    # Someone else's token is checked afresh and still works.
    assert other.get("/units").status_code == 200


def test_revoke_by_another_process_is_seen_once_the_moment_passes(
    login: Callable[..., Client],
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    me = login("W-ZHL-01", "clerk")
    assert me.get("/units").status_code == 200
    # As another process would: straight in the database, no word to this process's cache.
    with sessions.begin() as s:
        s.execute(update(ApiToken).values(revoked=True))
    monkeypatch.setattr(auth, "TOKEN_CACHE_SECONDS", 0.0)  # the moment has passed
    assert refused(me.get("/units"))


def test_an_unknown_token_is_never_kept(login: Callable[..., Client]) -> None:
    me = login("W-ZHL-01", "clerk")
    stranger = Client(me.base, "not-a-token")
    assert refused(stranger.get("/units"))
    assert refused(stranger.get("/units"))
