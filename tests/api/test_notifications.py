"""Notifications over HTTP (a served app, the real `requests` client): a whistle reaches the
department's list, read once; webhooks registered, listed, their deliveries listed and a dead
one retried by an administrator; refusals are problem+json."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from tests.notify.receiver import Receiver
from tests.tasks.helpers import STREET, at_street
from workflow.config import Settings
from workflow.notify import worker
from workflow.runtime import engine

# Where the SMS and e-mail of these tests go (not the checkout's instance folder).
SINK = Settings(instance=Path(tempfile.mkdtemp(prefix="streetflow-sink-")))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def test_a_whistle_reaches_the_departments_list(
    login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as s:
        cid = at_street(s, "PS-06", now=engine.utcnow())
        engine.fire(s, cid, "whistle", STREET, reason="占道", targets=["D-GA", "D-ZJ"])
    worker.run_once(sessions, SINK)
    ga, zf = login("D-GA", "staff"), login("D-ZF", "staff")
    r = ga.get("/notifications")
    assert r.status_code == 200, r.text
    body = r.json()
    kinds = sorted(n["kind"] for n in body["items"])
    assert body["unread"] == len(kinds) >= 1 and "task" in kinds
    assert all(n["case"] == cid for n in body["items"])
    assert zf.get("/notifications").json() == {"unread": 0, "items": [], "next": None}
    first = body["items"][0]["id"]
    r = ga.post(f"/notifications/{first}/read")
    assert r.status_code == 200 and r.json()["read_at"]
    assert ga.get("/notifications").json()["unread"] == len(kinds) - 1
    # Another unit's notification is not found (not told that it exists).
    r = zf.post(f"/notifications/{first}/read")
    assert r.status_code == 404 and r.headers["Content-Type"] == "application/problem+json"


def test_webhooks_over_http(
    login: Callable[..., Client], sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    admin, clerk = login("X-SN", "admin"), login("W-ZHL-01", "clerk")
    street_admin = login("S-ZHL", "admin")
    for other in (clerk, street_admin):  # a street's administrator would hear of every street
        r = other.post("/webhooks", json={"url": receiver.url, "events": ["case.opened"]})
        assert r.status_code == 403
        assert other.get("/webhooks").status_code == 403
    for bad in (
        {"url": "ftp://nope", "events": ["case.opened"]},
        {"url": receiver.url, "events": ["nope"]},
        {"url": receiver.url, "events": []},
        {"url": receiver.url, "events": ["case.opened"], "secret": "short"},
    ):
        r = admin.post("/webhooks", json=bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["Content-Type"] == "application/problem+json"
    r = admin.post("/webhooks", json={"url": receiver.url, "events": ["case.opened"]})
    assert r.status_code == 201, r.text
    hook = r.json()
    assert len(hook["secret"]) >= 32
    listed = admin.get("/webhooks").json()
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]

    receiver.fail_first = 1
    with sessions.begin() as s:
        at_street(s, "PS-06", now=engine.utcnow())
    worker.run_once(sessions, SINK, policy=worker.Policy(max_attempts=1))
    r = admin.get(f"/webhooks/{hook['id']}/deliveries")
    assert r.status_code == 200, r.text
    (d,) = r.json()["items"]
    assert d["status"] == "dead" and d["answers"][0]["status_code"] == 500
    assert admin.get("/deliveries", params={"status": "dead"}).json()["items"][0]["id"] == d["id"]
    r = admin.post(f"/deliveries/{d['id']}/retry")
    assert r.status_code == 200 and r.json()["status"] == "pending"
    worker.run_once(sessions, SINK)
    (again,) = admin.get(f"/webhooks/{hook['id']}/deliveries").json()["items"]
    assert again["status"] == "delivered" and again["delivery_id"] == d["delivery_id"]
    assert [a["status_code"] for a in again["answers"]] == [500, 200]
    r = admin.post(f"/deliveries/{d['id']}/retry")
    assert r.status_code == 422  # delivered: nothing to retry

    assert admin.request("DELETE", f"/webhooks/{hook['id']}").status_code == 204
    assert admin.get("/webhooks").json() == []
    assert admin.request("DELETE", f"/webhooks/{hook['id']}").status_code == 404
