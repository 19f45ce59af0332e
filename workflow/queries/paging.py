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

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    Select,
    Table,
    and_,
    bindparam,
    column,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    union,
    union_all,
)
from sqlalchemy import table as sql_table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import (
    BinaryExpression,
    BindParameter,
    BooleanClauseList,
    ClauseElement,
    True_,
)
from sqlalchemy.sql.expression import Executable
from sqlalchemy.sql.selectable import CompoundSelect

from workflow.errors import InvalidInput
from workflow.store.search_index import CASE_IDS_INDEX

T = TypeVar("T")

# An ordering key: an expression (never NULL: coalesce it) and whether it runs descending.
Key = tuple[ColumnElement[Any] | InstrumentedAttribute[Any], bool]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its rows, how many match in all (None when not counted; an estimate
    when not EXACT) and the cursor of the next page (None: this is the last)."""

    items: list[T]
    total: int | None
    next: int | None
    exact: bool = True


@dataclass(frozen=True)
class Seek(Generic[T]):
    """One page of a list ordered by a composite key: its rows, the count (exact when EXACT,
    else an estimate, above the cap where exact counting stopped) and the next page's cursor
    (None: the last)."""

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
    where = _counted(where)
    if cap is None:
        n = session.execute(select(func.count(id_column)).where(*where)).scalar_one()
        return n, True
    if _a_part_exceeds(session, id_column, where, cap):
        return cap, False
    n = session.execute(count_upto_statement(id_column, where, cap)).scalar_one()
    return (n, True) if n <= cap else (cap, False)


def count_upto_statement(
    id_column: Any, where: Sequence[ColumnElement[bool]], cap: int
) -> Select[int]:
    """count_upto()'s statement where no ids are merged: the rows matching WHERE counted to
    CAP + 1 (a caller that asks the same count often keeps it built)."""
    upto = select(id_column).where(*where).limit(cap + 1).subquery()
    return select(func.count()).select_from(upto)


def any_of(parts: Sequence[ColumnElement[bool]], quick: Sequence[int]) -> ColumnElement[bool]:
    """OR of PARTS, marked with those (their indexes in PARTS) that an index of their own
    counts cheaply (the items a word names, a name's start): when one of them alone, with the
    rest of a list's WHERE, matches more than the count's cap, so does the OR, and the count
    stops there (_a_part_exceeds)."""
    either = or_(*parts)
    if len(parts) < 2 or not quick:
        return either
    return either._annotate({"quick_parts": tuple(parts[i] for i in quick)})


def _a_part_exceeds(
    session: Session, id_column: Any, where: Sequence[ColumnElement[bool]], cap: int
) -> bool:
    """Whether a quick part of an OR in WHERE (any_of) matches more than CAP rows with the rest
    of WHERE: then WHERE does too. On PostgreSQL: counting the OR to CAP + 1 read the trigram
    index's every match of a common word (its posting lists, then the rows' recheck) where an
    item's index hands over CAP + 1 ids of that item."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    for k, clause in enumerate(where):
        rest = [w for j, w in enumerate(where) if j != k]
        for part in clause._annotations.get("quick_parts", ()):
            upto = select(id_column).where(*rest, part).limit(cap + 1).subquery()
            if session.execute(select(func.count()).select_from(upto)).scalar_one() > cap:
                return True
    return False


# An estimate looks at this many ids of the table, in SAMPLE_WINDOWS runs spread over its ids.
SAMPLE_ROWS = 4096
SAMPLE_WINDOWS = 16


def narrowing(clause: ColumnElement[bool]) -> ColumnElement[bool]:
    """CLAUSE marked as one that every row matching the rest of a list's WHERE meets anyway (a
    range of ids read from an index): it narrows where the list is read, never what it holds,
    and an estimate leaves it out."""
    return clause._annotate({"narrowing": True})


def sampling(clause: ColumnElement[bool]) -> ColumnElement[bool]:
    """CLAUSE marked as one that every row matching the rest of a list's WHERE meets anyway,
    kept for an estimate's sample only (it names the leading column of the index the sample
    reads, SAMPLE_BY): a count leaves it out (SQLite may read another index for it)."""
    return clause._annotate({"sampling": True})


def estimated_as(clause: ColumnElement[bool], plain: ColumnElement[bool]) -> ColumnElement[bool]:
    """CLAUSE marked as selecting the same rows as PLAIN, spelled for an index that reads them
    in a list's order: an estimate (PostgreSQL's planner) asks for PLAIN, so that it is the one
    PLAIN always had (the planner judges the two spellings' shares apart)."""
    return clause._annotate({"estimated_as": plain})


def _as_estimated(where: Sequence[ColumnElement[bool]]) -> list[ColumnElement[bool]]:
    """WHERE as an estimate asks for it: without its narrowing clauses, each clause marked
    estimated_as() as its plain spelling."""
    return [
        w._annotations.get("estimated_as", w) for w in where if not w._annotations.get("narrowing")
    ]


def _counted(where: Sequence[ColumnElement[bool]]) -> list[ColumnElement[bool]]:
    """WHERE without its clauses for a sample only (sampling())."""
    return [w for w in where if not w._annotations.get("sampling")]


def estimate(
    session: Session,
    id_column: Any,
    where: Sequence[ColumnElement[bool]],
    *,
    sample_by: str | None = None,
) -> tuple[int, bool]:
    """About how many rows match WHERE: on PostgreSQL, what its planner expects; elsewhere the
    matches among SAMPLE_ROWS ids of the table (runs of
    consecutive ids spread evenly from its lowest id to its highest, each found by the primary
    key), scaled to all its ids; its cost does not grow with the table. (n, True): the table
    is small enough to count them all, and n is exact. SAMPLE_BY (SQLite): an index whose
    leading columns WHERE fixes by equalities, the id after them (its own last column or the
    rowid): each run is a range of it, read without the table's rows (a street's whistles:
    4,096 whole case rows read for a count)."""
    # Left out: a narrowing range of ids would be read whole instead of the sample's runs
    # (SQLite), or taken for one more filter by the planner (PostgreSQL).
    where = _as_estimated(where)
    postgresql = session.get_bind().dialect.name == "postgresql"
    lo, hi, analyzed = _ends_of(session, id_column)
    if lo is None:
        return 0, True
    span = hi - lo + 1
    if span <= 2 * SAMPLE_ROWS:
        n = session.execute(select(func.count(id_column)).where(*where)).scalar_one()
        return int(n), True
    if postgresql and analyzed:
        return planned_rows(session, select(id_column).where(*where)), False
    bounds = _bounds(lo, span)
    named = isinstance(id_column.table, Table)
    table = id_column.table
    unfiltered = named and all(isinstance(w, True_) for w in where)
    built = (table.name, id_column.key, sample_by)
    stmt = _unfiltered_samples.get(built) if unfiltered else None
    equal = _equalities(id_column, where) if stmt is None and named else None
    if equal is not None:
        # Columns equal to values (an inbox: the holder, a clerk's workstation; a district's
        # list of a state or an item): the sample's statement built once for those columns, the
        # values its parameters (built for each request it was 1,400 Python calls, more than
        # its SQL at 200,000 cases; a tenth of a district's list of a state at a million).
        columns, values = equal
        shape = (*built, columns)
        stmt = _equal_samples.get(shape)
        if stmt is None:
            stmt = _sample_statement(id_column, _equal_clauses(table, columns), sample_by)
            _equal_samples[shape] = stmt
        bounds.update(values)
    elif stmt is None:
        stmt = _sample_statement(id_column, where, sample_by)
        if unfiltered:
            _unfiltered_samples[built] = stmt
    hits = session.execute(stmt, bounds).scalar_one()
    return _scaled(hits, span), False


def _ends_of(session: Session, id_column: Any) -> tuple[Any, Any, bool]:
    """The lowest and highest id of ID_COLUMN's table (None, None when it is empty), and on
    PostgreSQL whether its statistics count its rows (it has been analyzed)."""
    # Each alone, so that each is one seek at an end of the primary key (together, SQLite reads
    # the whole table).
    # (Kept for a table's own column only: an alias's name may be new each time.)
    named = isinstance(id_column.table, Table)
    postgresql = session.get_bind().dialect.name == "postgresql"
    ends_of = (id_column.table.name, id_column.key, postgresql)
    ends = _ends.get(ends_of) if named else None
    if ends is None:
        ends = select(
            select(func.min(id_column)).scalar_subquery(),
            select(func.max(id_column)).scalar_subquery(),
            # On PostgreSQL, with them: whether the table has statistics (one round trip).
            *([_statistics(id_column)] if postgresql else []),
        )
        if named:
            _ends[ends_of] = ends
    lo, hi, *tuples = session.execute(ends).one()
    return lo, hi, bool(tuples and tuples[0] is not None and tuples[0] >= 0)


def _bounds(lo: int, span: int) -> dict[str, int]:
    """The sample's runs over SPAN ids from LO, as the parameters run{k}_lo, run{k}_hi (the
    statement of a list without filters is built once)."""
    width, step = SAMPLE_ROWS // SAMPLE_WINDOWS, span // SAMPLE_WINDOWS
    bounds = {}
    for k in range(SAMPLE_WINDOWS):
        bounds[f"run{k}_lo"] = lo + k * step
        bounds[f"run{k}_hi"] = lo + k * step + width - 1
    return bounds


def _scaled(hits: int, span: int) -> int:
    """HITS in the sample's runs scaled to the SPAN ids they were taken from."""
    return round(hits * span / (SAMPLE_ROWS // SAMPLE_WINDOWS * SAMPLE_WINDOWS))


def estimate_through(
    session: Session,
    id_column: Any,
    where: Sequence[ColumnElement[bool]],
    pointing: Any,
    *,
    sample_by: str | None,
    also: Sequence[ColumnElement[bool]] = (),
    ends: Any = None,
) -> tuple[int, bool]:
    """About how many rows of POINTING's table point (POINTING = ID_COLUMN) at the rows that
    match WHERE, columns of ID_COLUMN's table equal to values, and match ALSO (conditions on
    POINTING's rows: an action, a period): on PostgreSQL what its planner expects of the join;
    elsewhere estimate()'s runs of ids read from the index SAMPLE_BY (those columns, then the
    id; None: the table's primary key is), each match's rows counted whole from an index on
    POINTING, scaled as estimate() scales. (n, True): the ids are few enough to count them.
    ENDS: the column whose lowest and highest values bound the ids (ID_COLUMN's by default;
    the cases' for a table that holds case ids behind another column, whose ends SQLite would
    find by reading it whole; on PostgreSQL, ENDS' table having statistics then stands for
    both tables having them, as ANALYZE and autovacuum give them together).

    A street's part of the trail: a sample of its events asked each sampled event's case of the
    street's index (4,096 events read and looked up for the few hundred that were the
    street's: 3.6 ms at 50,000 cases); its sampled cases' events are 0.3 ms."""
    table, far = id_column.table, pointing.table
    also = _as_estimated(also)
    lo, hi, analyzed = _ends_of(session, id_column if ends is None else ends)
    if lo is None:
        return 0, True
    span = hi - lo + 1
    if span <= 2 * SAMPLE_ROWS:
        joined = select(func.count()).select_from(far.join(table, pointing == id_column))
        return int(session.execute(joined.where(*where, *also)).scalar_one()), True
    if session.get_bind().dialect.name == "postgresql" and analyzed:
        return planned_rows(
            session, select(pointing).join(table, pointing == id_column).where(*where, *also)
        ), False
    equal = _equalities(id_column, where)
    if equal is None:
        raise ValueError("estimate_through: WHERE must set columns of the table to values")
    columns, values = equal
    shape = (table.name, id_column.key, sample_by, columns, far.name, pointing.key)
    # (Built once without ALSO; with it, for each request: the filters are the user's.)
    stmt = None if also else _pointing_samples.get(shape)
    if stmt is None:
        runs, _ = _runs(id_column)
        each = select(id_column.label("id")).select_from(table)
        if sample_by:
            each = each.with_hint(table, f"INDEXED BY {sample_by}", "sqlite")
        ids = union_all(
            *(each.where(run, *_equal_clauses(table, columns)) for run in runs)
        ).subquery()
        stmt = select(func.count()).select_from(ids.join(far, pointing == ids.c.id))
        if also:
            stmt = stmt.where(*also)
        else:
            _pointing_samples[shape] = stmt
    hits = session.execute(stmt, {**_bounds(lo, span), **values}).scalar_one()
    return _scaled(hits, span), False


# Built once (a statement built anew cost more than its run): estimate()'s lowest and highest
# id of a table (and on PostgreSQL its statistics' rows), (table, id column, PostgreSQL?) ->
# statement; its sample of a list without filters,
# (table, id column, sample_by) -> statement.
_ends: dict[tuple[str, str, bool], Any] = {}
_unfiltered_samples: dict[tuple[str, str, str | None], Any] = {}
# Its sample through an index of a list whose WHERE is columns equal to values,
# (table, id column, sample_by, the columns) -> statement (values as eq0, eq1, ...).
_equal_samples: dict[tuple[str, str, str | None, tuple[str, ...]], Any] = {}
# estimate_through()'s sample, (table, id column, sample_by, the columns, the pointing table and
# column) -> statement.
_pointing_samples: dict[tuple[str, str, str | None, tuple[str, ...], str, str], Any] = {}


def _equalities(
    id_column: Any, where: Sequence[ColumnElement[bool]]
) -> tuple[tuple[str, ...], dict[str, Any]] | None:
    """WHERE as (columns, {eq0: value, ...}) when each clause is a column of ID_COLUMN's table
    equal to a value (a bound parameter), in that order, or equal to true (a column NAME as
    "NAME=true": a whistled case), or true (a district's scope), or an AND of those; None
    otherwise."""
    columns: list[str] = []
    values: dict[str, Any] = {}
    todo = list(where)
    while todo:
        clause = todo.pop(0)
        if isinstance(clause, True_):
            continue
        if isinstance(clause, BooleanClauseList) and clause.operator is operators.and_:
            todo[:0] = clause.clauses
            continue
        if not (
            isinstance(clause, BinaryExpression)
            and clause.operator is operators.eq
            and isinstance(clause.left, Column)
            and clause.left.table is id_column.table
            and not clause._annotations
        ):
            return None
        if isinstance(clause.right, True_):
            columns.append(f"{clause.left.name}=true")
            continue
        if not (
            isinstance(clause.right, BindParameter)
            and not clause.right.expanding
            and clause.right.value is not None
        ):
            return None
        values[f"eq{len(values)}"] = clause.right.effective_value
        columns.append(clause.left.name)
    return (tuple(columns), values) if columns else None


def _equal_clauses(table: Any, columns: tuple[str, ...]) -> list[ColumnElement[bool]]:
    """_equalities()'s COLUMNS of TABLE as clauses, the values as parameters eq0, eq1, ..."""
    clauses: list[ColumnElement[bool]] = []
    params = 0
    for c in columns:
        if c.endswith("=true"):
            clauses.append(table.c[c.removesuffix("=true")] == true())
        else:
            clauses.append(table.c[c] == bindparam(f"eq{params}"))
            params += 1
    return clauses


def _sample_statement(
    id_column: Any, where: Sequence[ColumnElement[bool]], sample_by: str | None
) -> Any:
    """estimate()'s count of the ids in its runs (parameters run{k}_lo, run{k}_hi) that match
    WHERE."""
    runs, any_run = _runs(id_column)
    # SQLite would take a filter's own index (a street's 160,000 cases) over the runs of ids:
    # NOT INDEXED leaves it the rowid's ranges (workflow.store.db renders the hint), when the id
    # is the rowid (an INTEGER PRIMARY KEY; a BIGINT one has an index of its own).
    table = id_column.table
    if sample_by is None and table.name == "cases" and all(isinstance(w, True_) for w in where):
        # Nothing to ask of a case: the ids alone, in SQLite's index of them (the table's rows
        # are read otherwise).
        sample_by = CASE_IDS_INDEX
    if sample_by is not None and not _holds_a_set(where):
        sample_runs = [
            select(id_column.label("id"))
            .select_from(table)
            .with_hint(table, f"INDEXED BY {sample_by}", "sqlite")
            .where(run, *where)
            for run in runs
        ]
        return select(func.count()).select_from(union_all(*sample_runs).subquery())
    ids = select(id_column.label("id")).select_from(table).where(any_run)
    if type(id_column.type) is Integer:
        ids = ids.with_hint(table, "NOT INDEXED", "sqlite")
    if _holds_a_set(where):
        # WHERE asked of each sampled id (by its primary key): SQLite would walk the set of ids
        # in WHERE (a department's cases, a search's matches) whole, each id looked up.
        sample = ids.subquery()
        stmt = (
            select(func.count())
            .select_from(sample)
            .where(exists().where(id_column == sample.c.id, *where))
        )
    else:
        stmt = ids.where(*where).with_only_columns(func.count())
    return stmt


def _runs(id_column: Any) -> tuple[list[ColumnElement[bool]], ColumnElement[bool]]:
    """The conditions of _sample_statement()'s runs on ID_COLUMN, and their OR: built once
    for a table's own column (16 BETWEENs built anew were a millisecond of a street
    auditor's list; a filtered list's sample is built for each request)."""
    key = (id_column.table.name, id_column.key)
    named = isinstance(id_column.table, Table)
    built = _built_runs.get(key) if named else None
    if built is None:
        runs = [
            id_column.between(bindparam(f"run{k}_lo"), bindparam(f"run{k}_hi"))
            for k in range(SAMPLE_WINDOWS)
        ]
        built = (runs, or_(*runs))
        if named:
            _built_runs[key] = built
    return built


# (table, id column) -> _runs()'s conditions
_built_runs: dict[tuple[str, str], tuple[list[ColumnElement[bool]], ColumnElement[bool]]] = {}


class _Plan(Executable, ClauseElement):
    """EXPLAIN (FORMAT JSON) of a statement, compiled with it (its parameters bound as usual)."""

    inherit_cache = False

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement


@compiles(_Plan, "postgresql")
def _compile_plan(element: _Plan, compiler: Any, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


_PG_CLASS = sql_table("pg_class", column("oid"), column("reltuples"))


def _statistics(id_column: Any) -> Any:
    """The rows PostgreSQL's statistics count in ID_COLUMN's table: -1 (or NULL) until it has
    analyzed the table (autovacuum does, soon after it fills); until then its planner guesses
    each filter's share, and the sample is the better estimate."""
    return (
        select(_PG_CLASS.c.reltuples)
        .where(_PG_CLASS.c.oid == func.to_regclass(literal(id_column.table.name)))
        .scalar_subquery()
    )


def planned_rows(session: Session, statement: Any) -> int:
    """The rows PostgreSQL's planner expects STATEMENT to give: it knows each column's values
    (ANALYZE, autovacuum), and planning costs a few milliseconds where the sample asked each
    sampled id of a set in the filter, which PostgreSQL hashed whole (a department's 58,000
    cases at 5,000,000: 200-300 ms)."""
    plan = session.connection().execute(_Plan(statement)).scalar_one()
    return int(plan[0]["Plan"]["Plan Rows"])


def _holds_a_set(where: Sequence[ColumnElement[bool]]) -> bool:
    """Whether WHERE asks for membership in a subquery's rows (x IN (SELECT ...))."""
    for clause in where:
        for el in visitors.iterate(clause):
            subquery = getattr(getattr(el, "right", None), "element", None)
            if (
                isinstance(el, BinaryExpression)
                and el.operator is operators.in_op
                and isinstance(subquery, (Select, CompoundSelect))
            ):
                return True
    return False


def count_or_estimate(
    session: Session,
    id_column: Any,
    where: Sequence[ColumnElement[bool]],
    cap: int | None,
    *,
    sample_by: str | None = None,
) -> tuple[int, bool]:
    """(n, True): exactly n rows match WHERE, n <= CAP (or any n without a cap; or the table is
    small enough to count); (n, False): more than CAP match, about n (estimate(), never below
    CAP + 1; SAMPLE_BY: estimate()'s)."""
    n, exact = count_upto(session, id_column, where, cap)
    if exact or cap is None:
        return n, True
    return estimate_beyond(session, id_column, where, cap, sample_by=sample_by)


def estimate_beyond(
    session: Session,
    id_column: Any,
    where: Sequence[ColumnElement[bool]],
    cap: int,
    *,
    sample_by: str | None = None,
) -> tuple[int, bool]:
    """count_or_estimate() once more than CAP rows are known to match WHERE: about how many
    (estimate(), never below CAP + 1), or exactly when the table is small enough to count."""
    about, exact = estimate(session, id_column, where, sample_by=sample_by)
    return (about, True) if exact else (max(cap + 1, about), False)


@dataclass(frozen=True)
class Branch:
    """One way a list's rows are found, read in the order of an index: SELECT is the ids it
    finds (KEY labelled "id", no WHERE on the model's table yet), KEY the column that equals
    the model's id and that its index hands over in order (a full-text index's rowid, the
    model's id itself). A list that is an OR of such ways (a search: the address, the name,
    the item) is the UNION of its branches, which SQLite merges in the key's order and stops
    at the page: the set of every match of a common word is never built (a city's address
    search collected and sorted 50,000 matches for each of its count, estimate and page)."""

    select: Select[Any]
    key: Any
    # What the branch asks of the model's row besides (a phone's last digits, an item).
    checks: tuple[ColumnElement[bool], ...] = ()

    def ids(
        self, model: Any, where: Sequence[ColumnElement[bool]], *more: ColumnElement[bool]
    ) -> Select[Any]:
        """The branch's ids matching WHERE (on MODEL) and MORE (on KEY)."""
        stmt = self.select.where(*more).correlate(None)
        where = [*self.checks, *(w for w in where if not isinstance(w, True_))]
        if self.key is model.id:
            return stmt.where(*where)
        if where:
            # Asked of each id the index hands over (by the model's primary key): SQLite must
            # read the index first, in its order (a join let it start from a filter's index).
            stmt = stmt.where(exists().where(model.id == self.key, *where))
        return stmt


def _union(
    model: Any,
    branches: Sequence[Branch],
    where: Sequence[ColumnElement[bool]],
    more: Any = None,
) -> Any:
    """The UNION of BRANCHES matching WHERE, and MORE(key) on each branch's key (a cursor, a
    range of ids)."""
    parts = [b.ids(model, where, *([more(b.key)] if more is not None else [])) for b in branches]
    return union(*parts) if len(parts) > 1 else parts[0]


def _in_order(
    session: Session,
    model: Any,
    branches: Sequence[Branch],
    where: Sequence[ColumnElement[bool]],
    *,
    descending: bool,
    more: Any = None,
    each: int | None = None,
) -> Select[Any]:
    """The ids BRANCHES find matching WHERE (and MORE), each once, ordered by the id (the
    caller adds the limit). SQLite merges a UNION in order. PostgreSQL hashes or sorts a
    UNION's sides whole (a department's 60,000 cases at five million, for each page and
    count): there each branch is read in its key's order (its own ORDER BY), the UNION ALL
    of them merged (Merge Append) and the ids a case has in two branches (held now and handed
    before) dropped as they pass (Unique). EACH: how many ids the caller takes; on PostgreSQL
    each branch stops there (the first EACH of the union are among each branch's first EACH),
    so that a hash the planner may still prefer holds no more than EACH ids a branch."""
    if session.get_bind().dialect.name != "postgresql" or len(branches) < 2:
        by_id: ColumnElement[Any] = literal_column("id")
        ids: Select[Any] = _union(model, branches, where, more)
        return ids.order_by(by_id.desc() if descending else by_id)
    parts = []
    for b in branches:
        part = b.ids(model, where, *([more(b.key)] if more is not None else []))
        part = part.order_by(b.key.desc() if descending else b.key)
        parts.append(part.limit(each) if each is not None else part)
    merged = union_all(*parts).subquery()
    return (
        select(merged.c.id).distinct().order_by(merged.c.id.desc() if descending else merged.c.id)
    )


def _driven(
    session: Session,
    model: Any,
    branches: Sequence[Branch],
    where: Sequence[ColumnElement[bool]],
    *,
    descending: bool,
    after: int | None,
    offset: int,
    limit: int,
    count_cap: int | None,
    count: bool = True,
    counted: Sequence[ColumnElement[bool]] | None = None,
    sample_by: str | None = None,
) -> tuple[list[Any], int | None, bool, int | None]:
    """page() of the ids BRANCHES find (their UNION) that match WHERE, ordered by the id: (rows,
    total, exact, the last row's id when there are more). COUNTED: the same rows' clauses,
    counted by count_or_estimate() (SAMPLE_BY) instead of the branches."""
    total: int | None = None
    exact = True
    if count and counted is not None:
        total, exact = count_or_estimate(session, model.id, counted, count_cap, sample_by=sample_by)
    elif count:
        total, exact = _count_branches(session, model, branches, where, count_cap)
    if after is None and offset > 0:
        ids = _in_order(session, model, branches, where, descending=descending, each=offset)
        after = session.execute(ids.offset(offset - 1).limit(1)).scalar_one_or_none()
        if after is None:
            return [], total, exact, None
    more = None
    if after is not None:
        cursor = after
        more = (lambda k: k < cursor) if descending else (lambda k: k > cursor)
    ids = _in_order(
        session, model, branches, where, descending=descending, more=more, each=limit + 1
    )
    found = list(session.execute(ids.limit(limit + 1)).scalars())
    key = model.id.desc() if descending else model.id
    rows = list(session.execute(select(model).where(model.id.in_(found)).order_by(key)).scalars())
    has_more = len(rows) > limit
    rows = rows[:limit]
    return rows, total, exact, (rows[-1].id if has_more and rows else None)


def _count_branches(
    session: Session,
    model: Any,
    branches: Sequence[Branch],
    where: Sequence[ColumnElement[bool]],
    cap: int | None,
) -> tuple[int, bool]:
    """count_or_estimate() of the ids BRANCHES find that match WHERE."""
    each = cap + 1 if cap is not None else None
    ids = _in_order(session, model, branches, where, descending=True, each=each)
    if cap is not None:
        ids = ids.limit(cap + 1)
    n = session.execute(select(func.count()).select_from(ids.subquery())).scalar_one()
    if cap is None or n <= cap:
        return n, True
    postgresql = session.get_bind().dialect.name == "postgresql"
    lo, hi, *tuples = session.execute(
        select(
            select(func.min(model.id)).scalar_subquery(),
            select(func.max(model.id)).scalar_subquery(),
            # On PostgreSQL, with them: whether the table has statistics (one round trip less).
            *([_statistics(model.id)] if postgresql else []),
        )
    ).one()
    span = hi - lo + 1
    if span <= 2 * SAMPLE_ROWS:
        ids = _union(model, branches, where)
        n = session.execute(select(func.count()).select_from(ids.subquery())).scalar_one()
        return int(n), True
    if postgresql and tuples[0] is not None and tuples[0] >= 0:
        # The planner's, as for the same condition without branches (estimate()): the ids of
        # the branches as one set, the way a unit's scope asks for them (privacy.held_by).
        found = union_all(*[b.ids(model, []) for b in branches])
        plain = _as_estimated(where)
        about = planned_rows(session, select(model.id).where(*plain, model.id.in_(found)))
        return max(cap + 1, about), False
    # The sample's runs of ids, each asked of each branch as a range of its key (a full-text
    # index reads a range of rowids without the rest of its matches): one SELECT a branch,
    # joined to the runs (SQLite loops over the runs and seeks each range), where a SELECT
    # for each run and branch (32 for a department, 48 for an address) cost more Python to
    # build than SQLite took to run them.
    width = SAMPLE_ROWS // SAMPLE_WINDOWS
    step = span // SAMPLE_WINDOWS
    bounds = {}
    for k in range(SAMPLE_WINDOWS):
        bounds[f"run{k}_lo"] = lo + k * step
        bounds[f"run{k}_hi"] = lo + k * step + width - 1
    runs = _SAMPLE_RUNS.c
    sample = _union(model, branches, where, lambda key: key.between(runs.lo, runs.hi)).subquery()
    stmt = select(func.count(sample.c.id.distinct()))
    hits = session.execute(stmt, bounds).scalar_one()
    about = round(hits * span / (width * SAMPLE_WINDOWS))
    return max(cap + 1, about), False


# _count_branches()'s runs of ids (parameters run{k}_lo, run{k}_hi), as rows (lo, hi).
_SAMPLE_RUNS = (
    text(
        " UNION ALL ".join(
            f"SELECT :run{k}_lo AS lo, :run{k}_hi AS hi" for k in range(SAMPLE_WINDOWS)
        )
    )
    .columns(column("lo", Integer), column("hi", Integer))
    .cte("sample_runs")
)


def _among(key: Any, ids: Select[Any]) -> ColumnElement[bool]:
    """KEY among the page's keys IDS, found first by themselves: a filter's index then hands
    over keys without reading rows (the cases opened in a week: 40,000 rows read and sorted
    whole for a page of 25, where their ids sort in a few milliseconds)."""
    return key.in_(ids.correlate(None))


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
    branches: Sequence[Branch] | None = None,
    counted: Sequence[ColumnElement[bool]] | None = None,
    sample_by: str | None = None,
) -> Seek[Any]:
    """The rows of MODEL matching WHERE in the order of KEYS (the last one unique): after the
    cursor AFTER, or from row OFFSET on (located by its key first). BRANCHES: the rows are
    also among the ids one of them finds (read through their indexes when the list is by id
    alone). COUNTED: the clauses that select the same rows as WHERE and BRANCHES, counted
    instead of the branches (and read instead of them in another order). SAMPLE_BY: the index
    an estimate of the count reads (estimate())."""
    if branches and counted is not None and not (len(keys) == 1 and keys[0][0] is model.id):
        where, branches = counted, None
    if branches and len(keys) == 1 and keys[0][0] is model.id:
        cursor = decode_cursor(after, keys)[0] if after else None
        rows, total, exact, last = _driven(
            session,
            model,
            branches,
            where,
            descending=keys[0][1],
            after=cursor,
            offset=offset,
            limit=limit,
            count_cap=count_cap,
            counted=counted,
            sample_by=sample_by,
        )
        return Seek(rows, total or 0, exact, encode_cursor([last]) if last is not None else None)
    if branches:
        where = [*where, model.id.in_(_union(model, branches, []))]
    order = [e.desc() if d else e for e, d in keys]
    exprs = [e for e, _ in keys]
    total, exact = count_or_estimate(session, model.id, where, count_cap, sample_by=sample_by)
    values: Sequence[Any] | None = decode_cursor(after, keys) if after else None
    if values is None and offset > 0:
        before = session.execute(
            select(*exprs).where(*where).order_by(*order).offset(offset - 1).limit(1)
        ).first()
        if before is None:
            return Seek([], total, exact, None)
        values = tuple(before)
    ids = select(model.id).where(*where)
    if values is not None:
        ids = ids.where(after_key(keys, values))
    ids = ids.order_by(*order).limit(limit + 1)
    stmt = select(model, *exprs).where(_among(model.id, ids)).order_by(*order)
    rows = list(session.execute(stmt))
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
    count_cap: int | None = None,
    branches: Sequence[Branch] | None = None,
    counted: Sequence[ColumnElement[bool]] | None = None,
    sample_by: str | None = None,
) -> Page[Any]:
    """The rows of MODEL matching WHERE, ordered by KEY (unique), from after the cursor AFTER
    (the KEY of the last row already read) or from row OFFSET on (located by its key first).
    The count is exact up to COUNT_CAP (without one: always), beyond it an estimate (SAMPLE_BY:
    the index it reads, estimate()). BRANCHES: the rows are also among the ids one of them
    finds (Branch). COUNTED: the clauses that select the same rows as WHERE and BRANCHES,
    counted instead of the branches (and read instead of them by another key)."""
    if branches and counted is not None and key is not model.id:
        where, branches = counted, None
    if branches and key is model.id:
        rows, n, exact, last = _driven(
            session,
            model,
            branches,
            where,
            descending=descending,
            after=after,
            offset=offset,
            limit=limit,
            count_cap=count_cap,
            count=count,
            counted=counted,
            sample_by=sample_by,
        )
        return Page(rows, n, last, exact)
    if branches:
        where = [*where, model.id.in_(_union(model, branches, []))]
    total: int | None = None
    exact = True
    if count:
        total, exact = count_or_estimate(session, key, where, count_cap, sample_by=sample_by)
    order = key.desc() if descending else key
    if after is None and offset > 0:
        after = session.execute(
            select(key).where(*where).order_by(order).offset(offset - 1).limit(1)
        ).scalar_one_or_none()
        if after is None:
            return Page([], total, None, exact)
    ids: Select[Any] = select(key).where(*where)
    if after is not None:
        ids = ids.where(key < after if descending else key > after)
    ids = ids.order_by(order).limit(limit + 1)
    stmt = select(model).where(_among(key, ids)).order_by(order)
    rows = list(session.execute(stmt).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, total, getattr(rows[-1], key.key) if more and rows else None, exact)
