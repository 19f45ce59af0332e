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
- block_changed: a stored block digest (workflow.audit.blocks) that the block's rows no longer
             give: a row was changed after the block was digested, even if every hash after it
             was recomputed. The block's first seq is named.

"Gives its hash" means: the stored columns, taken as they are (see spelling.py), are the bytes
that were hashed. Content that only parses to the same value (a duplicate key in data, `at` in
another spelling, a number stored as text) does not.

Warnings (the chain holds; something about time does not):
- time_backwards:    an event is dated before the event preceding it in the chain.
- dated_after_write: an event is dated more than spelling.WRITE_SKEW_S seconds after the
                     database wrote it (written_at; a sweep run with --now in the future).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.audit import blocks, chain, spelling, verify_parts
from workflow.audit.checkpoints import Anchor, signature_ok
from workflow.audit.spelling import AT, HASH, LATE, PREV
from workflow.store.models import Checkpoint, TrailEvent, TrailHead

BATCH = spelling.BATCH
AUTO_PARALLEL = 200_000
# Warnings named one by one; beyond this many they are only counted.
MAX_WARNINGS = 100

KINDS = (
    "modified",
    "missing",
    "inserted",
    "reordered",
    "truncated",
    "rebuilt",
    "forged_checkpoint",
    "misplaced",
    "block_changed",
)
WARNING_KINDS = ("time_backwards", "dated_after_write")


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str
    detail: str
    # The partition it was found in, on a trail of several partitions (None: the one chain).
    partition: int | None = None

    def __str__(self) -> str:
        where = "" if self.partition is None else f"partition {self.partition}: "
        return f"{where}seq {self.seq}: {self.kind}: {self.detail}"

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"seq": self.seq, "kind": self.kind, "detail": self.detail}
        if self.partition is not None:
            d["partition"] = self.partition
        return d


@dataclass
class Report:
    events_checked: int = 0
    checkpoints_checked: int = 0
    last_seq: int = 0
    last_hash: str = chain.GENESIS
    problems: list[Problem] = field(default_factory=list)
    # The chain holds but time does not: the first MAX_WARNINGS, and how many in all.
    warnings: list[Problem] = field(default_factory=list)
    warnings_total: int = 0
    # On a trail of several partitions: what was found of each partition checked.
    partitions: list[verify_parts.PartitionReport] | None = None

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
            "warnings": [w.as_dict() for w in self.warnings],
            "warnings_total": self.warnings_total,
            **(
                {"partitions": [p.as_dict() for p in self.partitions]}
                if self.partitions is not None
                else {}
            ),
        }

    def bad_partitions(self) -> list[int]:
        """The partitions a problem was found in."""
        return sorted({p.partition for p in self.problems if p.partition is not None})


@dataclass
class _Part:
    """What a pass over the events after..upto found: whether they hold together by
    themselves, the first link and the last hash, the hashes at checkpoint seqs, the first and
    last `at`, and the time warnings."""

    ok: bool = False
    first_seq: int = 1
    first_prev: str | None = None
    last: str | None = None
    at_due: dict[int, str] = field(default_factory=dict)
    first_at: str = ""
    last_at: str = ""
    times: list[Problem] = field(default_factory=list)
    times_total: int = 0

    def time_warning(self, seq: int, at: str, before: str, late: float | None) -> None:
        """Event SEQ dated AT: before the event before it, dated BEFORE? dated LATE seconds
        after the database wrote it?"""
        found = []
        if late is not None and late > spelling.WRITE_SKEW_S:
            found.append(
                Problem(
                    seq,
                    "dated_after_write",
                    f"dated {_spelled(at)}, {float(late):,.0f} s after the database wrote it",
                )
            )
        if at < before:
            found.append(
                Problem(
                    seq,
                    "time_backwards",
                    f"dated {_spelled(at)}, before event {seq - 1} ({_spelled(before)})",
                )
            )
        self.times_total += len(found)
        self.times.extend(found[: max(0, MAX_WARNINGS - len(self.times))])


def _spelled(at: str) -> str:
    """An `at` as the trail spells it (the fast pass reads SQLite's stored spelling)."""
    return at if at.endswith("Z") else at.replace(" ", "T") + "Z"


def _digest(row: Sequence[Any]) -> str | None:
    payload = spelling.hashed_bytes(row)
    return None if payload is None else hashlib.sha256(payload).hexdigest()


# ---------------------------------------------------------------- the fast pass (SQLite)


def _scan(
    dbapi: Any,
    after: int,
    upto: int,
    due: tuple[int, ...],
    exact: Callable[[int, str, str], bool] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> _Part:
    """Do the events after..upto hold together by themselves, read through SQLITE_FAST? A row
    whose SQL spelling does not give its hash is checked by EXACT (the Python spelling of the
    same stored text); without it, or when that fails too, the scan gives up (not ok) and the
    exact walk names the fault."""
    sha256, part = hashlib.sha256, _Part(first_seq=after + 1)
    k, last_at = after + 1, ""
    running = part.first_prev = chain.GENESIS if after == 0 else None
    # Rows where the loop stops to look: the checkpoints' seqs, and every BATCH rows for progress.
    marks = sorted(d for d in set(due) if after < d <= upto)
    mi, next_due = 0, marks[0] if marks else -1
    next_tick = k + BATCH
    stop = min(next_tick, next_due) if next_due > 0 else next_tick
    cur = dbapi.cursor()
    try:
        cur.execute(spelling.SQLITE_FAST, (after, upto))
        # The hot loop, iterating the cursor itself (no batch lists): one SHA-256 per row, the
        # exact spelling only on a mismatch.
        for seq, prev, h, late, at, payload in cur:
            if seq != k or prev != running:
                if running is None and seq == k:
                    part.first_prev = running = prev
                    part.first_at = at
                else:
                    return part
            if sha256(payload).hexdigest() != h and (exact is None or not exact(seq, prev, h)):
                return part
            if late is not None or at < last_at:
                part.time_warning(seq, at, last_at, late)
            running, last_at = h, at
            if seq == stop:
                if seq == next_due:
                    part.at_due[seq] = h
                    mi += 1
                    next_due = marks[mi] if mi < len(marks) else -1
                if seq == next_tick:
                    next_tick += BATCH
                    if progress:
                        progress(seq, upto)
                stop = min(next_tick, next_due) if next_due > 0 else next_tick
            k += 1
    except (sqlite3.Error, TypeError):  # garbage in a column (a blob, say): the exact walk copes
        return part
    finally:
        cur.close()
    if progress:
        progress(k - 1, upto)
    part.ok, part.last, part.last_at = k == upto + 1, running, last_at
    return part


def _check_range(path: str, after: int, upto: int, due: tuple[int, ...]) -> _Part:
    """In a worker process: _scan over a read-only connection of its own."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return _scan(conn, after, upto, due)
    finally:
        conn.close()


def _scan_parts(session: Session, upto: int, seqs: tuple[int, ...], jobs: int) -> list[_Part]:
    """_scan over JOBS processes, each over a part of 1..UPTO of the SQLite file."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    path = session.connection().engine.url.database
    step = -(-upto // jobs)
    bounds = [(a, min(a + step, upto)) for a in range(0, upto, step)]
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(len(bounds), mp_context=ctx) as pool:
        args = [(path, a, b, seqs) for a, b in bounds]
        return list(pool.map(_check_range, *zip(*args, strict=True)))


def _fast(
    session: Session,
    upto: int,
    due: list[Anchor],
    jobs: int,
    exact: Callable[[int, str, str], bool],
    progress: Callable[[int, int], None] | None,
) -> _Part | None:
    """Check 1..UPTO of a SQLite trail through _scan: in this process, or over JOBS processes
    (a SQLite file only). The parts joined when every part holds and they link up; None when
    anything does not, or on PostgreSQL (the exact walk then checks, and names what is wrong)."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return None
    seqs = tuple(a.seq for a in due)
    url = conn.engine.url
    if jobs > 1 and url.database and url.database != ":memory:" and upto >= jobs:
        parts = _scan_parts(session, upto, seqs, jobs)
        if progress:
            progress(upto, upto)
    else:
        dbapi = conn.connection.driver_connection
        parts = [_scan(dbapi, 0, upto, seqs, exact, progress)]
    whole = _Part(ok=True, first_prev=chain.GENESIS, last=chain.GENESIS)
    for i, p in enumerate(parts):
        if not p.ok or p.first_prev != whole.last or p.last is None:
            return None
        if i and p.first_at < whole.last_at:  # the first event of a part, against the last
            whole.time_warning(p.first_seq, p.first_at, whole.last_at, False)
        whole.times_total += p.times_total
        whole.times.extend(p.times[: max(0, MAX_WARNINGS - len(whole.times))])
        whole.last, whole.last_at = p.last, p.last_at
        whole.at_due.update(p.at_due)
    return whole


# ---------------------------------------------------------------- the exact walk


def _walk(
    session: Session,
    trail: _Trail,
    upto: int,
    due: set[int],
    progress: Callable[[int, int], None] | None,
) -> tuple[_Part, int, Problem | None]:
    """Every event 1..UPTO in seq order, each hashed from its stored text in Python: what
    holds (up to the break), the next seq, and the first break, named."""
    part = _Part(first_prev=chain.GENESIS)
    k, running, last_at = 1, chain.GENESIS, ""
    pending: Sequence[Any] | None = None  # a bad row waiting for the row after it
    broken: Problem | None = None
    sha256, body = hashlib.sha256, spelling.body
    for batch in spelling.raw_rows(session.connection(), 0, upto):
        for row in batch:
            if pending is not None:
                broken = _diagnose(trail, k, running, pending, row, upto)
                break
            # The hot loop: one format, one SHA-256 per row; the diagnosis only on a mismatch.
            try:
                ok = (
                    row[0] == k
                    and row[PREV] == running
                    and sha256((running + body(row)).encode()).hexdigest() == row[HASH]
                )
            except (TypeError, ValueError, UnicodeEncodeError):  # what append() never stores
                ok = False
            if not ok:
                pending = row
                continue
            at = row[AT]
            if row[LATE] is not None or at < last_at:
                part.time_warning(k, at, last_at, row[LATE])
            running, last_at = row[HASH], at
            if k in due:
                part.at_due[k] = running
            k += 1
        if progress:
            progress(k - 1, upto)
        if broken is not None:
            break
    if pending is not None and broken is None:
        broken = _diagnose(trail, k, running, pending, None, upto)
    part.last, part.last_at = running, last_at
    return part, k, broken


class _Trail:
    """Slow lookups used only once something is wrong."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def row(self, seq: int) -> Sequence[Any] | None:
        for batch in spelling.raw_rows(self.s.connection(), seq - 1, seq):
            return batch[0] if batch else None
        return None

    def verifies(self, row: Sequence[Any], as_seq: int) -> bool:
        """Does the stored ROW give its stored hash under AS_SEQ?"""
        return _digest(spelling.with_seq(row, as_seq)) == row[HASH]

    def verifies_as(self, seq: int, prev_hash: str, h: str) -> bool:
        """Does event SEQ's stored text, spelled in Python, give hash H after PREV_HASH?"""
        row = self.row(seq)
        return row is not None and row[PREV] == prev_hash and _digest(row) == h

    def seq_of_hash(self, h: str) -> int | None:
        return self.s.execute(
            select(TrailEvent.seq).where(TrailEvent.hash == h).order_by(TrailEvent.seq).limit(1)
        ).scalar_one_or_none()

    def moved_from(self, row: Sequence[Any], upto: int) -> int | None:
        """The seq under which ROW's content verifies, when it is not its own (nearest first)."""
        k = row[0]
        payload = spelling.hashed_bytes(spelling.with_seq(row, 0))
        if payload is None:
            return None
        # Only the seq changes between candidates: before + seq + after. The top-level "seq" is
        # the last one in the canonical JSON (only strings follow it).
        before, marker, after = payload.rpartition(b'"seq":0,')
        if not marker:
            return None
        start = hashlib.sha256(before + b'"seq":')
        tail = b"," + after
        for d in range(1, upto + 2):
            for cand in (k - d, k + d):
                if 1 <= cand <= upto + 1:
                    h = start.copy()
                    h.update(str(cand).encode() + tail)
                    if h.hexdigest() == row[HASH]:
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
    seq, prev_hash = row[0], row[PREV]
    if seq > k:
        last = seq - 1
        span = f"event {k}" if last == k else f"events {k}..{last}"
        return Problem(k, "missing", f"{span} absent: event {seq} follows event {k - 1}")
    if seq < k:
        return Problem(seq, "inserted", f"a second event carries seq {seq}")
    if prev_hash == running:
        return Problem(k, "modified", "its stored content is not what its hash covers")
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
    return _diagnose_moved(trail, k, running, row, following, upto, j)


def _diagnose_moved(
    trail: _Trail,
    k: int,
    running: str,
    row: Sequence[Any],
    following: Sequence[Any] | None,
    upto: int,
    j: int | None,
) -> Problem:
    """_diagnose for a row that does not verify where it stands."""
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
    if following is not None and following[PREV] == running:
        return Problem(k, "inserted", f"event {k + 1} links past it to event {k - 1}")
    return Problem(k, "modified", "its link and content no longer give its hash")


# ---------------------------------------------------------------- the head and the checkpoints


def _checkpoints(session: Session) -> list[Anchor]:
    rows = session.execute(
        select(
            Checkpoint.id,
            Checkpoint.seq,
            Checkpoint.hash,
            Checkpoint.at,
            Checkpoint.signature,
            Checkpoint.heads,
        ).order_by(Checkpoint.seq, Checkpoint.id)
    ).all()
    return [
        Anchor(
            seq=r.seq,
            hash=r.hash,
            at=r.at,
            signature=r.signature,
            id=r.id,
            heads=None
            if r.heads is None
            else tuple((int(p), int(q), str(h)) for p, q, h in r.heads),
        )
        for r in rows
    ]


def _signed(
    session: Session, secret: str, anchors: Iterable[Anchor], report: Report
) -> list[Anchor]:
    """The checkpoints and ANCHORS whose signature holds, by seq; the others are reported."""
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
    return signed


def _rebuilt(due: list[Anchor], at_due: dict[int, str]) -> Problem | None:
    """The first checkpoint reached whose signed hash is not the event's: every hash was
    recomputed after a change since the last checkpoint that still matches."""
    good_upto = 0
    for a in due:
        if a.seq not in at_due:
            continue
        if at_due[a.seq] == a.hash:
            good_upto = a.seq
            continue
        return Problem(
            good_upto + 1,
            "rebuilt",
            f"event {a.seq} no longer has the hash signed at checkpoint seq {a.seq} "
            f"({chain.format_at(a.at)}): the chain was recomputed after a change in "
            f"events {good_upto + 1}..{a.seq}",
        )
    return None


def _ends(
    session: Session,
    report: Report,
    signed: list[Anchor],
    head: tuple[int, str] | None,
    upto: int,
) -> None:
    """Where the verified chain ends, against the signed checkpoints, the head, and the rows."""
    last, running = report.last_seq, report.last_hash
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
    elif head is not None and head[0] > last:
        report.problems.append(
            Problem(last + 1, "truncated", f"the trail ends at {last} but its head says {head[0]}")
        )
    elif head is not None and head[0] == last and head[1] != running and last > 0:
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


def _changed_blocks(session: Session, jobs: int = 1) -> list[Problem]:
    """Every stored block digest its rows no longer give, named by its first seq (over JOBS
    processes on a SQLite file)."""
    return [
        Problem(
            b.first_seq,
            "block_changed",
            f"events {b.first_seq}..{b.last_seq} no longer give the digest stored for their "
            f"block ({b.digest[:12]}…, now {now[:12]}…): changed after the block was digested",
        )
        for b, now in blocks.changed(session, jobs=jobs)
    ]


def verify(
    session: Session,
    secret: str,
    *,
    anchors: Iterable[Anchor] = (),
    progress: Callable[[int, int], None] | None = None,
    jobs: int | None = 1,
    partition: int | None = None,
) -> Report:
    """Check the whole trail, its head and every checkpoint (and ANCHORS kept outside); on a
    trail of several partitions each partition's chain (PARTITION: that one only, against what
    the checkpoints signed of it) and that every case's events lie in the case's partition.

    JOBS > 1 checks parts of a SQLite trail in that many processes first; only when something
    is wrong does the sequential pass run, to name the first bad event exactly. JOBS None: one
    process per CPU (at most 8) for a trail of AUTO_PARALLEL events or more, else 1 (starting
    processes costs more than a small trail takes)."""
    heads = verify_parts.heads(session)
    if len(heads) > 1 or partition not in (None, chain.DEFAULT_PARTITION):
        return _verify_partitions(session, secret, heads, anchors, partition, progress)
    report = Report()
    head = session.execute(
        select(TrailHead.seq, TrailHead.hash).where(TrailHead.id == 1)
    ).one_or_none()
    if head is None:  # someone deleted it: check the trail by itself, and say so
        report.problems.append(Problem(0, "missing", "the trail's head row is gone"))
    signed = _signed(session, secret, anchors, report)
    due = [a for a in signed if a.seq > 0]
    upto = max([head[0] if head else 0, *(a.seq for a in signed)])
    if head is None:
        upto = max(upto, session.execute(select(func.max(TrailEvent.seq))).scalar() or 0)
    if jobs is None:
        jobs = min(os.cpu_count() or 1, 8) if upto >= AUTO_PARALLEL else 1
    trail = _Trail(session)
    part = _fast(session, upto, due, jobs, trail.verifies_as, progress) if upto > 0 else None
    broken: Problem | None = None
    if part is not None:
        k = upto + 1
    else:
        part, k, broken = _walk(session, trail, upto, {a.seq for a in due}, progress)
    report.events_checked = report.last_seq = k - 1
    report.last_hash = part.last or chain.GENESIS
    report.warnings, report.warnings_total = part.times, part.times_total
    rebuilt = _rebuilt(due, part.at_due)
    if rebuilt:
        report.problems.append(rebuilt)
    report.problems += _changed_blocks(session, jobs)
    if broken:
        report.problems.append(broken)
        return report
    _ends(session, report, signed, (head[0], head[1]) if head else None, upto)
    for where, seq, detail in verify_parts.misplaced_single(session):
        report.problems.append(Problem(seq, "misplaced", detail, partition=where))
    return report


def _verify_partitions(
    session: Session,
    secret: str,
    heads: dict[int, tuple[int, str]],
    anchors: Iterable[Anchor],
    partition: int | None,
    progress: Callable[[int, int], None] | None,
) -> Report:
    """verify() of a trail of several partitions: each partition's chain by itself
    (verify_parts), every problem named with its partition."""
    report = Report(partitions=[])
    signed = _signed(session, secret, anchors, report)
    parts = sorted(heads) if partition is None else [partition]
    total = session.execute(select(func.count()).select_from(TrailEvent)).scalar_one()
    done = 0
    for part in parts:
        if part not in heads:
            report.problems.append(
                Problem(0, "missing", f"the trail has no partition {part} (no head)", part)
            )
            continue
        times = _Part()

        def add(seq: int, kind: str, detail: str, part: int = part) -> None:
            report.problems.append(Problem(seq, kind, detail, part))

        def warn(seq: int, at: str, before: str, late: float | None, times: _Part = times) -> None:
            times.time_warning(seq, at, before, late)

        rep = verify_parts.verify_partition(session, part, heads[part], signed, add, warn)
        report.partitions.append(rep)  # type: ignore[union-attr]
        report.events_checked += rep.events_checked
        report.last_seq = max(report.last_seq, rep.last_seq)
        report.warnings_total += times.times_total
        report.warnings.extend(
            Problem(w.seq, w.kind, w.detail, part)
            for w in times.times[: max(0, MAX_WARNINGS - len(report.warnings))]
        )
        done += rep.events_checked
        if progress:
            progress(done, total)
    report.last_hash = heads[parts[0]][1] if parts[0] in heads else chain.GENESIS
    if partition is None:  # a block spans every partition: checked with the whole trail
        report.problems += _changed_blocks(session)
    for part, seq, detail in verify_parts.misplaced(session, None if partition is None else parts):
        report.problems.append(Problem(seq, "misplaced", detail, part))
    return report
