"""The trail as auditors browse it: the part each reads (workflow.privacy's rule), filtered and
paged by seq."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, text, union_all
from sqlalchemy.orm import Session

from workflow import privacy
from workflow.actors import Actor
from workflow.errors import NotHolder
from workflow.queries.paging import (
    Page,
    count_upto,
    estimate_through,
    narrowing,
    page,
    planned_rows,
)
from workflow.queries.search import COUNT_CAP
from workflow.store.models import Case, CaseUnit, TrailEvent

# The condition of the trail's partial index of the actions (ix_trail_events_action_seq).
LISTED = TrailEvent.seq > 0


def readable_part(session: Session, actor: Actor) -> ColumnElement[bool]:
    """The part of the trail ACTOR reads; NotHolder (a refusal by role) for those who read
    none: all but auditors, who read each case's timeline on the case."""
    part = privacy.trail_part(session, actor)
    if part is None:
        raise NotHolder(code="trail_auditors")
    return part


def list_events(
    session: Session,
    *,
    actor: Actor,
    case: int | None = None,
    unit: str | None = None,
    by: str | None = None,
    action: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    newest_first: bool = False,
    after: int | None = None,
    offset: int = 0,
    limit: int,
) -> Page[TrailEvent]:
    """The events of ACTOR's part, by seq; UNIT matches the acting unit and the holder before or
    after the event; BY is the acting user; SINCE is inclusive, UNTIL exclusive; AFTER is the
    seq of the last event already read."""
    where: list[ColumnElement[bool]] = [readable_part(session, actor)]
    if case is not None:
        where.append(TrailEvent.case_id == case)
    if unit:
        where.append(
            or_(
                TrailEvent.unit == unit,
                TrailEvent.from_holder == unit,
                TrailEvent.to_holder == unit,
            )
        )
    if by:
        where.append(TrailEvent.actor == by)
    if action:
        # With the condition of the actions' partial index (every event meets it): the index
        # hands an action's events over in seq order (migration 0040_trail_actions).
        where.extend([TrailEvent.action == action, narrowing(LISTED)])
    if since is not None:
        where.append(TrailEvent.at >= since)
    if until is not None:
        where.append(TrailEvent.at < until)
    of_cases = privacy.trail_part_cases(session, actor)
    narrow, ids, cases = False, None, 0
    if of_cases is not None:
        postgresql = session.get_bind().dialect.name == "postgresql"
        # An action's events counted from the actions' index where they are few (SQLite: the
        # unit's cases' every event was asked for it, 0.2 s for a street's appeals at a million
        # cases), else from the unit's cases (a workstation's 1,001 opened cases were counted
        # from the city's 50,000 openings); PostgreSQL's planner knows how many an action has.
        few_of_action = bool(action and not postgresql and _few(session, action))
        narrow = bool(action and (postgresql or few_of_action))
        if case is None and not few_of_action:
            ids, cases = _part_cases(session, actor)
        if ids is None and cases and postgresql and _hashed_part(session, actor):
            where[0] = privacy.trail_part_as_set(actor)
    if ids is not None:
        found = _page_of_cases(
            session,
            actor,
            ids,
            where[1:],
            newest_first=newest_first,
            after=after,
            offset=offset,
            limit=limit,
        )
    else:
        found = page(
            session,
            TrailEvent,
            where,
            key=TrailEvent.seq,
            descending=newest_first,
            after=after,
            offset=offset,
            limit=limit,
            count=of_cases is None,
            count_cap=COUNT_CAP,
        )
    if of_cases is None:
        return found
    total, exact = _count_part(
        session, actor, of_cases, where, COUNT_CAP, narrow=narrow, ids=ids, cases=cases
    )
    return replace(found, total=total, exact=exact)


# A unit's part of the trail with at most this many cases is read from its cases' events
# (_page_of_cases) and counted exactly; a larger one in seq order, each event asked whether the
# part holds it. (At a million cases a department of 4,001 cases, 55,000 events, was read and
# counted in 5 and 10 ms on SQLite, where its walk took 12 to 143 ms; on PostgreSQL both ways
# took 50 to 110 ms.)
FEW_CASES = 5_000
# The trail's index that hands over a case's events in seq order.
CASE_EVENTS = "ix_trail_events_case_seq_action_at"


# On PostgreSQL a department's part of at most this many cases (the planner's estimate) is read
# in seq order with its cases' ids hashed once, each event asked of the hash; a larger one asks
# each event of the indexes (privacy.trail_part). At five million cases a department of 18,000
# cases, few of whose events are among the newest, had 44,000 events read for a page of 51, three
# index look-ups each: 150 ms, against 16 ms with the 18,000 ids hashed (2.6 ms). A department of
# 260,000 cases has its events close together (2-5 ms asked of each event), and its ids took 60
# to 140 ms to hash.
HASHED_CASES = 100_000
# The memory a hashed id takes, about (an upper bound of what the planner reckons), and the
# memory a hash may take: where the ids would not fit, the planner reads the set again for each
# event instead of hashing it, far slower than asking the indexes.
HASHED_ID_BYTES = 64
_HASH_MEM = text(
    "SELECT pg_size_bytes(current_setting('work_mem'))"
    " * current_setting('hash_mem_multiplier')::float8"
)


def _hashed_part(session: Session, actor: Actor) -> bool:
    """Whether ACTOR's part of the trail is a department's (held_by) of at most HASHED_CASES
    cases, as PostgreSQL's planner expects them, whose ids fit in the memory of a hash."""
    if privacy.part_cases_index(session, actor) is not None:
        return False  # a street's or a workstation's: its events close together
    held = privacy.trail_part_case_ids(session, actor)
    if held is None:
        return False
    n = planned_rows(session, held)
    return n <= HASHED_CASES and n * HASHED_ID_BYTES <= session.execute(_HASH_MEM).scalar_one()


def _part_cases(session: Session, actor: Actor) -> tuple[Any, int]:
    """The ids of the cases of ACTOR's part of the trail where they are at most FEW_CASES (None
    otherwise), and how many there are, counted to one more than FEW_CASES or the count's cap,
    whichever is more (0: ACTOR's part has no set of cases of its own)."""
    ids = privacy.trail_part_case_ids(session, actor)
    if ids is None:
        return None, 0
    upto = select(func.count()).select_from(ids.limit(max(FEW_CASES, COUNT_CAP) + 1).subquery())
    n = session.execute(upto).scalar_one()
    return (ids if n <= FEW_CASES else None), n


def _of_cases(ids: Any, filters: list[ColumnElement[bool]]) -> Any:
    """The seqs of the events of the cases IDS matching FILTERS, from the trail's index on
    the case (SQLite would walk the trail in seq order for a page, asking each event)."""
    return (
        select(TrailEvent.seq)
        .with_hint(TrailEvent, f"INDEXED BY {CASE_EVENTS}", "sqlite")
        .where(TrailEvent.case_id.in_(ids), *filters)
    )


def _own(actor: Actor, filters: list[ColumnElement[bool]]) -> Any:
    """The seqs of ACTOR's unit's own events (without a case) matching FILTERS, from the
    trail's index on the case (SQLite chose the actions' index for an action, and asked each
    of a common action's million events whether it had a case)."""
    return (
        select(TrailEvent.seq)
        .with_hint(TrailEvent, f"INDEXED BY {CASE_EVENTS}", "sqlite")
        .where(privacy.trail_part_without_cases(actor), *filters)
    )


def _page_of_cases(
    session: Session,
    actor: Actor,
    ids: Any,
    filters: list[ColumnElement[bool]],
    *,
    newest_first: bool,
    after: int | None,
    offset: int,
    limit: int,
) -> Page[TrailEvent]:
    """page() of a unit's part of few cases (IDS) matching FILTERS: its cases' events read by
    the trail's index on the case and sorted, with its own events. The trail read in seq order
    asked each event whether the part held it: at a million cases on SQLite, the organisation
    department's auditor (no case, a few events of the unit's own) waited 5 s a page."""
    key = TrailEvent.seq
    if after is not None:
        filters = [*filters, key < after if newest_first else key > after]
        offset = 0
    both = union_all(_of_cases(ids, filters), _own(actor, filters)).subquery()
    order = both.c.seq.desc() if newest_first else both.c.seq
    seqs = list(
        session.execute(
            select(both.c.seq).order_by(order).offset(offset).limit(limit + 1)
        ).scalars()
    )
    rows = list(
        session.execute(
            select(TrailEvent)
            .where(key.in_(seqs[:limit]))
            .order_by(key.desc() if newest_first else key)
        ).scalars()
    )
    return Page(rows, None, rows[-1].seq if len(seqs) > limit and rows else None, True)


# An action with at most this many events is counted from the actions' index (_count_part):
# each is asked whether the unit's part holds it.
FEW_OF_AN_ACTION = 5_000


def _few(session: Session, action: str) -> bool:
    """Whether the trail holds at most FEW_OF_AN_ACTION events of ACTION (read from the
    actions' index, up to one more)."""
    where = [TrailEvent.action == action, LISTED]
    return count_upto(session, TrailEvent.seq, where, FEW_OF_AN_ACTION)[1]


def _count_part(
    session: Session,
    actor: Actor,
    of_cases: ColumnElement[bool],
    where: list[ColumnElement[bool]],
    cap: int,
    *,
    narrow: bool = False,
    ids: Any = None,
    cases: int = 0,
) -> tuple[int, bool]:
    """count_or_estimate() of a unit's part of the trail: its cases' events found from the
    cases (the unit's cases by their index, each one's events by the trail's index on the case)
    and its events without a case. Asked of each event in turn, counting the first thousand
    of a street's read ten thousand events and their cases. IDS: the part's cases where they
    are few (_part_cases): their events are counted exactly, whatever the cap (a sample of a
    city's cases holds a few of them, or none). CASES: the part's cases as _part_cases counted
    them."""
    # (where[0] is the part itself; its narrowing clauses kept only where NARROW.)
    filters = [w for w in where[1:] if narrow or not w._annotations.get("narrowing")]
    own = _own(actor, filters)
    if ids is not None:
        # Two counts added, each from its index: one count of their UNION ALL took each row
        # through a co-routine (a department's 42,000 events at a million cases on SQLite:
        # 4.7 ms against 3.1).
        counts = [
            q.with_only_columns(func.count(), maintain_column_froms=True).scalar_subquery()
            for q in (_of_cases(ids, filters), own)
        ]
        return session.execute(select(counts[0] + counts[1])).scalar_one(), True
    index = privacy.part_cases_index(session, actor)
    # A department's ids may hold a case twice (handed to it, and held now): half are distinct.
    distinct = cases if index else cases // 2
    if not filters and distinct > cap:
        # Every case has an event of the part (its opening, or the one that handed it over):
        # more cases than the cap are more events than the cap. Its events counted to the cap
        # read a thousand events and their cases (a street's: 2 ms of its auditor's 12 at five
        # million cases on PostgreSQL; a department's, through the hash of its every case:
        # 16-27 ms for 66,000).
        return _estimate_part(session, actor, of_cases, index, [], cap)
    events = (
        select(TrailEvent.seq)
        .join(Case, Case.id == TrailEvent.case_id)
        .where(of_cases, *filters)
        .limit(cap + 1)
    )
    n = session.execute(select(func.count()).select_from(events.subquery())).scalar_one()
    if n <= cap:
        own = own.limit(cap + 1 - n)
        n += session.execute(select(func.count()).select_from(own.subquery())).scalar_one()
    if n <= cap:
        return n, True
    return _estimate_part(session, actor, of_cases, index, filters, cap)


def _estimate_part(
    session: Session,
    actor: Actor,
    of_cases: ColumnElement[bool],
    index: str | None,
    filters: list[ColumnElement[bool]],
    cap: int,
) -> tuple[int, bool]:
    """About how many events of a unit's part match FILTERS, more than CAP: as many as a
    sample of the unit's cases have, and exactly its own. A street's or a workstation's cases
    are sampled in INDEX; a department's (None) among those the trail handed it (case_units,
    by its primary key of unit and case). (A sample of the trail found a workstation's few
    opened cases among a city's events by chance: a twentieth of them, or three times as
    many; a department's events, asked of a sample of the trail, came out 1.6 times too many
    or too few, 30 times on PostgreSQL.)"""
    if index:
        about, exact = estimate_through(
            session, Case.id, [of_cases], TrailEvent.case_id, sample_by=index, also=filters
        )
    else:
        about, exact = estimate_through(
            session,
            CaseUnit.case_id,
            [CaseUnit.unit == (actor.unit or "")],
            TrailEvent.case_id,
            sample_by=None,
            also=filters,
            ends=Case.id,
        )
    own = [privacy.trail_part_without_cases(actor), *filters]
    mine, all_counted = count_upto(session, TrailEvent.seq, own, cap)
    if exact and all_counted:
        return about + mine, True
    return max(cap + 1, about + mine), False


# The distinct actions by a loose index scan: each step one seek in the index on the action
# for the next one, so the cost is the number of actions, not of events (a million cases have
# four million events; SELECT DISTINCT read them all).
# (seq > 0: the condition of the partial index ix_trail_events_action_seq.)
_ACTIONS = text(
    "WITH RECURSIVE a(x) AS (SELECT min(action) FROM trail_events WHERE seq > 0"
    " UNION ALL SELECT (SELECT min(action) FROM trail_events WHERE seq > 0 AND action > a.x)"
    " FROM a WHERE a.x IS NOT NULL) SELECT x FROM a WHERE x IS NOT NULL"
)


def actions(session: Session, *, actor: Actor) -> list[str]:
    """The actions that occur in the trail, for the choices of ACTOR's filter (an auditor of a
    unit may choose one their part lacks: the list they get is then empty)."""
    readable_part(session, actor)
    return list(session.execute(_ACTIONS).scalars())


def case_timeline(
    session: Session, *, case_id: int, actor: Actor | None = None
) -> list[TrailEvent]:
    """A case's events, oldest first (the caller has checked the case is in scope); for ACTOR, a
    called department reads the steps of its own tasks only (workflow.queries.tasks)."""
    from workflow.queries.tasks import trail_filter

    stmt = select(TrailEvent).where(TrailEvent.case_id == case_id).order_by(TrailEvent.seq)
    if actor is not None:
        stmt = stmt.where(trail_filter(session, actor))
    return list(session.execute(stmt).scalars())
