"""Appending to the hash chain: every event links to the one before it by SHA-256."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from workflow.notify import outbox
from workflow.store import direct, writer_lock
from workflow.store.models import Case, TrailEvent, TrailHead, Unit

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
    # isoformat(timespec="microseconds") with its +00:00 cut for Z, spelled from the fields:
    # a third cheaper (isoformat asks the zone for its offset), eight times per transition.
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031 (the fastest spelling)
        at.year,
        at.month,
        at.day,
        at.hour,
        at.minute,
        at.second,
        at.microsecond,
    )


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
    """append() was called in a transaction that did not call lock_head() first, or that did
    not lock the partition the event belongs to: a bug."""


# ---------------------------------------------------------------- partitions
#
# The trail is one chain per partition: partition P's head is trail_head's row P + 1, every
# event's prev_hash is the hash of the event before it in the same partition. A case's events
# all lie in the partition stored on the case when it was opened; events without a case, and
# cases without a street, lie in the default partition 0. With one partition (the default) the
# trail is exactly the single chain it always was: seq is the head's + 1, contiguous. With more,
# seq stays unique and increasing within each partition (a partition's head lock orders its
# appends) but is drawn from a database SEQUENCE on PostgreSQL (gaps where a transaction rolls
# back) and is max over the heads + 1 on SQLite (one writer at a time anyway).

DEFAULT_PARTITION = 0


@dataclass
class _Lock:
    """What a write transaction holds: its partitions' heads (None: every partition), how many
    partitions there are, and the seqs drawn ahead by next_seq() for an append to come."""

    txn: Any
    parts: frozenset[int] | None
    count: int
    reserved: dict[int, int]


_LOCKED = "streetflow.trail_locked"


def _held(session: Session) -> _Lock | None:
    lock = session.info.get(_LOCKED)
    if lock is None or lock.txn is not session.get_transaction():
        return None
    return cast(_Lock, lock)


def _hold(session: Session, parts: frozenset[int] | None, count: int) -> None:
    """Record the lock SESSION's transaction took (adding to what it held already)."""
    held = _held(session)
    if held is not None:
        held.count = count
        if held.parts is not None:
            held.parts = None if parts is None else held.parts | parts
        return
    session.info[_LOCKED] = _Lock(session.get_transaction(), parts, count, {})


def lock_head(session: Session, partitions: Iterable[int] | None = None) -> tuple[int, str]:
    """Take the chain's write lock before anything else in a write transaction: the heads of
    PARTITIONS (None: every partition, in ascending order); the first partition's head (the
    default partition's without PARTITIONS) as it is now (seq, hash).

    On SQLite the first statement is an UPDATE, so SQLite takes its write lock (for every
    partition: one writer) here, waiting on busy_timeout, instead of failing to upgrade a read
    snapshot later. On PostgreSQL the head rows are locked until commit, in ascending order
    (no deadlock between writers of several partitions): appends to a partition are serialised
    and its chain cannot fork, while writers of other partitions go on."""
    conn = session.connection()
    wanted = None if partitions is None else sorted(set(partitions))
    if conn.dialect.name != "postgresql":
        first = DEFAULT_PARTITION if not wanted else wanted[0]
        with _turn(session, conn):
            if conn.dialect.update_returning:
                # One statement locks and reads the head (SQLite >= 3.35).
                head = _LOCK_HEAD_RETURNING.run(conn, {"head_id": first + 1}).one_or_none()
                if head is None:
                    raise ChainNotLocked(f"the trail has no partition {first}")
                seq, hash_, count = head["seq"], head["hash"], head["parts"]
            else:
                session.execute(_LOCK_HEAD, {"head_id": first + 1})
                seq, hash_, count = session.execute(_HEAD_PARTS, {"head_id": first + 1}).one()
        _hold(session, None, count)  # SQLite's write lock is the whole database's
        return seq, hash_
    if wanted is not None and len(wanted) == 1:
        head = _LOCK_HEAD_RETURNING.run(conn, {"head_id": wanted[0] + 1}).one_or_none()
        if head is None:
            raise ChainNotLocked(f"the trail has no partition {wanted[0]}")
        _hold(session, frozenset(wanted), head["parts"])
        return head["seq"], head["hash"]
    stmt = _LOCK_ALL if wanted is None else _LOCK_SOME
    params = {} if wanted is None else {"ids": [p + 1 for p in wanted]}
    rows = conn.execute(stmt, params).mappings().all()
    if not rows or (wanted is not None and len(rows) != len(wanted)):
        raise ChainNotLocked(f"the trail has no partitions {wanted}")
    _hold(session, None if wanted is None else frozenset(wanted), rows[0]["parts"])
    return rows[0]["seq"], rows[0]["hash"]


def _turn(session: Session, conn: Connection) -> AbstractContextManager[None]:
    """On a SQLite file: the writer lock (writer_lock.WriterLock.writer: writers queued by the
    kernel, a sweep's batches between them), unless this transaction began writing already (it
    holds SQLite's lock: nothing to wait for, and a writer waiting for that lock must not wait
    on it in turn)."""
    if _held(session) is not None:
        return nullcontext()
    room = writer_lock.for_engine(conn.engine)
    if room is None:
        return nullcontext()
    driver = conn.connection.driver_connection
    if driver is None or driver.in_transaction:
        return nullcontext()
    return room.writer(session)


def lock_case_head(session: Session, case_id: int) -> tuple[int, str] | None:
    """lock_head() for the partition of case CASE_ID only (its partition never changes, so it is
    read without a lock): one statement on PostgreSQL. On SQLite the database's write lock (the
    first statement), then the head of the case's partition where there are several. None when
    there is no such case."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        head = lock_head(session)
        held = _held(session)
        if held is not None and held.count == 1:
            return head
        row = session.execute(_CASE_HEAD, {"case_id": case_id}).one_or_none()
        return None if row is None else (row.seq, row.hash)
    locked = _LOCK_CASE_HEAD.run(conn, {"case_id": case_id}).one_or_none()
    if locked is None:
        return None
    _hold(session, frozenset([locked["id"] - 1]), locked["parts"])
    return locked["seq"], locked["hash"]


def lock_for_read(session: Session, conn: Connection) -> bool:
    """lock_head() without reading the head, where that saves a statement: on SQLite with no
    transaction open yet, BEGIN IMMEDIATE takes the database's write lock (waiting on
    busy_timeout as the UPDATE would), and the caller reads its case's partition's head with its
    own first SELECT (HEAD_SEQ, HEAD_HASH, HEAD_TOP and HEAD_PARTS), then calls
    read_locked(). False elsewhere: call lock_head()."""
    if conn.dialect.name != "sqlite":
        return False
    driver = conn.connection.driver_connection
    if driver is None or driver.in_transaction:
        return False
    with _turn(session, conn):
        direct.run_sql(conn, "BEGIN IMMEDIATE")
    _hold(session, None, 0)  # the count comes with the caller's SELECT (read_locked)
    return True


def read_locked(session: Session, count: int, top: int) -> None:
    """What the caller of lock_for_read() read with the head: the partition count and the
    highest seq of any head (the next seq is top + 1 on SQLite)."""
    held = _held(session)
    assert held is not None
    held.count = count
    held.reserved.setdefault(-1, top)  # SQLite's top, until something is appended


def partitions_count(session: Session) -> int:
    """How many partitions the trail has (head rows)."""
    return int(session.execute(select(func.count()).select_from(_head)).scalar_one())


def partition_of(session: Session, case_id: int | None) -> int:
    """The partition case CASE_ID's events lie in (the default one without a case)."""
    if case_id is None:
        return DEFAULT_PARTITION
    held = _held(session)
    if held is not None and held.count == 1:
        return DEFAULT_PARTITION
    with session.no_autoflush:
        part = session.execute(_CASE_PART, {"case_id": case_id}).scalar()
    return DEFAULT_PARTITION if part is None else int(part)


def partition_for_street(session: Session, street: str | None) -> int:
    """The partition a new case of STREET goes to: the streets in order of their codes, dealt
    round-robin over the first `dealt` partitions (the count last set: a lowered count leaves
    the partitions beyond it to the cases already in them); no street, or a single partition:
    the default."""
    held = _held(session)
    if (held is not None and held.count == 1) or not street:
        return DEFAULT_PARTITION
    count = session.execute(select(_head.c.dealt).where(_head.c.id == 1)).scalar_one()
    if count <= 1:
        return DEFAULT_PARTITION
    rank = session.execute(
        select(func.count())
        .select_from(_units)
        .where(_units.c.kind == "street_office", _units.c.code < street)
    ).scalar_one()
    return int(rank) % count


def ensure_partitions(session: Session, count: int) -> int:
    """Deal new cases over COUNT partitions from now on, adding the head rows missing (at the
    genesis). Partitions are never removed: a lower count only stops new cases going to the
    partitions beyond it (their cases stay in them). How many partitions there are after.
    Takes every head's lock."""
    lock_head(session)
    have = partitions_count(session)
    session.execute(update(_head).values(dealt=count))
    if count <= have:
        return have
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        # From now on seqs are drawn from the sequence: beyond every seq written (every append
        # has committed or rolled back: all heads are locked), never back.
        top = session.execute(select(func.max(_head.c.seq))).scalar_one()
        session.execute(
            text(
                "SELECT setval('trail_seq', greatest(:top, "
                "(SELECT CASE WHEN is_called THEN last_value ELSE 1 END FROM trail_seq)), true)"
            ),
            {"top": max(top, 1)},
        )
    session.execute(
        insert(_head),
        [
            {"id": p + 1, "seq": 0, "hash": GENESIS, "parts": count, "dealt": count}
            for p in range(have, count)
        ],
    )
    session.execute(update(_head).values(parts=count))
    _hold(session, None, count)
    return count


def next_seq(
    session: Session, partition: int = DEFAULT_PARTITION, head_seq: int | None = None
) -> int:
    """The sequence number the next append to PARTITION gets (under its lock, nobody else can
    take it). HEAD_SEQ: that partition's head seq where the caller has it."""
    held = _held(session)
    if held is None:
        raise ChainNotLocked("chain.lock_head(session) must start every write transaction")
    if partition in held.reserved:
        return held.reserved[partition]
    # No autoflush: flushing a half-changed case here would bump its version twice.
    with session.no_autoflush:
        if held.count <= 1:
            if head_seq is None:
                head_seq = session.execute(_HEAD_SEQ_OF, {"head_id": partition + 1}).scalar_one()
            return int(head_seq) + 1
        conn = session.connection()
        if conn.dialect.name == "postgresql":
            seq = int(session.execute(text("SELECT nextval('trail_seq')")).scalar_one())
        else:
            # The highest seq written, kept up to date by this transaction's appends (the
            # heads move only at the end of an append_many).
            top = held.reserved.get(-1)
            if top is None:
                top = held.reserved[-1] = session.execute(
                    select(func.max(_head.c.seq))
                ).scalar_one()
            # Beyond the seqs drawn for other partitions and not appended yet, too.
            seq = max([int(top), *(v for k, v in held.reserved.items() if k >= 0)]) + 1
    held.reserved[partition] = seq
    return seq


def _check_append(session: Session, at: dt.datetime, partition: int) -> _Lock:
    """Refuse an append outside a transaction that took lock_head() for PARTITION, or with a
    naive time."""
    held = _held(session)
    if held is None:
        # Without the lock two writers could both read the same head and fork the chain.
        raise ChainNotLocked("chain.lock_head(session) must start every write transaction")
    if held.parts is not None and partition not in held.parts:
        raise ChainNotLocked(
            f"an append to partition {partition} in a transaction that locked {sorted(held.parts)}"
        )
    if at.tzinfo is None:
        raise ValueError("naive datetime: a trail event's time must be timezone-aware")
    return held


def _appended(held: _Lock, partition: int, seq: int) -> None:
    """SEQ was written to PARTITION: its reservation is used; SQLite's top moves on."""
    held.reserved.pop(partition, None)
    if -1 in held.reserved:
        held.reserved[-1] = max(held.reserved[-1], seq)


# Core statements built once: the same SQL, without the ORM's bulk-update bookkeeping. The head
# is read as plain columns, never as an ORM entity: a TrailHead kept in the identity map from an
# earlier transaction of the same session (expire_on_commit=False) would be a stale head.
_head = cast(Table, TrailHead.__table__)
_cases = cast(Table, Case.__table__)
_units = cast(Table, Unit.__table__)
_head_id: Any = bindparam("head_id")
_LOCK_HEAD = update(_head).where(_head.c.id == _head_id).values(seq=_head.c.seq)
_LOCK_HEAD_RETURNING = direct.Statement(
    _LOCK_HEAD.returning(_head.c.id, _head.c.seq, _head.c.hash, _head.c.parts)
)
# (PostgreSQL only: the rows are locked in the ORDER BY's order, ascending.)
_LOCK_ALL = (
    select(_head.c.id, _head.c.seq, _head.c.hash, _head.c.parts)
    .order_by(_head.c.id)
    .with_for_update()
)
_LOCK_SOME = (
    select(_head.c.id, _head.c.seq, _head.c.hash, _head.c.parts)
    .where(_head.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_head.c.id)
    .with_for_update()
)
_CASE_PART = select(_cases.c.partition).where(_cases.c.id == bindparam("case_id"))
_LOCK_CASE_HEAD = direct.Statement(
    update(_head)
    .where(
        _head.c.id
        == select(_cases.c.partition + 1)
        .where(_cases.c.id == bindparam("case_id"))
        .scalar_subquery()
    )
    .values(seq=_head.c.seq)
    .returning(_head.c.id, _head.c.seq, _head.c.hash, _head.c.parts)
)
_HEAD = select(_head.c.seq, _head.c.hash).where(_head.c.id == _head_id)
_CASE_HEAD = select(_head.c.seq, _head.c.hash).where(
    _head.c.id
    == select(_cases.c.partition + 1).where(_cases.c.id == bindparam("case_id")).scalar_subquery()
)
_HEAD_PARTS = select(_head.c.seq, _head.c.hash, _head.c.parts).where(_head.c.id == _head_id)
_HEAD_SEQ_OF = select(_head.c.seq).where(_head.c.id == _head_id)
# The head of a case's partition as columns of another SELECT over cases, for a caller of
# lock_for_read(); the partition count and the highest head seq along.
_case_head = _head.c.id == _cases.c.partition + 1
HEAD_SEQ = select(_head.c.seq).where(_case_head).scalar_subquery().label("head_seq")
HEAD_HASH = select(_head.c.hash).where(_case_head).scalar_subquery().label("head_hash")
HEAD_PARTS = select(_head.c.parts).where(_head.c.id == 1).scalar_subquery().label("head_parts")
HEAD_TOP = select(func.max(_head.c.seq)).scalar_subquery().label("head_top")


# Core statements built once: the same SQL on every append, without the ORM's unit of work (a
# flush costs as much as the rest of a firing). The columns are named: the database sets the
# others (written_at).
_event = cast(Table, TrailEvent.__table__)
_WRITTEN = ("seq", *(f.column for f in FIELDS if f.key != "seq"), "prev_hash", "hash", "partition")
_INSERT_EVENT = direct.Insert(_event, _WRITTEN)
_new_event = TrailEvent.__mapper__.class_manager.new_instance
_MOVE_HEAD = direct.Statement(
    update(_head)
    .where(_head.c.id == _head_id, _head.c.seq == bindparam("old_seq"))
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
    # Written out in the sorted order (checked below against SORTED_FIELDS): the sweep hashes
    # events by the hundred thousand.
    v = _json_value
    return "".join(
        (
            '{"action":',
            v(body["action"]),
            ',"actor":',
            v(body["actor"]),
            ',"at":',
            v(body["at"]),
            ',"case":',
            v(body["case"]),
            ',"data":',
            data_text,
            ',"from_holder":',
            v(body["from_holder"]),
            ',"from_state":',
            v(body["from_state"]),
            ',"reason":',
            v(body["reason"]),
            ',"seq":',
            v(body["seq"]),
            ',"to_holder":',
            v(body["to_holder"]),
            ',"to_state":',
            v(body["to_state"]),
            ',"trigger":',
            v(body["trigger"]),
            ',"unit":',
            v(body["unit"]),
            "}",
        )
    )


# body_json() spells every hashed field, in the canonical (sorted) order.
if _BODY_KEYS != (
    "action",
    "actor",
    "at",
    "case",
    "data",
    "from_holder",
    "from_state",
    "reason",
    "seq",
    "to_holder",
    "to_state",
    "trigger",
    "unit",
):
    raise RuntimeError(f"body_json() does not spell the hashed fields {_BODY_KEYS}")


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
    partition: int | None = None,
) -> TrailEvent:
    """Append one event in the caller's transaction, which called lock_head() first for the
    event's partition (its case's; the default one without a case).

    HEAD: that partition's head as lock_head() gave it, when nothing was appended since (fire()
    has it: no read), PARTITION the case's partition where the caller has it. DATA must be plain
    JSON (string keys): it is encoded once, as stored and as hashed. The event returned is a
    plain holder of the row, not added to the session."""
    if partition is None:
        partition = partition_of(session, case_id)
    held = _check_append(session, at, partition)
    if head is None:
        # The caller's pending changes go out first, as they would with the event in one flush.
        session.flush()
        head = tuple(session.execute(_HEAD, {"head_id": partition + 1}).one())
    seq = next_seq(session, partition, head[0])
    row, data_text = _link(
        head,
        seq=seq,
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
    row["partition"] = partition
    conn = conn or session.connection()
    _write(conn, row, data_text, head[0])
    _appended(held, partition, seq)
    if case_id is not None:
        # What happened to a case is told (residents, staff, webhooks): queued in this
        # transaction, so it is told if and only if it commits.
        outbox.queue(conn, row["seq"])
    ev = _new_event()
    ev.__dict__.update(row)  # a plain holder of the row, as a load fills it
    return ev


_sqlite_at = cast(Any, TrailEvent.__table__.c.at.type).sqlite_bind


def append_many(session: Session, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """append() for several events, in order, in the caller's transaction (which called
    lock_head() first for their partitions): each is hashed by the same _link() as append()'s,
    then the events are inserted with one executemany, the outbox queued with another, and each
    partition's head moved once. EVENTS: append()'s keyword arguments (at, actor, action
    required). The rows written."""
    if not events:
        return []
    known: dict[int | None, int] = {}
    for ev in events:
        if ev.get("case_id") not in known:
            known[ev.get("case_id")] = partition_of(session, ev.get("case_id"))
    parts = [known[ev.get("case_id")] for ev in events]
    held = None
    for at, part in {(ev["at"], part) for ev, part in zip(events, parts, strict=True)}:
        held = _check_append(session, at, part)
    assert held is not None
    session.flush()
    heads: dict[int, tuple[int, str]] = {}
    firsts: dict[int, int] = {}
    for part in parts:
        if part not in heads:
            heads[part] = tuple(session.execute(_HEAD, {"head_id": part + 1}).one())
            firsts[part] = heads[part][0]
    rows: list[dict[str, Any]] = []
    texts: list[dict[str, Any]] = []
    # The instants spelled once each (a sweep appends thousands of events at one NOW): as
    # hashed, and as SQLite stores them.
    spelled: dict[dt.datetime, tuple[str, str | None]] = {}
    # One partition (the default install): each seq is the one after the last, as next_seq()
    # gives it.
    one = held.count <= 1 and not held.reserved
    for ev, part in zip(events, parts, strict=True):
        seq = heads[part][0] + 1 if one else next_seq(session, part, heads[part][0])
        at = ev["at"]
        at_texts = spelled.get(at)
        if at_texts is None:
            at_texts = spelled[at] = (format_at(at), _sqlite_at(at))
        row, data_text = _link(heads[part], seq=seq, at_text=at_texts[0], **ev)
        row["partition"] = part
        rows.append(row)
        texts.append({"data": data_text, "at": at_texts[1]})
        heads[part] = (row["seq"], row["hash"])
        _appended(held, part, seq)
    conn = session.connection()
    # The data stored is the text hashed, as append()'s (on SQLite given to the driver as is).
    _INSERT_EVENT.run_many(conn, rows, encoded=texts)
    queued = [{"seq": row["seq"]} for row in rows if row["case_id"] is not None]
    if queued:
        outbox.queue_many(conn, queued)
    for part, (seq, hash_) in heads.items():
        moved = _MOVE_HEAD.run(
            conn,
            {"head_id": part + 1, "old_seq": firsts[part], "new_seq": seq, "new_hash": hash_},
        )
        if moved.rowcount != 1:
            raise ChainNotLocked(f"the chain head moved under a locked append (seq {firsts[part]})")
    return rows


# ---------------------------------------------------------------- events spelled ahead
# The sweep writes events by the hundred thousand: it spells each before it takes the write lock
# (its row as the driver takes it, its canonical body), leaving open only what the lock decides:
# its seq, the hash before it (so its own), and an id in its data (a supervision's, known once
# its row is written). Under the lock each is then a few string joins and one SHA-256.

_DATA_MARK = "\x00"  # never in canonical JSON (a control character is escaped there)
_SEQ_MARK = "\x01"


@dataclass(frozen=True)
class Spelled:
    """An event spelled ahead (spell()): its insert's values (Statement.encode()), its data's
    canonical JSON around an id to come (or whole: AROUND's second part None), its canonical
    body around its data and its seq."""

    values: list[Any]
    around: tuple[str, str | None]
    body: tuple[str, str, str]
    # Told through the outbox (an event of a case)
    queued: bool


def spell(
    dialect: Any,
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    data_around: tuple[str, str | None],
    case_id: int | None = None,
    unit: str | None = None,
    trigger: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    from_holder: str | None = None,
    to_holder: str | None = None,
    reason: str | None = None,
) -> Spelled:
    """An event of the default partition spelled for append_spelled(), as _link() would hash
    and append_many() would write it. DATA_AROUND: its data's canonical JSON cut around the id
    append_spelled() puts in (the second part None: the whole text, no id)."""
    t = _template(dialect, at, actor, action, unit, trigger, from_state, from_holder, reason)
    v = _json_value
    values = t.values.copy()
    values[t.slots[0]], values[t.slots[1]], values[t.slots[2]] = case_id, to_state, to_holder
    return Spelled(
        values,
        data_around,
        (
            f"{t.body[0]}{v(case_id)}{t.body[1]}",
            t.body[2],
            f"{t.body[3]}{v(to_holder)}{t.body[4]}{v(to_state)}{t.body[5]}",
        ),
        case_id is not None,
    )


# What varies between the events a sweep spells (its case, its stage's state and holder) is
# put into a template spelled once for the rest (the action, the sweep's NOW, ...).
_CASE_MARK, _TO_HOLDER_MARK, _TO_STATE_MARK = "\x02", "\x03", "\x04"


@dataclass(frozen=True)
class _Template:
    values: list[Any]
    # Where case_id, to_state and to_holder go in VALUES
    slots: tuple[Any, Any, Any]
    # The body around (case) data (seq) to_holder, to_state
    body: tuple[str, str, str, str, str, str]


@functools.lru_cache(maxsize=32)
def _template(
    dialect: Any,
    at: dt.datetime,
    actor: str,
    action: str,
    unit: str | None,
    trigger: str | None,
    from_state: str | None,
    from_holder: str | None,
    reason: str | None,
) -> _Template:
    if at.tzinfo is None:
        raise ValueError("naive datetime: a trail event's time must be timezone-aware")
    utc = at if at.tzinfo is dt.UTC else at.astimezone(dt.UTC)
    body = {
        "action": action,
        "actor": actor,
        "at": format_at(utc),
        "case": _CASE_MARK,
        "from_holder": from_holder,
        "from_state": from_state,
        "reason": reason,
        "seq": _SEQ_MARK,
        "to_holder": _TO_HOLDER_MARK,
        "to_state": _TO_STATE_MARK,
        "trigger": trigger,
        "unit": unit,
    }
    text = body_json(body, _DATA_MARK)
    parts: list[str] = []
    for mark in (
        _json_value(_CASE_MARK),
        _DATA_MARK,
        _json_value(_SEQ_MARK),
        _json_value(_TO_HOLDER_MARK),
        _json_value(_TO_STATE_MARK),
    ):
        if text.count(mark) != 1:
            raise ValueError(f"an event that cannot be spelled ahead: {body}")
        part, _, text = text.partition(mark)
        parts.append(part)
    parts.append(text)
    row = {
        "at": utc,
        "actor": actor,
        "unit": unit,
        "action": action,
        "trigger": trigger,
        "from_state": from_state,
        "from_holder": from_holder,
        "reason": reason,
        "partition": DEFAULT_PARTITION,
    }
    values = _INSERT_EVENT.encode(dialect, row, encoded={"at": _sqlite_at(at), "data": None})
    if dialect.name == "sqlite":
        # Put in as given: no conversion on the way to the driver.
        assert not {"case_id", "to_state", "to_holder"} & _INSERT_EVENT.processed_names(dialect)
    slots = tuple(_INSERT_EVENT.slot(dialect, k) for k in ("case_id", "to_state", "to_holder"))
    return _Template(values, cast(tuple[Any, Any, Any], slots), cast(Any, tuple(parts)))


def can_append_spelled(session: Session) -> bool:
    """Whether SESSION's transaction can take append_spelled() (SQLite, one partition, the
    trail lock held, no seq drawn ahead)."""
    held = _held(session)
    return (
        held is not None
        and held.count <= 1
        and not held.reserved
        and session.connection().dialect.name == "sqlite"
    )


_EVENT_SLOTS: dict[Any, tuple[Any, Any, Any, Any]] = {}


def append_spelled(session: Session, events: list[tuple[Spelled, int | None]]) -> int:
    """append_many() for events spelled ahead (spell()), each with the id its data takes (None:
    its data whole), in order, in the caller's transaction: can_append_spelled() must hold. The
    same rows, hashes and outbox as append_many() writes for them. How many were written."""
    if not events:
        return 0
    if not can_append_spelled(session):
        raise ChainNotLocked("append_spelled() needs the lock of a single-partition SQLite trail")
    session.flush()
    conn = session.connection()
    slots = _EVENT_SLOTS.get(conn.dialect)
    if slots is None:
        slot = _INSERT_EVENT.slot
        d = conn.dialect
        slots = (slot(d, "seq"), slot(d, "prev_hash"), slot(d, "hash"), slot(d, "data"))
        _EVENT_SLOTS[d] = slots
    i_seq, i_prev, i_hash, i_data = slots
    first, prev = session.execute(_HEAD, {"head_id": DEFAULT_PARTITION + 1}).one()
    seq = first
    rows, queued = [], []
    sha256 = hashlib.sha256
    for ev, id_ in events:
        seq += 1
        before, after = ev.around
        data_text = before if after is None else f"{before}{id_}{after}"
        head, mid, tail = ev.body
        h = sha256(prev.encode("ascii"))
        h.update(f"{head}{data_text}{mid}{seq}{tail}".encode())
        v = ev.values.copy()
        v[i_seq], v[i_prev], v[i_data] = seq, prev, data_text
        prev = v[i_hash] = h.hexdigest()
        rows.append(v)
        if ev.queued:
            queued.append({"seq": seq})
    _INSERT_EVENT.run_encoded(conn, rows)
    if queued:
        outbox.queue_many(conn, queued)
    moved = _MOVE_HEAD.run(
        conn, {"head_id": DEFAULT_PARTITION + 1, "old_seq": first, "new_seq": seq, "new_hash": prev}
    )
    if moved.rowcount != 1:
        raise ChainNotLocked(f"the chain head moved under a locked append (seq {first})")
    return len(rows)


def _link(
    head: tuple[int, str],
    *,
    seq: int | None = None,
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
    at_text: str | None = None,
    data_text: str | None = None,
) -> tuple[dict[str, Any], str]:
    """The event's row after HEAD (seq, hash) with SEQ (by default the head's + 1), its hash
    computed, and its data's canonical JSON: the one place an appended event is hashed.
    AT_TEXT: format_at(AT), where the caller has it. DATA_TEXT: canonical_text(DATA), where
    the caller has it (the sweep spells its events' data before it takes the lock); it is what
    is hashed and stored."""
    head_seq, head_hash = head
    if at.tzinfo is not dt.UTC:
        at = at.astimezone(dt.UTC)
    data = data or {}
    if data_text is None:
        data_text = _CANONICAL.encode(data)
    row = {
        "seq": head_seq + 1 if seq is None else seq,
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
    body.update(at=at_text or format_at(at), case=case_id)
    row["hash"] = link_hash(head_hash, body_json(body, data_text).encode("utf-8"))
    return row, data_text


def _write(conn: Connection, row: dict[str, Any], data_text: str, old_seq: int) -> None:
    """Insert the event ROW and move its partition's head to it from OLD_SEQ."""
    # On SQLite the data goes to the driver as the text just hashed, not encoded a second time.
    _INSERT_EVENT.run(conn, row, encoded={"data": data_text})
    moved = _MOVE_HEAD.run(
        conn,
        {
            "head_id": row["partition"] + 1,
            "old_seq": old_seq,
            "new_seq": row["seq"],
            "new_hash": row["hash"],
        },
    )
    if moved.rowcount != 1:
        # The head moved since it was read: something appended in between. Never fork.
        raise ChainNotLocked(f"the chain head moved under a locked append (seq {old_seq})")
