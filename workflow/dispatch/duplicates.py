"""Duplicates (重复件) and merging (合并): a new case of the same item at the same place as an
open case of the last days is likely the same matter. The clerk or dispatcher who holds the new
case may merge it into the existing one: the new case closes as merged, and when the existing
case (the master) ends, the new case's resident is asked to rate the master's outcome. The
appraisal counts the matter once (workflow.appraisal.metrics: a merged case is not received,
completed or overdue again, and the residents' answers count once, for the master)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy import ColumnElement, or_, select, type_coerce
from sqlalchemy import case as sa_case
from sqlalchemy.orm import Session

from workflow import config
from workflow.actors import Actor
from workflow.audit import chain
from workflow.errors import InvalidInput, NotAllowed, NotHolder
from workflow.instants import utcnow
from workflow.runtime import engine, stages
from workflow.spec.model import DISPATCH_STATE, MERGED_STATE
from workflow.store.models import Case, Feedback

EARTH_M = 6_371_000


def _point(case: Any) -> tuple[float, float] | None:
    """The case's point, where cases carry one (lat/long columns, when the place is kept)."""
    lat, long = getattr(case, "lat", None), getattr(case, "long", None)
    return (float(lat), float(long)) if lat is not None and long is not None else None


def _address(case: Any) -> str:
    text = getattr(case, "address", None) or (case.form or {}).get("address") or ""
    return "".join(str(text).split()).casefold()


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres (haversine): plenty for a few hundred metres."""
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    )
    return 2 * EARTH_M * math.asin(math.sqrt(h))


def _near(case: Any, other: Any, metres: int) -> bool:
    """Same place: within METRES where both have a point; else the same address where both
    have one; else the same community (the query's condition) is enough."""
    p, q = _point(case), _point(other)
    if p is not None and q is not None:
        return distance_m(p, q) <= metres
    a, b = _address(case), _address(other)
    return not (a and b) or a == b


def _asks(case: Case) -> bool:
    return bool(case.item) and not (
        case.state == DISPATCH_STATE and case.workstation == case.holder
    )


def _candidates(session: Session, case: Case, *columns: Any) -> tuple[Any, int]:
    """The statement of COLUMNS of the open cases (not merged) of CASE's item at its community
    opened within the settings' window of it, the newest first, as many as similar() looks at;
    and the settings' distance."""
    local = config.of(session)
    window = dt.timedelta(days=local.duplicate_window_days)
    return (
        select(*columns)
        .where(
            Case.id != case.id,
            Case.item == case.item,
            Case.workstation == case.workstation,
            Case.closed_at.is_(None),
            Case.merged_into.is_(None),
            Case.created_at >= case.created_at - window,
            Case.created_at <= case.created_at + window,
        )
        .order_by(Case.created_at.desc(), Case.id.desc())
    ), local.duplicate_distance_m


def similar(session: Session, case: Case, *, limit: int = 10) -> list[Case]:
    """Likely duplicates of CASE: open cases (not merged) of the same item at the same community,
    opened within the settings' window (STREETFLOW_DUPLICATE_WINDOW_DAYS) of it, near it; the
    newest first. None for a case without an item or a community yet."""
    if not _asks(case):
        return []
    statement, metres = _candidates(session, case, Case)
    rows = session.execute(statement.limit(limit * 5)).scalars()
    return [c for c in rows if _near(case, c, metres)][:limit]


# What similar_rows() reads of each candidate: what a list of them shows and where it is (the
# form, for its address, only where the address column has none).
_SHOWN = (Case.id, Case.item, Case.list_version, Case.state, Case.created_at)
_PLACE = (
    Case.lat,
    Case.long,
    Case.address,
    type_coerce(
        sa_case((or_(Case.address.is_(None), Case.address == ""), Case.form), else_=None),
        Case.form.type,
    ).label("form"),
)


def similar_rows(
    session: Session, case: Case, seen: ColumnElement[bool], *, limit: int = 10
) -> list[Any]:
    """similar()'s cases that SEEN (a condition on cases: the reader's scope) selects, as rows
    of id, item, list_version, state and created_at, in one statement: the candidates' columns
    that place them, not the whole cases (a case page read fifty whole cases to keep ten)."""
    if not _asks(case):
        return []
    statement, metres = _candidates(session, case, *_SHOWN, *_PLACE, seen.label("seen"))
    rows = session.execute(statement.limit(limit * 5)).all()
    return [r for r in [r for r in rows if _near(case, r, metres)][:limit] if r.seen]


def may_merge(session: Session, case: Case, actor: Actor) -> bool:
    """Who merges a case: the dispatcher of the centre that holds it, or the clerk of the
    workstation that holds it before it is accepted (its route's first state)."""
    if case.closed_at is not None or case.holder is None or actor.unit != case.holder:
        return False
    if case.state == DISPATCH_STATE:
        return actor.role == "dispatcher"
    if actor.role != "clerk":
        return False
    return bool(case.state == engine.route_of(session, case).initial)


def merge(
    session: Session,
    case_id: int,
    actor: Actor,
    into: int,
    *,
    reason: str,
    now: dt.datetime | None = None,
) -> Case:
    """Merge case CASE_ID into the open case INTO: it ends as merged (a case.merged event, the
    master named), and its resident is asked to rate the master's outcome when the master ends
    (workflow.feedback.links.case_ended). The caller checks that INTO is in the actor's scope. Raises
    InvalidInput (no reason, itself), NotHolder, NotAllowed (either closed), NotFound."""
    now = now or utcnow()
    chain.lock_head(session)
    text = engine._text(reason, "reason", required=True).strip()
    case = engine.get_case(session, case_id)
    if into == case_id:
        raise InvalidInput(
            "a case is not merged into itself", {"into": ["another case"]}, code="merge_into_itself"
        )
    master = engine.get_case(session, into)
    if case.closed_at is not None:
        raise NotAllowed(
            f"case {case_id} is {case.state}: it is closed",
            code="case_closed",
            params={"case": case_id, "state": case.state},
        )
    if not case.item:
        raise InvalidInput(
            f"classify case {case_id} first: a duplicate is of an item",
            {"item": ["required"]},
            code="classify_duplicate_first",
            params={"case": case_id},
        )
    if not may_merge(session, case, actor):
        raise NotHolder(
            f"the dispatcher or clerk holding case {case_id}, before it is accepted, merges it",
            code="merge_by_holder",
            params={"case": case_id},
        )
    if master.closed_at is not None or master.merged_into is not None:
        raise NotAllowed(
            f"case {into} is {master.state}: merge into an open case",
            code="merge_into_open",
            params={"case": into, "state": master.state},
        )
    before = (case.state, case.holder)
    case.state = MERGED_STATE
    case.tier = None
    case.holder = None
    case.merged_into = master.id
    case.updated_at = now
    case.due_at = None
    stages._stop_for_good(case, now, chain.next_seq(session, case.partition))
    session.flush()
    chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action="case.merged",
        case_id=case.id,
        from_state=before[0],
        to_state=case.state,
        from_holder=before[1],
        to_holder=None,
        reason=text,
        data={"into": master.id, "item": case.item, **stages.clock_data(case)},
    )
    return case


def merged_into(session: Session, master_id: int) -> list[Case]:
    return list(
        session.execute(
            select(Case).where(Case.merged_into == master_id).order_by(Case.id)
        ).scalars()
    )


def ask_merged(session: Session, master_id: int, now: dt.datetime) -> list[Feedback]:
    """The master has ended: each merged case's resident is asked to rate its outcome (the
    master's handling units credited), once."""
    from workflow.feedback import links  # the feedback package reads the engine

    asked = []
    for case in merged_into(session, master_id):
        have = session.execute(select(Feedback.id).where(Feedback.case_id == case.id)).first()
        if have is None:
            asked.append(links.ask(session, case, now=now, about=master_id))
    return asked


def merge_summary(case: Case) -> dict[str, Any]:
    return {"id": case.id, "item": case.item, "state": case.state, "workstation": case.workstation}
