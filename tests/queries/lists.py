"""What the list tests compare: the cases a list's conditions select, asked as one plain query,
and the list as GET /cases reads it page after page."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.actors import Actor
from workflow.queries import cases, search
from workflow.store.models import Case


def condition(s: Session, who: Actor, f: search.Filters) -> list[int]:
    """The cases the list's conditions select (q as one condition), newest first, asked as one
    plain query."""
    where = search.where(s, who, f)
    return list(s.execute(select(Case.id).where(*where).order_by(Case.id.desc())).scalars())


def paged(s: Session, who: Actor, f: search.Filters, per_page: int) -> list[int]:
    """GET /cases page after page by its cursor."""
    seen: list[int] = []
    after = None
    while True:
        page = cases.list_cases(s, actor=who, filters=f, after=after, limit=per_page)
        seen += [c.id for c in page.items]
        if page.next is None:
            return seen
        after = page.next
