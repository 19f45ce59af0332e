"""Verifying a partitioned trail: each partition's chain by itself, then the partitions together.

A trail of more than one partition is one chain per partition (workflow.audit.chain): the seqs of
a partition increase but are not contiguous (the other partitions take the seqs between), so a
gap in seq says nothing by itself. Each partition's events are walked in seq order and every
link rechecked, as verify.py does for the single chain; at the first event where the partition's
chain stops holding (``running`` is the hash of its verified chain so far):

- modified:  the event links to ``running`` but its content no longer gives its hash; or the
             event verifies as it is but links to a hash no event has, and no seq between the
             two events is absent from the whole trail (the event before it in the partition
             was changed and its hash recomputed: that one is named).
- missing:   as the previous case, but a seq between the two is absent from the whole trail
             (events were deleted; on PostgreSQL a rolled-back transaction's seq is absent too,
             so a modification followed by such a gap is named missing there); or the first
             event of the partition does not link to GENESIS.
- inserted:  the event links to an earlier event of the partition (what lies between does not
             belong); or it links to ``running``, matches nothing, and the event after it links
             past it to ``running``; or an event lies beyond its partition's head, or in a
             partition that has no head.
- misplaced: the event links into another partition's chain (its partition was changed), or
             it is an event of a case that lies outside the case's partition.
- truncated: the partition's chain ends below its head's seq, or below the seq a signed
             checkpoint recorded for that partition.
- rebuilt:   the partition's chain verifies but its event at a checkpoint's seq for that
             partition has another hash than the one signed there (or is gone).
- forged_checkpoint: a checkpoint or anchor whose signature (or whose heads' Merkle root) does
             not verify with the instance secret.

Every problem names its partition."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.audit import chain, spelling
from workflow.audit.checkpoints import Anchor
from workflow.audit.spelling import AT, HASH, LATE, PREV
from workflow.store.models import Case, TrailEvent, TrailHead

# No seq is this high: "every event of the partition".
_ALL = 2**62


@dataclass
class PartitionReport:
    """What verify found of one partition."""

    partition: int
    events_checked: int = 0
    last_seq: int = 0
    last_hash: str = chain.GENESIS
    head_seq: int | None = None
    head_hash: str | None = None
    ok: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "partition": self.partition,
            "ok": self.ok,
            "events_checked": self.events_checked,
            "last_seq": self.last_seq,
            "head_seq": self.head_seq,
        }


def heads(session: Session) -> dict[int, tuple[int, str]]:
    """Every partition's head (seq, hash), by partition."""
    rows = session.execute(select(TrailHead.id, TrailHead.seq, TrailHead.hash)).all()
    return {r.id - 1: (r.seq, r.hash) for r in rows}


def _seq_of_hash(session: Session, h: str) -> tuple[int, int] | None:
    """(seq, partition) of the first event whose hash is H."""
    row = session.execute(
        select(TrailEvent.seq, TrailEvent.partition)
        .where(TrailEvent.hash == h)
        .order_by(TrailEvent.seq)
        .limit(1)
    ).one_or_none()
    return None if row is None else (row.seq, row.partition)


def _absent_between(session: Session, after: int, before: int) -> int | None:
    """The first seq after..before (exclusive) that no event of any partition has."""
    if before - after <= 1:
        return None
    present = session.execute(
        select(func.count()).where(TrailEvent.seq > after, TrailEvent.seq < before)
    ).scalar_one()
    if present == before - after - 1:
        return None
    seqs = set(
        session.execute(
            select(TrailEvent.seq).where(TrailEvent.seq > after, TrailEvent.seq < before)
        ).scalars()
    )
    return next(s for s in range(after + 1, before) if s not in seqs)


def _digest(row: Sequence[Any]) -> str | None:
    payload = spelling.hashed_bytes(row)
    return None if payload is None else hashlib.sha256(payload).hexdigest()


def verify_partition(
    session: Session,
    part: int,
    head: tuple[int, str] | None,
    signed: list[Anchor],
    add: Callable[[int, str, str], None],
    warn: Callable[[int, str, str, float | None], None],
) -> PartitionReport:
    """Walk partition PART's chain, against its HEAD and the SIGNED anchors' heads for it;
    ADD(seq, kind, detail) each problem found, WARN(seq, at, before, late) each event dated
    before the one before it or after the database wrote it."""
    rep = PartitionReport(part)
    if head is not None:
        rep.head_seq, rep.head_hash = head
    found: list[tuple[int, str, str]] = []

    def problem(seq: int, kind: str, detail: str) -> None:
        found.append((seq, kind, detail))

    # The seqs the signed anchors recorded for this partition: (seq, hash, anchor).
    due = sorted(
        (
            (a.partition_heads()[part][0], a.partition_heads()[part][1], a)
            for a in signed
            if part in a.partition_heads() and a.partition_heads()[part][0] > 0
        ),
        key=lambda d: d[0],
    )
    di = 0
    running, last_seq, last_at, count = chain.GENESIS, 0, "", 0
    good_upto = 0  # the last checkpointed seq that still matched
    pending: Sequence[Any] | None = None
    beyond: int | None = None
    sha256, body = hashlib.sha256, spelling.body
    conn = session.connection()

    def diagnose(row: Sequence[Any], following: Sequence[Any] | None) -> None:
        seq, prev = row[0], row[PREV]
        verifies = _digest(row) == row[HASH]
        if prev == running:
            if following is not None and following[PREV] == running:
                problem(seq, "inserted", f"event {following[0]} links past it to event {last_seq}")
            else:
                problem(seq, "modified", "its stored content is not what its hash covers")
            return
        linked = _seq_of_hash(session, prev)
        if linked is not None and linked[1] != part:
            problem(
                seq,
                "misplaced",
                f"it links to event {linked[0]} of partition {linked[1]}: "
                f"it belongs to that partition's chain",
            )
            return
        if linked is not None and linked[0] < last_seq:
            first = session.execute(
                select(func.min(TrailEvent.seq)).where(
                    TrailEvent.partition == part, TrailEvent.seq > linked[0]
                )
            ).scalar_one()
            problem(
                first,
                "inserted",
                f"event {seq} links to event {linked[0]}: the events after it up to event "
                f"{last_seq} do not belong in the partition's chain",
            )
            return
        if linked is None and verifies:
            absent = _absent_between(session, last_seq, seq)
            if last_seq == 0 and absent is None:
                problem(seq, "missing", "the partition's first event does not link to GENESIS")
            elif absent is not None:
                problem(
                    absent,
                    "missing",
                    f"events absent between event {last_seq} and event {seq}, "
                    f"which links to a hash no event has",
                )
            else:
                problem(
                    last_seq,
                    "modified",
                    f"it was changed and its hash recomputed: event {seq} links to a hash no "
                    f"event has",
                )
            return
        if following is not None and following[PREV] == running:
            problem(seq, "inserted", f"event {following[0]} links past it to event {last_seq}")
            return
        problem(seq, "modified", "its link and content no longer give its hash")

    head_seq = head[0] if head is not None else _ALL
    stopped = False
    for batch in spelling.raw_rows(conn, 0, _ALL, part):
        for row in batch:
            if pending is not None:
                diagnose(pending, row)
                stopped = True
                break
            if row[0] > head_seq:
                beyond = row[0]
                stopped = True
                break
            # A checkpointed seq passed without its event: the chain was rebuilt without it.
            while di < len(due) and due[di][0] < row[0]:
                problem(
                    good_upto + 1,
                    "rebuilt",
                    f"event {due[di][0]}, signed at a checkpoint "
                    f"({chain.format_at(due[di][2].at)}), is no longer in the partition's chain",
                )
                di = len(due)
            try:
                ok = (
                    row[PREV] == running
                    and sha256((running + body(row)).encode()).hexdigest() == row[HASH]
                )
            except (TypeError, ValueError, UnicodeEncodeError):
                ok = False
            if not ok:
                pending = row
                continue
            at = row[AT]
            if row[LATE] is not None or at < last_at:
                warn(row[0], at, last_at, row[LATE])
            running, last_seq, last_at = row[HASH], row[0], at
            count += 1
            while di < len(due) and due[di][0] == row[0]:
                if due[di][1] != running:
                    problem(
                        good_upto + 1,
                        "rebuilt",
                        f"event {row[0]} no longer has the hash signed at a checkpoint "
                        f"({chain.format_at(due[di][2].at)}): the partition's chain was "
                        f"recomputed after a change in events {good_upto + 1}..{row[0]}",
                    )
                    di = len(due)
                    break
                good_upto = row[0]
                di += 1
        if stopped:
            break
    if pending is not None and not stopped:
        diagnose(pending, None)
        stopped = True
    rep.events_checked, rep.last_seq, rep.last_hash = count, last_seq, running
    if (not found and not stopped) or beyond is not None:
        signed_beyond = [d for d in due if d[0] > last_seq]
        if signed_beyond:
            s = signed_beyond[-1]
            problem(
                last_seq + 1,
                "truncated",
                f"the partition's chain ends at {last_seq} but a checkpoint signed seq {s[0]} "
                f"({chain.format_at(s[2].at)})",
            )
        elif head is not None and head[0] > last_seq:
            problem(
                last_seq + 1,
                "truncated",
                f"the partition's chain ends at {last_seq} but its head says {head[0]}",
            )
        elif head is not None and head[0] == last_seq and head[1] != running and last_seq:
            problem(
                last_seq, "modified", "the head records another hash for it: changed and re-hashed"
            )
    if beyond is not None:
        # Read the head again: an append committed meanwhile is not one beyond it.
        now_head = session.execute(
            select(TrailHead.seq).where(TrailHead.id == part + 1)
        ).scalar_one_or_none()
        if now_head is not None and beyond > now_head:
            problem(
                beyond, "inserted", f"event {beyond} lies beyond the partition's head ({now_head})"
            )
    for seq, kind, detail in found:
        add(seq, kind, detail)
    rep.ok = not found
    return rep


def misplaced_single(session: Session) -> list[tuple[int, int, str]]:
    """misplaced() for a trail of one partition, without a join over the whole trail: the
    first event outside partition 0, and the first event of a case stored outside it."""
    out: list[tuple[int, int, str]] = []
    for outside in (TrailEvent.partition > 0, TrailEvent.partition < 0):
        row = session.execute(
            select(TrailEvent.partition, TrailEvent.seq)
            .where(outside)
            .order_by(TrailEvent.partition, TrailEvent.seq)
            .limit(1)
        ).one_or_none()
        if row is not None:
            out.append(
                (
                    row.partition,
                    row.seq,
                    f"partition {row.partition} has no head: no such partition",
                )
            )
    case = session.execute(
        select(Case.id, Case.partition).where(Case.partition != 0).limit(1)
    ).one_or_none()
    if case is not None:
        seq = session.execute(
            select(func.min(TrailEvent.seq)).where(
                TrailEvent.case_id == case.id, TrailEvent.partition != case.partition
            )
        ).scalar()
        if seq is not None:
            out.append(
                (0, seq, f"an event of case {case.id}, which lies in partition {case.partition}")
            )
    return sorted(out)


def misplaced(session: Session, partitions: list[int] | None) -> list[tuple[int, int, str]]:
    """(partition, seq, detail) of the first event, in each partition, of a case that lies
    outside the case's partition; and of events in partitions that have no head."""
    out: list[tuple[int, int, str]] = []
    q = (
        select(TrailEvent.partition, func.min(TrailEvent.seq))
        .join(Case, Case.id == TrailEvent.case_id)
        .where(TrailEvent.partition != Case.partition)
        .group_by(TrailEvent.partition)
    )
    if partitions is not None:
        q = q.where(TrailEvent.partition.in_(partitions))
    for part, seq in session.execute(q).all():
        case_part = session.execute(
            select(Case.id, Case.partition)
            .join(TrailEvent, TrailEvent.case_id == Case.id)
            .where(TrailEvent.seq == seq)
        ).one()
        out.append(
            (
                part,
                seq,
                f"an event of case {case_part.id}, which lies in partition {case_part.partition}",
            )
        )
    known = select(TrailHead.id - 1)
    q2 = (
        select(TrailEvent.partition, func.min(TrailEvent.seq))
        .where(~TrailEvent.partition.in_(known))
        .group_by(TrailEvent.partition)
    )
    if partitions is not None:
        q2 = q2.where(TrailEvent.partition.in_(partitions))
    for part, seq in session.execute(q2).all():
        out.append((part, seq, f"partition {part} has no head: no such partition"))
    return sorted(out)
