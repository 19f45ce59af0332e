"""督办 as a ladder over HTTP: 催办 at yellow, 督办 at red answered by the holder in writing with
a fix date, 挂牌督办 by the district when still late; closed once the case moves on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from workflow.config import DEFAULT_TIMEZONE
from workflow.runtime import engine, sla
from workflow.store.models import Supervision


def test_reminder_supervision_answer_listing_and_closing(
    login: Callable[..., Client],
    make_case: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    cid = make_case("SW-11", "accept")
    other = make_case("SW-11", "accept")
    clerk = login("W-ZHL-01", "clerk")
    street = login("S-ZHL", "staff")
    district = login("X-SN", "admin")
    with sessions() as s:
        case = engine.get_case(s, cid)
        yellow, due = case.stage_yellow_at, case.stage_due_at
    assert yellow is not None and due is not None
    r = sla.sweep(sessions, now=yellow + dt.timedelta(minutes=1))
    assert r.reminders == 2
    trail = clerk.get(f"/cases/{cid}/trail").json()
    assert trail[-1]["action"] == "supervision.reminded"
    assert trail[-1]["data"]["holder"] == "W-ZHL-01"
    # A second sweep reminds nobody again.
    assert sla.sweep(sessions, now=yellow + dt.timedelta(minutes=2)).reminders == 0

    r = sla.sweep(sessions, now=due + dt.timedelta(minutes=1))
    assert (r.supervisions, r.listed) == (2, 0)
    sups = street.get("/supervisions", params={"case": cid}).json()["items"]
    [sup] = sups
    assert (sup["level"], sup["active"], sup["explanation"]) == ("supervision", True, None)
    assert sup["list_at"] is not None
    # The instance's today (Asia/Shanghai), not the machine's: from 16:00 UTC they differ.
    today = dt.datetime.now(ZoneInfo(DEFAULT_TIMEZONE)).date()
    # The holder answers, in writing, with a date; bad answers change nothing.
    for body, field in (
        ({"explanation": " ", "fix_date": today.isoformat()}, "explanation"),
        ({"explanation": "人手不足", "fix_date": "2020-01-01"}, "fix_date"),
        ({"explanation": "人手不足"}, "fix_date"),
    ):
        r = clerk.post(f"/supervisions/{sup['id']}/answer", json=body)
        assert r.status_code == 422 and field in r.json()["errors"], r.text
    r = street.post(
        f"/supervisions/{sup['id']}/answer",
        json={"explanation": "不是我", "fix_date": today.isoformat()},
    )
    assert r.status_code == 403
    fix = (today + dt.timedelta(days=2)).isoformat()
    r = clerk.post(
        f"/supervisions/{sup['id']}/answer",
        json={"explanation": "材料核验等待民政回函，已催", "fix_date": fix},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["fix_date"], r.json()["answered_by"]) == (fix, clerk.name)
    r = clerk.post(
        f"/supervisions/{sup['id']}/answer", json={"explanation": "再答", "fix_date": fix}
    )
    assert r.status_code == 409

    # Still late past list_at: the district lists it (挂牌督办).
    with sessions() as s:
        list_at = s.execute(
            select(Supervision.list_at).where(Supervision.case_id == cid)
        ).scalar_one()
    assert list_at is not None
    r = sla.sweep(sessions, now=list_at + dt.timedelta(minutes=1))
    assert r.listed == 2
    [sup] = district.get("/supervisions", params={"case": cid}).json()["items"]
    assert (sup["level"], sup["listed_unit"]) == ("listed", "X-SN")

    # The other case moves on: its supervision closes and asks for nothing.
    r = clerk.post(f"/cases/{other}/transitions", json={"trigger": "complete"})
    assert r.status_code == 200, r.text
    [closed] = street.get("/supervisions", params={"case": other}).json()["items"]
    assert closed["active"] is False
    r = clerk.post(
        f"/supervisions/{closed['id']}/answer",
        json={"explanation": "已转街道", "fix_date": fix},
    )
    assert r.status_code == 409 and "asks for nothing" in r.json()["detail"]
    r = street.post(f"/supervisions/{closed['id']}/acknowledgement")
    assert r.status_code == 409
    # Each step is on the case's trail.
    ladder = [
        e["action"]
        for e in clerk.get(f"/cases/{cid}/trail").json()
        if e["action"].startswith("supervision.")
    ]
    assert ladder == [
        "supervision.reminded",
        "supervision.raised",
        "supervision.answered",
        "supervision.listed",
    ]
