"""`GET /notifications` and the delivery lists page by cursor (`after=next`): every row read
once, in order, a row added meanwhile neither shifts nor repeats; a bad cursor is a 422."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from workflow.store.models import Delivery, Notification

T = dt.datetime(2026, 11, 29, 2, 0, tzinfo=dt.UTC)


def add(sessions: sessionmaker[Session], n: int, unit: str = "D-GA") -> None:
    with sessions.begin() as s:
        for i in range(n):
            s.add(
                Notification(
                    unit=unit,
                    kind="red",
                    seq=1,
                    case_id=None,
                    data={"event": "stage.red"},
                    created_at=T,
                )
            )
            s.add(
                Delivery(
                    delivery_id=f"paging-{unit}-{i}-{id(s)}",
                    channel="sms",
                    case_id=None,
                    seq=1,
                    event="stage.red",
                    payload={"staff": "red", "unit": unit},
                    status="dead",
                    attempts=3,
                    next_at=T,
                    created_at=T,
                )
            )


def read_all(client: Client, path: str, per: int, **params: Any) -> list[int]:
    ids: list[int] = []
    after = None
    while True:
        r = client.get(path, params={"limit": per, **params, **({"after": after} if after else {})})
        assert r.status_code == 200, r.text
        body = r.json()
        ids += [n["id"] for n in body["items"]]
        after = body["next"]
        if after is None:
            return ids


def test_notifications_page_by_cursor(
    login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    add(sessions, 7)
    ga = login("D-GA", "staff")
    first = ga.get("/notifications", params={"limit": 3}).json()
    assert len(first["items"]) == 3 and first["next"] and first["unread"] == 7
    add(sessions, 2)  # newer ones, added while the reader pages on
    rest = read_all(ga, "/notifications", 3, after=first["next"])
    ids = [n["id"] for n in first["items"]] + rest
    assert len(ids) == len(set(ids)) == 7 and ids == sorted(ids, reverse=True)
    assert len(read_all(ga, "/notifications", 4)) == 9
    r = ga.get("/notifications", params={"after": "not-a-cursor"})
    assert r.status_code == 422 and r.headers["Content-Type"].startswith("application/problem+json")


def test_deliveries_page_by_cursor(
    login: Callable[..., Client], sessions: sessionmaker[Session]
) -> None:
    add(sessions, 5)
    admin = login("X-SN", "admin")
    ids = read_all(admin, "/deliveries", 2, status="dead")
    assert len(ids) == len(set(ids)) == 5 and ids == sorted(ids, reverse=True)
    r = admin.get("/deliveries", params={"after": "%%%"})
    assert r.status_code == 422
