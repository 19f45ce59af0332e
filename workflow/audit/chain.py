"""Appending to the hash chain: every event links to the one before it by SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from workflow.notify import outbox
from workflow.store import direct
from workflow.store.models import TrailEvent, TrailHead

GENESIS = "0" * 64


@dataclass(frozen=True)
class Field:
    """One hashed field: its name in the event body, its column, and how it is spelled:
    int (an integer or null), name (a short string that repeats: units, states, actions),
    text (a free string), at (the instant, format_at's spelling), json (the data object)."""

    key: str
    column: str
    kind: str


# The one list of what an event's hash covers, in the order the contract lists them. Every
# spelling of the hashed body (append's, verify's in Python and in SQLite's SQL) is built
# from it.
FIELDS = (
    Field("seq", "seq", "int"),
    Field("at", "at", "at"),
    Field("case", "case_id", "int"),
    Field("actor", "actor", "name"),
    Field("unit", "unit", "name"),
    Field("action", "action", "name"),
    Field("trigger", "trigger", "name"),
    Field("from_state", "from_state", "name"),
    Field("to_state", "to_state", "name"),
    Field("from_holder", "from_holder", "name"),
    Field("to_holder", "to_holder", "name"),
    Field("reason", "reason", "text"),
    Field("data", "data", "json"),
)
HASHED_FIELDS = tuple(f.key for f in FIELDS)
# Canonical JSON writes keys in sorted order: the order of every spelling of the body.
SORTED_FIELDS = tuple(sorted(FIELDS, key=lambda f: f.key))


def format_at(at: dt.datetime) -> str:
    """UTC, microseconds, 'Z': one spelling for the same instant on every database."""
    if at.tzinfo is not dt.UTC:
        at = at.astimezone(dt.UTC)
    # isoformat() is strftime's spelling here (+00:00 cut for Z) at a fraction of its cost.
    return at.isoformat(timespec="microseconds")[:-6] + "Z"


# Built once: json.dumps() with options builds an encoder on every call.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_text(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 characters as they are, no NaN."""
    return _CANONICAL.encode(value)


def canonical_json(value: Any) -> bytes:
    return _CANONICAL.encode(value).encode("utf-8")


def event_body(ev: TrailEvent) -> dict[str, Any]:
    """The event as the contract and the export show it, without its hashes."""
    body = {f.key: getattr(ev, f.column) for f in FIELDS}
    body["at"] = format_at(ev.at)
    body["data"] = ev.data or {}
    return body


def event_dict(ev: TrailEvent) -> dict[str, Any]:
    return {**event_body(ev), "prev_hash": ev.prev_hash, "hash": ev.hash}


def chain_hash(prev_hash: str, body: dict[str, Any]) -> str:
    """hash = SHA-256(prev_hash || canonical JSON of the event's fields)."""
    return link_hash(prev_hash, body_json(body, canonical_text(body["data"])).encode("utf-8"))


def link_hash(prev_hash: str, body_bytes: bytes) -> str:
    """SHA-256(prev_hash || BODY_BYTES), BODY_BYTES the event's canonical JSON already encoded."""
    h = hashlib.sha256(prev_hash.encode("ascii"))
    h.update(body_bytes)
    return h.hexdigest()


class ChainNotLocked(RuntimeError):
    """append() was called in a transaction that did not call lock_head() first: a bug."""


def lock_head(session: Session) -> tuple[int, str]:
    """Take the chain's write lock before anything else in a write transaction; the head as it
    is now (seq, hash).

    The first statement is an UPDATE, so SQLite takes its write lock here (waiting on
    busy_timeout) instead of failing to upgrade a read snapshot later, and PostgreSQL locks the
    head row until commit: appends are serialised and the chain cannot fork."""
    conn = session.connection()
    if conn.dialect.update_returning:
        # One statement locks and reads the head (SQLite >= 3.35, PostgreSQL).
        head = _LOCK_HEAD_RETURNING.run(conn).one_or_none()
        assert head is not None, "the chain head row is missing"
        seq, hash_ = head["seq"], head["hash"]
    else:
        session.execute(_LOCK_HEAD)
        seq, hash_ = session.execute(_HEAD).one()
    # Remember which transaction holds the lock, so append() can refuse to run without it.
    session.info[_LOCKED] = session.get_transaction()
    return seq, hash_


_LOCKED = "streetflow.trail_locked"


def lock_for_read(session: Session, conn: Connection) -> bool:
    """lock_head() without reading the head, where that saves a statement: on SQLite with no
    transaction open yet, BEGIN IMMEDIATE takes the database's write lock (waiting on
    busy_timeout as the UPDATE would), and the caller reads the head with its own first SELECT
    (HEAD_SEQ and HEAD_HASH). False elsewhere: call lock_head()."""
    if conn.dialect.name != "sqlite":
        return False
    driver = conn.connection.driver_connection
    if driver is None or driver.in_transaction:
        return False
    direct.run_sql(conn, "BEGIN IMMEDIATE")
    session.info[_LOCKED] = session.get_transaction()
    return True


# Core statements built once: the same SQL, without the ORM's bulk-update bookkeeping. The head
# is read as plain columns, never as an ORM entity: a TrailHead kept in the identity map from an
# earlier transaction of the same session (expire_on_commit=False) would be a stale head.
_head = cast(Table, TrailHead.__table__)
_LOCK_HEAD = update(_head).where(_head.c.id == 1).values(seq=_head.c.seq)
_LOCK_HEAD_RETURNING = direct.Statement(_LOCK_HEAD.returning(_head.c.seq, _head.c.hash))
_HEAD = select(_head.c.seq, _head.c.hash).where(_head.c.id == 1)
# The head as two columns of another SELECT, for a caller of lock_for_read().
HEAD_SEQ = select(_head.c.seq).where(_head.c.id == 1).scalar_subquery().label("head_seq")
HEAD_HASH = select(_head.c.hash).where(_head.c.id == 1).scalar_subquery().label("head_hash")


def next_seq(session: Session) -> int:
    """The sequence number the next append gets (under lock_head, nobody else can take it)."""
    # No autoflush: flushing a half-changed case here would bump its version twice.
    with session.no_autoflush:
        seq: int = session.execute(select(TrailHead.seq).where(TrailHead.id == 1)).scalar_one()
    return seq + 1


def _check_append(session: Session, at: dt.datetime) -> None:
    """Refuse an append outside a transaction that took lock_head(), or with a naive time."""
    txn = session.get_transaction()
    if txn is None or session.info.get(_LOCKED) is not txn:
        # Without the lock two writers could both read the same head and fork the chain.
        raise ChainNotLocked("chain.lock_head(session) must start every write transaction")
    if at.tzinfo is None:
        raise ValueError("naive datetime: a trail event's time must be timezone-aware")


# Core statements built once: the same SQL on every append, without the ORM's unit of work (a
# flush costs as much as the rest of a firing). The columns are named: the database sets the
# others (written_at).
_event = cast(Table, TrailEvent.__table__)
_WRITTEN = ("seq", *(f.column for f in FIELDS if f.key != "seq"), "prev_hash", "hash")
_INSERT_EVENT = direct.Statement(insert(_event).values({c: bindparam(c) for c in _WRITTEN}))
_new_event = TrailEvent.__mapper__.class_manager.new_instance
_MOVE_HEAD = direct.Statement(
    update(_head)
    .where(_head.c.id == 1, _head.c.seq == bindparam("old_seq"))
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)


# The canonical JSON of an event's body is written around its data's: the data is encoded once,
# as stored and as hashed, and the other fields (strings, integers, nulls) one by one in sorted
# order, which is what the encoder does for them, without building and sorting a dict.
_BODY_PREFIXES = tuple(
    ("{" if i == 0 else ",") + _CANONICAL.encode(f.key) + ":" for i, f in enumerate(SORTED_FIELDS)
)
_BODY_KEYS = tuple(f.key for f in SORTED_FIELDS)
_encode_str = json.encoder.encode_basestring  # the encoder's own for ensure_ascii=False


def _json_value(value: Any) -> str:
    if value is None:
        return "null"
    kind = type(value)
    if kind is str:
        return _encode_str(value)
    if kind is int:
        return int.__repr__(value)
    return _CANONICAL.encode(value)


def body_json(body: dict[str, Any], data_text: str) -> str:
    """canonical_text(body) for a body whose `data` is already encoded as DATA_TEXT."""
    parts = []
    for prefix, key in zip(_BODY_PREFIXES, _BODY_KEYS, strict=True):
        parts.append(prefix)
        parts.append(data_text if key == "data" else _json_value(body[key]))
    parts.append("}")
    return "".join(parts)


def append(
    session: Session,
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    unit: str | None = None,
    case_id: int | None = None,
    trigger: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    from_holder: str | None = None,
    to_holder: str | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    head: tuple[int, str] | None = None,
    conn: Connection | None = None,
) -> TrailEvent:
    """Append one event in the caller's transaction, which called lock_head() first.

    HEAD: the head as that lock_head() gave it, when nothing was appended since (fire() has it:
    no read). DATA must be plain JSON (string keys): it is encoded once, as stored and as hashed.
    The event returned is a plain holder of the row, not added to the session."""
    _check_append(session, at)
    if head is None:
        # The caller's pending changes go out first, as they would with the event in one flush.
        session.flush()
        head = session.execute(_HEAD).one()
    row, data_text = _link(
        head,
        at=at,
        actor=actor,
        action=action,
        unit=unit,
        case_id=case_id,
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        from_holder=from_holder,
        to_holder=to_holder,
        reason=reason,
        data=data,
    )
    conn = conn or session.connection()
    _write(conn, row, data_text)
    if case_id is not None:
        # What happened to a case is told (residents, staff, webhooks): queued in this
        # transaction, so it is told if and only if it commits.
        outbox.queue(conn, row["seq"])
    ev = _new_event()
    ev.__dict__.update(row)  # a plain holder of the row, as a load fills it
    return ev


def append_many(session: Session, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """append() for several events, in order, in the caller's transaction (which called
    lock_head() first): each is hashed by the same _link() as append()'s, then the events are
    inserted with one executemany, the outbox queued with another, and the head moved once.
    EVENTS: append()'s keyword arguments (at, actor, action required). The rows written."""
    if not events:
        return []
    for ev in events:
        _check_append(session, ev["at"])
    session.flush()
    head: tuple[int, str] = tuple(session.execute(_HEAD).one())
    first_seq = head[0]
    rows, texts = [], []
    for ev in events:
        row, data_text = _link(head, **ev)
        rows.append(row)
        texts.append({"data": data_text})
        head = (row["seq"], row["hash"])
    conn = session.connection()
    # The data stored is the text hashed, as append()'s (on SQLite given to the driver as is).
    _INSERT_EVENT.run_many(conn, rows, encoded=texts)
    queued = [{"seq": row["seq"]} for row in rows if row["case_id"] is not None]
    if queued:
        outbox.queue_many(conn, queued)
    moved = _MOVE_HEAD.run(conn, {"old_seq": first_seq, "new_seq": head[0], "new_hash": head[1]})
    if moved.rowcount != 1:
        raise ChainNotLocked(f"the chain head moved under a locked append (seq {first_seq})")
    return rows


def _link(
    head: tuple[int, str],
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    unit: str | None = None,
    case_id: int | None = None,
    trigger: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    from_holder: str | None = None,
    to_holder: str | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], str]:
    """The event's row after HEAD (seq, hash), its hash computed, and its data's canonical JSON:
    the one place an appended event is hashed."""
    head_seq, head_hash = head
    if at.tzinfo is not dt.UTC:
        at = at.astimezone(dt.UTC)
    data = data or {}
    data_text = _CANONICAL.encode(data)
    row = {
        "seq": head_seq + 1,
        "at": at,
        "case_id": case_id,
        "actor": actor,
        "unit": unit,
        "action": action,
        "trigger": trigger,
        "from_state": from_state,
        "to_state": to_state,
        "from_holder": from_holder,
        "to_holder": to_holder,
        "reason": reason,
        "data": data,
        "prev_hash": head_hash,
    }
    # The hashed body is the row under the contract's names: `case` for case_id, `at` spelled.
    body = {k: row[k] for k in HASHED_FIELDS if k not in ("at", "case", "data")}
    body.update(at=format_at(at), case=case_id)
    row["hash"] = link_hash(head_hash, body_json(body, data_text).encode("utf-8"))
    return row, data_text


def _write(conn: Connection, row: dict[str, Any], data_text: str) -> None:
    """Insert the event ROW and move the head to it from the seq before."""
    # On SQLite the data goes to the driver as the text just hashed, not encoded a second time.
    _INSERT_EVENT.run(conn, row, encoded={"data": data_text})
    moved = _MOVE_HEAD.run(
        conn, {"old_seq": row["seq"] - 1, "new_seq": row["seq"], "new_hash": row["hash"]}
    )
    if moved.rowcount != 1:
        # The head moved since it was read: something appended in between. Never fork.
        raise ChainNotLocked(f"the chain head moved under a locked append (seq {row['seq'] - 1})")
