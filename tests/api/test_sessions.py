"""A worker thread keeps its database session from one request to the next (api/db.py): the
requests served on one thread share it, and none of them sees what an earlier one loaded."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
import requests
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import make_server

from api import db
from tests.api.conftest import PASSWORD, Client
from workflow.actors import Actor
from workflow.runtime import engine


@pytest.fixture
def one_thread(app: Flask) -> Iterator[tuple[str, list[Session]]]:
    """The app served by one thread, as a gunicorn sync worker serves it; and the session each
    request used."""
    used: list[Session] = []

    @app.after_request
    def _note(response):  # type: ignore[no-untyped-def]
        used.append(db.session())
        return response

    srv = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}", used
    srv.shutdown()
    thread.join(5)


def test_one_thread_keeps_its_session_and_each_request_reads_afresh(
    one_thread: tuple[str, list[Session]],
    add_user: Callable[..., str],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    base, used = one_thread
    name = add_user("W-ZHL-01", "clerk")
    token = requests.post(
        f"{base}/api/v1/auth/token", json={"username": name, "password": PASSWORD}, timeout=30
    ).json()["token"]
    clerk = Client(base, token, name)
    case_id = make_case("UD-01")

    first = clerk.get(f"/cases/{case_id}")
    assert first.status_code == 200 and first.json()["state"] == "reported"
    # The case changes behind the API's back, as another worker would change it.
    with sessions.begin() as s:
        engine.fire(s, case_id, "accept", Actor("clerk@W-ZHL-01", "W-ZHL-01", "clerk"))
    second = clerk.get(f"/cases/{case_id}")
    assert second.status_code == 200
    assert second.json()["state"] == "ws_handling"  # not the Case the first request loaded
    assert int(second.headers["ETag"].strip('"')) == int(first.headers["ETag"].strip('"')) + 1

    # A refused firing (a stale version) leaves nothing behind for the next request.
    stale = clerk.post(
        f"/cases/{case_id}/transitions",
        json={"trigger": "forward"},
        headers={"If-Match": first.headers["ETag"]},
    )
    assert stale.status_code == 412
    fired = clerk.post(
        f"/cases/{case_id}/transitions",
        json={"trigger": "forward"},
        headers={"If-Match": second.headers["ETag"]},
    )
    assert fired.status_code == 200, fired.text
    assert clerk.get(f"/cases/{case_id}").json()["state"] == "street_handling"
    # Every request on the one thread used the one session.
    assert len(used) >= 5 and all(s is used[0] for s in used)
