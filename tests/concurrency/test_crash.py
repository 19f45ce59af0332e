"""The server is killed with SIGKILL in the middle of load and restarted: nothing acknowledged
is lost, retries with the same Idempotency-Key apply nothing twice, the trail verifies and
replays."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.trail import trail_problems
from workflow.store.models import Case, TrailEvent

from .conftest import Server

# Bounded: at most CASES cases, two transitions each, and a few seconds of load.
CASES = 40
KILL_AFTER_ACKS = 25
LOADERS = 4


def test_a_sigkill_under_load_loses_nothing_acknowledged(
    gunicorn: Callable[[int], Server],
    token: Callable[[str, str, str], str],
    open_cases: Callable[..., list[int]],
    sessions: sessionmaker[Session],
) -> None:
    server = gunicorn(2)
    clerk = token(server.base, "W-ZHL-01", "clerk")
    todo: queue.Queue[int] = queue.Queue()
    case_ids = open_cases(CASES)
    for case_id in case_ids:
        todo.put(case_id)
    acked: list[tuple[int, str, int]] = []  # (case, trigger, the version the 200 reported)
    lock = threading.Lock()
    killed = threading.Event()

    def load() -> None:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {clerk}"
        while not killed.is_set():
            try:
                case_id = todo.get_nowait()
            except queue.Empty:
                return
            for trigger in ("accept", "complete"):
                try:
                    r = http.post(
                        f"{server.base}/api/v1/cases/{case_id}/transitions",
                        json={"trigger": trigger},
                        headers={"Idempotency-Key": f"{case_id}-{trigger}"},
                        timeout=30,
                    )
                except requests.RequestException:
                    return  # the server is gone: this request was never acknowledged
                assert r.status_code == 200, r.text
                with lock:
                    acked.append((case_id, trigger, r.json()["version"]))

    loaders = [threading.Thread(target=load) for _ in range(LOADERS)]
    for t in loaders:
        t.start()
    deadline = time.monotonic() + 60
    while len(acked) < KILL_AFTER_ACKS and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()  # while the loaders are still sending
    killed.set()
    for t in loaders:
        t.join(60)
    assert KILL_AFTER_ACKS <= len(acked) < 2 * CASES, "the kill came after the load ended"

    # Everything acknowledged is there, once, at the version the client was told.
    with sessions() as s:
        for case_id, trigger, version in acked:
            events = s.execute(
                select(TrailEvent.trigger).where(
                    TrailEvent.case_id == case_id, TrailEvent.action == "case.transition"
                )
            ).all()
            assert [e.trigger for e in events].count(trigger) == 1
            case = s.get(Case, case_id)
            assert case is not None and case.version >= version
    assert trail_problems(sessions) == []

    # Restarted, the server serves again. The client retries everything with the same
    # Idempotency-Key: what was acknowledged is answered from the stored reply, what was in
    # flight is applied now or was applied before the kill (never both), the rest is applied.
    server.start()
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {clerk}"
    replayed = set()
    for case_id in case_ids:
        for trigger in ("accept", "complete"):
            r = http.post(
                f"{server.base}/api/v1/cases/{case_id}/transitions",
                json={"trigger": trigger},
                headers={"Idempotency-Key": f"{case_id}-{trigger}"},
                timeout=30,
            )
            assert r.status_code == 200, r.text
            if r.headers.get("Idempotent-Replayed") == "true":
                replayed.add((case_id, trigger))
    assert {(c, t) for c, t, _ in acked} <= replayed
    with sessions() as s:
        for case_id in case_ids:
            triggers = s.execute(
                select(TrailEvent.trigger)
                .where(TrailEvent.case_id == case_id, TrailEvent.action == "case.transition")
                .order_by(TrailEvent.seq)
            ).scalars()
            assert list(triggers) == ["accept", "complete"]
        assert set(s.execute(select(Case.state)).scalars()) == {"completed"}
    assert trail_problems(sessions) == []
