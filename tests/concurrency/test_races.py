"""Several gunicorn workers race conflicting transitions on the same cases through the API."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.trail import trail_problems
from workflow.store.models import Case, TrailEvent

from .conftest import Server

REASON = "材料不全"


def race(base: str, case_id: int, shots: list[tuple[str, str, dict[str, str]]]) -> list[Any]:
    """Fire every (token, trigger, headers) at case_id at the same instant; [(trigger, response)]."""
    barrier = threading.Barrier(len(shots))

    def shoot(shot: tuple[str, str, dict[str, str]]) -> tuple[str, requests.Response]:
        token, trigger, headers = shot
        body: dict[str, Any] = {"trigger": trigger}
        if trigger in ("refuse", "reject", "request_materials"):
            body["reason"] = REASON
        barrier.wait(10)
        r = requests.post(
            f"{base}/api/v1/cases/{case_id}/transitions",
            json=body,
            headers={"Authorization": f"Bearer {token}", **headers},
            timeout=60,
        )
        return trigger, r

    with ThreadPoolExecutor(len(shots)) as pool:
        return list(pool.map(shoot, shots))


def transitions_of(sessions: sessionmaker[Session], case_id: int) -> list[str | None]:
    with sessions() as s:
        return list(
            s.execute(
                select(TrailEvent.trigger)
                .where(TrailEvent.case_id == case_id, TrailEvent.action == "case.transition")
                .order_by(TrailEvent.seq)
            ).scalars()
        )


def test_each_race_has_one_winner_and_the_losers_get_409_or_412(
    gunicorn: Callable[[int], Server],
    token: Callable[[str, str, str], str],
    open_cases: Callable[..., list[int]],
    sessions: sessionmaker[Session],
) -> None:
    base = gunicorn(3).base
    clerks = [token(base, "W-ZHL-01", "clerk") for _ in range(4)]
    cases = open_cases(10)
    winners: dict[int, list[str]] = {c: [] for c in cases}

    # Round 1, no If-Match: accept against refuse; the loser finds the state moved on (409).
    for case_id in cases:
        shots = [(t, trig, {}) for t, trig in zip(clerks, ["accept", "refuse"] * 2, strict=True)]
        results = race(base, case_id, shots)
        statuses = Counter(r.status_code for _, r in results)
        assert statuses[200] == 1 and statuses[409] == 3, [(t, r.text) for t, r in results]
        winners[case_id] += [t for t, r in results if r.status_code == 200]

    # Round 2, the same ETag in If-Match: complete against reject against request_materials on
    # the cases that were accepted; the losers are stale (412).
    accepted = [c for c in cases if winners[c] == ["accept"]]
    for case_id in accepted:
        etag = requests.get(
            f"{base}/api/v1/cases/{case_id}",
            headers={"Authorization": f"Bearer {clerks[0]}"},
            timeout=30,
        ).headers["ETag"]
        triggers = ["complete", "reject", "request_materials", "complete"]
        shots = [(t, trig, {"If-Match": etag}) for t, trig in zip(clerks, triggers, strict=True)]
        results = race(base, case_id, shots)
        statuses = Counter(r.status_code for _, r in results)
        assert statuses[200] == 1 and statuses[412] == 3, [(t, r.text) for t, r in results]
        winners[case_id] += [t for t, r in results if r.status_code == 200]

    # Nothing was applied twice, and each case is where its winners took it.
    final = {"accept": "processing", "refuse": "refused"} | {
        "complete": "completed",
        "reject": "rejected",
        "request_materials": "awaiting_materials",
    }
    with sessions() as s:
        for case_id in cases:
            assert transitions_of(sessions, case_id) == winners[case_id]
            case = s.get(Case, case_id)
            assert case is not None
            assert case.state == final[winners[case_id][-1]]
            assert case.version == 1 + len(winners[case_id])
    assert trail_problems(sessions) == []


def test_an_idempotency_key_retried_at_once_in_several_processes_applies_once(
    gunicorn: Callable[[int], Server],
    token: Callable[[str, str, str], str],
    open_cases: Callable[..., list[int]],
    sessions: sessionmaker[Session],
) -> None:
    base = gunicorn(3).base
    clerk = token(base, "W-ZHL-01", "clerk")
    cases = open_cases(8)
    for case_id in cases:
        key = {"Idempotency-Key": f"accept-{case_id}"}
        results = race(base, case_id, [(clerk, "accept", key)] * 4)
        assert [r.status_code for _, r in results] == [200] * 4, [r.text for _, r in results]
        # The same answer, replayed (the stored copy may order its keys differently).
        assert all(r.json() == results[0][1].json() for _, r in results)
        replayed = [r.headers.get("Idempotent-Replayed") for _, r in results]
        assert replayed.count("true") == 3
        # A later retry gets the stored answer; the same key for another request is refused.
        again = race(base, case_id, [(clerk, "accept", key)])[0][1]
        assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
        other = race(base, case_id, [(clerk, "refuse", key)])[0][1]
        assert other.status_code == 422
        assert transitions_of(sessions, case_id) == ["accept"]
    assert trail_problems(sessions) == []
