"""Working-day limits on the real Chinese calendar: holidays, adjusted working days, overrides,
working hours, and the clock stopped while the applicant holds a case."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import shutil
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from tests.conftest import T0
from tests.time.conftest import events, open_at, sh, write
from workflow import config
from workflow.actors import Actor
from workflow.catalog import registry
from workflow.config import DEFAULT_DEFINITIONS
from workflow.runtime import engine
from workflow.runtime.clock import WorkCalendar, calendar_notice, parse_working_hours
from workflow.spec.loader import load_definitions, read_definitions
from workflow.spec.model import CalendarSpec
from workflow.store.db import make_sessionmaker

CLERK = Actor("clerk", "W-ZHL-01", "clerk")


def test_three_working_days_from_the_eve_of_national_day_end_on_the_adjusted_saturday(
    sessions: sessionmaker[Session],
) -> None:
    # SW-11 is decided at the workstation in 3 working days. 1-7 October 2026 are off; the
    # 3rd working day after 30 September is Saturday 10 October, an adjusted working day.
    with sessions.begin() as s:
        case = open_at(s, CLERK, "SW-11", sh(2026, 9, 30, 10))
        ev = engine.fire(s, case.id, "accept", CLERK, now=sh(2026, 9, 30, 10, 30))
        assert case.stage_due_at == sh(2026, 10, 10, 17, 30)
        assert ev.data["stage_due_at"] == "2026-10-10T09:30:00.000000Z"


def test_a_limit_crosses_an_adjusted_working_sunday(sessions: sessionmaker[Session]) -> None:
    # Sunday 20 September 2026 is worked (for National Day): one working day after Friday
    # 18 September ends that Sunday, not on Monday 21.
    with sessions.begin() as s:
        case = open_at(s, CLERK, "SW-10", sh(2026, 9, 18, 9))
        engine.fire(s, case.id, "accept", CLERK, now=sh(2026, 9, 18, 9))
        assert case.stage_due_at == sh(2026, 9, 20, 17, 30)
    # And the New Year: 1-3 January 2026 off, Sunday 4 January worked.
    cal = WorkCalendar()
    assert cal.add_working_days(sh(2025, 12, 31, 16), 1) == sh(2026, 1, 4, 17, 30)
    assert cal.add_working_days(sh(2025, 12, 31, 16), 2) == sh(2026, 1, 5, 17, 30)


def test_the_day_of_receipt_does_not_count_whatever_the_hour() -> None:
    cal = WorkCalendar()
    thursday = sh(2026, 11, 26, 8, 0)
    assert cal.add_working_days(thursday, 1) == sh(2026, 11, 27, 17, 30)
    assert cal.add_working_days(sh(2026, 11, 26, 23, 0), 1) == sh(2026, 11, 27, 17, 30)
    # Received on a Saturday: Monday is the first working day.
    assert cal.add_working_days(sh(2026, 11, 28, 11), 1) == sh(2026, 11, 30, 17, 30)


def test_working_hours_skip_lunch_nights_and_weekends() -> None:
    cal = WorkCalendar()
    # Friday 16:30 + 4 working hours: 1 h on Friday, 3 h from Monday 08:30.
    assert cal.add_working_hours(sh(2026, 11, 27, 16, 30), 4) == sh(2026, 11, 30, 11, 30)
    # 11:00 + 2 h: 1 h before lunch, 1 h after 13:30.
    assert cal.add_working_hours(sh(2026, 11, 26, 11), 2) == sh(2026, 11, 26, 14, 30)
    assert cal.working_seconds_between(sh(2026, 11, 27, 16, 30), sh(2026, 11, 30, 11, 30)) == (
        4 * 3600
    )


def test_the_clock_stops_while_materials_are_awaited_over_a_weekend(
    sessions: sessionmaker[Session],
) -> None:
    thursday = sh(2026, 11, 26, 10)
    with sessions.begin() as s:
        case = open_at(s, CLERK, "SW-11", thursday)
        engine.fire(s, case.id, "accept", CLERK, now=thursday)
        assert case.stage_due_at == sh(2026, 12, 1, 17, 30)  # Tuesday
        case_due = case.due_at
        assert case_due is not None
        ev = engine.fire(
            s, case.id, "request_materials", CLERK, reason="缺户口簿", now=sh(2026, 11, 27, 10)
        )
        assert ev.data["paused"] is True and ev.data["left"]["limit"] == "days"
        assert (case.light, case.paused_at) == ("none", sh(2026, 11, 27, 10))
    # The resident brings the papers on Monday at 10:00: Friday 10:00 to Monday 10:00 held
    # 7.5 working hours (one working day), so both limits move one working day later.
    with sessions.begin() as s:
        ev = engine.fire(s, case.id, "resubmit", CLERK, now=sh(2026, 11, 30, 10))
        case = engine.get_case(s, case.id)
        assert case.stage_due_at == sh(2026, 12, 2, 17, 30)
        assert case.due_at == WorkCalendar().add_working_hours(case_due, 7.5)
        assert case.paused_at is None and case.light == "green"
        assert "left" not in ev.data  # the stage goes on; it was not left
        assert ev.data["stage_due_at"] == "2026-12-02T09:30:00.000000Z"
        # The stage is the one the accept began (a pause does not begin a new stage).
        accept = events(s, case.id, "case.transition")[0]
        assert case.stage_seq == accept.seq


def test_an_unknown_year_falls_back_to_weekdays_once_and_the_override_file_corrects_it(
    fresh_warnings: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "workflow.runtime.clock")
    bare = WorkCalendar()
    national_day_2035 = dt.date(2035, 10, 1)  # a Monday; no package knows 2035's holidays
    assert bare.is_workday(national_day_2035)
    assert not bare.is_workday(dt.date(2035, 10, 6))  # Saturday
    assert bare.is_workday(dt.date(2035, 10, 2))
    warnings = [r for r in caplog.records if "2035" in r.getMessage()]
    assert len(warnings) == 1
    assert "Monday to Friday" in warnings[0].getMessage()

    caplog.clear()
    fixed = WorkCalendar(
        CalendarSpec(
            holidays=tuple(dt.date(2036, 10, d) for d in range(1, 8)),
            workdays=(dt.date(2036, 9, 28),),  # a Sunday worked
        )
    )
    assert not fixed.is_workday(dt.date(2036, 10, 1))
    assert fixed.is_workday(dt.date(2036, 9, 28))
    assert fixed.add_working_days(sh(2036, 9, 30), 1) == sh(2036, 10, 8, 17, 30)
    # The file speaks for 2036: no warning for that year.
    assert not [r for r in caplog.records if "2036" in r.getMessage()]


def test_the_published_override_file_moves_real_deadlines(
    sessions: sessionmaker[Session], tmp_path: Path, fresh_warnings: None
) -> None:
    # 2027 is not in the package: without the file, Friday 1 January 2027 counts as a working
    # day. The definitions' calendar.yaml names it a holiday, and deadlines follow.
    with sessions.begin() as s:
        case = open_at(s, CLERK, "SW-10", sh(2026, 12, 31, 9))
        engine.fire(s, case.id, "accept", CLERK, now=sh(2026, 12, 31, 9))
        assert case.stage_due_at == sh(2027, 1, 1, 17, 30)
    root = tmp_path / "defs"
    shutil.copytree(DEFAULT_DEFINITIONS, root)
    write(
        root / "calendar.yaml",
        "holidays: [2027-01-01]\nworkdays: []\n"
        'working_hours: [["08:30", "12:00"], ["13:30", "17:30"]]\n',
    )
    with sessions.begin() as s:
        registry.publish(s, load_definitions(root), actor="test", now=sh(2026, 12, 1))
    with sessions.begin() as s:
        case = open_at(s, CLERK, "SW-10", sh(2026, 12, 31, 9))
        engine.fire(s, case.id, "accept", CLERK, now=sh(2026, 12, 31, 9))
        assert case.stage_due_at == sh(2027, 1, 4, 17, 30)


@pytest.fixture
def database(engine: Engine) -> Engine:
    """The test's database (here `engine` is the workflow's engine module)."""
    return engine


def test_working_hours_come_from_the_calendar_file_or_the_environment(
    database: Engine, monkeypatch: pytest.MonkeyPatch, fresh_warnings: None
) -> None:
    # UD-01 must be accepted within 4 working hours; reported Thursday 10:00. The environment
    # is read into the settings, which the sessions carry to the engine.
    monkeypatch.delenv("STREETFLOW_WORKING_HOURS", raising=False)
    with make_sessionmaker(database, config.settings()).begin() as s:
        case = open_at(s, CLERK, "UD-01", T0)
        assert case.stage_due_at == sh(2026, 11, 26, 15, 30)
    monkeypatch.setenv("STREETFLOW_WORKING_HOURS", "09:00-12:00, 14:00-18:00")
    with make_sessionmaker(database, config.settings()).begin() as s:
        case = open_at(s, CLERK, "UD-01", T0)
        assert case.stage_due_at == sh(2026, 11, 26, 16, 0)
    monkeypatch.setenv("STREETFLOW_WORKING_HOURS", "14:00-18:00,09:00-12:00")
    late_hours = make_sessionmaker(database, config.settings())
    with late_hours.begin() as s, pytest.raises(ValueError, match="overlaps or precedes"):
        open_at(s, CLERK, "UD-01", T0)


def test_bad_working_hours_are_refused_with_the_place() -> None:
    with pytest.raises(ValueError, match="not an interval"):
        parse_working_hours("8.30 to 12")
    with pytest.raises(ValueError, match="ends before it starts"):
        parse_working_hours("12:00-08:30")


def test_calendar_file_with_overlapping_hours_is_invalid(tmp_path: Path) -> None:
    root = tmp_path / "defs"
    shutil.copytree(DEFAULT_DEFINITIONS, root)
    write(root / "calendar.yaml", 'working_hours: [["08:30", "12:00"], ["11:00", "17:30"]]\n')
    defs, problems = read_definitions(root)
    assert defs is None
    assert [(p.file, p.place) for p in problems] == [("calendar.yaml", "working_hours")]
    assert "overlaps" in problems[0].message


def test_calendar_spec_hours_are_replaceable() -> None:
    # The environment override replaces only the hours, never the days.
    spec = CalendarSpec(holidays=(dt.date(2027, 1, 1),))
    other = dataclasses.replace(spec, working_hours=parse_working_hours("09:00-17:00"))
    assert other.holidays == spec.holidays
    assert WorkCalendar(other).end_of_day(dt.date(2026, 11, 26)) == sh(2026, 11, 26, 17)


def _day_by_day_add(cal: WorkCalendar, start: dt.datetime, seconds: float) -> dt.datetime:
    """add_working_seconds as first written: every interval of every day, in turn."""
    at, left = cal.local(start), max(0.0, seconds)
    day = at.date()
    while True:
        for begin, end in cal._intervals(day) if cal.is_workday(day) else ():
            if end <= at:
                continue
            span = (end - max(begin, at)).total_seconds()
            if left <= span:
                return (max(begin, at) + dt.timedelta(seconds=left)).astimezone(dt.UTC)
            left -= span
        day += dt.timedelta(days=1)
        at = dt.datetime.combine(day, dt.time(0), cal.tz)


def _day_by_day_between(cal: WorkCalendar, a: dt.datetime, b: dt.datetime) -> float:
    a_l, b_l, total = cal.local(a), cal.local(b), 0.0
    day = a_l.date()
    while day <= b_l.date():
        for begin, end in cal._intervals(day) if cal.is_workday(day) else ():
            lo, hi = max(begin, a_l), min(end, b_l)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += dt.timedelta(days=1)
    return total


@given(
    start=st.datetimes(min_value=dt.datetime(2025, 12, 20), max_value=dt.datetime(2026, 12, 10)),
    seconds=st.floats(min_value=0, max_value=40 * 8 * 3600) | st.integers(0, 40 * 8 * 3600),
    days=st.integers(0, 25),
)
@example(start=dt.datetime(2026, 11, 26, 18, 0), seconds=27000.0, days=1)  # a whole Friday
@example(start=dt.datetime(2026, 9, 29, 23, 0), seconds=27000.0 * 2 + 0.5, days=3)  # holidays
@settings(max_examples=300, deadline=None)  # no timing assertion: a loaded CI machine is slow
def test_the_kept_answers_are_those_of_the_day_by_day_count(
    start: dt.datetime, seconds: float, days: int
) -> None:
    """The calendar keeps what depends on days only and skips whole days at once: the same
    instants and seconds as counting day by day, across the Spring Festival and National Day."""
    cal = WorkCalendar()
    at = start.replace(tzinfo=cal.tz)
    for _ in range(2):  # the first call fills what is kept, the second reads it
        assert cal.add_working_seconds(at, seconds) == _day_by_day_add(cal, at, seconds)
        due = cal.add_working_days(at, days)
        assert int(cal.working_seconds_between(at, due)) == int(_day_by_day_between(cal, at, due))
        assert abs(cal.working_seconds_between(at, due) - _day_by_day_between(cal, at, due)) < 1e-6


def test_the_years_ahead_that_nobody_gave_are_named_and_a_year_in_the_file_is_known() -> None:
    # No package knows 2035's holidays (as above).
    nobody = WorkCalendar()
    assert nobody.years_unknown(dt.date(2035, 1, 5), 0) == [2035]
    assert nobody.years_unknown(dt.date(2035, 6, 1), 90) == [2035]
    assert nobody.years_unknown(dt.date(2035, 12, 1), 90) == [2035, 2036]
    assert nobody.years_unknown(dt.date(2026, 6, 1), 90) == []  # the package knows 2026
    listed = WorkCalendar(CalendarSpec(holidays=(dt.date(2036, 1, 1),)))
    assert listed.years_unknown(dt.date(2035, 12, 1), 90) == [2035]
    assert "2035, 2037-2039" in calendar_notice([2035, 2037, 2038, 2039])
    assert calendar_notice([2035]).startswith("the calendar does not know 2035: a limit that")


def _validate(folder: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["definitions", "validate", str(folder), *args])


def test_validate_tells_of_a_year_ahead_the_calendar_does_not_know_without_failing(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "definitions"
    shutil.copytree(DEFAULT_DEFINITIONS, folder)
    # Every year from now to a hundred years ahead: some of them no package knows.
    result = _validate(folder, "--calendar-ahead", "36500")
    assert result.exit_code == 0, result.output
    assert "notice: the calendar does not know" in result.stderr
    assert "calendar.yaml" in result.stderr and "valid (" in result.stdout
    # The file's years are known: with this year's and next year's days in it, and a window
    # within them, nothing to tell whatever today is.
    this_year = dt.datetime.now(ZoneInfo(config.DEFAULT_TIMEZONE)).year
    write(
        folder / "calendar.yaml",
        f"holidays: ['{this_year}-12-31', '{this_year + 1}-12-31']\nworkdays: []\n",
    )
    result = _validate(folder, "--calendar-ahead", "0")
    assert result.exit_code == 0 and "notice" not in result.stderr, result.output


def test_init_tells_of_a_year_ahead_of_its_clock_that_the_calendar_does_not_know(
    env: Path,
) -> None:
    # At the demo's clock of 1 December 2034, limits begun then run into 2035, which no package
    # knows; at 1 June 2026 the next 90 days are all in 2026, which every package here knows.
    late = CliRunner().invoke(main, ["init", "--now", "2034-12-01T10:00:00+08:00"])
    assert late.exit_code == 0, late.output
    assert "notice: the calendar does not know" in late.stderr and "2035" in late.stderr
    early = CliRunner().invoke(main, ["init", "--now", "2026-06-01T10:00:00+08:00"])
    assert early.exit_code == 0 and "notice" not in early.stderr, early.output
