"""How verify reads an event's hashed bytes back from its stored columns, built from chain.FIELDS.

The hash covers the canonical JSON of the event as append() spelled it. Verify does not parse the
stored columns and re-encode what it parsed (text that parses to the same value, a duplicate key
or `at` in another spelling, would then verify while SQL and other readers see something else):
it takes every column's stored text as it is, turned into the hashed bytes by a fixed, one-to-one
mapping, and a column that holds anything else (another type, another spelling of `at`) cannot
give the hash.

Stored spellings: `data` is the canonical JSON text itself (a JSON column, not jsonb);
on SQLite `at` is 'YYYY-MM-DD HH:MM:SS.ffffff' (the hashed spelling has 'T' and 'Z'); on
PostgreSQL it is a timestamptz, which has no spelling, read through to_char."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, text

from workflow.audit import chain

BATCH = 20_000

# The moment of the write may trail the event's time by clock skew between the application and
# the database; beyond this, an event is reported as dated after it was written.
WRITE_SKEW_S = 60

# A raw row: these columns, then the hashed fields in sorted key order.
SEQ, PREV, HASH, LATE = 0, 1, 2, 3
FIRST_FIELD = 4
AT = FIRST_FIELD + [f.key for f in chain.SORTED_FIELDS].index("at")

# (A blob's ' ' is not the text ' ', and no number has a space: only text passes.)
_SQLITE_AT = "CASE WHEN substr(at, 11, 1) = ' ' THEN replace(at, ' ', 'T') || 'Z' END"
_SQLITE_EXPR = {
    "int": '"{c}"',
    "name": '"{c}"',
    "text": '"{c}"',
    "at": _SQLITE_AT,
    "json": 'CASE WHEN typeof("{c}") = \'text\' THEN "{c}" END',
}
_PG_EXPR = {
    "int": '"{c}"',
    "name": '"{c}"',
    "text": '"{c}"',
    "at": 'to_char("{c}" AT TIME ZONE \'UTC\', \'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\')',
    "json": '"{c}"::text',
}
# LATE: how many seconds an event is dated after the database wrote it, when it is (else NULL:
# written before its date, or written before written_at was kept). Computed only for those rows.
_SQLITE_LATE = "CASE WHEN at > written_at THEN (julianday(at) - julianday(written_at)) * 86400 END"
_PG_LATE = "CASE WHEN at > written_at THEN extract(epoch FROM at - written_at) END"


def _expr(f: chain.Field, exprs: dict[str, str]) -> str:
    return exprs[f.kind].format(c=f.column)


def _select(
    exprs: dict[str, str], late: str, after: str, upto: str, part: str | None = None
) -> str:
    cols = ", ".join(_expr(f, exprs) for f in chain.SORTED_FIELDS)
    where = f"seq > {after} AND seq <= {upto}"
    if part is not None:
        where = f'"partition" = {part} AND {where}'
    return (
        f"SELECT seq, prev_hash, hash, {late}, {cols} FROM trail_events WHERE {where} ORDER BY seq"
    )


# Raw rows of the events after..upto (see SEQ .. FIRST_FIELD).
# Python reads a blob as bytes, which no format spells as the text hashed: data as it is.
SQLITE_SELECT = _select({**_SQLITE_EXPR, "json": '"{c}"'}, _SQLITE_LATE, "?", "?")
PG_SELECT = _select(_PG_EXPR, _PG_LATE, ":after", ":upto")
# The same, of one partition's events.
SQLITE_SELECT_PART = _select({**_SQLITE_EXPR, "json": '"{c}"'}, _SQLITE_LATE, "?", "?", "?")
PG_SELECT_PART = _select(_PG_EXPR, _PG_LATE, ":after", ":upto", ":part")


def _sqlite_payload() -> str:
    """SQLite spells each event's hashed bytes itself: prev_hash followed by the canonical JSON
    of the event (json_object escapes strings as json.dumps(ensure_ascii=False) does;
    tests/audit/test_fast_spelling.py holds the two to the same bytes). `data` is spliced in as
    stored, so json_object is split around it: the part before ends with an integer or null (so
    trimming its one closing brace is exact), the part after starts with a key. A row whose `at`
    or `data` is not stored as append() stores it gets no bytes (NULL) at all: one test for
    both, cheaper than one in each place."""
    before = [f for f in chain.SORTED_FIELDS if f.key < "data"]
    after = [f for f in chain.SORTED_FIELDS if f.key > "data"]
    assert before[-1].kind == "int" and after, "the split around data needs an integer before it"
    checked = {**_SQLITE_EXPR, "at": "replace(at, ' ', 'T') || 'Z'", "json": '"{c}"'}

    def pairs(fields: list[chain.Field]) -> str:
        return ", ".join(f"'{f.key}', {_expr(f, checked)}" for f in fields)

    return (
        "CASE WHEN substr(at, 11, 1) = ' ' AND typeof(data) = 'text' THEN "
        f"CAST(ifnull(prev_hash, '') || rtrim(json_object({pairs(before)}), '}}') || "
        f"',\"data\":' || data || ',' || ltrim(json_object({pairs(after)}), '{{') "
        "AS BLOB) END"
    )


# Rows (seq, prev_hash, hash, late, at as stored, the hashed bytes): Python only chains SHA-256
# over them (and compares `at` with the one before: a stored `at` that gives its hash is in the
# one spelling, which sorts as time does).
_PAYLOAD = _sqlite_payload()
SQLITE_FAST = (
    f"SELECT seq, prev_hash, hash, {_SQLITE_LATE}, at, {_PAYLOAD} "
    "FROM trail_events WHERE seq > ? AND seq <= ? ORDER BY seq"
)
# Rows (seq, hash, the hashed bytes as SQLite spells them): what a digest of the stored text
# reads where the bytes give the hash (workflow.audit.blocks).
SQLITE_PAYLOAD = (
    f"SELECT seq, hash, {_PAYLOAD} FROM trail_events WHERE seq > ? AND seq <= ? ORDER BY seq"
)

_enc: Callable[[str], str] = json.encoder.encode_basestring


class Quoted(dict[Any, str]):
    """JSON spellings of the few distinct actors, units, actions, states: each encoded once.
    Anything but a string or null (a blob, a number) has no spelling: TypeError."""

    def __missing__(self, key: Any) -> str:
        if key is None:
            self[key] = "null"
            return "null"
        if type(key) is not str:
            raise TypeError(f"not text: {key!r}")
        if len(self) > 100_000:
            self.clear()
        v = self[key] = _enc(key)
        return v


def _make_spell() -> Callable[[Sequence[Any]], str]:
    """body(row): the canonical JSON of a raw row's event, from its stored text as it is.
    Generated from chain.FIELDS: one %-format and one encoder per field, no loop per row."""
    slot = {
        "int": "('null' if r[{n}] is None else i(r[{n}]))",
        "name": "q[r[{n}]]",
        "text": "('null' if r[{n}] is None else t(r[{n}]))",
        "at": "'\"' + r[{n}] + '\"'",
        # As stored: the SQL gives NULL for anything but text, and "None" cannot be the
        # object append() hashed.
        "json": "r[{n}]",
    }
    fmt = "".join(p.replace("%", "%%") + "%s" for p in chain._BODY_PREFIXES) + "}"
    args = ", ".join(
        slot[f.kind].format(n=FIRST_FIELD + i) for i, f in enumerate(chain.SORTED_FIELDS)
    )
    scope: dict[str, Any] = {
        "fmt": fmt,
        "i": int.__repr__,  # TypeError for anything but an int
        "t": _enc,  # TypeError for anything but a string
        "q": Quoted(),
    }
    exec(f"def body(r):\n    return fmt % ({args},)\n", scope)
    return scope["body"]


body = _make_spell()


def with_seq(row: Sequence[Any], seq: int) -> tuple[Any, ...]:
    """ROW as if it were stored under SEQ."""
    out = list(row)
    out[SEQ] = seq
    out[FIRST_FIELD + [f.key for f in chain.SORTED_FIELDS].index("seq")] = seq
    return tuple(out)


def hashed_bytes(row: Sequence[Any]) -> bytes | None:
    """prev_hash || the event's canonical JSON, from ROW's stored text; None when a column holds
    what append() never writes there (so it cannot give the hash)."""
    try:
        return (row[PREV] + body(row)).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError):
        return None


def raw_rows(
    conn: Connection, after: int, upto: int, partition: int | None = None
) -> Iterator[list[Any]]:
    """Batches of raw rows (SEQ ..) of the events after..upto (of PARTITION only, if given):
    the DBAPI cursor on SQLite (no Row objects), a server-side cursor on PostgreSQL."""
    if conn.dialect.name == "sqlite":
        dbapi = conn.connection.driver_connection
        assert dbapi is not None
        cur = dbapi.cursor()
        try:
            if partition is None:
                cur.execute(SQLITE_SELECT, (after, upto))
            else:
                cur.execute(SQLITE_SELECT_PART, (partition, after, upto))
            while batch := cur.fetchmany(BATCH):
                yield batch
        finally:
            cur.close()
        return
    params: dict[str, Any] = {"after": after, "upto": upto}
    if partition is not None:
        params["part"] = partition
    sql = PG_SELECT if partition is None else PG_SELECT_PART
    result = conn.execute(text(sql).execution_options(yield_per=BATCH), params)
    for part in result.partitions():
        yield [tuple(r) for r in part]


def stored_digest(conn: Connection, upto: int) -> str:
    """SHA-256 over the stored text of events 1..UPTO, as verify reads it: what a computation
    over those rows read, whether or not their hashes still hold (a row that holds what
    append() never writes is taken as the driver gives it)."""
    h = hashlib.sha256()
    for batch in raw_rows(conn, 0, upto):
        for row in batch:
            h.update(hashed_bytes(row) or repr(tuple(row)).encode("utf-8", "replace"))
    return h.hexdigest()
