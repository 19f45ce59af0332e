"""Recompute each case's state, holder and version from its trail alone, and compare with its row."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.audit.replay_tasks import TaskDifference, task_differences
from workflow.store.models import Case, TrailEvent

CASE_ACTIONS = ("case.opened", "case.transition", "case.migrated")


@dataclass(frozen=True)
class Replayed:
    case_id: int
    state: str | None
    holder: str | None
    version: int


def replay_events(events: Iterable[TrailEvent]) -> dict[int, Replayed]:
    """Fold case events (oldest first) into each case's state, holder and version."""
    out: dict[int, Replayed] = {}
    for ev in events:
        if ev.case_id is None or ev.action not in CASE_ACTIONS:
            continue
        if ev.action == "case.opened":
            out[ev.case_id] = Replayed(ev.case_id, ev.to_state, ev.to_holder, 1)
            continue
        before = out.get(ev.case_id)
        version = (before.version if before else 0) + 1
        out[ev.case_id] = Replayed(ev.case_id, ev.to_state, ev.to_holder, version)
    return out


@dataclass(frozen=True)
class Difference:
    case_id: int
    row: tuple[str | None, str | None, int] | None
    trail: tuple[str | None, str | None, int] | None

    def __str__(self) -> str:
        return f"case {self.case_id}: row {self.row} but trail says {self.trail}"


def differences(session: Session, *, batch: int = 5000) -> Iterator[Difference | TaskDifference]:
    """Every case whose row differs from what its trail says (or that has only one of the two)."""
    events = session.execute(
        select(TrailEvent)
        .where(TrailEvent.case_id.is_not(None), TrailEvent.action.in_(CASE_ACTIONS))
        .order_by(TrailEvent.seq)
        .execution_options(yield_per=batch)
    ).scalars()
    replayed = replay_events(events)
    rows = session.execute(
        select(Case.id, Case.state, Case.holder, Case.version).order_by(Case.id)
    ).all()
    seen: set[int] = set()
    for cid, state, holder, version in rows:
        seen.add(cid)
        r = replayed.get(cid)
        row = (state, holder, version)
        trail = (r.state, r.holder, r.version) if r else None
        if row != trail:
            yield Difference(cid, row, trail)
    for cid in sorted(set(replayed) - seen):
        r = replayed[cid]
        yield Difference(cid, None, (r.state, r.holder, r.version))
    # Tasks too: their rows against their steps on the trail.
    yield from task_differences(session)
