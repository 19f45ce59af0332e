"""Supervision records (督办): who sees which, and their lists."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from workflow.actors import Actor
from workflow.catalog import registry
from workflow.queries.paging import Page, page
from workflow.queries.scope import case_filter, of_cases_seen, visible_row
from workflow.queries.search import COUNT_CAP
from workflow.runtime import sla
from workflow.store.models import Case, Supervision


def addressed(session: Session, actor: Actor) -> set[str]:
    """The units whose supervisions and extensions ACTOR answers for: their own (staff and
    administrators only)."""
    if actor.role not in sla.SUPERVISOR_ROLES or not actor.unit:
        return set()
    return {actor.unit} if actor.unit in registry.units(session).units else set()


def visible(session: Session, actor: Actor) -> ColumnElement[bool]:
    """What ACTOR may see: the supervisions of the cases they may see, and those addressed to
    their unit (a department sees its agencies' late stages, a district all it is sent)."""
    if actor.role == "auditor":
        return Supervision.case_id.in_(select(Case.id).where(case_filter(session, actor)))
    units = addressed(session, actor)
    clauses = [of_cases_seen(session, actor, Supervision.case_id)]
    if units:
        clauses += [Supervision.unit.in_(units), Supervision.also_unit.in_(units)]
    return or_(*clauses)


def list_supervisions(
    session: Session,
    *,
    actor: Actor,
    unit: str | None = None,
    open: bool | None = None,
    listed: bool | None = None,
    case: int | None = None,
    after: int | None = None,
    offset: int = 0,
    limit: int,
) -> Page[Supervision]:
    """The supervisions ACTOR may see, newest first; UNIT: addressed to it (as supervising unit
    or host street, or listing district); OPEN: not acknowledged (True) or acknowledged (False);
    LISTED: listed (挂牌督办) and still on the late stage."""
    where: list[ColumnElement[bool]] = [visible(session, actor)]
    if unit:
        where.append(
            or_(
                Supervision.unit == unit,
                Supervision.also_unit == unit,
                Supervision.listed_unit == unit,
            )
        )
    if listed:
        where += [Supervision.listed_at.is_not(None), sla.still_open()]
    if open is not None:
        done = Supervision.acknowledged_at.is_not(None)
        where.append(~done if open else done)
    if case:
        where.append(Supervision.case_id == case)
    return page(
        session,
        Supervision,
        where,
        key=Supervision.id,
        after=after,
        offset=offset,
        limit=limit,
        count_cap=COUNT_CAP,
    )


def get_visible(session: Session, *, actor: Actor, supervision_id: int) -> Supervision:
    """The supervision when ACTOR may see it; NotFound otherwise, the same as no such record."""
    return visible_row(session, Supervision, supervision_id, visible(session, actor))
