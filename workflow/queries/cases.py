"""Lists of cases: the caller's scoped list (newest first, found with workflow.queries.search's
filters), a unit's inbox and the whistle queue (the most urgent first); keyset paged."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from workflow.actors import Actor
from workflow.queries.paging import Page, Seek, page, seek
from workflow.queries.scope import case_filter, held_scope, unit_kind
from workflow.queries.search import (
    COUNT_CAP,
    LIGHTS,
    MOST_URGENT_FIRST,
    SQLITE_MOST_URGENT_FIRST,
    URGENCY_RANK,
    Filters,
    branches,
    sample_index,
    where,
)
from workflow.store.models import Case

__all__ = ["LIGHTS", "URGENCY_RANK", "by_ids", "inbox", "list_cases", "whistles"]


def list_cases(
    session: Session,
    *,
    actor: Actor,
    filters: Filters | None = None,
    state: str | None = None,
    holder: str | None = None,
    item: str | None = None,
    light: str | None = None,
    after: int | None = None,
    offset: int = 0,
    limit: int,
) -> Page[Case]:
    """The cases ACTOR finds with FILTERS (STATE, HOLDER, ITEM, LIGHT: its fields, when given),
    newest (highest id) first; AFTER is the id of the last case already read."""
    f = filters or Filters()
    f = replace(
        f,
        state=state or f.state,
        holder=holder or f.holder,
        item=item or f.item,
        light=light or f.light,
    )
    clauses, read, counted = branches(session, actor, f)
    return page(
        session,
        Case,
        clauses,
        key=Case.id,
        after=after,
        offset=offset,
        limit=limit,
        count_cap=COUNT_CAP,
        branches=read,
        counted=counted,
        sample_by=sample_index(f, counted or clauses),
    )


def inbox(
    session: Session,
    *,
    actor: Actor,
    light: str | None = None,
    after: str | None = None,
    offset: int = 0,
    limit: int,
) -> Seek[Case]:
    """The cases ACTOR's unit holds now, the most urgent first."""
    f = Filters(view="inbox", light=light if light in LIGHTS else None)
    clauses = where(session, actor, f)
    sqlite = session.get_bind().dialect.name == "sqlite"
    return seek(
        session,
        Case,
        clauses,
        # On SQLite, the order as its index of held cases declares it (read in order).
        SQLITE_MOST_URGENT_FIRST if sqlite else MOST_URGENT_FIRST,
        after=after,
        offset=offset,
        limit=limit,
        count_cap=COUNT_CAP,
        # An estimate beyond the cap reads runs of the holder's index, not 4,096 cases' rows.
        sample_by=sample_index(f, clauses),
    )


def whistle_queue(session: Session, actor: Actor) -> list[ColumnElement[bool]]:
    """Whistled cases awaiting a department's report: those the actor's street blew (a street
    office), or those addressed to the actor's unit."""
    clauses: list[ColumnElement[bool]] = [Case.state == "awaiting_report"]
    if unit_kind(session, actor.unit) == "street_office":
        clauses += [case_filter(session, actor), Case.street == actor.unit]
    else:
        clauses.append(Case.holder == actor.unit)
        if not held_scope(session, actor):  # what the unit holds is in such a scope anyway
            clauses.append(case_filter(session, actor))
    return clauses


def whistles(
    session: Session, *, actor: Actor, after: str | None = None, offset: int = 0, limit: int
) -> Seek[Case]:
    """The whistle queue, the nearest report limit first."""
    street = unit_kind(session, actor.unit) == "street_office"
    return seek(
        session,
        Case,
        whistle_queue(session, actor),
        MOST_URGENT_FIRST,
        after=after,
        offset=offset,
        limit=limit,
        count_cap=COUNT_CAP,
        # An estimate beyond the cap reads the (street or holder, state) index's runs of ids,
        # not the cases' rows.
        sample_by="ix_cases_street_state" if street else "ix_cases_holder_state",
    )


def by_ids(session: Session, ids: list[int]) -> dict[int, Any]:
    """The cases of IDS (already scoped by the caller's list), in one query."""
    if not ids:
        return {}
    return {c.id: c for c in session.execute(select(Case).where(Case.id.in_(ids))).scalars()}
