"""Verifying the trail: stream it in seq order, recheck every link, and hold it to the signed checkpoints.

Detection rules, applied at the first event k where the chain stops holding (``running`` is the
hash of the verified chain up to k-1, ``r`` the row found at position k):

- missing:   the next row's seq is above k (a gap: k.. are absent); or a row that links to a hash
             no event has while its content verifies under a later seq (events were deleted and the
             rest renumbered); or the first event does not link to GENESIS and verifies as it is.
- inserted:  two rows carry the seq k (only possible without the primary key); r links to the
             hash of an event before k-1 (so k-1.. do not belong in the chain: the first of them
             is named); r matches nothing and the row after it links to ``running`` (r sits in a
             place that belongs to no event); a row beyond the head the engine recorded.
- modified:  r links to ``running`` but its content no longer gives its hash; r verifies as it is
             but links to a hash no event has (event k-1 was changed and its hash recomputed: k-1 is
             named); r matches nothing and the next row still links to r's stored hash; the last
             event verifies but the head records another hash for it.
- reordered: r's content verifies under another seq s ≠ k (it was moved) and the event it links to
             is still in the trail, at or after k.
- truncated: the chain ends at L below a signed checkpoint's seq, or below the head's seq.
- rebuilt:   the chain verifies but the event at a checkpoint's seq has another hash than the one
             signed there: every hash was recomputed after a change. The change lies after the last
             checkpoint that still matches; the first event after it is named.
- forged_checkpoint: a checkpoint whose HMAC signature does not verify with the instance secret.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from workflow.audit import chain
from workflow.audit.checkpoints import Anchor, signature_ok
from workflow.store.models import Checkpoint, TrailEvent, TrailHead

BATCH = 20_000
AUTO_PARALLEL = 200_000

KINDS = (
    "modified",
    "missing",
    "inserted",
    "reordered",
    "truncated",
    "rebuilt",
    "forged_checkpoint",
)

# The raw columns, with `at` already spelled as format_at() spells it, and `data` as stored text
# (canonical JSON, see store.db): the hashed bytes are built by one string format per row.
_SQLITE_SELECT = (
    "SELECT seq, replace(at, ' ', 'T') || 'Z', case_id, actor, unit, action, \"trigger\", "
    "from_state, to_state, from_holder, to_holder, reason, data, prev_hash, hash "
    "FROM trail_events WHERE seq > ? AND seq <= ? ORDER BY seq"
)
_PG_SELECT = (
    "SELECT seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), case_id, "
    'actor, unit, action, "trigger", from_state, to_state, from_holder, to_holder, reason, '
    "data::text, prev_hash, hash FROM trail_events WHERE seq > :after AND seq <= :upto "
    "ORDER BY seq"
)
# Keys in sorted order, as canonical_json() writes them.
_BODY = (
    '{"action":%s,"actor":%s,"at":"%s","case":%s,"data":%s,"from_holder":%s,"from_state":%s,'
    '"reason":%s,"seq":%d,"to_holder":%s,"to_state":%s,"trigger":%s,"unit":%s}'
)
_enc: Callable[[str], str] = json.encoder.encode_basestring


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.kind}: {self.detail}"

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "detail": self.detail}


@dataclass
class Report:
    events_checked: int = 0
    checkpoints_checked: int = 0
    last_seq: int = 0
    last_hash: str = chain.GENESIS
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad(self) -> Problem | None:
        return min(self.problems, key=lambda p: p.seq) if self.problems else None

    def as_dict(self) -> dict[str, Any]:
        bad = self.first_bad
        return {
            "ok": self.ok,
            "events_checked": self.events_checked,
            "first_bad": bad.as_dict() if bad else None,
        }


class _Quoted(dict[Any, str]):
    """JSON spellings of the few distinct actors, units, actions, states: each encoded once."""

    def __missing__(self, key: Any) -> str:
        if len(self) > 100_000:
            self.clear()
        v = "null" if key is None else _enc(key)
        self[key] = v
        return v


# SQLite spells each event's hashed bytes itself: prev_hash followed by the canonical JSON of the
# event, keys in sorted order (json_object escapes strings as json.dumps(ensure_ascii=False) does;
# tests/audit/test_fast_spelling.py holds the two to the same bytes). `data` is stored as
# canonical JSON text, so it is spliced in as read rather than parsed: json_object is split
# around it (the first part ends with the `case` number or null, the second starts with a key,
# so trimming one brace is exact). Python only chains the SHA-256 over the 4 columns fetched.
_SQLITE_FAST = (
    "SELECT seq, prev_hash, hash, CAST(ifnull(prev_hash, '') || rtrim(json_object("
    "'action', action, 'actor', actor, 'at', replace(at, ' ', 'T') || 'Z', 'case', case_id), '}')"
    " || ',\"data\":' || ifnull(data, '') || ',' || ltrim(json_object("
    "'from_holder', from_holder, 'from_state', from_state, 'reason', reason, 'seq', seq, "
    "'to_holder', to_holder, 'to_state', to_state, 'trigger', \"trigger\", 'unit', unit), '{')"
    " AS BLOB) FROM trail_events WHERE seq > ? AND seq <= ? ORDER BY seq"
)
_Scan = tuple[bool, str | None, str | None, dict[int, str]]


def _scan(
    dbapi: Any,
    after: int,
    upto: int,
    due: tuple[int, ...],
    exact: Callable[[int, str, str], bool] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> _Scan:
    """Do the events after..upto hold together by themselves, read through _SQLITE_FAST?
    Returns (ok, prev_hash of the first, hash of the last, {checkpoint seq: hash}). A row whose
    SQL spelling does not give its hash is checked by EXACT (the Python canonical JSON); without
    it, or when that fails too, the scan gives up (not ok) and the exact walk names the fault."""
    sha256 = hashlib.sha256
    k, at_due = after + 1, {}
    running = first_prev = chain.GENESIS if after == 0 else None
    # Rows where the loop stops to look: the checkpoints' seqs, and every BATCH rows for progress.
    marks = sorted(d for d in set(due) if after < d <= upto)
    mi, next_due = 0, marks[0] if marks else -1
    next_tick = k + BATCH
    stop = min(next_tick, next_due) if next_due > 0 else next_tick
    cur = dbapi.cursor()
    try:
        cur.execute(_SQLITE_FAST, (after, upto))
        # The hot loop, iterating the cursor itself (no batch lists): one SHA-256 per row, the
        # exact spelling only on a mismatch.
        for seq, prev, h, payload in cur:
            if seq != k or prev != running:
                if running is None and seq == k:
                    first_prev = running = prev
                else:
                    return (False, None, None, {})
            if sha256(payload).hexdigest() != h and (exact is None or not exact(seq, prev, h)):
                return (False, None, None, {})
            running = h
            if seq == stop:
                if seq == next_due:
                    at_due[seq] = h
                    mi += 1
                    next_due = marks[mi] if mi < len(marks) else -1
                if seq == next_tick:
                    next_tick += BATCH
                    if progress:
                        progress(seq, upto)
                stop = min(next_tick, next_due) if next_due > 0 else next_tick
            k += 1
    except (sqlite3.Error, TypeError):  # garbage in a column (a blob, say): the exact walk copes
        return (False, None, None, {})
    finally:
        cur.close()
    if progress:
        progress(k - 1, upto)
    return (k == upto + 1, first_prev, running, at_due)


def _check_range(path: str, after: int, upto: int, due: tuple[int, ...]) -> _Scan:
    """In a worker process: _scan over a read-only connection of its own."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return _scan(conn, after, upto, due)
    finally:
        conn.close()


def _fast(
    session: Session,
    upto: int,
    due: list[Anchor],
    jobs: int,
    exact: Callable[[int, str, str], bool],
    progress: Callable[[int, int], None] | None,
) -> tuple[str, dict[int, str]] | None:
    """Check 1..UPTO of a SQLite trail through _scan: in this process, or over JOBS processes
    (a SQLite file only). The last hash and the hashes at the checkpoints when every part holds
    and the parts link up; None when anything does not, or on PostgreSQL (the exact walk then
    checks, and finds and names what is wrong)."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return None
    seqs = tuple(a.seq for a in due)
    url = conn.engine.url
    if jobs > 1 and url.database and url.database != ":memory:" and upto >= jobs:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        step = -(-upto // jobs)
        bounds = [(a, min(a + step, upto)) for a in range(0, upto, step)]
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(len(bounds), mp_context=ctx) as pool:
            parts = list(
                pool.map(
                    _check_range,
                    *zip(*[(url.database, a, b, seqs) for a, b in bounds], strict=True),
                )
            )
        if progress:
            progress(upto, upto)
    else:
        dbapi = conn.connection.driver_connection
        parts = [_scan(dbapi, 0, upto, seqs, exact, progress)]
    running, hashes = chain.GENESIS, {}
    for ok, first_prev, last, at_due in parts:
        if not ok or first_prev != running or last is None:
            return None
        running = last
        hashes.update(at_due)
    return running, hashes


def _raw_rows(conn: Connection, after: int, upto: int) -> Iterator[list[Any]]:
    """Batches of raw rows: the DBAPI cursor on SQLite (no Row objects), a server-side cursor on
    PostgreSQL."""
    if conn.dialect.name == "sqlite":
        dbapi = conn.connection.driver_connection
        assert dbapi is not None
        cur = dbapi.cursor()
        try:
            cur.execute(_SQLITE_SELECT, (after, upto))
            while batch := cur.fetchmany(BATCH):
                yield batch
        finally:
            cur.close()
        return
    result = conn.execute(
        text(_PG_SELECT).execution_options(yield_per=BATCH), {"after": after, "upto": upto}
    )
    for part in result.partitions():
        yield [tuple(r) for r in part]


class _Trail:
    """Slow lookups used only once something is wrong."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def body(self, seq: int, as_seq: int | None = None) -> dict[str, Any] | None:
        """The event as append() hashed it; None if absent or unreadable (garbage in a column)."""
        try:
            ev = self.s.get(TrailEvent, seq)
            if ev is None:
                return None
            b = chain.event_body(ev)
        except (ValueError, TypeError, AttributeError):
            return None
        if as_seq is not None:
            b["seq"] = as_seq
        return b

    def verifies(self, row: Sequence[Any], as_seq: int) -> bool:
        """Does the stored row, read through the ORM, give its stored hash under AS_SEQ?"""
        return self.verifies_as(as_seq, row[13], row[14], row[0])

    def verifies_as(self, as_seq: int, prev_hash: str, h: str, seq: int | None = None) -> bool:
        """Does event SEQ (default AS_SEQ), spelled exactly as append() spelled it, give hash H
        under AS_SEQ after PREV_HASH?"""
        b = self.body(as_seq if seq is None else seq, as_seq)
        if b is None:
            return False
        try:
            return bool(chain.chain_hash(prev_hash, b) == h)
        except (TypeError, ValueError, AttributeError):
            return False

    def seq_of_hash(self, h: str) -> int | None:
        return self.s.execute(
            select(TrailEvent.seq).where(TrailEvent.hash == h).order_by(TrailEvent.seq).limit(1)
        ).scalar_one_or_none()

    def moved_from(self, row: Sequence[Any], upto: int) -> int | None:
        """The seq under which ROW's content verifies, when it is not its own (nearest first)."""
        k = row[0]
        body = self.body(k, 0)
        if body is None or not isinstance(row[13], str):
            return None
        # Only the seq changes between candidates: hash prefix + before + seq + after. The
        # top-level "seq" is the last one in the canonical JSON (only strings follow it).
        before, marker, after = chain.canonical_json(body).rpartition(b'"seq":0,')
        if not marker:
            return None
        start = hashlib.sha256(row[13].encode("ascii", "replace") + before + b'"seq":')
        tail = b"," + after
        for d in range(1, upto + 2):
            for cand in (k - d, k + d):
                if 1 <= cand <= upto + 1:
                    h = start.copy()
                    h.update(str(cand).encode() + tail)
                    if h.hexdigest() == row[14]:
                        return cand
        return None


def _diagnose(
    trail: _Trail,
    k: int,
    running: str,
    row: Sequence[Any],
    following: Sequence[Any] | None,
    upto: int,
) -> Problem:
    seq, prev_hash = row[0], row[13]
    if seq > k:
        last = seq - 1
        span = f"event {k}" if last == k else f"events {k}..{last}"
        return Problem(k, "missing", f"{span} absent: event {seq} follows event {k - 1}")
    if seq < k:
        return Problem(seq, "inserted", f"a second event carries seq {seq}")
    if prev_hash == running:
        return Problem(k, "modified", "its content no longer gives its hash")
    j = trail.seq_of_hash(prev_hash)
    if j is not None and j < k - 1:
        return Problem(
            j + 1,
            "inserted",
            f"event {k} links to event {j}: event(s) {j + 1}..{k - 1} do not belong in the chain",
        )
    if trail.verifies(row, k):
        if j is None:
            if k == 1:
                return Problem(1, "missing", "the first event does not link to GENESIS")
            return Problem(
                k - 1,
                "modified",
                f"it was changed and its hash recomputed: event {k} links to a hash no event has",
            )
        return Problem(k, "reordered", f"it links to event {j}, which comes after it")
    moved = trail.moved_from(row, upto)
    if moved is not None:
        if j is not None:
            return Problem(k, "reordered", f"the event at {k} is event {moved}, moved here")
        if moved > k:
            return Problem(
                k,
                "missing",
                f"event(s) {k}..{moved - 1} were deleted and later events renumbered",
            )
        return Problem(k, "inserted", f"events were inserted before event {moved}")
    if following is not None and following[13] == running:
        return Problem(k, "inserted", f"event {k + 1} links past it to event {k - 1}")
    return Problem(k, "modified", "its link and content no longer give its hash")


def _checkpoints(session: Session) -> list[Anchor]:
    rows = session.execute(
        select(
            Checkpoint.id, Checkpoint.seq, Checkpoint.hash, Checkpoint.at, Checkpoint.signature
        ).order_by(Checkpoint.seq, Checkpoint.id)
    ).all()
    return [Anchor(seq=r.seq, hash=r.hash, at=r.at, signature=r.signature, id=r.id) for r in rows]


def verify(
    session: Session,
    secret: str,
    *,
    anchors: Iterable[Anchor] = (),
    progress: Callable[[int, int], None] | None = None,
    jobs: int | None = 1,
) -> Report:
    """Check the whole trail, its head and every checkpoint (and ANCHORS kept outside).

    JOBS > 1 checks parts of a SQLite trail in that many processes first; only when something
    is wrong does the sequential pass run, to name the first bad event exactly. JOBS None: one
    process per CPU (at most 8) for a trail of AUTO_PARALLEL events or more, else 1 (starting
    processes costs more than a small trail takes)."""
    report = Report()
    head = session.execute(
        select(TrailHead.seq, TrailHead.hash).where(TrailHead.id == 1)
    ).one_or_none()
    if head is None:  # someone deleted it: check the trail by itself, and say so
        report.problems.append(Problem(0, "missing", "the trail's head row is gone"))
    head_seq, head_hash = head if head is not None else (0, chain.GENESIS)
    signed: list[Anchor] = []
    for a in [*_checkpoints(session), *anchors]:
        report.checkpoints_checked += 1
        if signature_ok(secret, a):
            signed.append(a)
        else:
            where = f"checkpoint {a.id}" if a.id is not None else "an anchor"
            report.problems.append(
                Problem(a.seq, "forged_checkpoint", f"{where} at seq {a.seq}: bad signature")
            )
    signed.sort(key=lambda a: a.seq)
    # Checkpoint seqs to compare as the stream passes them; the last one that matched.
    due = [a for a in signed if a.seq > 0]
    di, good_upto = 0, 0
    upto = max([head_seq, *(a.seq for a in signed)])
    if head is None:
        upto = max(upto, session.execute(select(func.max(TrailEvent.seq))).scalar() or 0)

    trail = _Trail(session)
    conn = session.connection()
    k, running = 1, chain.GENESIS
    sha256, body, enc, quoted = hashlib.sha256, _BODY, _enc, _Quoted()
    broken: Problem | None = None
    rebuilt: Problem | None = None
    pending: Sequence[Any] | None = None  # a bad row waiting for the row after it
    next_due = due[0].seq if due else -1
    if jobs is None:
        jobs = min(os.cpu_count() or 1, 8) if upto >= AUTO_PARALLEL else 1
    fast = _fast(session, upto, due, jobs, trail.verifies_as, progress) if upto > 0 else None
    if fast is not None:
        running, hashes = fast
        for a in due:
            if hashes.get(a.seq) == a.hash:
                good_upto = a.seq
            elif rebuilt is None:
                rebuilt = Problem(
                    good_upto + 1,
                    "rebuilt",
                    f"event {a.seq} no longer has the hash signed at checkpoint seq {a.seq} "
                    f"({chain.format_at(a.at)}): the chain was recomputed after a change in "
                    f"events {good_upto + 1}..{a.seq}",
                )
        k = upto + 1
    for batch in _raw_rows(conn, 0, upto) if fast is None else ():
        for row in batch:
            if pending is not None:
                broken = _diagnose(trail, k, running, pending, row, upto)
                break
            # The hot loop: one format, one SHA-256 per row; the slow path only on a mismatch.
            (seq, at, case, actor, unit, action, trig, fs, ts, fh, th, reason, data, prev, h) = row
            if (
                seq != k
                or prev != running
                or sha256(
                    (
                        prev
                        + body
                        % (
                            quoted[action],
                            quoted[actor],
                            at,
                            "null" if case is None else case,
                            data,
                            quoted[fh],
                            quoted[fs],
                            "null" if reason is None else enc(reason),
                            seq,
                            quoted[th],
                            quoted[ts],
                            quoted[trig],
                            quoted[unit],
                        )
                    ).encode("utf-8")
                ).hexdigest()
                != h
            ) and not (seq == k and prev == running and trail.verifies(row, k)):
                pending = row
                continue
            running = h
            if k == next_due:
                while di < len(due) and due[di].seq == k:
                    if due[di].hash == running:
                        good_upto = k
                    elif rebuilt is None:
                        rebuilt = Problem(
                            good_upto + 1,
                            "rebuilt",
                            f"event {k} no longer has the hash signed at checkpoint seq {k} "
                            f"({chain.format_at(due[di].at)}): the chain was recomputed after "
                            f"a change in events {good_upto + 1}..{k}",
                        )
                    di += 1
                next_due = due[di].seq if di < len(due) else -1
            k += 1
        if progress:
            progress(k - 1, upto)
        if broken is not None:
            break
    if pending is not None and broken is None:
        broken = _diagnose(trail, k, running, pending, None, upto)
    report.events_checked = k - 1
    report.last_seq, report.last_hash = k - 1, running
    if rebuilt:
        report.problems.append(rebuilt)
    if broken:
        report.problems.append(broken)
        return report
    last = k - 1
    beyond = [a for a in signed if a.seq > last]
    if beyond:
        a = beyond[-1]
        report.problems.append(
            Problem(
                last + 1,
                "truncated",
                f"the trail ends at {last} but a checkpoint signed seq {a.seq} "
                f"({chain.format_at(a.at)})",
            )
        )
    elif head is not None and head_seq > last:
        report.problems.append(
            Problem(last + 1, "truncated", f"the trail ends at {last} but its head says {head_seq}")
        )
    elif head is not None and head_seq == last and head_hash != running and last > 0:
        report.problems.append(
            Problem(last, "modified", "the head records another hash for it: changed and re-hashed")
        )
    # Rows beyond the head the engine recorded were not appended by it. Read the head again
    # after looking, so that an append committed meanwhile is not taken for one.
    extra = session.execute(
        select(TrailEvent.seq).where(TrailEvent.seq > upto).order_by(TrailEvent.seq).limit(1)
    ).scalar_one_or_none()
    if extra is not None:
        now_head = session.execute(
            select(TrailHead.seq).where(TrailHead.id == 1)
        ).scalar_one_or_none()
        if now_head is not None and extra > now_head:
            report.problems.append(
                Problem(extra, "inserted", f"event {extra} lies beyond the head ({now_head})")
            )
    return report
