"""Webhooks to a real receiver on a loopback port: once per event through failures, signed,
verified by the sample verifier of docs/notifications.md (that exact code)."""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import open_case_as, walk
from tests.notify.receiver import Receiver
from workflow.actors import Actor
from workflow.config import REPO, Settings
from workflow.instants import utcnow
from workflow.notify import manage, worker
from workflow.store.models import Delivery, DeliveryAttempt

ADMIN = Actor("admin", None, "admin")
CLERK = Actor("clerk", "W-ZHL-01", "clerk")
FAST = worker.Policy(backoff_s=0.0, max_attempts=5)

# Where the SMS and e-mail of these tests go (not the checkout's instance folder).
SINK = Settings(instance=Path(tempfile.mkdtemp(prefix="streetflow-sink-")))


def docs_verifier() -> Any:
    """verify() as docs/notifications.md shows it."""
    page = (REPO / "docs" / "notifications.md").read_text(encoding="utf-8")
    code = re.search(r"<!-- verifier -->\n```python\n(.*?)```\n<!-- /verifier -->", page, re.S)
    assert code is not None
    scope: dict[str, Any] = {}
    exec(code.group(1), scope)
    return scope["verify"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def hook(sessions: sessionmaker[Session], url: str, events: list[str]) -> tuple[int, str]:
    with sessions.begin() as s:
        h = manage.add_webhook(s, url=url, events=events, actor=ADMIN, now=utcnow())
        return h.id, h.secret


def drain(sessions: sessionmaker[Session], policy: worker.Policy = FAST) -> None:
    """Rounds until nothing is left to send now (no timing: a bounded number of rounds)."""
    for _ in range(50):
        done = worker.run_once(sessions, SINK, policy=policy)
        if not done.work:
            return
    raise AssertionError("the worker did not settle")


def test_each_event_once_though_the_receiver_fails_twice(
    sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    receiver.fail_first = 2
    hid, secret = hook(sessions, receiver.url, ["case.*"])
    with sessions.begin() as s:
        cid = open_case_as(s, "SW-10", at=utcnow() + dt.timedelta(seconds=1)).id
        walk(s, cid, ("accept", CLERK), ("complete", CLERK))
    drain(sessions)
    accepted = receiver.accepted()
    events = [json.loads(g.body)["event"] for g in accepted]
    assert sorted(events) == ["case.closed", "case.opened", "case.transition"]
    assert len({g.delivery for g in accepted}) == 3
    # Three tries each: 500, 500, 200, under one delivery id.
    assert all(receiver.tries[g.delivery] == 3 for g in accepted)
    verify = docs_verifier()
    for g in receiver.got:
        assert verify(secret, g.headers, g.body)
        assert json.loads(g.body)["delivery"] == g.delivery
        assert json.loads(g.body)["case"] == cid
    with sessions() as s:
        listed = manage.deliveries(s, ADMIN, webhook_id=hid)
        assert {d.status for d in listed} == {"delivered"}
        tries = (
            s.execute(
                select(DeliveryAttempt)
                .join(Delivery, Delivery.id == DeliveryAttempt.delivery_id)
                .where(Delivery.webhook_id == hid)
            )
            .scalars()
            .all()
        )
        assert sorted(t.status_code for t in tries) == [200] * 3 + [500] * 6


def test_a_tampered_delivery_is_refused_by_the_sample_verifier(
    sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    _, secret = hook(sessions, receiver.url, ["case.opened"])
    with sessions.begin() as s:
        open_case_as(s, "SW-10", at=utcnow() + dt.timedelta(seconds=1))
    drain(sessions)
    (g,) = receiver.got
    verify = docs_verifier()
    assert verify(secret, g.headers, g.body)
    assert not verify(secret, g.headers, g.body.replace(b'"case.opened"', b'"case.closed"'))
    assert not verify("another secret of the same length!", g.headers, g.body)
    old = {
        **g.headers,
        "X-Streetflow-Timestamp": str(int(g.headers["X-Streetflow-Timestamp"]) - 3600),
    }
    assert not verify(secret, old, g.body)  # a replay with an old timestamp
    forged = {**g.headers, "X-Streetflow-Signature": "sha256=" + "0" * 64}
    assert not verify(secret, forged, g.body)


def test_a_delivery_that_keeps_failing_goes_dead_and_is_retried_with_its_id(
    sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    receiver.fail_first = 3
    hook(sessions, receiver.url, ["case.opened"])
    with sessions.begin() as s:
        open_case_as(s, "SW-10", at=utcnow() + dt.timedelta(seconds=1))
    drain(sessions, worker.Policy(backoff_s=0.0, max_attempts=2))
    with sessions() as s:
        (d,) = manage.deliveries(s, ADMIN, status="dead")
        assert d.attempts == 2 and "HTTP 500" in (d.last_error or "")
        first_id = d.delivery_id
    assert receiver.accepted() == []
    with sessions.begin() as s:
        manage.retry(s, d.id, ADMIN, now=utcnow())
    drain(sessions, worker.Policy(backoff_s=0.0, max_attempts=2))
    (g,) = receiver.accepted()
    assert g.delivery == first_id
    with sessions() as s:
        assert s.get(Delivery, d.id).status == "delivered"  # type: ignore[union-attr]


def test_a_webhook_follows_only_its_channel(
    sessions: sessionmaker[Session], receiver: Receiver, clerk: Actor
) -> None:
    from workflow.runtime import engine as wf

    with sessions.begin() as s:
        manage.add_webhook(
            s,
            url=receiver.url,
            events=["case.opened"],
            actor=ADMIN,
            channel="hotline",
            now=utcnow(),
        )
    later = utcnow() + dt.timedelta(seconds=1)
    with sessions.begin() as s:
        open_case_as(s, "SW-10", at=later)  # at the window: not the hotline's
        wf.open_case(
            s,
            item="SW-10",
            workstation="W-ZHL-01",
            actor=Actor("hotline", None, "applicant"),
            applicant_name="李雷",
            applicant_phone="13700000000",
            channel="hotline",
            now=later,
        )
    drain(sessions)
    (g,) = receiver.accepted()
    body = json.loads(g.body)
    assert body["event"] == "case.opened" and body["actor"] == "hotline"
    # No personal data in a webhook's body.
    assert b"13700000000" not in g.body and "李雷".encode() not in g.body


def test_bad_webhooks_are_refused(sessions: sessionmaker[Session]) -> None:
    from workflow.errors import InvalidInput, NotHolder

    with sessions.begin() as s:
        for url, events in (("ftp://x/y", ["*"]), ("http://x/y", []), ("http://x/y", ["nope"])):
            with pytest.raises(InvalidInput):
                manage.add_webhook(s, url=url, events=events, actor=ADMIN, now=utcnow())
        with pytest.raises(NotHolder):
            manage.add_webhook(s, url="http://x/y", events=["*"], actor=CLERK, now=utcnow())
