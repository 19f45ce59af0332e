"""Lists of cases: the caller's scoped list (newest first, keyset paged), a unit's inbox and the
whistle queue (the most urgent first)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from workflow.actors import Actor
from workflow.queries.paging import Page, numbered, page
from workflow.queries.scope import case_filter, unit_kind
from workflow.store.models import Case

LIGHTS = ("green", "yellow", "red", "none")


def list_cases(
    session: Session,
    *,
    actor: Actor,
    state: str | None = None,
    holder: str | None = None,
    item: str | None = None,
    light: str | None = None,
    after: int | None = None,
    offset: int = 0,
    limit: int,
) -> Page[Case]:
    """The cases ACTOR may see, newest (highest id) first, filtered; AFTER is the id of the last
    case already read."""
    where: list[ColumnElement[bool]] = [case_filter(session, actor)]
    for column, value in (
        (Case.state, state),
        (Case.holder, holder),
        (Case.item, item),
        (Case.light, light),
    ):
        if value:
            where.append(column == value)
    return page(session, Case, where, key=Case.id, after=after, offset=offset, limit=limit)


# Critical cases first, then urgent ones: minutes matter more than working days.
URGENCY_RANK = sql_case((Case.urgency == "critical", 0), (Case.urgency == "urgent", 1), else_=2)


def _most_urgent_first(
    session: Session, where: list[ColumnElement[bool]], offset: int, limit: int
) -> Page[Case]:
    stmt = select(Case).order_by(
        URGENCY_RANK, Case.stage_due_at.is_(None), Case.stage_due_at, Case.id
    )
    return numbered(session, stmt, Case, where, offset=offset, limit=limit)


def inbox(
    session: Session, *, actor: Actor, light: str | None = None, offset: int = 0, limit: int
) -> Page[Case]:
    """The cases ACTOR's unit holds now, the nearest stage limit first."""
    where: list[ColumnElement[bool]] = [Case.holder == actor.unit, case_filter(session, actor)]
    if light in LIGHTS:
        where.append(Case.light == light)
    return _most_urgent_first(session, where, offset, limit)


def whistles(session: Session, *, actor: Actor, offset: int = 0, limit: int) -> Page[Case]:
    """Whistled cases awaiting a department's report: those the actor's street blew (a street
    office), or those addressed to the actor's unit; the nearest report limit first."""
    where: list[ColumnElement[bool]] = [
        Case.state == "awaiting_report",
        case_filter(session, actor),
    ]
    if unit_kind(session, actor.unit) == "street_office":
        where.append(Case.street == actor.unit)
    else:
        where.append(Case.holder == actor.unit)
    return _most_urgent_first(session, where, offset, limit)


def by_ids(session: Session, ids: list[int]) -> dict[int, Any]:
    """The cases of IDS (already scoped by the caller's list), in one query."""
    if not ids:
        return {}
    return {c.id: c for c in session.execute(select(Case).where(Case.id.in_(ids))).scalars()}
