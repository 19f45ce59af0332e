"""The auditor's HTTP view of the trail: /audit/events (filters, paging) and /audit/verify."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from tests.audit.helpers import head, intrude
from workflow.audit.checkpoints import checkpoint


def all_pages(client: Client, **params: object) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    after = 0
    while True:
        r = client.get("/audit/events", params={**params, "after": after, "per_page": 4})
        assert r.status_code == 200, r.text
        page = r.json()
        out += page["items"]
        if page["next_after"] is None:
            return out
        assert len(page["items"]) == 4
        after = page["next_after"]


def test_events_page_through_the_whole_trail_and_filter(
    login: Callable[..., Client],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    auditor = login("X-SN", "auditor")
    case = make_case("UD-01", "accept", "forward", "dispatch")
    other = make_case("UD-01")
    n = head(sessions)
    events = all_pages(auditor)
    assert [e["seq"] for e in events] == list(range(1, n + 1))
    assert events[0]["prev_hash"] == "0" * 64 and events[1]["prev_hash"] == events[0]["hash"]
    r = auditor.get("/audit/events", params={"per_page": 1})
    assert r.json()["total"] == n

    mine = all_pages(auditor, case=case)
    assert [e["action"] for e in mine] == ["case.opened"] + ["case.transition"] * 3
    assert {e["case"] for e in all_pages(auditor, case=other)} == {other}
    # unit: the acting unit or a holder before or after: the agency appears once dispatched to.
    agency = all_pages(auditor, unit="A-ZHL-ZF")
    assert [(e["case"], e["trigger"]) for e in agency] == [(case, "dispatch")]
    by_street = all_pages(auditor, actor="staff@S-ZHL")
    assert [e["trigger"] for e in by_street] == ["dispatch"]
    at = mine[0]["at"]
    assert isinstance(at, str)
    t = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    window = all_pages(
        auditor, **{"from": t.isoformat(), "to": (t + dt.timedelta(hours=1)).isoformat()}
    )
    assert {e["seq"] for e in mine} <= {e["seq"] for e in window}
    assert all_pages(auditor, **{"to": t.isoformat(), "case": case}) == []
    # action: the events of that action, as the console's trail filters them.
    moves = all_pages(auditor, action="case.transition")
    assert [e["seq"] for e in moves] == [
        e["seq"] for e in events if e["action"] == "case.transition"
    ]
    assert {e["seq"] for e in mine[1:]} <= {e["seq"] for e in moves}
    assert [e["seq"] for e in all_pages(auditor, action="case.opened", case=other)] == [
        e["seq"] for e in all_pages(auditor, case=other) if e["action"] == "case.opened"
    ]
    r = auditor.get("/audit/events", params={"action": "no.such.action"})
    assert (r.status_code, r.json()["items"], r.json()["total"]) == (200, [], 0)


def test_events_refuse_bad_queries_with_422(login: Callable[..., Client]) -> None:
    auditor = login("X-SN", "auditor")
    for params in (
        {"after": -1},
        {"after": "x"},
        {"case": "abc"},
        {"from": "yesterday"},
        {"from": "2026-11-26T10:00:00"},  # no offset: which zone?
        {"per_page": 0},
        {"unit": "x" * 100},
        {"action": ""},
        {"action": "x" * 49},
    ):
        r = auditor.get("/audit/events", params=params)
        assert r.status_code == 422, (params, r.status_code)
        assert r.headers["Content-Type"].startswith("application/problem+json")


def test_verify_says_what_the_command_says(
    login: Callable[..., Client],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
    engine: Engine,
) -> None:
    auditor = login("X-SN", "auditor")
    make_case("UD-01", "accept")
    with sessions.begin() as s:
        checkpoint(s, "test-secret")  # the app's secret in these tests
    n = head(sessions)
    assert auditor.get("/audit/verify").json() == {
        "ok": True,
        "events_checked": n,
        "first_bad": None,
        "warnings": [],
        "warnings_total": 0,
    }
    intrude(engine, f"UPDATE trail_events SET reason = 'x' WHERE seq = {n - 1}")
    body = auditor.get("/audit/verify").json()
    assert body["ok"] is False and body["events_checked"] == n - 2
    assert (body["first_bad"]["seq"], body["first_bad"]["kind"]) == (n - 1, "modified")
