"""Instants on the console's pages are shown in the instance's time zone, to the minute, DST
included where the zone has it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytz
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from api.console.common import when, when_in, zone
from tests.console.conftest import Browserless
from workflow.store.models import Case


def test_a_case_page_shows_when_the_case_was_opened_in_beijing_time(
    make_case: Callable[..., int],
    sign_in_client: Callable[..., Browserless],
    sessions: sessionmaker[Session],
) -> None:
    case_id = make_case("GA-03")
    with sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None
        opened = case.created_at.replace(tzinfo=dt.UTC)
    page = sign_in_client("W-ZHL-01", "clerk").get(f"/console/cases/{case_id}")
    shown = opened.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert shown in page.get_data(as_text=True)


def test_instants_are_written_in_the_zone_to_the_minute(app: Flask) -> None:
    summer = dt.datetime(2026, 7, 1, 22, 30, 59, tzinfo=dt.UTC)
    winter = dt.datetime(2026, 12, 31, 23, 5, tzinfo=dt.UTC)
    with app.test_request_context():
        assert when(summer) == "2026-07-02 06:30"  # Beijing, UTC+8 all year
        assert when(winter.replace(tzinfo=None)) == "2027-01-01 07:05"  # naive: UTC
        assert when(None) == "—"
        assert zone().utcoffset(summer) == dt.timedelta(hours=8)
    # A zone with summer time, as the standard library's and as pytz's.
    for berlin in (ZoneInfo("Europe/Berlin"), pytz.timezone("Europe/Berlin")):
        assert when_in(summer, berlin) == "2026-07-02 00:30"
        assert when_in(winter, berlin) == "2027-01-01 00:05"
