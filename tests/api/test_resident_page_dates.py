"""The resident's rating page says the day the case ended (办结日期), and on a second round, after
a rectification, also the day the rectification was reported (整改日期)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import requests
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Client
from tests.api.test_voice_feedback import pending_link
from workflow.runtime import engine
from workflow.store.models import Case


def _dates(link: str) -> tuple[str, str | None]:
    page = requests.get(link, timeout=30)
    assert page.status_code == 200
    ended = re.search(r'class="date">([\d-]+)<', page.text)
    rectified = re.search(r'class="rectified">([\d-]+)<', page.text)
    assert ended is not None
    return ended.group(1), rectified.group(1) if rectified else None


def test_the_page_dates_the_end_of_the_case_and_the_rectification(
    login: Callable[..., Client], make_case: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    done = make_case("GA-03", "accept", "complete")
    # The case ended nine days ago (the round was asked later, as a callback list may).
    ended_at = engine.utcnow() - dt.timedelta(days=9)
    with sessions.begin() as s:
        s.execute(update(Case).where(Case.id == done).values(closed_at=ended_at))
        calendar = engine.work_calendar(s)
    ended_day = calendar.local(ended_at).date().isoformat()
    today = calendar.local(engine.utcnow()).date().isoformat()
    callback, clerk = login("X-SN", "callback"), login("W-ZHL-01", "clerk")
    assert _dates(pending_link(clerk, done)) == (ended_day, None)

    bad = {"level": 1, "resolved": False, "comment": "没人管", "channel": "phone"}
    assert callback.post(f"/cases/{done}/feedback", json=bad).status_code == 201
    (rect,) = clerk.get("/rectifications", params={"status": "open"}).json()["items"]
    assert clerk.post(f"/rectifications/{rect['id']}/report", json={"report": "已上门补办"}).ok
    page = requests.get(pending_link(clerk, done), timeout=30)
    assert "办结日期" in page.text and "整改日期" in page.text
    assert _dates(pending_link(clerk, done)) == (ended_day, today)
