"""Time limits at work: the sweep (lights, supervisions, timeouts) and extensions (延期).

Every function here writes in the caller's transaction and starts with the trail lock, like the
engine's. Lights, supervisions and extensions are not transitions: they change a case's row with
a Core UPDATE, so its optimistic-lock version keeps counting transitions only."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter, defaultdict, namedtuple
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from workflow.actors import SYSTEM, Actor
from workflow.audit import chain
from workflow.audit.checkpoints import checkpoint_if_due
from workflow.catalog import registry
from workflow.catalog.registry import UnitIndex
from workflow.errors import Conflict, InvalidInput, NotAllowed, NotFound, NotHolder, WorkflowError
from workflow.inputs import check_text
from workflow.instants import utcnow
from workflow.notify import lights as light_news
from workflow.runtime import engine, returns, stages, tasks
from workflow.runtime.clock import RoundTheClock
from workflow.runtime.holders import supervising_units
from workflow.spec.model import TIER_ROLES, RouteSpec
from workflow.spec.practice import practice
from workflow.store import direct, writer_lock
from workflow.store.models import (
    Case,
    Extension,
    Reminder,
    Supervision,
    SweepMark,
    Task,
    TrailEvent,
    TrailHead,
)

log = logging.getLogger(__name__)

MAX_EXTENSION_DAYS = 60
# Who decides on an extension or acknowledges a supervision at the supervising unit.
SUPERVISOR_ROLES = frozenset({"staff", "admin"})
TIMEOUT_REASON = "the time limit passed"


# ---------------------------------------------------------------- the sweep


@dataclass
class SweepResult:
    """What one sweep (or one batch of it) did."""

    checked: int = 0
    yellow: int = 0
    red: int = 0
    supervisions: int = 0
    timeouts: int = 0
    batches: int = 0
    # The ladder's other steps, and the returns' reviews.
    reminders: int = 0
    # The holders' notifications of a light turned yellow or red.
    told: int = 0
    listed: int = 0
    returns_late: int = 0
    returns_lapsed: int = 0
    problems: list[str] = field(default_factory=list)
    # The seq of the chain head signed at the end of the sweep, when a checkpoint was due.
    checkpoint_seq: int | None = None
    # The cases of one batch (not added up: a sweep keeps its own set).
    case_ids: set[int] = field(default_factory=set)
    # How long each batch held the write lock, its commit included (seconds).
    lock_s: list[float] = field(default_factory=list)
    # Of which the COMMIT (on SQLite with synchronous=FULL: the WAL's fsync).
    commit_s: list[float] = field(default_factory=list)

    def add(self, other: SweepResult) -> None:
        self.checked += other.checked
        self.yellow += other.yellow
        self.red += other.red
        self.supervisions += other.supervisions
        self.timeouts += other.timeouts
        self.batches += other.batches
        self.reminders += other.reminders
        self.told += other.told
        self.listed += other.listed
        self.returns_late += other.returns_late
        self.returns_lapsed += other.returns_lapsed
        self.problems += other.problems
        self.lock_s += other.lock_s
        self.commit_s += other.commit_s


def _unsupervised() -> ColumnElement[bool]:
    return ~exists().where(Supervision.case_id == Case.id, Supervision.stage_seq == Case.stage_seq)


def _case_clocked() -> ColumnElement[bool]:
    """A case whose stage has a running clock: what a sweep may have to do something about."""
    return and_(
        Case.paused_at.is_(None),
        Case.tier.is_not(None),
        Case.stage_seq.is_not(None),
        Case.stage_due_at.is_not(None),
    )


def _due_for_sweep(now: dt.datetime) -> ColumnElement[bool]:
    """Cases whose light or supervision is behind NOW: green past yellow, or overdue and not
    yet red or not yet supervised. Everything else is up to date, so a sweep that finds nothing
    is done, and a case the sweep has handled no longer matches (the loop always ends)."""
    return and_(
        _case_clocked(),
        or_(
            and_(Case.light == "green", Case.stage_yellow_at <= now),
            and_(Case.stage_due_at < now, or_(Case.light != "red", _unsupervised())),
        ),
    )


# ---------------------------------------------------------------- what a sweep looks at
# A late stage stays red (and supervised) until the case moves: a city keeps hundreds of
# thousands of them. So a sweep never scans them. It asks the (light, instant) indexes for the
# stages whose light is behind: green past its yellow instant, not red past its deadline; those
# leave the index ranges as the sweep handles them. A red stage without its supervision can only
# come from a change to the case (a firing, an urgency, a migration: each with its trail event),
# so the sweep looks for those among the cases with an event after the trail seq where the last
# complete sweep began (SweepMark), once, when it begins; on the first sweep, among all.

LIGHTS_NOT_RED = ("green", "yellow", "none")
# How long one batch of a sweep raises supervisions for, holding the write lock (seconds).
BATCH_BUDGET_S = 0.05
# How many supervisions are raised together (one executemany each), between budget checks.
RAISE_CHUNK = 50


def _index_parts(model: Any, clocked: ColumnElement[bool], now: dt.datetime) -> list[Any]:
    """(condition, order) per index range of a light behind NOW: each an index range scan."""
    return [
        (
            and_(model.light == "green", model.stage_yellow_at <= now, clocked),
            model.stage_yellow_at,
        ),
        *(
            (and_(model.light == light, model.stage_due_at < now, clocked), model.stage_due_at)
            for light in LIGHTS_NOT_RED
        ),
    ]


def _task_clocked() -> ColumnElement[bool]:
    # The statuses bound one by one, not as one expanding list: the sweep's statements run on
    # SQLite's cursor (store.direct), which binds no expanding list.
    return and_(
        Task.status.in_([literal(x) for x in sorted(tasks.OPEN)]),
        Task.stage_seq.is_not(None),
        Task.stage_due_at.is_not(None),
    )


@dataclass
class Backlog:
    """The red stages without their supervision found when a sweep began (case and task ids),
    handled batch by batch after what the indexes give."""

    cases: list[int] = field(default_factory=list)
    tasks: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.cases) + len(self.tasks)


# The ladder's own events (a sweep writes them by the hundred thousand after a catch-up): none
# changes a case's stage or light, so none can leave a red stage without its supervision.
LADDER_ACTIONS = (
    "supervision.raised",
    "supervision.reminded",
    "supervision.listed",
    "supervision.acknowledged",
    "supervision.answered",
)


def touched_since(session: Session, since_seq: int | dict[int, int]) -> Select[int | None]:
    """The case ids of the events after SINCE_SEQ: a seq (the default partition's), or each
    partition's seq (a partition without one: all its events)."""
    if isinstance(since_seq, int):
        since_seq = {chain.DEFAULT_PARTITION: since_seq}
    heads = list(session.execute(select(TrailHead.id - 1).order_by(TrailHead.id)).scalars())
    if heads == [chain.DEFAULT_PARTITION]:
        return select(TrailEvent.case_id).where(
            TrailEvent.seq > since_seq.get(chain.DEFAULT_PARTITION, 0),
            TrailEvent.action.not_in(LADDER_ACTIONS),
        )
    # Seq order is commit order within a partition only (its head lock): each partition's
    # events after its own mark.
    return select(TrailEvent.case_id).where(
        TrailEvent.action.not_in(LADDER_ACTIONS),
        or_(
            *(and_(TrailEvent.partition == p, TrailEvent.seq > since_seq.get(p, 0)) for p in heads)
        ),
    )


def backlog(session: Session, since_seq: int | dict[int, int] | None) -> Backlog:
    """The red, unsupervised stages among the cases with a trail event after SINCE_SEQ (None:
    among all): a seq (the default partition's), or each partition's seq (a partition without
    one: all its events). Whatever the clock says now: a red light set by a clock ahead of this
    one is measured again by the sweep, not left behind."""
    touched = touched_since(session, since_seq) if since_seq is not None else None
    cases = select(Case.id).where(Case.light == "red", _case_clocked(), _unsupervised())
    task_ids = select(Task.id).where(Task.light == "red", _task_clocked(), _task_unsupervised())
    if touched is not None:
        cases = cases.where(Case.id.in_(touched))
        task_ids = task_ids.where(Task.case_id.in_(touched))
    return Backlog(
        list(session.execute(cases.order_by(Case.id.desc())).scalars()),
        list(session.execute(task_ids.order_by(Task.id.desc())).scalars()),
    )


# Which of the backlog's ids are still red and unsupervised, by model and lock: built once.
_STILL_RED: dict[tuple[Any, bool], direct.Expanding] = {}


def _due_ids(
    session: Session,
    model: Any,
    clocked: ColumnElement[bool],
    unsupervised: ColumnElement[bool],
    now: dt.datetime,
    limit: int,
    late: list[int] | None,
    *,
    lock: bool = True,
    taken: set[int] | None = None,
) -> list[int]:
    """Up to LIMIT ids of MODEL (Case, Task) due at NOW, the indexes' first, then LATE's (taken
    off the list, and added to TAKEN); LATE None: the red unsupervised ones looked for here, all
    of them (no mark). LOCK: locked (PostgreSQL: SKIP LOCKED, so that another sweep takes
    others); a sweep's plan reads without locking and re-checks under the trail lock."""
    ids: dict[int, None] = {}

    def locked(q: Any) -> Any:
        return q.with_for_update(skip_locked=True) if lock else q

    for where, order in _index_parts(model, clocked, now):
        if len(ids) >= limit:
            break
        found = session.execute(
            locked(select(model.id).where(where).order_by(order).limit(limit - len(ids)))
        ).scalars()
        ids.update(dict.fromkeys(found))
    red = and_(model.light == "red", clocked, unsupervised)
    if late is None:
        found = session.execute(
            locked(select(model.id).where(red).order_by(model.id).limit(max(0, limit - len(ids))))
        ).scalars()
        ids.update(dict.fromkeys(found))
    still = _STILL_RED.get((model, lock))
    if still is None:  # (CLOCKED and UNSUPERVISED are MODEL's, the same on every call)
        still = _STILL_RED[(model, lock)] = direct.Expanding(
            lambda member: locked(select(model.id).where(member(model.id), red))
        )
    while late and len(ids) < limit:
        take = late[-(limit - len(ids)) :]
        del late[-len(take) :]
        back = [r[0] for r in still.run(session.connection(), take).tuples()]
        if taken is not None:
            taken.update(back)
        ids.update(dict.fromkeys(back))
    return list(ids)


def pending_count(session: Session, *, now: dt.datetime, late: Backlog | None = None) -> int:
    """How many cases and tasks a sweep at NOW has to look at (for progress; not locked): the
    index ranges' and LATE's (None: every red unsupervised stage counted)."""
    n = 0
    for model, clocked in ((Case, _case_clocked()), (Task, _task_clocked())):
        parts = [where for where, _ in _index_parts(model, clocked, now)]
        # A green stage may be past both its instants: counted once.
        n += session.execute(select(func.count(model.id)).where(or_(*parts[:2]))).scalar_one()
        for where in parts[2:]:
            n += session.execute(select(func.count(model.id)).where(where)).scalar_one()
    return n + len(late if late is not None else backlog(session, None))


def _task_unsupervised() -> ColumnElement[bool]:
    return ~exists().where(
        Supervision.case_id == Task.case_id, Supervision.stage_seq == Task.stage_seq
    )


def raise_task_supervision(
    session: Session, task: Task, *, now: dt.datetime, units: UnitIndex | None = None
) -> Supervision | None:
    """The one supervision of a task's late step (awaiting its report, or its work), or None
    when it exists already: to the unit's supervisor, copied to the commanding unit."""
    assert task.stage_seq is not None and task.stage_due_at is not None
    found = session.execute(
        select(Supervision.id).where(
            Supervision.case_id == task.case_id, Supervision.stage_seq == task.stage_seq
        )
    ).first()
    if found:
        return None
    unit, _ = supervising_units(task.unit, units or registry.units(session))
    late = _Late(
        task.stage_seq,
        task.state,
        task.unit,
        task.stage_due_at,
        unit,
        task.commander,
        task_id=task.id,
        task_status=task.status,
    )
    return _raise(session, task.case_id, late, now)


_cases = cast(Table, Case.__table__)


# Built once (a sweep runs them per chunk: building an IN of a hundred ids costs as much as
# running it).
_SET_LIGHT = direct.Expanding(
    lambda member: update(_cases).where(member(_cases.c.id)).values(light=bindparam("light"))
)


def _set_lights(session: Session, lights: dict[str, list[int]]) -> None:
    """One UPDATE per light (Core: not a transition, so the cases' versions stay; a case held
    in the session keeps the light it was loaded with)."""
    for light, ids in lights.items():
        if ids:
            _SET_LIGHT.run(session.connection(), ids, {"light": light})


def raise_supervision(
    session: Session,
    case: Case,
    *,
    now: dt.datetime,
    units: UnitIndex | None = None,
    checked: bool = False,
) -> Supervision | None:
    """The one supervision of the case's current overdue stage, or None when it exists already
    (CHECKED: the caller knows it does not)."""
    assert case.stage_seq is not None and case.stage_due_at is not None and case.holder
    if not checked:
        found = session.execute(
            select(Supervision.id).where(
                Supervision.case_id == case.id, Supervision.stage_seq == case.stage_seq
            )
        ).first()
        if found:
            return None
    unit, also = supervising_units(case.holder, units or registry.units(session))
    late = _Late(case.stage_seq, case.state, case.holder, case.stage_due_at, unit, also)
    return _raise(session, case.id, late, now)


@dataclass(frozen=True)
class _Late:
    """A late stage of a case, or a late step of a task: who holds it, whom it is reported to."""

    stage_seq: int
    state: str
    holder: str
    due: dt.datetime
    unit: str
    also: str | None
    # For the bulk path (_raise_many): whose stage, on which clock, of which task.
    case_id: int = 0
    urgency: str | None = None
    task_id: int | None = None
    task_status: str | None = None
    # The ladder's listing instant, when computed already (_plan).
    list_at: dt.datetime | None = None
    # The canonical JSON of its `supervision.raised` event's data around the supervision's id
    # (not known before the write): spelled by _plan, without the lock.
    raised_json: tuple[str, str] | None = None


def _raised_data(late: _Late, list_at: dt.datetime | None, sup_id: int) -> dict[str, Any]:
    """The data of a `supervision.raised` event (_raise and _raise_many write the same)."""
    of_task = {"task": late.task_id, "task_status": late.task_status} if late.task_id else {}
    return {
        "supervision": sup_id,
        **of_task,
        "stage_seq": late.stage_seq,
        "state": late.state,
        "holder": late.holder,
        "unit": late.unit,
        "also_unit": late.also,
        "stage_due_at": chain.format_at(late.due),
        "list_at": chain.format_at(list_at) if list_at else None,
    }


_NO_ID = -1


def _around_id(data: dict[str, Any]) -> tuple[str, str]:
    """DATA's canonical JSON (its `supervision` _NO_ID) cut around that id: the text with the
    id is the two parts with the id between (the keys are sorted, the number is spelled as the
    encoder spells it)."""
    head, sep, tail = chain.canonical_text(data).partition(f'"supervision":{_NO_ID},')
    if not sep:  # the last key
        head, sep, tail = chain.canonical_text(data).partition(f'"supervision":{_NO_ID}}}')
        assert sep, data
        return head + '"supervision":', "}" + tail
    return head + '"supervision":', "," + tail


def _raise(session: Session, case_id: int, late: _Late, now: dt.datetime) -> Supervision:
    """The supervision's row and its trail event (a task's carries the task and its step)."""
    sup = Supervision(
        case_id=case_id,
        stage_seq=late.stage_seq,
        state=late.state,
        holder=late.holder,
        unit=late.unit,
        also_unit=late.also,
        stage_due_at=late.due,
        raised_at=now,
        task_id=late.task_id,
        list_at=_list_at(session, case_id, late.due),
    )
    session.add(sup)
    session.flush()
    chain.append(
        session,
        at=now,
        actor=SYSTEM.label,
        action="supervision.raised",
        case_id=case_id,
        to_state=late.state,
        to_holder=late.holder,
        data=_raised_data(late, sup.list_at, sup.id),
    )
    return sup


def _list_at(session: Session, case_id: int, due: dt.datetime) -> dt.datetime:
    """When a supervision still open is listed by the district (挂牌督办): LISTED_AFTER_H past
    the limit, on the case's clock."""
    case = session.get(Case, case_id)
    assert case is not None
    hours = practice(session).ladder["listed_after_h"]
    return _clock(session, case).add_working_hours(due, hours)


_supervisions = cast(Table, Supervision.__table__)
_SUPERVISION_KEYS = (
    "id",
    "case_id",
    "stage_seq",
    "state",
    "holder",
    "unit",
    "also_unit",
    "stage_due_at",
    "raised_at",
    "task_id",
    "list_at",
    "listed_at",
    "listed_unit",
)
_INSERT_SUPERVISION = direct.Insert(_supervisions, _SUPERVISION_KEYS)
_DRAW_SUPERVISION_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('supervisions', 'id')) FROM generate_series(1, :n)"
)


def _supervision_row(
    x: _Late, list_at: dt.datetime, now: dt.datetime, listed_unit: str | None
) -> dict[str, Any]:
    """The supervisions row raised at NOW for X's late stage; LISTED_UNIT: the unit it is
    listed with now (None: not listed yet)."""
    return {
        "case_id": x.case_id,
        "stage_seq": x.stage_seq,
        "state": x.state,
        "holder": x.holder,
        "unit": x.unit,
        "also_unit": x.also,
        "stage_due_at": x.due,
        "raised_at": now,
        "task_id": x.task_id,
        "list_at": list_at,
        "listed_at": now if listed_unit is not None else None,
        "listed_unit": listed_unit,
    }


def _raise_many(
    session: Session,
    late: list[_Late],
    now: dt.datetime,
    *,
    listing: set[int] | None = None,
) -> tuple[list[int], int]:
    """The supervisions of LATE's stages (none raised yet) and their trail events, for a batch
    at once: the calendar and the practice read once (their listing instants, unless computed
    already), the rows inserted with one executemany, the events appended through
    chain.append_many (the same hashing as one by one). Their ids, and how many were listed.

    LISTING (not None): those past their listing instant at NOW already (a catch-up sweep, long
    after the limits), except the cases in LISTING (they time out now, so move on), are listed
    by the district (挂牌督办) in the same write: the row goes in listed, and
    its `supervision.listed` event, at NOW as the end of the sweep would have written it,
    follows its `supervision.raised`. Two events, as ever; one pass instead of two."""
    if not late:
        return [], 0
    list_at = _ListAt(session) if any(x.list_at is None for x in late) else None
    listed_by = (
        str(practice(session).ladder.get("listed_by") or "X-SN") if listing is not None else None
    )
    rows = []
    for x in late:
        at = x.list_at or cast(_ListAt, list_at)(x.due, x.urgency)
        listed = listing is not None and at <= now and x.case_id not in listing
        rows.append(_supervision_row(x, at, now, listed_by if listed else None))
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        # Under the write lock the ids after the largest are free: the rows go in with theirs,
        # one executemany without RETURNING (SQLite would insert them one by one to return).
        top = session.execute(select(func.max(_supervisions.c.id))).scalar() or 0
        ids = list(range(top + 1, top + 1 + len(rows)))
        for row, sup_id in zip(rows, ids, strict=True):
            row["id"] = sup_id
        _INSERT_SUPERVISION.run_many(conn, rows)
    else:
        # PostgreSQL: the ids drawn from the table's sequence (other writers draw from it too),
        # then the rows in one statement (direct.Insert's arrays).
        ids = sorted(session.execute(_DRAW_SUPERVISION_IDS, {"n": len(rows)}).scalars())
        for row, sup_id in zip(rows, ids, strict=True):
            row["id"] = sup_id
        _INSERT_SUPERVISION.run_many(conn, rows)
    events = []
    # The listing's data around its id, per holder (a sweep's thousands share a few dozen).
    listed_json: dict[str, tuple[str, str]] = {}
    for x, row, sup_id in zip(late, rows, ids, strict=True):
        data = _raised_data(x, cast(dt.datetime, row["list_at"]), sup_id)
        around = x.raised_json
        if around is None or x.list_at != row["list_at"]:
            data_text = chain.canonical_text(data)
        else:
            data_text = f"{around[0]}{sup_id}{around[1]}"
        events.append(
            {
                "at": now,
                "actor": SYSTEM.label,
                "action": "supervision.raised",
                "case_id": x.case_id,
                "to_state": x.state,
                "to_holder": x.holder,
                "data": data,
                "data_text": data_text,
            }
        )
        if row["listed_at"] is not None:
            # As list_supervisions() writes it.
            listing_data = {"supervision": sup_id, "holder": x.holder, "unit": listed_by}
            around = listed_json.get(x.holder)
            if around is None:
                around = listed_json[x.holder] = _around_id({**listing_data, "supervision": _NO_ID})
            events.append(
                {
                    "at": now,
                    "actor": SYSTEM.label,
                    "action": "supervision.listed",
                    "case_id": x.case_id,
                    "to_state": x.state,
                    "to_holder": x.holder,
                    "data": listing_data,
                    "data_text": f"{around[0]}{sup_id}{around[1]}",
                }
            )
    chain.append_many(session, events)
    return ids, len(events) - len(rows)


def _clock(session: Session, case: Case) -> Any:
    """The case's clock for the ladder's limits: working time, or clock time when urgent."""
    calendar = engine.work_calendar(session)
    if case.urgency in (None, "normal"):
        return calendar
    return RoundTheClock(calendar, case.urgency, {})


_reminders = cast(Table, Reminder.__table__)
_INSERT_REMINDER = direct.Insert(
    _reminders, ("case_id", "stage_seq", "state", "holder", "stage_due_at", "sent_at")
)


def send_reminders(session: Session, cases: list[Any], *, now: dt.datetime) -> int:
    """催办: the ladder's first step, to the holder of each case whose stage has just turned
    yellow, once per stage (a trail event). CASES: Case rows or the sweep's plain rows (id,
    stage_seq, state, holder, stage_due_at). In bulk: one executemany for the reminders, the
    events through chain.append_many."""
    if not cases or not practice(session).ladder["reminder"]:
        return 0
    sent = {
        (row[0], row[1])
        for row in session.execute(
            select(Reminder.case_id, Reminder.stage_seq).where(
                Reminder.case_id.in_([c.id for c in cases])
            )
        )
    }
    rows, events = [], []
    for case in cases:
        if (case.id, case.stage_seq) in sent or case.stage_seq is None or not case.holder:
            continue
        assert case.stage_due_at is not None
        sent.add((case.id, case.stage_seq))
        rows.append(
            {
                "case_id": case.id,
                "stage_seq": case.stage_seq,
                "state": case.state,
                "holder": case.holder,
                "stage_due_at": case.stage_due_at,
                "sent_at": now,
            }
        )
        events.append(
            {
                "at": now,
                "actor": SYSTEM.label,
                "action": "supervision.reminded",
                "case_id": case.id,
                "to_state": case.state,
                "to_holder": case.holder,
                "data": {
                    "holder": case.holder,
                    "stage_seq": case.stage_seq,
                    "stage_due_at": chain.format_at(case.stage_due_at),
                },
            }
        )
    if rows:
        session.flush()
        _INSERT_REMINDER.run_many(session.connection(), rows)
        chain.append_many(session, events)
    return len(rows)


def still_open() -> ColumnElement[bool]:
    """A supervision whose case is still on the late stage: it asks for something. Once the case
    moves on (or closes) the supervision closes with it."""
    on_case = exists().where(
        Supervision.task_id.is_(None),
        Case.id == Supervision.case_id,
        Case.stage_seq == Supervision.stage_seq,
        Case.tier.is_not(None),
    )
    # A task's late step: open while the task is still on that step.
    on_task = exists().where(
        Task.id == Supervision.task_id,
        Task.stage_seq == Supervision.stage_seq,
        Task.status.in_(tasks.OPEN),
    )
    return or_(on_case, on_task)


def mark_active(session: Session, sups: list[Supervision]) -> None:
    """Set each supervision's ``active`` (not a column): whether it still asks for something."""
    if not sups:
        return
    active = set(
        session.execute(
            select(Supervision.id).where(Supervision.id.in_([x.id for x in sups]), still_open())
        ).scalars()
    )
    for sup in sups:
        sup.active = sup.id in active  # type: ignore[attr-defined]


def _to_list(now: dt.datetime) -> Any:
    return select(Supervision.id, Supervision.case_id, Supervision.state, Supervision.holder).where(
        Supervision.listed_at.is_(None),
        Supervision.list_at.is_not(None),
        Supervision.list_at <= now,
        still_open(),
    )


def to_list(session: Session, *, now: dt.datetime) -> list[int]:
    """The supervisions list_supervisions() would list at NOW (read, not locked)."""
    return list(session.execute(_to_list(now).order_by(Supervision.id)).scalars())


def list_supervisions(session: Session, *, now: dt.datetime, ids: list[int] | None = None) -> int:
    """挂牌督办: a supervision still open past its list_at is listed by the district (once).
    IDS: only those of them (to_list()'s, in batches: each checked again here under the lock).
    In bulk: one UPDATE, the events through chain.append_many."""
    chain.lock_head(session)
    listed_by = str(practice(session).ladder.get("listed_by") or "X-SN")
    query = _to_list(now).order_by(Supervision.id)
    if ids is not None:
        query = query.where(Supervision.id.in_(ids))
    due = list(session.execute(query))
    if not due:
        return 0
    session.flush()
    for start in range(0, len(due), 500):
        session.connection().execute(
            update(_supervisions)
            .where(_supervisions.c.id.in_([r.id for r in due[start : start + 500]]))
            .values(listed_at=now, listed_unit=listed_by)
        )
    chain.append_many(
        session,
        [
            {
                "at": now,
                "actor": SYSTEM.label,
                "action": "supervision.listed",
                "case_id": r.case_id,
                "to_state": r.state,
                "to_holder": r.holder,
                "data": {"supervision": r.id, "holder": r.holder, "unit": listed_by},
            }
            for r in due
        ],
    )
    # A Supervision held in the session is read again from the row.
    for r in due:
        held = session.identity_map.get(session.identity_key(Supervision, r.id))
        if held is not None:
            session.expire(held, ["listed_at", "listed_unit"])
    return len(due)


# ---------------------------------------------------------------- a batch: plan, then apply
# A batch is planned without the write lock (which stages are due, their lights at NOW, the
# supervisions to raise with their ladder instants) and applied under it: the planned rows are
# read again in one statement and any that changed since (a firing, an extension, another
# sweep) is left out, then the writes go in bulk. The lock is held for the writes only.

_CASE_COLS = (
    Case.id,
    Case.version,
    Case.stage_seq,
    Case.light,
    Case.stage_due_at,
    Case.stage_yellow_at,
    Case.paused_at,
    Case.tier,
    Case.holder,
    Case.state,
    Case.urgency,
    Case.item,
    Case.route_name,
    Case.route_version,
)
_TASK_COLS = (
    Task.id,
    Task.version,
    Task.case_id,
    Task.stage_seq,
    Task.light,
    Task.stage_due_at,
    Task.stage_yellow_at,
    Task.status,
    Task.unit,
    Task.state,
    Task.commander,
)
# A plan's rows, as SQLAlchemy's rows name them (the plan read them with SQLAlchemy's IN list).
_CaseRow = namedtuple("_CaseRow", [c.key for c in _CASE_COLS])  # type: ignore[misc]
_TaskRow = namedtuple("_TaskRow", [c.key for c in _TASK_COLS])  # type: ignore[misc]
_first = itemgetter(0)
# A plan's rows and their supervisions, read again for a chunk under the lock: built once.
# (direct.Expanding: on SQLite compiled once per size of the IN list, where SQLAlchemy compiles
# an expanding IN on each run, about 30 µs a stage in a plan of a thousand; on PostgreSQL one
# array parameter.)
_CASES_BY_ID = direct.Expanding(lambda member: select(*_CASE_COLS).where(member(Case.id)))
_TASKS_BY_ID = direct.Expanding(lambda member: select(*_TASK_COLS).where(member(Task.id)))
_SUPERVISED = direct.Expanding(
    lambda member: select(Supervision.case_id, Supervision.stage_seq).where(
        member(Supervision.case_id)
    )
)
# How many planned stages are written together, between checks of the batch's budget.
APPLY_CHUNK = 100
# With turns (a SQLite file): how long the sweep's batches may hold the lock, waiting users
# handed it in between, before a pause as long as the last batch for writers that wait in
# SQLite's busy handler instead (seconds).
PAUSE_EVERY_S = 0.5
# How often a stage may be left out of a batch (its row changed since the plan) in one sweep.
MAX_DROPPED = 20
# How many supervisions a transaction lists (挂牌督办) at the end of a sweep.
LIST_BATCH = 300


@dataclass
class _Stage:
    """A case's stage (TASK False) or a task's step as the plan read it (ROW, re-checked under
    the lock), its light at NOW, and the supervision to raise (LATE, its instants computed)."""

    task: bool
    row: Any
    light: str
    late: _Late | None
    from_backlog: bool
    # Spelled ahead, without the lock (_prepare): the holder's notification of the light (None:
    # none to tell), and the supervision's row and trail events (SQLite, one partition).
    prepared: bool = False
    telling: light_news.Telling | None = None
    spelled: _Spelled | None = None
    # The trigger its route fires when the stage is late (a case's; None: none).
    on_timeout: str | None = None

    @property
    def key(self) -> int:
        # Cases and tasks share the loop's progress check: a task counts under its negative id.
        return -self.row.id if self.task else int(self.row.id)


class _ListAt:
    """The ladder's listing instant of late stages: the calendar and the practice read once."""

    def __init__(self, session: Session) -> None:
        self.calendar = engine.work_calendar(session)
        self.hours = practice(session).ladder["listed_after_h"]
        self.clocks: dict[str | None, Any] = {}
        # Stages share their due instants (a limit in working days ends when a day's work
        # does): at a million cases, 237,000 due stages had 1,062 instants among them.
        self.listed: dict[tuple[str | None, dt.datetime], dt.datetime] = {}

    def __call__(self, due: dt.datetime, urgency: str | None) -> dt.datetime:
        key = None if urgency in (None, "normal") else urgency
        at = self.listed.get((key, due))
        if at is not None:
            return at
        clock = self.clocks.get(key)
        if clock is None:
            clock = self.clocks[key] = (
                self.calendar if key is None else RoundTheClock(self.calendar, key, {})
            )
        at = self.listed[key, due] = cast(dt.datetime, clock.add_working_hours(due, self.hours))
        return at


def _plan(
    session: Session,
    *,
    now: dt.datetime,
    limit: int,
    late: Backlog | None,
    lock: bool = False,
) -> list[_Stage]:
    """The stages due at NOW (up to LIMIT tasks' steps, then up to LIMIT cases' stages) and what
    the sweep does about each: nothing written. LOCK: the rows are locked as they are found."""
    planned: list[_Stage] = []
    taken: set[int] = set()
    task_ids = _due_ids(
        session,
        Task,
        _task_clocked(),
        _task_unsupervised(),
        now,
        limit,
        late.tasks if late is not None else None,
        lock=lock,
        taken=taken,
    )
    conn = session.connection()
    task_rows: list[Any] = (
        sorted(map(_TaskRow._make, _TASKS_BY_ID.run(conn, task_ids).tuples()), key=_first)
        if task_ids
        else []
    )
    case_taken: set[int] = set()
    case_ids = _due_ids(
        session,
        Case,
        _case_clocked(),
        _unsupervised(),
        now,
        limit,
        late.cases if late is not None else None,
        lock=lock,
        taken=case_taken,
    )
    case_rows: list[Any] = (
        sorted(map(_CaseRow._make, _CASES_BY_ID.run(conn, case_ids).tuples()), key=_first)
        if case_ids
        else []
    )
    if not task_rows and not case_rows:
        return planned
    # Which late stages have their supervision already: one query for the batch.
    case_of = {r.case_id for r in task_rows} | {r.id for r in case_rows}
    supervised = {(r[0], r[1]) for r in _SUPERVISED.run(conn, list(case_of)).tuples()}
    units = registry.units(session)
    list_at: _ListAt | None = None
    urgency: dict[int, str | None] = {}
    if task_rows:
        urgency = dict(
            session.execute(
                select(Case.id, Case.urgency).where(Case.id.in_({r.case_id for r in task_rows}))
            ).all()
        )
    for r in task_rows:
        light = tasks.light_of(r, now)
        raising = None
        if (
            light == "red"
            and r.stage_seq is not None
            and r.stage_due_at is not None
            and (r.case_id, r.stage_seq) not in supervised
        ):
            supervised.add((r.case_id, r.stage_seq))  # two steps of one stage: one
            list_at = list_at or _ListAt(session)
            unit, _ = supervising_units(r.unit, units)
            u = urgency.get(r.case_id)
            raising = _Late(
                r.stage_seq,
                r.state,
                r.unit,
                r.stage_due_at,
                unit,
                r.commander,
                case_id=r.case_id,
                urgency=u,
                task_id=r.id,
                task_status=r.status,
                list_at=list_at(r.stage_due_at, u),
            )
            raising = _spelled(raising)
        planned.append(_Stage(True, r, light, raising, r.id in taken))
    for r in case_rows:
        light = stages.light_of(r, now)
        raising = None
        if light == "red" and (r.id, r.stage_seq) not in supervised and r.holder:
            supervised.add((r.id, r.stage_seq))
            list_at = list_at or _ListAt(session)
            unit, also = supervising_units(r.holder, units)
            raising = _Late(
                r.stage_seq,
                r.state,
                r.holder,
                r.stage_due_at,
                unit,
                also,
                case_id=r.id,
                urgency=r.urgency,
                list_at=list_at(r.stage_due_at, r.urgency),
            )
            raising = _spelled(raising)
        planned.append(_Stage(False, r, light, raising, r.id in case_taken))
    return planned


def _spelled(late: _Late) -> _Late:
    """LATE with its raised event's data spelled (all but the supervision's id)."""
    assert late.list_at is not None
    return replace(late, raised_json=_around_id(_raised_data(late, late.list_at, _NO_ID)))


@dataclass(frozen=True)
class _Spelled:
    """A supervision to raise, spelled ahead: its row as the driver takes it (its id, and its
    listing if the case times out in the same chunk, left to the write), its raised event, and
    its listed event when it is past its listing instant at the sweep's NOW."""

    row: list[Any]
    raised: chain.Spelled
    listed: chain.Spelled | None


def _turned(s: _Stage) -> light_news.Turned | None:
    """The holder to tell of S's light (as _apply tells it), if its light changes."""
    r = s.row
    if s.light == r.light:
        return None
    if s.task:
        if r.stage_seq is None:
            return None
        return light_news.Turned(
            r.case_id, r.stage_seq, r.unit, s.light, r.stage_due_at, None, r.id
        )
    if r.stage_seq is not None and r.holder:
        return light_news.Turned(r.id, r.stage_seq, r.holder, s.light, r.stage_due_at, r.item)
    return None


def _prepare(session: Session, planned: list[_Stage], *, now: dt.datetime) -> None:
    """Spell, without the write lock, what _apply writes for PLANNED's stages: the holders'
    notifications and, on SQLite with one trail partition, the supervisions' rows and trail
    events, so that under the lock only the ids, seqs and hashes are left to fill."""
    turned = [(s, _turned(s)) for s in planned]
    telling = [
        (s, t) for s, t in turned if t is not None and t.light in light_news.LIGHTS and t.holder
    ]
    told = light_news.prepare(session, [t for _, t in telling], now=now)
    for (s, _), one in zip(telling, told, strict=True):
        s.telling = one
    dialect = session.get_bind().dialect
    spell = dialect.name == "sqlite" and chain.partitions_count(session) <= 1
    if spell and any(s.late is not None for s in planned):
        listed_by = str(practice(session).ladder.get("listed_by") or "X-SN")
        listed_json: dict[str, tuple[str, str]] = {}
        for s in planned:
            x = s.late
            if x is None or x.list_at is None or x.raised_json is None:
                continue
            listed = x.list_at <= now
            row = _INSERT_SUPERVISION.encode(
                dialect, _supervision_row(x, x.list_at, now, listed_by if listed else None)
            )
            raised = chain.spell(
                dialect,
                at=now,
                actor=SYSTEM.label,
                action="supervision.raised",
                data_around=x.raised_json,
                case_id=x.case_id,
                to_state=x.state,
                to_holder=x.holder,
            )
            listing = None
            if listed:
                around = listed_json.get(x.holder)
                if around is None:
                    around = listed_json[x.holder] = _around_id(
                        {"supervision": _NO_ID, "holder": x.holder, "unit": listed_by}
                    )
                listing = chain.spell(
                    dialect,
                    at=now,
                    actor=SYSTEM.label,
                    action="supervision.listed",
                    data_around=around,
                    case_id=x.case_id,
                    to_state=x.state,
                    to_holder=x.holder,
                )
            s.spelled = _Spelled(row, raised, listing)
    routes: dict[tuple[str, int], RouteSpec] = {}
    for s in planned:
        if s.late is not None and not s.task:
            key = (s.row.route_name, s.row.route_version)
            if key not in routes:
                routes[key] = registry.route(session, *key)[0]
            s.on_timeout = routes[key].state(s.row.state).on_timeout
        s.prepared = True


_SUPERVISION_SLOTS: dict[Any, tuple[Any, Any, Any]] = {}


def _raise_spelled(
    session: Session, raising: list[_Spelled], case_ids: list[int], listing: set[int]
) -> tuple[int, int]:
    """_raise_many() for supervisions spelled ahead (_prepare; chain.can_append_spelled()):
    the same rows and events. CASE_IDS: their cases; LISTING: the cases that time out in this
    chunk (their supervisions not listed). How many raised, and how many listed."""
    conn = session.connection()
    slots = _SUPERVISION_SLOTS.get(conn.dialect)
    if slots is None:
        slot = _INSERT_SUPERVISION.slot
        d = conn.dialect
        slots = (slot(d, "id"), slot(d, "listed_at"), slot(d, "listed_unit"))
        _SUPERVISION_SLOTS[d] = slots
    i_id, i_listed_at, i_listed_unit = slots
    session.flush()
    top = session.execute(select(func.max(_supervisions.c.id))).scalar() or 0
    rows: list[Any] = []
    events: list[tuple[chain.Spelled, int | None]] = []
    listed = 0
    for sup_id, (x, case_id) in enumerate(zip(raising, case_ids, strict=True), top + 1):
        row = x.row.copy()
        row[i_id] = sup_id
        rows.append(row)
        events.append((x.raised, sup_id))
        if x.listed is not None:
            if case_id in listing:
                row[i_listed_at] = row[i_listed_unit] = None
            else:
                events.append((x.listed, sup_id))
                listed += 1
    _INSERT_SUPERVISION.run_encoded(conn, rows)
    chain.append_spelled(session, events)
    return len(rows), listed


def _recheck(session: Session, planned: list[_Stage], late: Backlog | None) -> list[_Stage]:
    """Under the trail lock: the planned stages whose rows are still as planned; the others
    (changed since: a firing, an extension, another sweep) left out, back to LATE if they came
    from it. A supervision raised since is not raised again."""
    fresh: dict[tuple[bool, int], tuple[Any, ...]] = {}
    task_ids = [s.row.id for s in planned if s.task]
    case_ids = [s.row.id for s in planned if not s.task]
    session.flush()  # what session.execute() would (a timeout fired in an earlier chunk)
    conn = session.connection()
    if task_ids:
        for r in _TASKS_BY_ID.run(conn, task_ids).tuples():
            fresh[(True, r[0])] = r
    if case_ids:
        for c in _CASES_BY_ID.run(conn, case_ids).tuples():
            fresh[(False, c[0])] = c
    kept = []
    for s in planned:
        if fresh.get((s.task, s.row.id)) == tuple(s.row):
            kept.append(s)
        elif s.from_backlog and late is not None:
            (late.tasks if s.task else late.cases).append(s.row.id)
    raising = [s for s in kept if s.late is not None]
    if raising:
        supervised = {
            (r[0], r[1])
            for r in _SUPERVISED.run(
                conn, list({s.late.case_id for s in raising if s.late})
            ).tuples()
        }
        for s in raising:
            assert s.late is not None
            if (s.late.case_id, s.late.stage_seq) in supervised:
                s.late = None
    return kept


def _apply(
    session: Session,
    planned: list[_Stage],
    *,
    now: dt.datetime,
    result: SweepResult,
    started: float,
    budget_s: float | None,
    late: Backlog | None = None,
    recheck: bool = True,
    took: list[float] | None = None,
    yielding: Callable[[], bool] | None = None,
) -> list[_Stage]:
    """Write what PLANNED asks, chunk by chunk, under the trail lock the caller took: each
    chunk re-checked first (RECHECK: planned without the lock; a stage left out goes back to
    LATE if it came from it), then lights, the holders told, reminders, supervisions with their
    trail events, the routes' timeouts. Past BUDGET_S since STARTED, the rest is returned, not
    written nor read again (the next transaction re-checks it: a plan of a thousand stages
    written a hundred at a time is read again once, not once per transaction). TOOK: the time
    of the transaction's last chunk so far (this call goes on after another's: its first chunk
    is checked against the budget too), set to this call's last. YIELDING: asked before every
    chunk but a batch's first; true (a user waits for the lock), the rest is returned too."""
    routes: dict[tuple[str, int], RouteSpec] = {}
    # The last chunk's time: the next one is not begun if it would end past budget.
    last = took[0] if took else 0.0
    for start in range(0, len(planned), APPLY_CHUNK):
        begun = time.perf_counter()
        if (start or took) and (
            (budget_s is not None and begun - started + last > budget_s)
            or (yielding is not None and yielding())
        ):
            return planned[start:]
        chunk = planned[start : start + APPLY_CHUNK]
        if recheck:
            chunk = _recheck(session, chunk, late)
        case_lights: dict[str, list[int]] = defaultdict(list)
        task_lights: dict[str, list[int]] = defaultdict(list)
        turned: list[light_news.Turned] = []
        telling: list[light_news.Telling] = []
        turned_yellow: list[Any] = []
        for s in chunk:
            r = s.row
            result.checked += 1
            result.case_ids.add(s.key)
            if s.light == r.light:
                continue
            (task_lights if s.task else case_lights)[s.light].append(r.id)
            result.yellow += s.light == "yellow"
            result.red += s.light == "red"
            if s.prepared:
                if s.telling is not None:
                    telling.append(s.telling)
                if not s.task and s.light == "yellow":
                    turned_yellow.append(r)
                continue
            if s.task:
                if r.stage_seq is not None:
                    turned.append(
                        light_news.Turned(
                            r.case_id, r.stage_seq, r.unit, s.light, r.stage_due_at, None, r.id
                        )
                    )
                continue
            if s.light == "yellow":
                turned_yellow.append(r)
            if r.stage_seq is not None and r.holder:
                turned.append(
                    light_news.Turned(r.id, r.stage_seq, r.holder, s.light, r.stage_due_at, r.item)
                )
        # Lights first: a timeout fired below sets its new stage's light itself.
        tasks.set_lights(session, task_lights)
        _set_lights(session, case_lights)
        # The holders told of their lights in this transaction: a rolled-back batch tells nothing.
        result.told += light_news.tell(session, turned, now=now)
        result.told += light_news.write(session, telling)
        result.reminders += send_reminders(session, turned_yellow, now=now)
        # The routes' timeouts fire after the chunk's supervisions: a firing moves the case on.
        timeouts: list[tuple[int, str]] = []
        for s in chunk:
            if s.task or s.late is None:
                continue
            if s.prepared:
                if s.on_timeout:
                    timeouts.append((s.row.id, s.on_timeout))
                continue
            key = (s.row.route_name, s.row.route_version)
            if key not in routes:
                routes[key] = registry.route(session, *key)[0]
            trigger = routes[key].state(s.row.state).on_timeout
            if trigger:
                timeouts.append((s.row.id, trigger))
        raising = [s.late for s in chunk if s.late is not None]
        spelled = [s.spelled for s in chunk if s.late is not None]
        # Listed in the same write when past its listing instant, unless its case times out
        # now (moved on, the supervision would ask for nothing: the listing skips it).
        listing = {case_id for case_id, _ in timeouts}
        if raising and all(spelled) and chain.can_append_spelled(session):
            raised, listed = _raise_spelled(
                session, cast(list[_Spelled], spelled), [x.case_id for x in raising], listing
            )
        else:
            ids, listed = _raise_many(session, raising, now, listing=listing)
            raised = len(ids)
        result.supervisions += raised
        result.listed += listed
        for case_id, trigger in timeouts:
            _fire_timeout(session, case_id, trigger, result, now=now)
        last = time.perf_counter() - begun
        if took is not None:
            took[:] = [last]
    return []


def _fire_timeout(
    session: Session, case_id: int, trigger: str, result: SweepResult, *, now: dt.datetime
) -> None:
    try:
        # Conditions refuse before anything changes, so a refusal leaves the batch intact.
        engine.fire(
            session,
            case_id,
            trigger,
            SYSTEM,
            reason=TIMEOUT_REASON,
            data={"timeout": True},
            now=now,
        )
    except WorkflowError as exc:
        result.problems.append(f"case {case_id}: timeout {trigger!r} not fired: {exc.detail}")
        log.warning("case %s: timeout %r not fired: %s", case_id, trigger, exc.detail)
    else:
        result.timeouts += 1


def sweep_batch(
    session: Session,
    *,
    now: dt.datetime,
    limit: int = 200,
    late: Backlog | None = None,
    budget_s: float | None = None,
) -> SweepResult:
    """Bring up to LIMIT cases (and LIMIT tasks) up to date at NOW, in the caller's transaction:
    mark their lights, raise one supervision per overdue stage, fire the route's timeout if it
    names one. LATE: the sweep's backlog of red unsupervised stages (taken off as handled);
    None: every red unsupervised stage is looked for. BUDGET_S: after that many seconds no more
    stages are written in this batch (the rest are left for the next: back to LATE, or found
    again), so that the write lock is held that long at most (plus one chunk's work).

    Everything here runs under the trail lock taken first (sweep() plans its batches without
    it); the candidates are locked too (PostgreSQL: FOR UPDATE SKIP LOCKED)."""
    started = time.perf_counter()
    chain.lock_head(session)
    result = SweepResult(batches=1)
    # Planned under the lock (and the rows locked): nothing to read again.
    planned = _plan(session, now=now, limit=limit, late=late, lock=True)
    rest = _apply(
        session, planned, now=now, result=result, started=started, budget_s=budget_s, recheck=False
    )
    if late is not None:
        # Not written: a stage from the backlog goes back to it; the indexes find the others.
        late.tasks.extend(s.row.id for s in rest if s.task and s.from_backlog)
        late.cases.extend(s.row.id for s in rest if not s.task and s.from_backlog)
    return result


class Sweeper:
    """sweep()'s loop, one step at a time (the bench drives it): each step plans a batch in a
    read transaction (or carries over what the last one left), gives way to users' writes that
    wait (_give_way), then applies it in one write transaction. On SQLite the WAL is checkpointed between batches, outside the write lock."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        now: dt.datetime,
        batch: int,
        late: Backlog | None,
        budget_s: float | None,
    ) -> None:
        self.sessions, self.now, self.batch, self.late = sessions, now, batch, late
        self.budget_s = budget_s
        self.carry: list[_Stage] = []
        self.gap = 0.0
        self.last_commit: float | None = None
        self.seen: set[int] = set()
        # How often each stage was left out because its row changed since the plan.
        self.dropped: Counter[int] = Counter()
        # On a SQLite file: the batches take the writer lock, and writers that wait for it say
        # so (turns); the sweep hands them the lock instead of pausing after every batch.
        self.turns = writer_lock.for_engine(sessions.kw["bind"]) if budget_s is not None else None
        # On PostgreSQL a firing that waits for a head the batch holds is queued on it, and
        # takes it when the batch commits, before the next batch can: no pause between batches.
        self.queued = sessions.kw["bind"].dialect.name == "postgresql"
        self.held_since_pause = 0.0
        self.overdue = False
        self.began = 0.0  # when the batch in hand began

    def yielding(self, session: Session) -> Callable[[], bool] | None:
        """Whether a writer waits for the batch SESSION writes, asked between its chunks once
        the batch has held the lock half its budget (the batch ends there: a user's firing
        waits for half a budget and a chunk at most, not for the whole budget; and a user
        firing often does not cut every batch to one chunk, a COMMIT each). On a SQLite file
        the turns say so; on PostgreSQL the server's locks (a firing queued on a head row the
        batch holds waits for the batch's transaction)."""
        turns, budget = self.turns, self.budget_s
        if budget is None or self.overdue:
            return None
        if self.queued:
            conn = session.connection()
            return lambda: (
                time.perf_counter() - self.began >= budget / 2
                and bool(conn.execute(_WAITED_ON).scalar())
            )
        if turns is None or turns.broken:
            return None
        return lambda: time.perf_counter() - self.began >= budget / 2 and turns.someone_waiting()

    def turn(self) -> AbstractContextManager[None]:
        return self.turns.sweeping() if self.turns is not None else nullcontext()

    def _give_way(self) -> None:
        """Before a batch: a user's write waiting on the lock gets it first. SQLite's busy
        handler retries at intervals, so without a pause the sweep would win: with turns, the
        sweep waits while a writer says it waits (up to a batch's budget), else goes on at once,
        but pauses as long as the last batch once it held the lock PAUSE_EVERY_S since its last
        pause (writers that do not take the trail's lock: the notifier's rounds); on a SQLite
        file without turns, a pause as long as the last batch held the lock, every time. On
        PostgreSQL no pause: its waiters are queued (Sweeper.queued)."""
        if self.budget_s is None or self.queued:
            return
        if self.turns is not None and not self.turns.broken:
            # Still "waiting" after a whole budget: a writer slower than that, or one whose
            # transaction's end was never seen; the batch then does not end for it early.
            self.overdue = self.turns.give_way(self.budget_s) >= self.budget_s
            if self.held_since_pause < PAUSE_EVERY_S:
                return
        if self.last_commit is None:
            return
        self.held_since_pause = 0.0
        wait = self.gap - (time.perf_counter() - self.last_commit)
        if wait > 0:
            time.sleep(wait)

    def step(self) -> tuple[SweepResult, str]:
        """One batch: what it did, and "more", "done" (nothing left to do) or "stuck"."""
        if not self.carry:
            with self.sessions() as s:
                self.carry = _plan(s, now=self.now, limit=self.batch, late=self.late)
                _prepare(s, self.carry, now=self.now)
        if not self.carry and not self.late:
            return SweepResult(), "done"
        self._give_way()
        part = SweepResult(batches=1)
        planned = {s.key for s in self.carry}
        with self.turn(), self.sessions.begin() as s:
            # The batch's budget from when it has the writer lock: a writer's transaction in
            # hand when it queued is waited for outside it, as give_way() waits for a writer
            # that waits.
            began = self.began = time.perf_counter()
            chain.lock_head(s)
            self.carry = _apply(
                s,
                self.carry,
                now=self.now,
                result=part,
                started=began,
                budget_s=self.budget_s,
                late=self.late,
                took=[],
                yielding=self.yielding(s),
            )
            written = time.perf_counter()
        self.last_commit = time.perf_counter()
        part.lock_s = [self.last_commit - began]
        part.commit_s = [self.last_commit - written]
        # As long as it held the lock: a 25 ms pause after 50 ms batches (tried) let a user's
        # firings in less often (at a million cases on a quiet machine: p50 6 to 37 ms, p99 63
        # to 106 ms; bench/README.md, "The catch-up reworked").
        self.gap = min(self.last_commit - began, self.budget_s or 0.0)
        self.held_since_pause += self.last_commit - began
        if self.budget_s is not None:
            _checkpoint(self.sessions)
        if part.case_ids and part.case_ids <= self.seen:
            # A stage still due after being handled would make the sweep loop for ever.
            part.problems.append(f"cases {sorted(part.case_ids)} stay due; sweep stopped")
            return part, "stuck"
        # Left out (changed since the plan, or handled by another sweep): planned again if
        # still due. One that keeps changing under every plan would keep the sweep going.
        self.dropped.update(planned - part.case_ids - {s.key for s in self.carry})
        changing = [key for key, n in self.dropped.items() if n > MAX_DROPPED]
        if changing:
            part.problems.append(f"cases {sorted(changing)} keep changing under the sweep; stopped")
            return part, "stuck"
        self.seen |= part.case_ids
        return part, "more"


# PostgreSQL: whether a transaction waits for this one to end (a firing queued on a head row
# the batch holds waits on the batch's transaction id).
_WAITED_ON = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks w JOIN pg_locks h ON w.transactionid = h.transactionid"
    " WHERE h.pid = pg_backend_pid() AND h.locktype = 'transactionid' AND h.granted"
    " AND w.locktype = 'transactionid' AND NOT w.granted)"
)


def _checkpoint(sessions: sessionmaker[Session]) -> None:
    """SQLite: move the WAL's pages into the database file now, outside the write lock, instead
    of in the commit of whichever writer (a user's firing) crosses the WAL's autocheckpoint
    size. PASSIVE: it never waits on readers or writers. Elsewhere nothing."""
    with sessions() as s:
        conn = s.connection()
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


def sweep(
    sessions: sessionmaker[Session],
    *,
    now: dt.datetime | None = None,
    batch: int = 1000,
    progress: Callable[[int, int], None] | None = None,
    checkpoint_secret: str | None = None,
    full: bool = False,
    budget_s: float | None = BATCH_BUDGET_S,
) -> SweepResult:
    """Sweep every case at NOW, one transaction per batch so that no sweep holds the trail lock
    for long; idempotent, and safe while other sweeps and users write. With CHECKPOINT_SECRET
    (the instance secret), the sweep then signs the chain head when a checkpoint is due.

    Incremental: it looks at what changed since the last complete sweep began (its SweepMark)
    and at the stages whose instants NOW has passed; FULL looks at every red stage again too."""
    now = now or utcnow()
    with sessions() as s:
        # The heads first: an event after its partition's is looked at again by the next sweep.
        started = {p: seq for p, seq in s.execute(select(TrailHead.id - 1, TrailHead.seq))}
        marks = {} if full else {m.id - 1: m.trail_seq for m in s.scalars(select(SweepMark))}
        late = backlog(s, marks if marks else None)
        total = pending_count(s, now=now, late=late) if progress else 0
    result = SweepResult()
    sweeper = Sweeper(sessions, now=now, batch=batch, late=late, budget_s=budget_s)
    while True:
        part, state = sweeper.step()
        result.add(part)
        if progress:
            progress(result.checked, max(total, result.checked))
        if state == "stuck":
            return result
        if state == "done":
            return finish(
                sessions,
                result,
                started=started,
                now=now,
                checkpoint_secret=checkpoint_secret,
            )


def finish(
    sessions: sessionmaker[Session],
    result: SweepResult,
    *,
    started: dict[int, int],
    now: dt.datetime,
    checkpoint_secret: str | None = None,
) -> SweepResult:
    """The end of a complete sweep: its mark, the ladder's listing, the returns' reviews (few
    rows, one transaction), the checkpoint when one is due."""
    with sessions.begin() as s:
        _set_marks(s, started, now)
    # The listing in batches, as the stages' (after a catch-up: thousands at once): found
    # without the lock, each batch checked again and written under it.
    with sessions() as s:
        listing = to_list(s, now=now)
    held = 0.0
    for start in range(0, len(listing), LIST_BATCH):
        time.sleep(min(held, BATCH_BUDGET_S))
        began = time.perf_counter()
        with sessions.begin() as s:
            result.listed += list_supervisions(s, now=now, ids=listing[start : start + LIST_BATCH])
        held = time.perf_counter() - began
    with sessions.begin() as s:
        result.returns_late, result.returns_lapsed = returns.sweep_returns(s, now=now)
    if checkpoint_secret:
        with sessions.begin() as s:
            anchor = checkpoint_if_due(s, utcnow(), secret=checkpoint_secret)
        result.checkpoint_seq = anchor.seq if anchor else None
    return result


def _set_marks(session: Session, started: dict[int, int], now: dt.datetime) -> None:
    """Record where this complete sweep began in each partition (the next one looks at what
    came after in each): partition P's mark is SweepMark P + 1."""
    chain.lock_head(session)  # sweepers that finish together write it one after the other
    for part, trail_seq in sorted(started.items()):
        mark = session.get(SweepMark, part + 1, populate_existing=True)
        if mark is None:
            mark = SweepMark(id=part + 1)
            session.add(mark)
        mark.trail_seq, mark.swept_at, mark.finished_at = trail_seq, now, utcnow()


# ---------------------------------------------------------------- supervisions


def acknowledge_supervision(
    session: Session, *, supervision_id: int, actor: Actor, now: dt.datetime | None = None
) -> Supervision:
    """The supervising unit has seen the supervision: who and when, once; a trail event."""
    now = now or utcnow()
    chain.lock_head(session)
    sup = session.get(Supervision, supervision_id, populate_existing=True)
    if sup is None:
        raise NotFound(code="no_such", params={"what": "supervision", "id": supervision_id})
    if actor.unit not in (sup.unit, sup.also_unit) or actor.role not in SUPERVISOR_ROLES:
        raise NotHolder(
            code="supervision_addressed", params={"supervision": supervision_id, "unit": sup.unit}
        )
    if sup.acknowledged_at is not None:
        raise Conflict(
            code="supervision_acknowledged",
            params={"supervision": supervision_id, "user": sup.acknowledged_by},
        )
    if not is_open(session, sup):
        raise NotAllowed(
            code="supervision_moved_on", params={"case": sup.case_id, "supervision": supervision_id}
        )
    sup.acknowledged_at = now
    sup.acknowledged_by = actor.label
    chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action="supervision.acknowledged",
        case_id=sup.case_id,
        to_state=sup.state,
        to_holder=sup.holder,
        data={"supervision": sup.id, "stage_seq": sup.stage_seq},
    )
    return sup


def is_open(session: Session, sup: Supervision) -> bool:
    return bool(
        session.execute(
            select(still_open()).select_from(Supervision).where(Supervision.id == sup.id)
        ).scalar()
    )


MAX_FIX_DAYS = 365


def answer_supervision(
    session: Session,
    *,
    supervision_id: int,
    actor: Actor,
    explanation: str,
    fix_date: dt.date,
    now: dt.datetime | None = None,
) -> Supervision:
    """督办's answer: the holder explains in writing why the stage is late and by when it will be
    done. Once; only while the supervision is open (the case still on the late stage).

    Raises InvalidInput, NotHolder, NotAllowed (the case has moved on), Conflict, NotFound."""
    now = now or utcnow()
    chain.lock_head(session)
    sup = session.get(Supervision, supervision_id, populate_existing=True)
    if sup is None:
        raise NotFound(code="no_such", params={"what": "supervision", "id": supervision_id})
    text = _reason(explanation, required=True, name="explanation")
    today = engine.work_calendar(session).local(now).date()
    if not isinstance(fix_date, dt.date) or not (
        today <= fix_date <= today + dt.timedelta(days=MAX_FIX_DAYS)
    ):
        raise InvalidInput(
            errors={"fix_date": [f"from {today.isoformat()}, within {MAX_FIX_DAYS} days"]},
            code="fix_date_range",
        )
    if actor.unit != sup.holder or actor.role in ("auditor", "applicant"):
        raise NotHolder(
            code="supervision_answerer",
            params={"supervision": supervision_id, "holder": sup.holder},
        )
    if not is_open(session, sup):
        raise NotAllowed(
            code="supervision_moved_on", params={"case": sup.case_id, "supervision": supervision_id}
        )
    if sup.answered_at is not None:
        raise Conflict(
            code="supervision_answered",
            params={"supervision": supervision_id, "user": sup.answered_by},
        )
    sup.explanation = text
    sup.fix_date = fix_date
    sup.answered_by = actor.label
    sup.answered_at = now
    chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action="supervision.answered",
        case_id=sup.case_id,
        to_state=sup.state,
        to_holder=sup.holder,
        reason=text,
        data={"supervision": sup.id, "fix_date": fix_date.isoformat()},
    )
    return sup


# ---------------------------------------------------------------- extensions


def _days(days: Any) -> int:
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_EXTENSION_DAYS:
        raise InvalidInput(
            errors={"days": [f"a whole number from 1 to {MAX_EXTENSION_DAYS}"]},
            code="extension_days",
            params={"max": MAX_EXTENSION_DAYS},
        )
    return days


def _reason(reason: str | None, *, required: bool, name: str = "reason") -> str | None:
    if reason is None or not reason.strip():
        if required:
            raise InvalidInput(
                errors={name: ["required"]}, code="a_required", params={"field": name}
            )
        return None
    if len(reason) > engine.MAX_TEXT:
        raise InvalidInput(
            errors={name: [f"at most {engine.MAX_TEXT}"]},
            code="the_too_long",
            params={"field": name},
        )
    check_text(**{name: reason})
    return reason.strip()


def request_extension(
    session: Session,
    *,
    case_id: int,
    actor: Actor,
    reason: str,
    days: int,
    task_id: int | None = None,
    now: dt.datetime | None = None,
) -> Extension:
    """The holder asks for DAYS more working days on the current stage, before its limit; with
    TASK_ID, a called unit on its task's current step (its report or its work).

    Raises InvalidInput (reason, days), NotHolder, NotAllowed (no limit, clock stopped, limit
    passed), Conflict (a request of this stage is pending), NotFound."""
    now = now or utcnow()
    chain.lock_head(session)
    case = engine.get_case(session, case_id)
    reason_text = _reason(reason, required=True)
    n = _days(days)
    if task_id is not None:
        return _request_task_extension(session, case, task_id, actor, reason_text or "", n, now)
    _check_extension_asked(session, case, actor, now)
    assert case.holder is not None and case.stage_due_at is not None and reason_text is not None
    assert case.stage_seq is not None
    on = _Asked(case.stage_seq, case.state, case.holder, case.stage_due_at, "stage")
    return _ask(session, case, on, actor, reason_text, n, now)


def _check_extension_asked(session: Session, case: Case, actor: Actor, now: dt.datetime) -> None:
    """ACTOR may ask for more time on CASE's stage: the holder, while a limit runs (before it
    passes and with no request pending: _ask)."""
    if case.tier is None:
        raise NotAllowed(code="no_time_limit_closed", params={"case": case.id, "state": case.state})
    roles = TIER_ROLES.get(case.tier, frozenset()) - {"system", "applicant"}
    if actor.unit != case.holder or actor.role not in roles:
        raise NotHolder(code="holder_asks_time", params={"holder": case.holder, "case": case.id})
    if case.paused_at is not None:
        raise NotAllowed(code="clock_stopped")
    if case.stage_due_at is None or case.stage_seq is None:
        raise NotAllowed(code="stage_no_limit", params={"state": case.state})


def decide_extension(
    session: Session,
    *,
    extension_id: int,
    actor: Actor,
    approve: bool,
    reason: str | None = None,
    days: int | None = None,
    now: dt.datetime | None = None,
) -> Extension:
    """The supervising unit approves (DAYS working days, by default those asked for, added to
    the stage's limit and to the case's) or refuses (with a reason). Either way a trail event.

    Raises InvalidInput, NotHolder (not a supervising unit), Conflict (decided already),
    NotAllowed (the stage has ended), NotFound."""
    now = now or utcnow()
    chain.lock_head(session)
    ext = session.get(Extension, extension_id, populate_existing=True)
    if ext is None:
        raise NotFound(code="no_such", params={"what": "extension", "id": extension_id})
    reason_text = _reason(reason, required=not approve)
    granted = _days(ext.days if days is None else days) if approve else None
    if actor.role not in SUPERVISOR_ROLES or actor.unit not in supervising_units(
        ext.holder, registry.units(session)
    ):
        raise NotHolder(
            code="extension_decided_by", params={"extension": extension_id, "unit": ext.unit}
        )
    if ext.status != "pending":
        raise Conflict(
            code="extension_decided_already",
            params={"extension": extension_id, "status": ext.status},
        )
    case = engine.get_case(session, ext.case_id)
    task = _stage_asked_for(session, ext, case)
    ext.decided_by = actor.label
    ext.decided_at = now
    ext.decision_reason = reason_text
    data: dict[str, Any] = {"extension": ext.id, "stage_seq": ext.stage_seq}
    if granted is None:
        ext.status = "refused"
    else:
        _approve(session, ext, case, task, granted, data, now)
    if task is not None:
        data["task"] = task.id
    chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action=f"extension.{ext.status}",
        case_id=case.id,
        to_state=case.state,
        to_holder=task.unit if task is not None else case.holder,
        reason=reason_text,
        data=data,
    )
    return ext


def _stage_asked_for(session: Session, ext: Extension, case: Case) -> Task | None:
    """The task whose step the extension asks for (None: the case's stage); NotAllowed when
    that step or stage has ended."""
    if ext.task_id is None:
        if case.stage_seq != ext.stage_seq or case.tier is None:
            raise NotAllowed(code="stage_ended", params={"state": ext.state, "case": case.id})
        return None
    task = tasks.get_task(session, ext.task_id)
    if task.stage_seq != ext.stage_seq or task.status not in tasks.OPEN:
        raise NotAllowed(code="task_step_ended", params={"task": task.id})
    return task


def _approve(
    session: Session,
    ext: Extension,
    case: Case,
    task: Task | None,
    granted: int,
    data: dict[str, Any],
    now: dt.datetime,
) -> None:
    ext.status = "approved"
    ext.days = granted
    if task is not None:
        ext.new_stage_due_at = _extend_task(session, task, granted, now=now)
        data.update(days=granted, task=task.id, task_due_at=chain.format_at(ext.new_stage_due_at))
    else:
        ext.new_stage_due_at = _extend(session, case, granted, now=now)
        data.update(days=granted, **stages.clock_data(case))


def _request_task_extension(
    session: Session, case: Case, task_id: int, actor: Actor, reason: str, n: int, now: dt.datetime
) -> Extension:
    task = tasks.get_task(session, task_id)
    if task.case_id != case.id:
        raise NotFound(code="no_task_on_case", params={"task": task_id, "case": case.id})
    if actor.unit != task.unit or actor.role not in tasks.WORK_ROLES:
        raise NotHolder(code="task_unit_asks_time", params={"unit": task.unit, "task": task.id})
    if task.status not in tasks.OPEN or task.stage_due_at is None or task.stage_seq is None:
        raise NotAllowed(code="task_no_limit", params={"task": task.id, "status": task.status})
    on = _Asked(task.stage_seq, task.state, task.unit, task.stage_due_at, "step", task.id)
    return _ask(session, case, on, actor, reason, n, now)


@dataclass(frozen=True)
class _Asked:
    """What an extension is asked on: a case's stage, or a task's step (report or work)."""

    stage_seq: int
    state: str
    holder: str
    due: dt.datetime
    noun: str  # "stage" or "step", as the refusals say it
    task_id: int | None = None


def _ask(
    session: Session,
    case: Case,
    on: _Asked,
    actor: Actor,
    reason: str,
    n: int,
    now: dt.datetime,
) -> Extension:
    """The request itself, before ON's limit and with none pending: its row and trail event."""
    if now > on.due:
        raise NotAllowed(
            code="extension_late_task" if on.task_id is not None else "extension_late_stage",
            params={"due": chain.format_at(on.due)},
        )
    pending = session.execute(
        select(Extension.id).where(
            Extension.case_id == case.id,
            Extension.stage_seq == on.stage_seq,
            Extension.status == "pending",
        )
    ).first()
    if pending:
        raise Conflict(code="extension_pending", params={"extension": pending[0], "what": on.noun})
    unit, _ = supervising_units(on.holder, registry.units(session))
    ext = Extension(
        case_id=case.id,
        stage_seq=on.stage_seq,
        state=on.state,
        holder=on.holder,
        unit=unit,
        requested_by=actor.label,
        requested_at=now,
        reason=reason,
        days=n,
        status="pending",
        task_id=on.task_id,
    )
    session.add(ext)
    session.flush()
    task = {"task": on.task_id} if on.task_id is not None else {}
    chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action="extension.requested",
        case_id=case.id,
        to_state=case.state,
        to_holder=on.holder,
        reason=reason,
        data={
            "extension": ext.id,
            **task,
            "days": n,
            "stage_seq": on.stage_seq,
            "unit": unit,
            "stage_due_at": chain.format_at(on.due),
        },
    )
    return ext


def _extend_task(session: Session, task: Task, days: int, *, now: dt.datetime) -> dt.datetime:
    """Move the task's current limit DAYS working days later (not a step: its version stays);
    on an urgent case's clock, DAYS times 24 hours."""
    calendar = _clock(session, session.get_one(Case, task.case_id))
    assert task.stage_due_at is not None
    new_due = calendar.add_working_days(task.stage_due_at, days)
    limit = calendar.working_seconds_between(task.stage_started_at or now, new_due)
    left = calendar.working_seconds_between(now, new_due)
    values: dict[str, Any] = {
        "stage_due_at": new_due,
        "stage_yellow_at": stages.yellow_at(calendar, now, left, limit),
        ("report_due_at" if task.status == "awaiting_report" else "due_at"): new_due,
    }
    session.execute(
        update(Task)
        .where(Task.id == task.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    for k, v in values.items():
        set_committed_value(task, k, v)
    light = tasks.light_of(task, now)
    if light != task.light:
        tasks.set_lights(session, {light: [task.id]})
        set_committed_value(task, "light", light)
    return new_due


def _extend(session: Session, case: Case, days: int, *, now: dt.datetime) -> dt.datetime | None:
    """Move the stage's limit DAYS working days later, and the case's by as much working time;
    while the clock is stopped, add that time to what is left. Not a transition: Core UPDATE.
    On an urgent case's clock (running day and night) a day is 24 hours."""
    calendar = _clock(session, case)
    assert case.stage_due_at is not None
    old_due = case.stage_due_at
    new_due = calendar.add_working_days(old_due, days)
    added = int(calendar.working_seconds_between(old_due, new_due))
    values: dict[str, Any] = {"stage_limit_s": (case.stage_limit_s or 0) + added}
    if case.paused_at is not None:
        if case.stage_left_s is not None:
            values["stage_left_s"] = case.stage_left_s + added
        if case.case_left_s is not None:
            values["case_left_s"] = case.case_left_s + added
        new_due = old_due  # moved when the clock starts again
    else:
        values["stage_due_at"] = new_due
        if case.due_at is not None:
            values["due_at"] = calendar.add_working_seconds(case.due_at, added)
        left = calendar.working_seconds_between(now, new_due)
        values["stage_yellow_at"] = stages.yellow_at(calendar, now, left, values["stage_limit_s"])
    session.execute(
        update(Case)
        .where(Case.id == case.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    for k, v in values.items():
        set_committed_value(case, k, v)
    light = stages.light_of(case, now)
    if light != case.light:
        _set_lights(session, {light: [case.id]})
        set_committed_value(case, "light", light)
    return new_due if case.paused_at is None else None
