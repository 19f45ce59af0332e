"""Real worker processes: one killed with SIGKILL mid-batch loses nothing (what it had claimed
is sent again under the same delivery id); two workers on PostgreSQL send each row once."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import open_case_as
from tests.notify.receiver import Receiver
from workflow.actors import Actor
from workflow.instants import utcnow
from workflow.notify import manage
from workflow.store.models import Delivery

ADMIN = Actor("admin", None, "admin")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def worker(*args: str) -> subprocess.Popen[bytes]:
    # What it says goes to pytest's own stderr (shown on a failure).
    return subprocess.Popen(
        [sys.executable, "-m", "api", "notify", "run", *args], stdout=subprocess.DEVNULL
    )


def wait_for(check, what: str, limit_s: float = 120) -> None:  # type: ignore[no-untyped-def]
    """Poll CHECK (a guard against a hang, not a timing assertion)."""
    end = time.monotonic() + limit_s
    while not check():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def cases_with_a_webhook(sessions: sessionmaker[Session], url: str, n: int) -> set[str]:
    with sessions.begin() as s:
        hook = manage.add_webhook(s, url=url, events=["case.opened"], actor=ADMIN, now=utcnow())
        hid = hook.id
    later = utcnow() + dt.timedelta(seconds=1)
    seqs = []
    with sessions.begin() as s:
        for _ in range(n):
            case = open_case_as(s, "SW-10", at=later, applicant_phone="")
            seqs.append(case.id)
    with sessions() as s:
        from workflow.store.models import TrailEvent

        found = s.execute(
            select(TrailEvent.seq).where(TrailEvent.action == "case.opened")
        ).scalars()
        return {f"{seq}-webhook-{hid}" for seq in found}


def delivered(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return len(
            s.execute(select(Delivery.id).where(Delivery.status == "delivered")).scalars().all()
        )


def test_a_worker_killed_mid_batch_loses_nothing(
    env: Path, sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    receiver.delay_s = 0.2
    expected = cases_with_a_webhook(sessions, receiver.url, 12)
    first = worker("--lease", "1", "--backoff", "0", "--every", "0.1")
    try:
        wait_for(lambda: len(receiver.got) >= 3, "the first deliveries")
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    assert first.returncode == -signal.SIGKILL
    assert delivered(sessions) < len(expected)  # killed mid-batch
    time.sleep(1.1)  # the dead worker's lease lapses
    second = worker("--lease", "30", "--backoff", "0", "--every", "0.1")
    try:
        wait_for(lambda: delivered(sessions) == len(expected), "every delivery")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0
    got = {g.delivery for g in receiver.got}
    assert got == expected  # none lost, no other id
    duplicates = [d for d, n in receiver.tries.items() if n > 1]
    # The request in flight when the worker died was sent again, under its id.
    assert len(receiver.got) == len(expected) + len(duplicates)


def test_two_workers_on_postgresql_send_each_row_once(
    db_kind: str, env: Path, sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    if db_kind != "postgresql":
        pytest.skip("FOR UPDATE SKIP LOCKED: PostgreSQL's (SQLite has one writer)")
    expected = cases_with_a_webhook(sessions, receiver.url, 40)
    workers = [worker("--batch", "3", "--every", "0.1") for _ in range(2)]
    try:
        wait_for(lambda: delivered(sessions) == len(expected), "every delivery")
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        codes = [w.wait(60) for w in workers]
    assert codes == [0, 0]
    assert {g.delivery for g in receiver.got} == expected
    assert all(n == 1 for n in receiver.tries.values())
    assert len(receiver.got) == len(expected)
