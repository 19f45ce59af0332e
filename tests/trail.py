"""The whole trail checked from the test's side: seq, links, hashes, head, and replay."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from workflow.audit import chain
from workflow.audit.replay import differences
from workflow.store.models import TrailEvent, TrailHead


def trail_problems(sessions: sessionmaker[Session]) -> list[str]:
    """What is wrong with the whole trail: a gap or a fork in seq, a broken link or hash, a head
    that is not the last event, a case row that its trail does not replay to. [] when sound."""
    problems: list[str] = []
    with sessions() as s:
        events = s.execute(select(TrailEvent).order_by(TrailEvent.seq)).scalars().all()
        prev = chain.GENESIS
        for n, ev in enumerate(events, start=1):
            if ev.seq != n:
                problems.append(f"event {ev.seq}: expected seq {n}")
            if ev.prev_hash != prev:
                problems.append(f"event {ev.seq}: prev_hash does not link to the event before")
            if ev.hash != chain.chain_hash(ev.prev_hash, chain.event_body(ev)):
                problems.append(f"event {ev.seq}: hash does not match its content")
            prev = ev.hash
        head = s.execute(select(TrailHead)).scalar_one()
        if (head.seq, head.hash) != (len(events), prev):
            problems.append(f"head is ({head.seq}, {head.hash[:8]}), last event is {len(events)}")
        problems += [str(d) for d in differences(s)]
    return problems
