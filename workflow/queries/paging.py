"""Pages of a list, keyset underneath.

A list is ordered by a key (one unique column, or several expressions ending in a unique one).
A reader who pages on passes the key of the last row read (the cursor): the next page is the rows
after it, found through the key's order, so a row added meanwhile never shifts the pages not
read yet nor makes the reader read a row twice, at any depth. A page picked by its number is
found the same way: the key of the row before it is read first (the key only, no row), then the
page is the rows after that key."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from workflow.errors import InvalidInput

T = TypeVar("T")

# An ordering key: an expression (never NULL: coalesce it) and whether it runs descending.
Key = tuple[ColumnElement[Any] | InstrumentedAttribute[Any], bool]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its rows, how many match in all (None when not counted) and the
    cursor of the next page (None: this is the last)."""

    items: list[T]
    total: int | None
    next: int | None


@dataclass(frozen=True)
class Seek(Generic[T]):
    """One page of a list ordered by a composite key: its rows, the count (exact when EXACT,
    else at least TOTAL: counting stopped there) and the next page's cursor (None: the last)."""

    items: list[T]
    total: int
    exact: bool
    next: str | None


def after_key(keys: Sequence[Key], values: Sequence[Any]) -> ColumnElement[bool]:
    """The rows after VALUES in the order of KEYS (lexicographic, each key its own direction)."""
    cond: ColumnElement[bool] | None = None
    for (expr, desc), value in reversed(list(zip(keys, values, strict=True))):
        beyond = expr < value if desc else expr > value
        cond = beyond if cond is None else or_(beyond, and_(expr == value, cond))
    assert cond is not None
    return cond


def encode_cursor(values: Sequence[Any]) -> str:
    """A cursor as an opaque URL-safe token."""
    plain = [{"t": v.isoformat()} if isinstance(v, dt.datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _kind(expr: Any) -> type:
    try:
        kind: type = expr.type.python_type
    except NotImplementedError:
        kind = object
    return kind


def decode_cursor(token: str, keys: Sequence[Key]) -> list[Any]:
    """The values of a cursor token for KEYS; InvalidInput when it is not one of this list's
    (the wrong length, or a value not of its key's type)."""
    try:
        plain = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(plain, list) or len(plain) != len(keys):
            raise ValueError(token)
        values = [dt.datetime.fromisoformat(v["t"]) if isinstance(v, dict) else v for v in plain]
        for (expr, _desc), v in zip(keys, values, strict=True):
            kind = _kind(expr)
            if isinstance(v, bool) or (kind is not object and not isinstance(v, kind)):
                raise ValueError(token)
            if isinstance(v, int) and not -(2**31) < v < 2**31:
                raise ValueError(token)
            if isinstance(v, dt.datetime) and v.tzinfo is None:
                raise ValueError(token)
        return values
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidInput(
            "not a cursor of this list", {"after": ["not a cursor"]}, code="not_a_cursor"
        ) from exc


def count_upto(
    session: Session, id_column: Any, where: Sequence[ColumnElement[bool]], cap: int | None
) -> tuple[int, bool]:
    """How many rows match WHERE: (n, True) exactly, or (CAP, False) when there are more than CAP
    (counting a large list costs as much as reading it)."""
    if cap is None:
        n = session.execute(select(func.count(id_column)).where(*where)).scalar_one()
        return n, True
    upto = select(id_column).where(*where).limit(cap + 1).subquery()
    n = session.execute(select(func.count()).select_from(upto)).scalar_one()
    return (n, True) if n <= cap else (cap, False)


def seek(
    session: Session,
    model: Any,
    where: Sequence[ColumnElement[bool]],
    keys: Sequence[Key],
    *,
    after: str | None = None,
    offset: int = 0,
    limit: int,
    count_cap: int | None = None,
) -> Seek[Any]:
    """The rows of MODEL matching WHERE in the order of KEYS (the last one unique): after the
    cursor AFTER, or from row OFFSET on (located by its key first)."""
    order = [e.desc() if d else e for e, d in keys]
    exprs = [e for e, _ in keys]
    total, exact = count_upto(session, model.id, where, count_cap)
    values: Sequence[Any] | None = decode_cursor(after, keys) if after else None
    if values is None and offset > 0:
        before = session.execute(
            select(*exprs).where(*where).order_by(*order).offset(offset - 1).limit(1)
        ).first()
        if before is None:
            return Seek([], total, exact, None)
        values = tuple(before)
    stmt = select(model, *exprs).where(*where)
    if values is not None:
        stmt = stmt.where(after_key(keys, values))
    rows = list(session.execute(stmt.order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = encode_cursor(tuple(rows[-1])[1:]) if more else None
    return Seek([r[0] for r in rows], total, exact, cursor)


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
    (the KEY of the last row already read) or from row OFFSET on (located by its key first)."""
    total = (
        session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()
        if count
        else None
    )
    order = key.desc() if descending else key
    if after is None and offset > 0:
        after = session.execute(
            select(key).where(*where).order_by(order).offset(offset - 1).limit(1)
        ).scalar_one_or_none()
        if after is None:
            return Page([], total, None)
    stmt: Select[Any] = select(model).where(*where)
    if after is not None:
        stmt = stmt.where(key < after if descending else key > after)
    rows = list(session.execute(stmt.order_by(order).limit(limit + 1)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, total, getattr(rows[-1], key.key) if more and rows else None)
