"""The trail as auditors browse it: the part each reads (workflow.privacy's rule), filtered and
paged by seq."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy import ColumnElement, func, or_, select, text
from sqlalchemy.orm import Session

from workflow import privacy
from workflow.actors import Actor
from workflow.errors import NotHolder
from workflow.queries.paging import (
    Page,
    count_upto,
    estimate_beyond,
    estimate_through,
    narrowing,
    page,
)
from workflow.queries.search import COUNT_CAP
from workflow.store.models import Case, TrailEvent

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
    # An action's events counted from the actions' index where they are few (SQLite: the
    # unit's cases' every event was asked for it, 0.2 s for a street's appeals at a million
    # cases), else from the unit's cases (a workstation's 1,001 opened cases were counted from
    # the city's 50,000 openings); PostgreSQL's planner knows how many an action has.
    narrow = bool(
        action and (session.get_bind().dialect.name == "postgresql" or _few(session, action))
    )
    total, exact = _count_part(session, actor, of_cases, where, COUNT_CAP, narrow=narrow)
    return replace(found, total=total, exact=exact)


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
) -> tuple[int, bool]:
    """count_or_estimate() of a unit's part of the trail: its cases' events found from the
    cases (the unit's cases by their index, each one's events by the trail's index on the case)
    and its events without a case. Asked of each event in turn, counting the first thousand
    of a street's read ten thousand events and their cases."""
    # (where[0] is the part itself; its narrowing clauses kept only where NARROW.)
    filters = [w for w in where[1:] if narrow or not w._annotations.get("narrowing")]
    index = privacy.part_cases_index(session, actor)
    if not filters and index:
        # Every case has an event (its opening, written with it): more cases than the cap are
        # more events than the cap. A street's cases counted to the cap read their index alone,
        # where its events counted to the cap read a thousand events and their cases (2 ms of a
        # street auditor's 12 at five million cases on PostgreSQL).
        cases = select(Case.id).where(of_cases).limit(cap + 1)
        if session.execute(select(func.count()).select_from(cases.subquery())).scalar_one() > cap:
            return _estimate_part(session, actor, of_cases, index, [], cap)
    events = (
        select(TrailEvent.seq)
        .join(Case, Case.id == TrailEvent.case_id)
        .where(of_cases, *filters)
        .limit(cap + 1)
    )
    n = session.execute(select(func.count()).select_from(events.subquery())).scalar_one()
    if n <= cap:
        own = select(TrailEvent.seq).where(privacy.trail_part_without_cases(actor), *filters)
        own = own.limit(cap + 1 - n)
        n += session.execute(select(func.count()).select_from(own.subquery())).scalar_one()
    if n <= cap:
        return n, True
    if index:
        return _estimate_part(session, actor, of_cases, index, filters, cap)
    return estimate_beyond(session, TrailEvent.seq, where, cap)


def _estimate_part(
    session: Session,
    actor: Actor,
    of_cases: ColumnElement[bool],
    index: str,
    filters: list[ColumnElement[bool]],
    cap: int,
) -> tuple[int, bool]:
    """About how many events of a street's or a workstation's part (its cases in INDEX) match
    FILTERS, more than CAP: as many as a sample of the unit's cases have, and exactly its own.
    (A sample of the trail found a workstation's few opened cases among a city's events by
    chance: a twentieth of them, or three times as many.)"""
    about, exact = estimate_through(
        session, Case.id, [of_cases], TrailEvent.case_id, sample_by=index, also=filters
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
