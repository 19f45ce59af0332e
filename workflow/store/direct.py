"""Core statements run on SQLite's own cursor, for fire()'s hot path: compiled once per dialect.

SQLAlchemy's execute() costs several times what SQLite itself spends on a small statement
(parameters, result set-up, events). A firing runs five; on SQLite they go to the driver with the
SQL and the type conversions SQLAlchemy compiled for them (the same strings, the same values).
Elsewhere (PostgreSQL) they run through Connection.execute() as any Core statement, but for
Insert's many rows, sent to psycopg as one statement of arrays (the sweep's writes)."""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    JSON,
    Connection,
    CursorResult,
    String,
    Table,
    Text,
    any_,
    bindparam,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, InvalidRequestError, StatementError
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # (name, value given at build time or None) in the order of the '?'s
    binds: tuple[tuple[str, Any], ...]
    # (position, name, bind processor) of the parameters that have one
    processed: tuple[tuple[int, str, Callable[[Any], Any]], ...]
    # The columns a SELECT or RETURNING gives back
    columns: Columns
    processed_names: frozenset[str]
    # The parameters that have no value of their own: a run must give each (SQLAlchemy raises)
    required: frozenset[str]


@dataclass(frozen=True)
class Columns:
    keys: tuple[str, ...]
    # (position, key, result processor) of the columns that have one
    processed: tuple[tuple[int, str, Callable[[Any], Any]], ...]


class Statement:
    """A Core statement: on SQLite run on the DBAPI cursor, elsewhere by Connection.execute()."""

    def __init__(self, stmt: Executable) -> None:
        self.stmt = stmt
        self._by_dialect: weakref.WeakKeyDictionary[Dialect, _Compiled] = (
            weakref.WeakKeyDictionary()
        )
        # The last dialect asked for and its compiled form: one engine in most processes.
        self._last: tuple[Dialect | None, _Compiled | None] = (None, None)

    def _compiled(self, dialect: Dialect) -> _Compiled:
        last_dialect, last = self._last
        if last_dialect is dialect and last is not None:
            return last
        done = self._by_dialect.get(dialect)
        if done is None:
            compiled = cast(SQLCompiler, cast(Any, self.stmt).compile(dialect=dialect))
            assert compiled.positiontup is not None  # SQLite's paramstyle is positional
            binds, processed = [], []
            for i, name in enumerate(compiled.positiontup):
                bind = compiled.binds[name]
                if bind.expanding:  # SQLAlchemy renders its list per run; this SQL is fixed
                    raise ValueError(
                        f"an expanding parameter ({name}) cannot run here: {compiled.string}"
                    )
                value = None if bind.callable is not None or bind.required else bind.value
                binds.append((name, value))
                process = _bind_processor(bind.type, dialect)
                if process is not None:
                    processed.append((i, name, process))
            exported = getattr(self.stmt, "exported_columns", ())
            processors = [_result_processor(col.type, dialect) for col in exported]
            columns = Columns(
                tuple(col.key for col in exported),
                tuple(
                    (i, col.key, p)
                    for i, (col, p) in enumerate(zip(exported, processors, strict=True))
                    if p is not None
                ),
            )
            done = self._by_dialect[dialect] = _Compiled(
                compiled.string,
                tuple(binds),
                tuple(processed),
                columns,
                frozenset(name for _, name, _ in processed),
                frozenset(
                    name
                    for name in compiled.positiontup
                    if compiled.binds[name].required and compiled.binds[name].callable is None
                ),
            )
        self._last = (dialect, done)
        return done

    def run(
        self,
        conn: Connection,
        params: Mapping[str, Any] | None = None,
        *,
        encoded: Mapping[str, Any] | None = None,
    ) -> Result:
        """Execute in the connection's transaction; SQLite begins it on the first write.
        ENCODED: values of parameters that have a bind processor (JSON, times), already as the
        driver takes them (on SQLite only; elsewhere PARAMS)."""
        dialect = conn.dialect
        if dialect.name != "sqlite":
            return Result(conn.execute(self.stmt, dict(params or {})), None)
        c = self._compiled(dialect)
        if encoded is not None and not encoded.keys() <= c.processed_names:
            raise ValueError(f"only a parameter with a bind processor is given encoded: {encoded}")
        given = params or {}
        if not c.required.issubset(given):
            missing = c.required - given.keys() - (encoded or {}).keys()
            if missing:
                raise _missing(sorted(missing)[0], c.sql, given)
        values = [given.get(name, default) for name, default in c.binds]
        for i, name, process in c.processed:
            if encoded is not None and name in encoded:
                values[i] = encoded[name]
            else:
                values[i] = process(values[i])
        return Result(run_sql(conn, c.sql, values), c.columns)

    def run_many(
        self,
        conn: Connection,
        rows: Sequence[Mapping[str, Any]],
        *,
        encoded: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Execute once per row (an INSERT or UPDATE without RETURNING) in the connection's
        transaction: on SQLite one executemany on the driver's cursor, each row's values
        converted by the same bind processors as run()'s; elsewhere Connection.execute() with
        the rows (SQLAlchemy's executemany). ENCODED: per row, as run()'s."""
        if not rows:
            return
        dialect = conn.dialect
        if dialect.name != "sqlite":
            self._many_elsewhere(conn, rows, encoded)
            return
        c = self._compiled(dialect)
        for given in rows:
            if not c.required.issubset(given):
                raise _missing(sorted(c.required - given.keys())[0], c.sql, given)
        processed = c.processed
        binds = c.binds
        values = []
        for n, given in enumerate(rows):
            v = [given.get(name, default) for name, default in binds]
            done = encoded[n] if encoded is not None else None
            for i, name, process in processed:
                v[i] = done[name] if done is not None and name in done else process(v[i])
            values.append(v)
        run_sql(conn, c.sql, values, many=True)

    # Rows converted ahead (the sweep spells its rows before it takes the write lock, and runs
    # them under it): on SQLite a list of the driver's values in the order of the '?'s, with a
    # slot (its index) for each value only known later; elsewhere the row as given (a dict, the
    # slot its key).

    def encode(
        self, dialect: Dialect, row: Mapping[str, Any], *, encoded: Mapping[str, Any] | None = None
    ) -> Any:
        """ROW's values as run_encoded() takes them, converted now (as run_many() would); a
        parameter filled later through slot() may be missing (None until then). ENCODED: as
        run()'s."""
        if dialect.name != "sqlite":
            return dict(row)
        c = self._compiled(dialect)
        v = [row.get(name, default) for name, default in c.binds]
        for i, name, process in c.processed:
            v[i] = encoded[name] if encoded is not None and name in encoded else process(v[i])
        return v

    def processed_names(self, dialect: Dialect) -> frozenset[str]:
        """The parameters converted on their way to the driver (on SQLite)."""
        return self._compiled(dialect).processed_names

    def slot(self, dialect: Dialect, name: str) -> Any:
        """Where parameter NAME sits in an encode()d row (set it there with the value as the
        driver takes it: on SQLite converted, elsewhere as run() takes it)."""
        if dialect.name != "sqlite":
            return name
        names = [n for n, _ in self._compiled(dialect).binds]
        if names.count(name) != 1:
            raise KeyError(name)
        return names.index(name)

    def run_encoded(self, conn: Connection, rows: Sequence[Any]) -> None:
        """run_many() for rows encode()d ahead (their slots filled)."""
        if not rows:
            return
        dialect = conn.dialect
        if dialect.name != "sqlite":
            self._many_elsewhere(conn, rows, None)
            return
        run_sql(conn, self._compiled(dialect).sql, rows, many=True)

    def _many_elsewhere(
        self,
        conn: Connection,
        rows: Sequence[Mapping[str, Any]],
        encoded: Sequence[Mapping[str, Any]] | None,
    ) -> None:
        """run_many() off SQLite: SQLAlchemy's executemany (ENCODED is SQLite's driver values,
        not read here)."""
        conn.execute(self.stmt, [dict(r) for r in rows])


class Insert(Statement):
    """INSERT INTO TABLE (KEYS) VALUES (a parameter a column, named as the column). On
    PostgreSQL run_many() and run_encoded() send every row in one statement, each column as one
    array in psycopg's binary format (`INSERT ... SELECT ... FROM unnest(%(a)b::BIGINT[], ...)`):
    the same SQL for any number of rows (psycopg keeps it parsed, the server prepared), run
    once. An executemany ran the statement once a row, each with its round of SQLAlchemy's
    parameters, psycopg's pipeline and the server's executor (a sweep writes six rows a stage);
    arrays in the text format cost more than that (every element quoted and escaped, JSON's
    quotes above all). A JSON column's values go as text (canonical JSON, as the engine's
    serializer writes it) cast to JSON by the server. SQLite: as Statement (its executemany is
    the driver's own loop)."""

    def __init__(self, table: Table, keys: Sequence[str]) -> None:
        super().__init__(insert(table).values({k: bindparam(k) for k in keys}))
        self.table = table
        self.keys = tuple(keys)
        self._key_set = frozenset(self.keys)
        self._json = frozenset(k for k in self.keys if isinstance(table.c[k].type, JSON))
        # Per dialect: the SQL with binary placeholders, and each key's bind processor.
        self._arrays: dict[Dialect, tuple[str, tuple[tuple[str, Processor], ...]]] = {}

    def _arrays_statement(self) -> Executable:
        """The INSERT ... SELECT ... FROM unnest(...) run on PostgreSQL (with %(key)s where the
        driver is given %(key)b)."""
        arrays = []
        for k in self.keys:
            col = self.table.c[k]
            type_ = Text() if k in self._json else col.type
            if isinstance(type_, String) and type_.length is not None:
                # A cast to VARCHAR(n) would cut a longer string short, where the INSERT into
                # the column refuses it (as a row's would).
                type_ = String()
            arrays.append(bindparam(k, type_=ARRAY(type_)))
        rows = func.unnest(*arrays).table_valued(*self.keys).render_derived()
        return insert(self.table).from_select(
            self.keys,
            select(
                *(
                    rows.c[k].cast(self.table.c[k].type) if k in self._json else rows.c[k]
                    for k in self.keys
                )
            ),
        )

    def _arrays_for(self, dialect: Dialect) -> tuple[str, tuple[tuple[str, Processor], ...]]:
        done = self._arrays.get(dialect)
        if done is None:
            sql = str(cast(Any, self._arrays_statement()).compile(dialect=dialect))
            for k in self.keys:
                sql = sql.replace(f"%({k})s", f"%({k})b")
            processors = tuple(
                (k, None if k in self._json else _bind_processor(self.table.c[k].type, dialect))
                for k in self.keys
            )
            done = self._arrays[dialect] = (sql, processors)
        return done

    def _many_elsewhere(
        self,
        conn: Connection,
        rows: Sequence[Mapping[str, Any]],
        encoded: Sequence[Mapping[str, Any]] | None,
    ) -> None:
        """PostgreSQL: the rows as one statement of arrays. ENCODED is read for JSON columns
        only (their canonical text, the same on both engines)."""
        sql, processors = self._arrays_for(conn.dialect)
        keys = self._key_set
        for row in rows:
            if not keys.issubset(row):
                raise _missing(sorted(keys - row.keys())[0], sql, row)
        columns: dict[str, list[Any]] = {}
        # What SQLAlchemy would give the driver for a JSON column: the engine's serializer.
        dumps = getattr(conn.dialect, "_json_serializer", None) or json.dumps
        for k, process in processors:
            values = [row[k] for row in rows]
            if k in self._json:
                # The text given encoded is the one hashed (the trail's data): stored as is.
                texts: Sequence[Mapping[str, Any]] = encoded or [{}] * len(rows)
                # As SQLAlchemy's JSON: None is JSON's null unless the type says SQL's NULL.
                null = None if cast(JSON, self.table.c[k].type).none_as_null else dumps(None)
                values = [
                    null if v is None else e[k] if k in e else dumps(v)
                    for v, e in zip(values, texts, strict=True)
                ]
            elif process is not None:
                values = [process(v) for v in values]
            columns[k] = values
        run_sql(conn, sql, columns)


class Expanding:
    """A statement with one list of values of any length (the sweep's chunks of ids):
    BUILD(member) gives it, where member(COLUMN) is the condition that COLUMN is one of the
    values. On SQLite, `COLUMN IN (?, ...)` compiled once per size (a power of two from 8: the
    list padded with its last value, which changes no answer) and run as a Statement:
    SQLAlchemy's expanding parameter is compiled again on every execution. On PostgreSQL,
    `COLUMN = ANY(%(in_)s)` with the list as one array: the same SQL for every list, so psycopg
    keeps its parsed form and the server its plan (an IN list of a hundred parameters was
    rendered by SQLAlchemy, parsed by psycopg and planned by the server on every run)."""

    def __init__(self, build: Callable[[Callable[[Any], Any]], Executable]) -> None:
        self.build = build
        self._by_size: dict[int, Statement] = {}
        # PostgreSQL's one statement, built on its first run.
        self._array: Executable | None = None

    def run(
        self, conn: Connection, values: Sequence[Any], params: Mapping[str, Any] | None = None
    ) -> Result:
        """Run with VALUES in the list (at least one) and PARAMS for the others."""
        if not values:
            raise ValueError("an IN list without values")
        if conn.dialect.name != "sqlite":  # PostgreSQL
            if self._array is None:
                self._array = self.build(
                    lambda col: col == any_(bindparam("in_", type_=ARRAY(col.type)))
                )
            return Result(conn.execute(self._array, {**(params or {}), "in_": list(values)}), None)
        n = 8
        while n < len(values):
            n *= 2
        stmt = self._by_size.get(n)
        if stmt is None:
            binds: list[Any] = [bindparam(f"in_{i}") for i in range(n)]
            stmt = self._by_size[n] = Statement(self.build(lambda col: col.in_(binds)))
        given = dict(params or {})
        last = values[-1]
        for i in range(n):
            given[f"in_{i}"] = values[i] if i < len(values) else last
        return stmt.run(conn, given)


def _missing(name: str, sql: str, given: Mapping[str, Any]) -> StatementError:
    """What SQLAlchemy raises for a bound parameter without a value (not a NULL bound)."""
    why = InvalidRequestError(f"A value is required for bind parameter {name!r}")
    return StatementError(str(why), sql, dict(given), why)


def run_sql(
    conn: Connection,
    sql: str,
    values: Sequence[Any] | Mapping[str, Any] = (),
    *,
    many: bool = False,
) -> Any:
    """SQL on the connection's DBAPI cursor (SQLite; PostgreSQL's for Insert's arrays), once
    with VALUES or, MANY, once for each row of VALUES (executemany); the cursor."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if many:
            cursor.executemany(sql, values)
        else:
            cursor.execute(sql, values)
    except conn.dialect.loaded_dbapi.Error as err:
        # As SQLAlchemy raises it (OperationalError for a lock timeout, IntegrityError, ...):
        # callers catch SQLAlchemy's exceptions, not the driver's.
        raise DBAPIError.instance(
            sql, values, err, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
        ) from err
    return cursor


def _bind_processor(type_: Any, dialect: Dialect) -> Processor:
    """The type's bind processor on DIALECT; a type may offer a faster one of its own for SQLite
    (`sqlite_bind`, giving the same values), used there only."""
    fast = getattr(type_, "sqlite_bind", None) if dialect.name == "sqlite" else None
    if fast is not None:
        return cast(Processor, fast)
    return cast(Processor, type_.dialect_impl(dialect).bind_processor(dialect))


def _result_processor(type_: Any, dialect: Dialect) -> Processor:
    """As _bind_processor, for what a column gives back (`sqlite_result`)."""
    fast = getattr(type_, "sqlite_result", None) if dialect.name == "sqlite" else None
    if fast is not None:
        return cast(Processor, fast)
    return cast(Processor, type_.dialect_impl(dialect).result_processor(dialect, None))


class Result:
    """What a Statement gave: rowcount, and its rows as dicts by column key."""

    def __init__(self, source: Any, columns: Columns | None) -> None:
        self._source = source
        self._columns = columns

    @property
    def rowcount(self) -> int:
        if self._columns is None:
            return int(cast(CursorResult[Any], self._source).rowcount)
        return int(self._source.rowcount)

    def tuples(self) -> list[tuple[Any, ...]]:
        """Every row, as a tuple of its columns' values (converted as SQLAlchemy would)."""
        if self._columns is None:
            return [tuple(r) for r in self._source]
        processed = self._columns.processed
        if not processed:
            return [tuple(r) for r in self._source.fetchall()]
        out = []
        for raw in self._source.fetchall():
            values = list(raw)
            for i, _, process in processed:
                values[i] = process(raw[i])
            out.append(tuple(values))
        return out

    def one_or_none(self) -> dict[str, Any] | None:
        if self._columns is None:
            row = self._source.mappings().one_or_none()
            return None if row is None else dict(row)
        raw = self._source.fetchone()
        if raw is None:
            return None
        more = self._source.fetchone()
        self._source.close()
        if more is not None:
            raise ValueError("more than one row")
        values = dict(zip(self._columns.keys, raw, strict=True))
        for i, key, process in self._columns.processed:
            values[key] = process(raw[i])
        return values
