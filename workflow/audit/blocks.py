"""The trail's stored text digested by blocks of seqs, each block once.

An appraisal record's inputs cover the stored text of every trail event up to its `last_seq`
(the metrics read that text through SQL). Digesting all of it for every record costs minutes at
a million cases; the trail is append-only, so a full block of seqs is digested once, when it is
first needed (or ahead of time: `streetflow audit blocks`), and its digest is stored in
`trail_blocks`. A record's digest is then SHA-256 over the digests of the full blocks up to its
`last_seq` and that of the tail after them (version 2; `trail_read_blocks` in its inputs).

A block is the seqs ``(k - 1) * SIZE + 1 .. k * SIZE``, over every partition (seq is global); its
digest is SHA-256 over each event's stored text in seq order, the bytes spelling.stored_digest
reads. A block is full once its last seq is at or below the trail's head, read under the lock of
every partition (chain.lock_head): every seq up to the head has then committed or never will.

`audit verify` and an appraisal's verify recompute every stored block from its rows: a row
changed after its block was digested (behind the chain's back) is named by its block."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from workflow.audit import chain, spelling
from workflow.instants import utcnow
from workflow.store.models import TrailBlock, TrailHead

# 65,536 seqs: the tail after the last full block (what every record digests afresh) is at most
# that many events, a fraction of a second; a million cases (4.6 million events) make about 70
# blocks, and a changed row is named within 65,536 events (the chain check names the event).
SIZE = 65_536


@dataclass(frozen=True)
class Block:
    first_seq: int
    last_seq: int
    digest: str

    def __str__(self) -> str:
        return f"block {self.first_seq}..{self.last_seq}"


def full_blocks(upto: int, size: int | None = None) -> list[tuple[int, int]]:
    """(first, last) seq of every full block of SIZE seqs (default: SIZE) up to UPTO."""
    size = size or SIZE
    return [(k * size + 1, (k + 1) * size) for k in range(upto // size)]


def _rows_bytes(conn: Connection, after: int, upto: int) -> Iterator[bytes]:
    """Each event's stored text after..upto, as spelling.stored_digest reads it."""
    for batch in spelling.raw_rows(conn, after, upto):
        for row in batch:
            yield spelling.hashed_bytes(row) or repr(tuple(row)).encode("utf-8", "replace")


def _sqlite_digest(dbapi: Any, after: int, upto: int) -> str:
    """digest_range on SQLite's own connection, the bytes spelled by SQLite itself (about ten
    times faster): where they give the event's stored hash they are the ones Python spells
    (tests/audit/test_fast_spelling.py); elsewhere the row is read and spelled in Python."""
    h, sha256 = hashlib.sha256(), hashlib.sha256
    cur = dbapi.cursor()
    try:
        cur.execute(spelling.SQLITE_PAYLOAD, (after, upto))
        for seq, stored_hash, payload in cur:
            if payload is None or sha256(payload).hexdigest() != stored_hash:
                row = dbapi.execute(spelling.SQLITE_SELECT, (seq - 1, seq)).fetchone()
                payload = spelling.hashed_bytes(row) or repr(tuple(row)).encode("utf-8", "replace")
            h.update(payload)
    finally:
        cur.close()
    return h.hexdigest()


def digest_range(conn: Connection, after: int, upto: int) -> str:
    """SHA-256 over the stored text of the events after..upto (stored_digest's bytes)."""
    if conn.dialect.name == "sqlite":
        return _sqlite_digest(conn.connection.driver_connection, after, upto)
    h = hashlib.sha256()
    for b in _rows_bytes(conn, after, upto):
        h.update(b)
    return h.hexdigest()


def _digest_in_worker(path: str, after: int, upto: int) -> str:
    """In a worker process: digest_range over a read-only connection of its own."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return _sqlite_digest(conn, after, upto)
    finally:
        conn.close()


def stored(session: Session, upto: int | None = None) -> list[Block]:
    """The stored blocks (ending at or below UPTO), in seq order."""
    q = select(TrailBlock.first_seq, TrailBlock.last_seq, TrailBlock.digest)
    if upto is not None:
        q = q.where(TrailBlock.last_seq <= upto)
    rows = session.execute(q.order_by(TrailBlock.first_seq, TrailBlock.last_seq)).all()
    return [Block(r.first_seq, r.last_seq, r.digest) for r in rows]


def fill(
    session: Session,
    upto: int,
    *,
    size: int | None = None,
    store: bool = True,
    now: dt.datetime | None = None,
    progress: Callable[[Block, bool], None] | None = None,
) -> list[Block]:
    """The digests of the full blocks up to UPTO, in order: those stored, the others computed
    (and, with STORE, stored: the caller holds the trail's lock and UPTO is its head).
    PROGRESS(block, computed) after each."""
    have = {(b.first_seq, b.last_seq): b for b in stored(session, upto)}
    conn = session.connection()
    out = []
    for first, last in full_blocks(upto, size):
        block = have.get((first, last))
        computed = block is None
        if block is None:
            block = Block(first, last, digest_range(conn, first - 1, last))
            if store:
                session.add(
                    TrailBlock(
                        first_seq=first,
                        last_seq=last,
                        digest=block.digest,
                        computed_at=now or utcnow(),
                    )
                )
                session.flush()
        out.append(block)
        if progress:
            progress(block, computed)
    return out


def read_digest(blocks: list[Block], tail: str) -> str:
    """A record's digest of the trail it read (version 2): SHA-256 over the blocks' digests in
    seq order, then the tail's, as hex text."""
    return hashlib.sha256("".join([*(b.digest for b in blocks), tail]).encode()).hexdigest()


def trail_read(session: Session, upto: int, *, size: int | None = None, store: bool = True) -> str:
    """The digest of the stored trail 1..UPTO by blocks of SIZE (stored ones taken as stored;
    the missing ones computed, and stored with STORE)."""
    blocks = fill(session, upto, size=size, store=store)
    tail = digest_range(session.connection(), blocks[-1].last_seq if blocks else 0, upto)
    return read_digest(blocks, tail)


def changed(
    session: Session,
    upto: int | None = None,
    jobs: int = 1,
) -> list[tuple[Block, str]]:
    """Every stored block (ending at or below UPTO) whose rows no longer give its digest, with
    the digest they give now; on a SQLite file, over JOBS processes."""
    blocks = stored(session, upto)
    conn = session.connection()
    path = conn.engine.url.database
    if (
        jobs > 1
        and len(blocks) > 1
        and conn.dialect.name == "sqlite"
        and path not in (None, "", ":memory:")
    ):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(min(jobs, len(blocks)), mp_context=ctx) as pool:
            args = [(path, b.first_seq - 1, b.last_seq) for b in blocks]
            now = list(pool.map(_digest_in_worker, *zip(*args, strict=True)))
    else:
        now = [digest_range(conn, b.first_seq - 1, b.last_seq) for b in blocks]
    return [(b, d) for b, d in zip(blocks, now, strict=True) if d != b.digest]


def recheck(session: Session, upto: int, size: int) -> tuple[str, list[tuple[Block, str]]]:
    """A record's digest (version 2) of the trail 1..UPTO recomputed from the rows, every block
    at once: (the digest from the stored blocks where stored, every stored block whose rows no
    longer give its digest with the digest they give now)."""
    have = {(b.first_seq, b.last_seq): b for b in stored(session, upto)}
    conn = session.connection()
    used, bad = [], []
    for first, last in full_blocks(upto, size):
        now = digest_range(conn, first - 1, last)
        block = have.get((first, last))
        if block is None:
            block = Block(first, last, now)
        elif block.digest != now:
            bad.append((block, now))
        used.append(block)
    tail = digest_range(conn, used[-1].last_seq if used else 0, upto)
    return read_digest(used, tail), bad


def fill_next(session: Session, *, size: int | None = None) -> tuple[Block | None, int, int]:
    """Digest and store the first full block not stored yet, under the lock of every partition
    (held until the caller commits: one block at a time keeps writers waiting for a fraction of
    a second only): (the block or None when every full block is stored, blocks stored, blocks
    full)."""
    chain.lock_head(session)
    head = session.execute(select(func.max(TrailHead.seq))).scalar_one() or 0
    full = full_blocks(int(head), size)
    have = {(b.first_seq, b.last_seq) for b in stored(session, int(head))}
    todo = [(first, last) for first, last in full if (first, last) not in have]
    if not todo:
        return None, len(full), len(full)
    first, last = todo[0]
    block = Block(first, last, digest_range(session.connection(), first - 1, last))
    session.add(
        TrailBlock(first_seq=first, last_seq=last, digest=block.digest, computed_at=utcnow())
    )
    session.flush()
    return block, len(full) - len(todo) + 1, len(full)
