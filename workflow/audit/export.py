"""The trail as JSON Lines: one event a line, in seq order, as canonical JSON an auditor can re-hash."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.audit import chain
from workflow.store.models import TrailEvent

COLUMNS = (
    TrailEvent.seq,
    TrailEvent.at,
    TrailEvent.case_id,
    TrailEvent.actor,
    TrailEvent.unit,
    TrailEvent.action,
    TrailEvent.trigger,
    TrailEvent.from_state,
    TrailEvent.to_state,
    TrailEvent.from_holder,
    TrailEvent.to_holder,
    TrailEvent.reason,
    TrailEvent.data,
    TrailEvent.prev_hash,
    TrailEvent.hash,
)


def export_lines(
    session: Session, *, since: int = 0, batch: int = 5000, partition: int | None = None
) -> Iterator[bytes]:
    """Every event with seq > SINCE (of PARTITION only, if given) as one line of canonical JSON
    (keys sorted), newline-ended. On a trail of several partitions each line has its
    "partition" too (a partition's events chain by prev_hash among themselves)."""
    several = partition is not None or chain.partitions_count(session) > 1
    q = select(*COLUMNS, TrailEvent.partition).where(TrailEvent.seq > since)
    if partition is not None:
        q = q.where(TrailEvent.partition == partition)
    rows = session.execute(q.order_by(TrailEvent.seq).execution_options(yield_per=batch))
    for r in rows:
        event = {
            "seq": r.seq,
            "at": chain.format_at(r.at),
            "case": r.case_id,
            "actor": r.actor,
            "unit": r.unit,
            "action": r.action,
            "trigger": r.trigger,
            "from_state": r.from_state,
            "to_state": r.to_state,
            "from_holder": r.from_holder,
            "to_holder": r.to_holder,
            "reason": r.reason,
            "data": r.data or {},
            "prev_hash": r.prev_hash,
            "hash": r.hash,
        }
        if several:
            event["partition"] = r.partition
        yield chain.canonical_json(event) + b"\n"
