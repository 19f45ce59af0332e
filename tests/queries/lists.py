"""What the list tests compare: the cases a list's conditions select, asked as one plain query,
and the list as GET /cases reads it page after page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.actors import Actor
from workflow.queries import cases, paging, search
from workflow.store.models import Case


def condition(s: Session, who: Actor, f: search.Filters) -> list[int]:
    """The cases the list's conditions select (q as one condition), newest first, asked as one
    plain query."""
    where = search.where(s, who, f)
    return list(s.execute(select(Case.id).where(*where).order_by(Case.id.desc())).scalars())


def _follow(fetch: Callable[[Any], Any]) -> list[int]:
    """The ids of every page FETCH(cursor) gives, following each page's next cursor."""
    seen: list[int] = []
    after = None
    while True:
        page = fetch(after)
        seen += [c.id for c in page.items]
        if page.next is None:
            return seen
        after = page.next


def paged(s: Session, who: Actor, f: search.Filters, per_page: int) -> list[int]:
    """GET /cases page after page by its cursor."""
    return _follow(
        lambda after: cases.list_cases(s, actor=who, filters=f, after=after, limit=per_page)
    )


def assert_listed_and_counted(
    s: Session, who: Actor, f: search.Filters, expected: list[int], per_page: int
) -> None:
    """The list gives EXPECTED page after page, its total exactly, and a count to a cap below,
    at and above the number stops at the cap (and says so) or gives the number."""
    assert paged(s, who, f, per_page) == expected, (who, f)
    page = cases.list_cases(s, actor=who, filters=f, limit=per_page)
    assert (page.total, page.exact) == (len(expected), True)
    where = search.where(s, who, f)
    for cap in {1, max(1, len(expected) - 1), len(expected) + 1}:
        n, exact = paging.count_upto(s, Case.id, where, cap)
        if len(expected) <= cap:
            assert (n, exact) == (len(expected), True), (who, f, cap)
        else:
            assert (n, exact) == (cap, False), (who, f, cap)


def by_cursor(s: Session, who: Actor, f: search.Filters, per_page: int) -> list[int]:
    """GET /cases page after page (the API), then the console's find the same way."""
    seen = paged(s, who, f, per_page)
    found = _follow(lambda after: search.find(s, actor=who, filters=f, after=after, limit=per_page))
    assert found == seen
    return seen
