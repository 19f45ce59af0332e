"""Pages of a list: keyset (an ``after`` cursor on the ordering key) underneath, numbered pages
(an offset) kept for the interfaces that show page numbers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its rows, how many match in all (None when not counted) and the
    cursor of the next page (None: this is the last)."""

    items: list[T]
    total: int | None
    next: int | None


def page(
    session: Session,
    model: Any,
    where: Sequence[ColumnElement[bool]],
    *,
    key: InstrumentedAttribute[int],
    descending: bool = True,
    after: int | None = None,
    offset: int = 0,
    limit: int,
    count: bool = True,
) -> Page[Any]:
    """The rows of MODEL matching WHERE, ordered by KEY (unique), from after the cursor AFTER
    (the KEY of the last row already read) and OFFSET rows on. A row added while a reader pages
    on never shifts the pages it has not read yet, nor makes it read a row twice."""
    total = (
        session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()
        if count
        else None
    )
    stmt: Select[Any] = select(model).where(*where)
    if after is not None:
        stmt = stmt.where(key < after if descending else key > after)
    stmt = stmt.order_by(key.desc() if descending else key).offset(offset).limit(limit + 1)
    rows = list(session.execute(stmt).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, total, getattr(rows[-1], key.key) if more and rows else None)


def numbered(
    session: Session,
    stmt: Select[Any],
    model: Any,
    where: Sequence[ColumnElement[bool]],
    *,
    offset: int,
    limit: int,
) -> Page[Any]:
    """A numbered page of STMT (already ordered) for a list ordered by more than a unique key
    (the most urgent first): offset paging, as its readers pick a page number."""
    total = session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()
    rows = list(session.execute(stmt.where(*where).offset(offset).limit(limit)).scalars())
    return Page(rows, total, None)
