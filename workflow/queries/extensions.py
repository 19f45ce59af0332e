"""Extension requests (延期): who sees which, and their lists."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from workflow.actors import Actor
from workflow.queries.paging import Page, page
from workflow.queries.scope import case_filter, of_cases_seen, visible_row
from workflow.queries.supervisions import addressed
from workflow.store.models import Case, Extension

STATUSES = ("pending", "approved", "refused")


def visible(session: Session, actor: Actor) -> ColumnElement[bool]:
    """What ACTOR may see: the extensions of the cases they may see, and those their unit
    decides."""
    if actor.role == "auditor":
        return Extension.case_id.in_(select(Case.id).where(case_filter(session, actor)))
    units = addressed(session, actor)
    clauses = [of_cases_seen(session, actor, Extension.case_id)]
    if units:
        clauses.append(Extension.unit.in_(units))
    return or_(*clauses)


def _where(
    session: Session,
    actor: Actor,
    unit: str | None,
    holder: str | None,
    status: str | None,
    case: int | None,
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [visible(session, actor)]
    for column, value in (
        (Extension.unit, unit),
        (Extension.holder, holder),
        (Extension.status, status),
        (Extension.case_id, case),
    ):
        if value:
            where.append(column == value)
    return where


def list_extensions(
    session: Session,
    *,
    actor: Actor,
    unit: str | None = None,
    holder: str | None = None,
    status: str | None = None,
    case: int | None = None,
    after: int | None = None,
    offset: int = 0,
    limit: int,
) -> Page[Extension]:
    """The extensions ACTOR may see, newest first; UNIT: the deciding unit; HOLDER: the unit
    that asked."""
    where = _where(session, actor, unit, holder, status, case)
    return page(
        session, Extension, where, key=Extension.id, after=after, offset=offset, limit=limit
    )


def pending_first(
    session: Session,
    *,
    actor: Actor,
    unit: str | None = None,
    holder: str | None = None,
    limit: int,
) -> list[Extension]:
    """The newest LIMIT extensions ACTOR may see, those still to decide first (a work list)."""
    where = _where(session, actor, unit, holder, None, None)
    stmt = (
        select(Extension)
        .where(*where)
        .order_by(Extension.status != "pending", Extension.id.desc())
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def get_visible(session: Session, *, actor: Actor, extension_id: int) -> Extension:
    """The extension when ACTOR may see it; NotFound otherwise, the same as no such request."""
    row: Extension = visible_row(session, Extension, extension_id, visible(session, actor))
    return row
