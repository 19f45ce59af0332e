"""The API served on a real port (werkzeug in a background thread) over this test's database,
and a `requests`-based client that logs in as a user of a given unit and role.

    def test_something(login):
        clerk = login("W-ZHL-01", "clerk")
        r = clerk.get("/cases")             # paths are under /api/v1
        assert r.status_code == 200
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import make_server

from api import create_app
from tests.conftest import make_case  # noqa: F401 (the console tests take it from here)
from workflow import users

_names = itertools.count(1)
PASSWORD = "test-password-1"


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[Flask]:
    # Files uploaded by a test (attachments) go to its own folder, never the repository's.
    app = create_app(
        {
            "DATABASE_URL": db_url,
            "SECRET_KEY": "test-secret",
            "TESTING": True,
            "ATTACHMENT_STORE": str(tmp_path / "attachments"),
        }
    )
    yield app
    app.extensions["streetflow.engine"].dispose()


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    """The base URL of the app served on a free port of 127.0.0.1."""
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    thread.join(5)


class Client:
    """A requests session against the live server; relative paths go under /api/v1."""

    def __init__(self, base: str, token: str | None = None, name: str = "anonymous"):
        self.base, self.name = base, name
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def url(self, path: str) -> str:
        if path.startswith(("/api/", "/open311/", "/healthz", "/readyz")):
            return self.base + path
        return self.base + "/api/v1" + path

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 30)
        return self.http.request(method, self.url(path), **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)


@pytest.fixture
def anon(server: str) -> Client:
    return Client(server)


@pytest.fixture
def add_user(sessions: sessionmaker[Session]) -> Callable[..., str]:
    """Add a user (unit, role) with PASSWORD; returns their name."""

    def add(unit: str, role: str, name: str | None = None) -> str:
        name = name or f"{role}-{unit}-{next(_names)}".lower()
        with sessions.begin() as s:
            users.add_user(s, name=name, unit=unit, role=role, password=PASSWORD, actor="test")
        return name

    return add


@pytest.fixture
def login(server: str, add_user: Callable[..., str]) -> Callable[..., Client]:
    """login(unit, role) -> a Client holding a fresh user's token."""

    def do(unit: str, role: str, name: str | None = None) -> Client:
        name = add_user(unit, role, name)
        r = requests.post(
            f"{server}/api/v1/auth/token",
            json={"username": name, "password": PASSWORD},
            timeout=30,
        )
        assert r.status_code == 201, r.text
        return Client(server, r.json()["token"], name)

    return do
