"""Appraisal metrics per unit and period, aggregated in SQL from the trail alone.

Every metric is one aggregate query over trail events: the database counts and lists the case
ids; Python only puts the rows together. Which events count for a period: those with
``seq <= last_seq`` (the trail as it stood when the record was computed) and ``at`` in
[start, end) of the period in STREETFLOW_TIMEZONE. docs/auditors/appraisal.md defines each metric."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    ColumnElement,
    CompoundSelect,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased

from workflow.audit.chain import format_at
from workflow.errors import InvalidInput
from workflow.inputs import FIRST_PERIOD_YEAR, LAST_YEAR
from workflow.spec.scheme import ALL_METRICS, COUNT_METRICS
from workflow.store.models import TrailEvent

# Triggers that hand a case on to another unit (what a send-back undoes). Not the whistle: the
# street keeps command of a whistled case, and a department sending work back is no mark
# against the street that called it.
HAND_ON = ("forward", "dispatch")
# Events that end a timed stage: a case's transition, or a task's report or done (a called
# unit's own response and work, counted for that unit).
LEAVING = ("case.transition", "task.reported", "task.done")


@dataclass(frozen=True)
class Window:
    """The trail events that count for a period."""

    period: str
    start: dt.datetime
    end: dt.datetime
    last_seq: int


def period_bounds(period: str, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a YYYY-MM period in TIMEZONE, as UTC instants."""
    try:
        year, month = (int(p) for p in period.split("-"))
        if len(period) != 7 or not 1 <= month <= 12:
            raise ValueError
    except ValueError:
        raise InvalidInput(
            f"a period is a month like 2026-11, not {period!r}",
            {"period": ["YYYY-MM"]},
            code="period_form",
            params={"period": period},
        ) from None
    if not FIRST_PERIOD_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(
            f"a period lies in the years {FIRST_PERIOD_YEAR} to {LAST_YEAR}, not {period!r}",
            {"period": [f"a month of {FIRST_PERIOD_YEAR}-01 to {LAST_YEAR}-12"]},
            code="period_years",
            params={"first": FIRST_PERIOD_YEAR, "last": LAST_YEAR, "period": period},
        )
    tz = ZoneInfo(timezone)
    start = dt.datetime(year, month, 1, tzinfo=tz)
    end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


# ---------------------------------------------------------------- JSON fields of an event


class _Parsed(ColumnElement[Any]):
    """An event's data parsed once: PostgreSQL's json type is parsed again at every ->> on it
    (five per event in a stage's exit), its jsonb once; SQLite reads the text either way."""

    # Not cached: the cache key would not tell one event alias's data from another's (a month's
    # queries compile once per computation anyway).
    inherit_cache = False

    def __init__(self, data: Any) -> None:
        self.data = data
        self.type = data.type


@compiles(_Parsed)
def _parsed_default(el: _Parsed, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(el.data, **kw))


@compiles(_Parsed, "postgresql")
def _parsed_postgresql(el: _Parsed, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(el.data, **kw)} AS JSONB)"


def _fenced(q: Any) -> Any:
    """Q as a subquery PostgreSQL does not merge into the query around it (OFFSET 0), so that the
    JSON tests made on its rows outside are not pushed back into its scan; SQLite's plan is
    left as it was (its own fence, a co-routine, made the stage exits slower there)."""
    return q.suffix_with("OFFSET 0", dialect="postgresql")


def _text(ev: Any, *path: str) -> ColumnElement[str]:
    return ev.data[path].as_string()


def _flag(ev: Any, *path: str) -> ColumnElement[bool]:
    return ev.data[path].as_boolean()


def _counted(ev: Any, w: Window) -> ColumnElement[bool]:
    return and_(ev.seq <= w.last_seq, ev.at >= w.start, ev.at < w.end)


def _known_by_end(ev: Any, w: Window) -> ColumnElement[bool]:
    """A later event that had happened by the period's end (for outcomes of counted events)."""
    return and_(ev.seq <= w.last_seq, ev.at < w.end)


def _ids(expr: ColumnElement[Any]) -> ColumnElement[str]:
    return func.aggregate_strings(cast(expr, String), ",")


def _rate(base: Any, ok: ColumnElement[bool] | Any, *by: Any) -> Select[Any]:
    """Per unit: denominator, numerator and the case ids of each, from a subquery of
    (unit, case_id, ok) rows; per BY too (a `metric` column: one query, several metrics)."""
    return select(
        *by,
        base.c.unit,
        func.count().label("den"),
        func.sum(case((ok, 1), else_=0)).label("num"),
        _ids(base.c.case_id).label("den_ids"),
        _ids(case((ok, base.c.case_id))).label("num_ids"),
    ).group_by(*by, base.c.unit)


# A stage's limit kind and the metric its exits count for.
STAGE_LIMITS = {"response": "response_rate", "days": "on_time_rate"}


def _left_stage(w: Window, limits: dict[str, str], dialect: str = "sqlite") -> Select[Any]:
    """Stage exits in the window of stages with a limit of a kind in LIMITS; ok = not late.
    Rows per (metric, unit): the window's exits are read (and their data parsed) once for both
    the response and the on-time rate."""
    e = aliased(TrailEvent)
    if dialect == "postgresql":
        # Each exit's data parsed once, in a subquery beside its row, and tested after: the
        # exits are aggregated as they are read (by hash), not gathered and sorted first.
        parsed = _fenced(select(_Parsed(e.data).label("data"))).lateral()
        data: Any = parsed.c.data
        case_id: Any = e.case_id
        scan = [e.action.in_(LEAVING), _counted(e, w)]
    else:
        # The window's exits with their data parsed once, read after.
        left = _fenced(
            select(e.case_id, _Parsed(e.data).label("data")).where(
                e.action.in_(LEAVING), _counted(e, w)
            )
        ).subquery()
        data, case_id, scan = left.c.data, left.c.case_id, []
    limit = data["left", "limit"].as_string()
    rows = select(
        case(*((limit == k, literal(m)) for k, m in limits.items())).label("metric"),
        data["left", "holder"].as_string().label("unit"),
        case_id.label("case_id"),
        not_(data["left", "late"].as_boolean()).label("ok"),
    )
    if dialect == "postgresql":
        rows = rows.select_from(e).join(parsed, true())
    base = rows.where(
        *scan,
        limit.in_(list(limits)),
        data["left", "due_at"].as_string().is_not(None),
        # Pausing for the applicant does not end the stage: it goes on with its time left.
        data["paused"].as_boolean().is_(None),
    ).subquery()
    return _rate(base, base.c.ok, base.c.metric)


def stage_rates(w: Window, dialect: str = "sqlite") -> Select[Any]:
    """The response rate and the on-time rate (rows per metric and unit)."""
    return _left_stage(w, STAGE_LIMITS, dialect)


def response_rate(w: Window) -> Select[Any]:
    return _left_stage(w, {"response": "response_rate"})


def on_time_rate(w: Window) -> Select[Any]:
    return _left_stage(w, {"days": "on_time_rate"})


def resolution_rate(w: Window) -> Select[Any]:
    """Outcomes of resolutions (confirm or reopen leaving `resolved`) in the window, attributed
    to the unit whose `resolve` came last before the outcome; ok = confirmed."""
    o, r = aliased(TrailEvent), aliased(TrailEvent)
    resolver = (
        select(r.from_holder)
        .where(r.case_id == o.case_id, r.trigger == "resolve", r.seq < o.seq)
        .order_by(r.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    base = (
        select(
            resolver.label("unit"),
            o.case_id.label("case_id"),
            (o.trigger == "confirm").label("ok"),
        )
        .where(
            o.action == "case.transition",
            o.from_state == "resolved",
            o.trigger.in_(("confirm", "reopen")),
            _counted(o, w),
        )
        .subquery()
    )
    return _rate(base, base.c.ok)


def satisfaction_rate(w: Window) -> Select[Any]:
    """Ratings in the window, counted for every unit that held a stage of the rated case;
    ok = a score of 4 or 5."""
    rt, t = aliased(TrailEvent), aliased(TrailEvent)
    holders = (
        select(t.case_id, t.from_holder)
        .where(
            t.action == "case.transition",
            t.from_holder.is_not(None),
            t.seq <= w.last_seq,
        )
        .distinct()
        .subquery()
    )
    base = (
        select(
            holders.c.from_holder.label("unit"),
            rt.case_id.label("case_id"),
            (rt.data["score"].as_integer() >= 4).label("ok"),
        )
        .join(holders, holders.c.case_id == rt.case_id)
        .where(rt.action == "case.rated", _counted(rt, w))
        .subquery()
    )
    return _rate(base, base.c.ok)


# ---------------------------------------------------------------- the resident's answers
# Schemes that state `credit` measure resolution and satisfaction by the resident's answers
# (feedback.given events); older schemes (their frozen records) keep the queries above.
SATISFIED = 4  # 满意 and 非常满意


def _answers(w: Window, credit: str) -> Any:
    """(unit, case_id, level, resolved) of each case's last answer in the window, not taken
    out by an appeal upheld by the trail's end; for the 承办单位, and for the commanding street
    where CREDIT says so."""
    g, a = aliased(TrailEvent), aliased(TrailEvent)
    # The answers taken out, listed once (not looked for again for every answer: at a million
    # cases that was minutes). A NULL never equals anything: no NULL in the list, and an answer
    # without a number is never taken out.
    upheld = select(a.data["rating"].as_integer()).where(
        a.action == "feedback.appeal_decided",
        # `seq > 0` spelled as a literal, the condition of the actions' partial index: the few
        # appeals are found by their action, not by reading the whole trail up to last_seq.
        a.seq > literal_column("0"),
        a.data["rating"].as_integer().is_not(None),
        _flag(a, "uphold"),
        a.seq <= w.last_seq,
    )
    feedback = g.data["feedback"].as_integer()
    matter = func.coalesce(g.data["merged_into"].as_integer(), g.case_id)
    counted = (
        select(
            g.seq.label("seq"),
            # 合并: a merged case's resident rates the master's outcome; one answer a matter.
            matter.label("case_id"),
            g.data["level"].as_integer().label("level"),
            _flag(g, "resolved").label("resolved"),
            _text(g, "handler").label("handler"),
            _text(g, "commander").label("commander"),
            # The answers of a matter, latest first (in one pass, not a search per answer).
            func.row_number().over(partition_by=matter, order_by=g.seq.desc()).label("nth"),
        )
        .where(
            g.action == "feedback.given",
            _counted(g, w),
            or_(feedback.is_(None), feedback.not_in(upheld.scalar_subquery())),
        )
        .subquery()
    )
    # The last answer of each matter (one without a case is a matter of its own).
    # A CTE: read once where both the handler and the commander are credited.
    last = select(counted).where(or_(counted.c.nth == 1, counted.c.case_id.is_(None))).cte()
    rows: Any = select(
        last.c.handler.label("unit"), last.c.case_id, last.c.level, last.c.resolved
    ).where(last.c.handler.is_not(None))
    if credit == "handler_and_commander":
        rows = rows.union_all(
            select(
                last.c.commander.label("unit"), last.c.case_id, last.c.level, last.c.resolved
            ).where(last.c.commander.is_not(None))
        )
    return rows.subquery()


def answered_resolution_rate(w: Window, credit: str) -> Select[Any]:
    """解决率: the resident's answers in the window; ok = 已解决."""
    base = _answers(w, credit)
    return _rate(base, base.c.resolved)


def answered_satisfaction_rate(w: Window, credit: str) -> Select[Any]:
    """满意率: the resident's answers in the window; ok = 满意 or 非常满意."""
    base = _answers(w, credit)
    return _rate(base, base.c.level >= SATISFIED)


def answered_rates(w: Window, credit: str) -> CompoundSelect:
    """解决率 and 满意率 from one reading of the answers (rows per metric and unit), where both
    credit the same units."""
    base = _answers(w, credit).element.cte()
    resolution = _rate(base, base.c.resolved).add_columns(
        literal_column("'resolution_rate'").label("metric")
    )
    satisfaction = _rate(base, base.c.level >= SATISFIED).add_columns(
        literal_column("'satisfaction_rate'").label("metric")
    )
    return resolution.union_all(satisfaction)


def send_back_rate(w: Window) -> Select[Any]:
    """Cases a unit handed on (forward, dispatch; a whistle asks for a report, it hands nothing
    on) in the window; ok (which here means counted against it) = the case was sent back to that
    unit afterwards, by the period's end."""
    f, s = aliased(TrailEvent), aliased(TrailEvent)
    sent_back = exists().where(
        s.case_id == f.case_id,
        s.action == "case.transition",
        s.trigger == "send_back",
        s.to_holder == f.from_holder,
        s.seq > f.seq,
        _known_by_end(s, w),
    )
    per_event = (
        select(
            f.from_holder.label("unit"),
            f.case_id.label("case_id"),
            case((sent_back, 1), else_=0).label("back"),
        )
        .where(f.action == "case.transition", f.trigger.in_(HAND_ON), _counted(f, w))
        .subquery()
    )
    # One row per (unit, case): a case forwarded twice by the same unit is one case.
    base = (
        select(
            per_event.c.unit,
            per_event.c.case_id,
            func.max(per_event.c.back).label("back"),
        )
        .group_by(per_event.c.unit, per_event.c.case_id)
        .subquery()
    )
    return _rate(base, base.c.back == 1)


def whistle_report_rate(w: Window) -> Select[Any]:
    """Whistles received by a department in the window; ok = its report followed within the
    response limit, by the period's end."""
    wh, rp, w2 = aliased(TrailEvent), aliased(TrailEvent), aliased(TrailEvent)
    reported_in_time = exists().where(
        rp.case_id == wh.case_id,
        rp.trigger == "report",
        rp.from_state == "awaiting_report",
        rp.seq > wh.seq,
        _known_by_end(rp, w),
        not_(_flag(rp, "left", "late")),
        # the report answers this whistle, not a later one
        ~exists()
        .where(w2.case_id == wh.case_id, w2.trigger == "whistle", w2.seq > wh.seq, w2.seq < rp.seq)
        .correlate(wh, rp),
    )
    # A joint whistle: each task opened in the window, answered by its own report in time.
    op, tr = aliased(TrailEvent), aliased(TrailEvent)
    task_reported_in_time = exists().where(
        tr.case_id == op.case_id,
        tr.action == "task.reported",
        _text(tr, "task") == _text(op, "task"),
        _known_by_end(tr, w),
        not_(_flag(tr, "left", "late")),
    )
    base = (
        select(
            wh.to_holder.label("unit"),
            wh.case_id.label("case_id"),
            case((reported_in_time, 1), else_=0).label("ok"),
        )
        .where(wh.action == "case.transition", wh.trigger == "whistle", _counted(wh, w))
        .where(wh.to_holder != wh.from_holder)  # a joint whistle: counted per task below
        .union_all(
            select(
                op.to_holder.label("unit"),
                op.case_id.label("case_id"),
                case((task_reported_in_time, 1), else_=0).label("ok"),
            ).where(
                op.action == "task.opened",
                _text(op, "status") == "awaiting_report",
                _counted(op, w),
            )
        )
        .subquery()
    )
    return _rate(base, base.c.ok == 1)


def return_refusal_rate(w: Window) -> Select[Any]:
    """退单驳回率: returns a unit asked for that were decided in the window; ok (which here means
    counted against it) = refused."""
    e = aliased(TrailEvent)
    base = (
        select(
            _text(e, "requester").label("unit"),
            e.case_id.label("case_id"),
            (e.action == "return.refused").label("refused"),
        )
        .where(e.action.in_(("return.approved", "return.refused")), _counted(e, w))
        .subquery()
    )
    return _rate(base, base.c.refused)


def returns_at_fault(w: Window) -> Select[Any]:
    e = aliased(TrailEvent)
    base = (
        select(_text(e, "at_fault").label("unit"), e.case_id.label("case_id"))
        .where(e.action == "return.approved", _counted(e, w), _text(e, "at_fault").is_not(None))
        .subquery()
    )
    return _count(base)


def _ladder(action: str) -> Callable[[Window], Select[Any]]:
    def query(w: Window) -> Select[Any]:
        e = aliased(TrailEvent)
        base = (
            select(_text(e, "holder").label("unit"), e.case_id.label("case_id"))
            .where(e.action == action, _counted(e, w))
            .subquery()
        )
        return _count(base)

    return query


def _count(rows: Any) -> Select[Any]:
    """Per unit: the number of distinct cases and their ids (SQLite's group_concat takes no
    DISTINCT with a separator, so the rows are made distinct first)."""
    base = select(rows.c.unit, rows.c.case_id).distinct().subquery()
    return select(
        base.c.unit,
        func.count().label("num"),
        _ids(base.c.case_id).label("num_ids"),
    ).group_by(base.c.unit)


CLOCK_ACTIONS = (
    "case.opened",
    "case.transition",
    "case.migrated",
    "extension.approved",
    "case.urgency_changed",
    # The dispatch centre's: leaving it starts the clocks; a merge ends them.
    "case.dispatched",
    "case.answered",
    "case.merged",
)
# A case handed on: a transition, or a dispatch from the centre.
HANDED = ("case.opened", "case.transition", "case.dispatched")


class _InList(ColumnElement[bool]):
    """COLUMN IN (the rows of QUERY); on PostgreSQL `= ANY(ARRAY(QUERY))`: the list is made
    first, then looked up in COLUMN's index in its order (a semi-join's plan would be chosen by
    an estimate PostgreSQL cannot make of an aggregate's rows)."""

    inherit_cache = False
    type = Boolean()

    def __init__(self, column: Any, query: Select[Any]) -> None:
        self.column = column
        self.query = query


@compiles(_InList)
def _in_list_default(el: _InList, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(el.column.in_(el.query), **kw))


@compiles(_InList, "postgresql")
def _in_list_postgresql(el: _InList, compiler: Any, **kw: Any) -> str:
    column = compiler.process(el.column, **kw)
    return f"{column} = ANY(ARRAY{compiler.process(el.query.scalar_subquery(), **kw)})"


def open_overdue(w: Window, dialect: str = "sqlite") -> Select[Any]:
    """Cases whose last state at the period's end is a working stage past its limit (not paused
    for the applicant), counted for the stage's holder."""
    e = aliased(TrailEvent)
    # Every event that sets a stage's limit: an approved extension or a move to another route
    # version sets it anew without a transition.
    clock = (e.action.in_(CLOCK_ACTIONS), _known_by_end(e, w))
    cur = aliased(TrailEvent)
    if dialect == "postgresql":
        # Each case's last clock event with its holder, from the cases' index alone (its
        # to_holder included, migration 0034_appr9); only the events of cases still held are
        # read, by their seq (not every event's row: most cases are closed by then).
        last = (
            select(e.seq, e.to_holder)
            .where(*clock)
            .ext(distinct_on(e.case_id))
            .order_by(e.case_id.desc(), e.seq.desc())
            .subquery()
        )
        held = select(last.c.seq).where(last.c.to_holder.is_not(None))
        events = select(
            cur.to_holder.label("unit"),
            cur.case_id.label("case_id"),
            _Parsed(cur.data).label("data"),
        ).where(_InList(cur.seq, held), cur.to_holder.is_not(None))
    else:
        last_q = (
            select(e.case_id, func.max(e.seq).label("seq"))
            .where(*clock)
            .group_by(e.case_id)
            .subquery()
        )
        events = (
            select(
                cur.to_holder.label("unit"),
                cur.case_id.label("case_id"),
                _Parsed(cur.data).label("data"),
            )
            .join(last_q, last_q.c.seq == cur.seq)
            .where(cur.to_holder.is_not(None))
        )
    # Each case's last clock event first, its data read after: PostgreSQL would otherwise test
    # the JSON in a scan of every event (14 s against 5-6 s at a million cases).
    last_event = _fenced(events).subquery()
    due = last_event.c.data["stage_due_at"].as_string()
    base = (
        select(last_event.c.unit, last_event.c.case_id)
        .where(
            due.is_not(None),
            due < format_at(w.end),
            last_event.c.data["paused"].as_boolean().is_(None),
        )
        .subquery()
    )
    return _count(base)


def received(w: Window) -> Select[Any]:
    """Cases that came into a unit's hands from elsewhere (opened there, handed or dispatched
    to it); a case merged into another by the period's end is the other's matter, not counted
    again."""
    e, m = aliased(TrailEvent), aliased(TrailEvent)
    merged = exists().where(m.case_id == e.case_id, m.action == "case.merged", _known_by_end(m, w))
    base = (
        select(e.to_holder.label("unit"), e.case_id.label("case_id"))
        .where(
            e.action.in_(HANDED),
            _counted(e, w),
            e.to_holder.is_not(None),
            or_(e.from_holder.is_(None), e.from_holder != e.to_holder),
            not_(merged),
        )
        .subquery()
    )
    return _count(base)


def completed(w: Window) -> Select[Any]:
    """Cases a unit brought to a final state (completed, approved, closed, settled, refused, ...,
    a question answered at the dispatch centre); not a merge: the master's end counts."""
    e = aliased(TrailEvent)
    base = (
        select(e.from_holder.label("unit"), e.case_id.label("case_id"))
        .where(
            e.action.in_(("case.transition", "case.answered")),
            _counted(e, w),
            e.to_holder.is_(None),
            e.from_holder.is_not(None),
        )
        .subquery()
    )
    return _count(base)


QUERIES = {
    "response_rate": response_rate,
    "on_time_rate": on_time_rate,
    "resolution_rate": resolution_rate,
    "satisfaction_rate": satisfaction_rate,
    "send_back_rate": send_back_rate,
    "whistle_report_rate": whistle_report_rate,
    "open_overdue": open_overdue,
    "received": received,
    "completed": completed,
    "return_refusal_rate": return_refusal_rate,
    "returns_at_fault": returns_at_fault,
    "reminders": _ladder("supervision.reminded"),
    "supervisions": _ladder("supervision.raised"),
    "listed_supervisions": _ladder("supervision.listed"),
}


# PostgreSQL's memory for each sort or hash of the appraisal's queries (its default, 4MB, sends
# the month's sorts to disk at 200,000 cases).
WORK_MEM = "64MB"


def queries(
    w: Window, credit: dict[str, str] | None = None, dialect: str = "sqlite"
) -> dict[str, Select[Any] | CompoundSelect]:
    """The period's queries, by name: a metric's, or (`stage_rates`, `answered_rates`) one for
    several metrics read in one pass, whose rows name their metric in a `metric` column. With
    CREDIT (metric -> who is credited), resolution and satisfaction are the resident's answers;
    without, the older measures of frozen records."""
    joint = {"stage_rates": stage_rates(w, dialect)}
    out: dict[str, Select[Any] | CompoundSelect] = {}
    for name, query in QUERIES.items():
        if name in STAGE_LIMITS.values():
            out.update(joint)  # in the first's place
        elif credit is not None and name in ("resolution_rate", "satisfaction_rate"):
            if credit["resolution_rate"] == credit["satisfaction_rate"]:
                out["answered_rates"] = answered_rates(w, credit[name])
            elif name == "resolution_rate":
                out[name] = answered_resolution_rate(w, credit[name])
            else:
                out[name] = answered_satisfaction_rate(w, credit[name])
        elif name == "open_overdue":
            out[name] = open_overdue(w, dialect)
        else:
            out[name] = query(w)
    return out


def _split(ids: str | None) -> list[int]:
    return sorted(map(int, ids.split(","))) if ids else []


def empty_metric(name: str) -> dict[str, Any]:
    if name in COUNT_METRICS:
        return {"value": 0, "numerator": 0, "numerator_cases": []}
    return {
        "value": None,
        "numerator": 0,
        "denominator": 0,
        "numerator_cases": [],
        "denominator_cases": [],
    }


def measure(
    session: Session,
    w: Window,
    units: Iterable[str],
    credit: dict[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """unit -> metric -> {value, numerator, denominator, numerator_cases, denominator_cases}.
    With CREDIT (metric -> who is credited), resolution and satisfaction are the resident's
    answers; without, the older measures of frozen records."""
    wanted = set(units)
    out: dict[str, dict[str, Any]] = {u: {m: empty_metric(m) for m in ALL_METRICS} for u in wanted}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # The month's sorts and hashes (a million cases' exits, last events, case ids) in memory
        # rather than spilled to disk, for these queries only (docs/deployment.md).
        was = session.execute(text("SELECT current_setting('work_mem')")).scalar_one()
        _work_mem(session, WORK_MEM)
    for query_name, query in queries(w, credit, dialect).items():
        for row in session.execute(query).mappings():
            name = row.get("metric", query_name)
            unit = row["unit"]
            if unit not in wanted:
                continue
            num = int(row["num"] or 0)
            if name in COUNT_METRICS:
                out[unit][name] = {
                    "value": num,
                    "numerator": num,
                    "numerator_cases": _split(row["num_ids"]),
                }
                continue
            den = int(row["den"])
            out[unit][name] = {
                "value": round(num / den, 6) if den else None,
                "numerator": num,
                "denominator": den,
                "numerator_cases": _split(row["num_ids"]),
                "denominator_cases": _split(row["den_ids"]),
            }
    if dialect == "postgresql":
        # As it was for the rest of the transaction (a failed query's rollback ends it anyway).
        _work_mem(session, was)
    return out


def _work_mem(session: Session, mem: str) -> None:
    session.execute(text("SELECT set_config('work_mem', :mem, true)"), {"mem": mem})


def cases_of(metrics: dict[str, Any]) -> int:
    """The distinct cases behind a unit's metrics in a period: what the scheme's minimum counts."""
    ids: set[int] = set()
    for m in metrics.values():
        ids.update(m.get("numerator_cases", ()))
        ids.update(m.get("denominator_cases", ()))
    return len(ids)
