"""The working-day calendar and deadlines: Chinese official calendar, local overrides, hours."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from calendar import monthrange
from collections.abc import Iterator
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

from workflow.spec.model import CalendarSpec, check_working_hours

log = logging.getLogger(__name__)

# Working hours from the settings win over calendar.yaml (workflow.config.Settings.working_hours).
WORKING_HOURS_ENV = "STREETFLOW_WORKING_HOURS"

# Years already warned about: the fallback is said once per process and year.
_warned_years: set[int] = set()


def parse_working_hours(text: str) -> tuple[tuple[dt.time, dt.time], ...]:
    """'08:30-12:00,13:30-17:30' as intervals; ValueError with the reason when malformed."""
    hours: list[tuple[dt.time, dt.time]] = []
    for part in text.split(","):
        start, sep, end = part.strip().partition("-")
        try:
            if not sep:
                raise ValueError
            hours.append((dt.time.fromisoformat(start.strip()), dt.time.fromisoformat(end.strip())))
        except ValueError:
            raise ValueError(
                f"{WORKING_HOURS_ENV}: {part.strip()!r} is not an interval like 08:30-12:00"
            ) from None
    why = check_working_hours(hours)
    if why:
        raise ValueError(f"{WORKING_HOURS_ENV}: {why}")
    return tuple(hours)


def with_hours(spec: CalendarSpec, hours: str) -> CalendarSpec:
    """SPEC with the working hours HOURS ('08:30-12:00,13:30-17:30'), when those are given."""
    if not hours:
        return spec
    return dataclasses.replace(spec, working_hours=parse_working_hours(hours))


def _package_knows(year: int) -> bool:
    """Whether the chinese-calendar package has YEAR's holidays and adjusted working days."""
    try:
        chinese_calendar.is_workday(dt.date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def calendar_notice(years: list[int]) -> str:
    """What to tell an administrator of YEARS (WorkCalendar.years_unknown)."""
    runs: list[list[int]] = []
    for year in years:
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    spelled = ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)
    one = len(years) == 1
    return (
        f"the calendar does not know {spelled}: a limit that runs into {'it' if one else 'them'}"
        " counts Monday to Friday as working days; add"
        f" {'the year' if one else 'each year'}'s holidays and adjusted working days to"
        " calendar.yaml (the State Council publishes them around December), then publish"
    )


class WorkCalendar:
    """Which days and hours are working time, in one timezone.

    A day is a working day when calendar.yaml says so (its `workdays` and `holidays` win), else
    when the chinese-calendar package says so; for a year the package does not know, Monday to
    Friday, with a warning once per year unless calendar.yaml lists days of that year (then the
    file is taken as the year's holidays and adjusted working days)."""

    def __init__(self, spec: CalendarSpec | None = None, tz: str = "Asia/Shanghai"):
        self.spec = spec or CalendarSpec()
        self.tz = ZoneInfo(tz)
        self._holidays = frozenset(self.spec.holidays)
        self._workdays = frozenset(self.spec.workdays)
        self._override_years = frozenset(d.year for d in self._holidays | self._workdays)
        # Asked many times a firing; chinese_calendar scans its whole table on every call.
        self._known: dict[dt.date, bool] = {}
        # A day's working intervals (begin, end, seconds), empty on a day off: built once a day.
        self._days: dict[dt.date, tuple[tuple[dt.datetime, dt.datetime, float], ...]] = {}
        # A firing asks the same few questions again and again: answers that depend on days only.
        self._day_seconds: dict[dt.date, float] = {}
        self._deadlines: dict[tuple[dt.date, int], dt.datetime] = {}
        self._between: dict[tuple[dt.date, dt.date], float] = {}

    def is_workday(self, day: dt.date) -> bool:
        known = self._known.get(day)
        if known is None:
            known = self._known[day] = self._is_workday(day)
        return known

    def _is_workday(self, day: dt.date) -> bool:
        if day in self._workdays:
            return True
        if day in self._holidays:
            return False
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            if day.year not in _warned_years and day.year not in self._override_years:
                _warned_years.add(day.year)
                log.warning("%s", calendar_notice([day.year]))
            return day.weekday() < 5

    def years_unknown(self, today: dt.date, ahead_days: int) -> list[int]:
        """The years from TODAY's to AHEAD_DAYS later's whose working days nobody gave: the
        package does not know them and the spec (calendar.yaml) lists no day of them. Limits
        that run into such a year count Monday to Friday (is_workday)."""
        last = (today + dt.timedelta(days=max(0, ahead_days))).year
        return [
            year
            for year in range(today.year, last + 1)
            if year not in self._override_years and not _package_knows(year)
        ]

    def local(self, at: dt.datetime) -> dt.datetime:
        return at.astimezone(self.tz)

    def _intervals(self, day: dt.date) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        for start, end in self.spec.working_hours:
            yield (
                dt.datetime.combine(day, start, self.tz),
                dt.datetime.combine(day, end, self.tz),
            )

    def _working(self, day: dt.date) -> tuple[tuple[dt.datetime, dt.datetime, float], ...]:
        spans = self._days.get(day)
        if spans is None:
            spans = self._days[day] = (
                tuple((b, e, (e - b).total_seconds()) for b, e in self._intervals(day))
                if self.is_workday(day)
                else ()
            )
        return spans

    def _whole(self, day: dt.date) -> float:
        """A day's working seconds."""
        total = self._day_seconds.get(day)
        if total is None:
            total = self._day_seconds[day] = float(sum(whole for _, _, whole in self._working(day)))
        return total

    def _whole_between(self, first: dt.date, last: dt.date) -> float:
        """The working seconds of the days after FIRST and before LAST."""
        key = (first, last)
        total = self._between.get(key)
        if total is None:
            total, day = 0.0, first + dt.timedelta(days=1)
            while day < last:
                total += self._whole(day)  # whole seconds: exact in any order
                day += dt.timedelta(days=1)
            self._between[key] = total
        return total

    def end_of_day(self, day: dt.date) -> dt.datetime:
        """The end of a working day's last working hour."""
        return dt.datetime.combine(day, self.spec.working_hours[-1][1], self.tz)

    def add_working_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """The deadline of a limit of DAYS working days begun at START: the end of the working
        hours of the DAYS-th working day after START's day (the day of receipt does not count,
        whatever the hour, as with 自受理之日起N个工作日). 0 days: the end of START's day."""
        first = self.local(start).date()
        due = self._deadlines.get((first, days))
        if due is None:
            day, counted = first, 0
            while counted < days:
                day += dt.timedelta(days=1)
                if self.is_workday(day):
                    counted += 1
            due = self._deadlines[(first, days)] = self.end_of_day(day).astimezone(dt.UTC)
        return due

    def next_workday(self, day: dt.date) -> dt.date:
        while not self.is_workday(day):
            day += dt.timedelta(days=1)
        return day

    def add_calendar_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """The deadline of DAYS calendar days (日) begun at START: the end of the working hours
        of the DAYS-th day after START's day; a last day that is a rest day or a holiday moves to
        the next working day (期间届满的最后一日是法定休假日的，以休假日后的第一日为期间届满的日期)."""
        day = self.local(start).date() + dt.timedelta(days=days)
        return self.end_of_day(self.next_workday(day)).astimezone(dt.UTC)

    def add_months(self, start: dt.datetime, months: int) -> dt.datetime:
        """The deadline of MONTHS months (个月) begun at START: the same day of the month
        MONTHS later (the month's last day where it has no such day), moved past rest days and
        holidays as for calendar days."""
        first = self.local(start).date()
        index = first.month - 1 + months
        year, month = first.year + index // 12, index % 12 + 1
        last = monthrange(year, month)[1]
        day = dt.date(year, month, min(first.day, last))
        return self.end_of_day(self.next_workday(day)).astimezone(dt.UTC)

    def add_limit(self, start: dt.datetime, amount: int, unit: str = "working_days") -> dt.datetime:
        """A limit of AMOUNT in UNIT (working_days, calendar_days, months) begun at START."""
        if unit == "calendar_days":
            return self.add_calendar_days(start, amount)
        if unit == "months":
            return self.add_months(start, amount)
        return self.add_working_days(start, amount)

    def add_working_seconds(self, start: dt.datetime, seconds: float) -> dt.datetime:
        """START plus SECONDS of working time (working hours of working days only).

        0 seconds outside working hours is the start of the next working hour: a stage resumed
        with no time left is due as soon as work starts again."""
        at = self.local(start)
        day = at.date()
        left = max(0.0, seconds)
        for _ in range(3660):  # ten years of days: a limit never runs longer
            if at.hour == at.minute == at.second == at.microsecond == 0:
                # A whole day ahead: skipped at once when the time left runs past it. Whole
                # seconds come off a float exactly, so this is the loop below, day by day.
                whole_day = self._whole(day)
                if left > whole_day and whole_day.is_integer():
                    left -= whole_day
                    day += dt.timedelta(days=1)
                    at = dt.datetime.combine(day, dt.time(0), self.tz)
                    continue
            for begin, end, whole in self._working(day):
                if end <= at:
                    continue
                span = whole if begin >= at else (end - at).total_seconds()
                if left <= span:
                    return (max(begin, at) + dt.timedelta(seconds=left)).astimezone(dt.UTC)
                left -= span
            day += dt.timedelta(days=1)
            at = dt.datetime.combine(day, dt.time(0), self.tz)
        raise ValueError("a limit longer than ten years")

    def add_working_hours(self, start: dt.datetime, hours: float) -> dt.datetime:
        return self.add_working_seconds(start, hours * 3600)

    def working_seconds_between(self, a: dt.datetime, b: dt.datetime) -> float:
        """Working time from A to B (negative when B is before A)."""
        if b < a:
            return -self.working_seconds_between(b, a)
        a_l, b_l = self.local(a), self.local(b)
        total = 0.0
        first = a_l.date()
        last = b_l.date()
        for day in (first, last) if last > first else (first,):
            for begin, end, _ in self._working(day):
                lo, hi = max(begin, a_l), min(end, b_l)
                if hi > lo:
                    total += (hi - lo).total_seconds()
        if last > first:
            # The days between count in full (whole seconds: the same sum in any order).
            total += self._whole_between(first, last)
        return total


@lru_cache(maxsize=32)
def calendar_for(spec: CalendarSpec, tz: str) -> WorkCalendar:
    return WorkCalendar(spec, tz)


# calendar_of()'s cache: (id of the spec, hours, tz) -> (spec, calendar).
# The spec is kept so that its id is not reused while the entry lives.
_of_spec: dict[tuple[int, str, str], tuple[CalendarSpec, WorkCalendar]] = {}


def calendar_of(spec: CalendarSpec, tz: str, hours: str = "") -> WorkCalendar:
    """calendar_for(with_hours(SPEC, HOURS), TZ), found by the spec object's identity: hashing a
    spec (every holiday of the file) on each firing cost more than the calendar's own work."""
    key = (id(spec), hours, tz)
    hit = _of_spec.get(key)
    if hit is not None and hit[0] is spec:
        return hit[1]
    calendar = calendar_for(with_hours(spec, hours), tz)
    if len(_of_spec) >= 64:  # specs come from the registry's cache: a handful per process
        _of_spec.clear()
    _of_spec[key] = (spec, calendar)
    return calendar


def clear_caches() -> None:
    """Forget every calendar built (tests: a new process's first look at a year)."""
    calendar_for.cache_clear()
    _of_spec.clear()


class RoundTheClock:
    """Clock time, round the clock (24×7): the time of urgent (紧急) and critical (特急) cases.

    It answers what WorkCalendar answers, so that a stage's limit, its light, a pause for the
    applicant and an extension run on the case's own clock; LIMITS are the case's clock limits
    (response_min, report_min, handling_h)."""

    def __init__(self, calendar: WorkCalendar, urgency: str, limits: dict[str, int]):
        self.calendar = calendar
        self.urgency = urgency
        self.limits = limits
        self.tz = calendar.tz

    def local(self, at: dt.datetime) -> dt.datetime:
        return at.astimezone(self.tz)

    def is_workday(self, day: dt.date) -> bool:
        return True

    def add_working_seconds(self, start: dt.datetime, seconds: float) -> dt.datetime:
        return (start + dt.timedelta(seconds=max(0.0, seconds))).astimezone(dt.UTC)

    def add_working_hours(self, start: dt.datetime, hours: float) -> dt.datetime:
        return self.add_working_seconds(start, hours * 3600)

    def add_working_days(self, start: dt.datetime, days: int) -> dt.datetime:
        # An extension of N days on a clock-time case: N whole days (24 h each).
        return self.add_working_seconds(start, days * 86400)

    def working_seconds_between(self, a: dt.datetime, b: dt.datetime) -> float:
        return (b - a).total_seconds()

    def stage_due(self, kind: str, start: dt.datetime) -> dt.datetime:
        """The deadline of a stage begun at START: KIND is response, report or handling."""
        if kind == "handling":
            return self.add_working_hours(start, self.limits["handling_h"])
        return self.add_working_seconds(start, 60 * self.limits[f"{kind}_min"])


Clock = WorkCalendar | RoundTheClock


def case_clock(calendar: WorkCalendar, urgency: str | None, limits: dict[str, int] | None) -> Clock:
    """The clock a case runs on: working time when normal, clock time when urgent or critical."""
    if urgency in (None, "normal") or limits is None:
        return calendar
    return RoundTheClock(calendar, urgency, limits)
