"""Stage time limits on a case: set on entering a state, paused while the applicant holds it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from workflow.instants import iso
from workflow.runtime.clock import Clock, RoundTheClock
from workflow.spec.model import TIER_LIMIT_FIELD, ItemSpec, RouteSpec, StateSpec
from workflow.store.models import Case

YELLOW_AT = 0.75


def stage_limit_due(
    state: StateSpec, item: ItemSpec, calendar: Clock, start: dt.datetime
) -> dt.datetime | None:
    """The deadline of a stage of STATE begun at START, from the item's row for its tier."""
    if state.final or state.tier in (None, "applicant"):
        return None
    if isinstance(calendar, RoundTheClock):
        # Clock time: a department's response is its report after a whistle (报到).
        if state.limit == "response":
            return calendar.stage_due("report" if state.tier == "department" else "response", start)
        return calendar.stage_due("handling", start) if item.day_limit(state.tier or "") else None
    if state.limit == "response":
        if item.response_limit_h is None:
            return None
        return calendar.add_working_hours(start, item.response_limit_h)
    days = item.day_limit(state.tier or "")
    return calendar.add_limit(start, days, item.limit_unit) if days else None


def case_limit_days(route: RouteSpec, item: ItemSpec) -> int:
    """The whole case's limit: the day limits of the tiers its route passes through, added (in
    the item's limit unit)."""
    fields = {TIER_LIMIT_FIELD[t] for t in route.tiers_used()}
    return sum(getattr(item, f) or 0 for f in fields)


def case_due(route: RouteSpec, item: ItemSpec, calendar: Clock, start: dt.datetime) -> dt.datetime:
    """The whole case's deadline: case_limit_days counted in the item's limit unit; in clock
    time (urgent, critical) the handling limit of each tier it passes."""
    if isinstance(calendar, RoundTheClock):
        fields = {TIER_LIMIT_FIELD[t] for t in route.tiers_used()}
        tiers = sum(1 for f in fields if getattr(item, f, None))
        return calendar.add_working_hours(start, calendar.limits["handling_h"] * max(1, tiers))
    return calendar.add_limit(start, case_limit_days(route, item), item.limit_unit)


def yellow_at(calendar: Clock, now: dt.datetime, left_s: float, limit_s: float) -> dt.datetime:
    """When a stage with LEFT_S working seconds to go at NOW, out of LIMIT_S, turns yellow."""
    before_yellow = left_s - (1 - YELLOW_AT) * limit_s
    return now if before_yellow <= 0 else calendar.add_working_seconds(now, before_yellow)


def light_of(case: Case, now: dt.datetime, calendar: Clock | None = None) -> str:
    """green, yellow (75% of the stage's working time used), red (past it), none (no clock)."""
    if case.stage_due_at is None or case.paused_at is not None or case.tier is None:
        return "none"
    if now > case.stage_due_at:
        return "red"
    if case.stage_yellow_at is None and calendar is not None:
        # A row from before stage_yellow_at existed: measure it the long way.
        total = calendar.working_seconds_between(case.stage_started_at, case.stage_due_at)
        used = calendar.working_seconds_between(case.stage_started_at, now)
        return "yellow" if total > 0 and used >= YELLOW_AT * total else "green"
    if case.stage_yellow_at is not None and now >= case.stage_yellow_at:
        return "yellow"
    return "green"


def leave_stage(case: Case, now: dt.datetime) -> dict[str, Any] | None:
    """What the trail says of the stage being left: its limit and whether it was kept."""
    if case.paused_at is not None or case.tier is None:
        return None
    return {
        "state": case.state,
        "holder": case.holder,
        "started_at": iso(case.stage_started_at),
        "due_at": iso(case.stage_due_at),
        "late": bool(case.stage_due_at and now > case.stage_due_at),
    }


def enter_stage(
    case: Case,
    state: StateSpec,
    item: ItemSpec,
    calendar: Clock,
    now: dt.datetime,
    *,
    seq: int | None = None,
) -> None:
    """Set the case's clock for the state it has just entered; SEQ is the trail event that
    enters it. A pause (an applicant state) keeps the stage: its sequence, start and limit."""
    if state.final:
        _stop_for_good(case, now, seq)
        return
    if state.tier == "applicant":
        _pause(case, calendar, now)
        return
    if case.paused_at is not None:
        # Resumed: the same stage goes on with the time it had left, and so does the case.
        left = case.stage_left_s
        if left is not None:
            case.stage_due_at = calendar.add_working_seconds(now, max(0, left))
            limit = case.stage_limit_s if case.stage_limit_s is not None else max(0, left)
            case.stage_yellow_at = yellow_at(calendar, now, left, limit)
        else:
            case.stage_due_at = case.stage_yellow_at = None
        if case.case_left_s is not None:
            case.due_at = calendar.add_working_seconds(now, max(0, case.case_left_s))
        case.paused_at = None
        case.stage_left_s = case.case_left_s = None
    else:
        case.stage_started_at = now
        case.stage_seq = seq
        due = stage_limit_due(state, item, calendar, now)
        case.stage_due_at = due
        if due is None:
            case.stage_limit_s = None
            case.stage_yellow_at = None
        else:
            limit = int(calendar.working_seconds_between(now, due))
            case.stage_limit_s = limit
            case.stage_yellow_at = yellow_at(calendar, now, limit, limit)
    case.light = light_of(case, now, calendar)


def _stop_for_good(case: Case, now: dt.datetime, seq: int | None) -> None:
    """A final state: the case is closed, no clock runs."""
    case.stage_started_at = now
    case.stage_seq = seq
    case.stage_due_at = case.stage_yellow_at = None
    case.stage_limit_s = None
    case.paused_at = None
    case.stage_left_s = case.case_left_s = None
    case.closed_at = now
    case.light = "none"


def _pause(case: Case, calendar: Clock, now: dt.datetime) -> None:
    """The clock stops: keep the working time left on the stage and on the whole case."""
    if case.paused_at is None:
        case.paused_at = now
        case.stage_left_s = (
            int(calendar.working_seconds_between(now, case.stage_due_at))
            if case.stage_due_at
            else None
        )
        case.case_left_s = (
            int(calendar.working_seconds_between(now, case.due_at)) if case.due_at else None
        )
    case.light = "none"


def clock_data(case: Case) -> dict[str, Any]:
    return {"stage_due_at": iso(case.stage_due_at), "due_at": iso(case.due_at)}
