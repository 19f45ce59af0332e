"""A small real trail, and an intruder who writes to the database behind the engine's back."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0, open_case_as, walk
from workflow.actors import Actor
from workflow.audit import chain
from workflow.store.models import TrailEvent

CLERK = Actor("clerk", "W-ZHL-01", "clerk")


def make_cases(sessions: sessionmaker[Session], n: int = 4) -> list[int]:
    """N cases, each opened, accepted and forwarded by the engine: 3 events each."""
    ids = []
    for i in range(n):
        now = T0 + dt.timedelta(minutes=i)
        with sessions.begin() as s:
            case = open_case_as(
                s,
                "UD-01",
                actor=CLERK,
                at=now,
                applicant_name="李娜",
                applicant_phone="13912345678",
                description="楼下有违建",
            )
            # A reason with a quote and a line break: the trail keeps it exactly.
            walk(s, case.id, ("accept", CLERK), ("forward", CLERK, '需街道处理 "急"\n'), at=now)
            ids.append(case.id)
    return ids


def head(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return int(s.execute(text("SELECT seq FROM trail_head WHERE id = 1")).scalar_one())


def drop_triggers(conn: Any) -> None:
    """What an intruder with write access does first."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("DROP TRIGGER IF EXISTS trail_events_no_update"))
        conn.execute(text("DROP TRIGGER IF EXISTS trail_events_no_delete"))
        conn.execute(text("DROP TRIGGER IF EXISTS checkpoints_no_update"))
        conn.execute(text("DROP TRIGGER IF EXISTS checkpoints_no_delete"))
        conn.execute(text("DROP TRIGGER IF EXISTS trail_blocks_no_update"))
        conn.execute(text("DROP TRIGGER IF EXISTS trail_blocks_no_delete"))
    else:
        conn.execute(text("ALTER TABLE trail_events DISABLE TRIGGER USER"))
        conn.execute(text("ALTER TABLE checkpoints DISABLE TRIGGER USER"))
        conn.execute(text("ALTER TABLE trail_blocks DISABLE TRIGGER USER"))


def intrude(engine: Engine, *statements: str | tuple[str, dict[str, Any]]) -> None:
    """Plain SQL behind the engine's back, triggers dropped first."""
    with engine.begin() as conn:
        drop_triggers(conn)
        for st in statements:
            sql, params = (st, {}) if isinstance(st, str) else st
            conn.execute(text(sql), params)


def body_of(engine: Engine, seq: int) -> dict[str, Any]:
    with Session(engine) as s:
        ev = s.get(TrailEvent, seq)
        assert ev is not None
        return chain.event_body(ev)


def rehash_from(engine: Engine, start: int, *, move_head: bool = True) -> None:
    """Recompute prev_hash and hash of every event from START on, as a careful intruder would."""
    with Session(engine) as s:
        events = s.execute(select(TrailEvent).order_by(TrailEvent.seq)).scalars().all()
        bodies = [(ev.seq, chain.event_body(ev), ev.hash) for ev in events]
    prev = chain.GENESIS
    updates = []
    for seq, body, h in bodies:
        if seq >= start:
            h = chain.chain_hash(prev, body)
            updates.append(
                (
                    "UPDATE trail_events SET prev_hash = :p, hash = :h WHERE seq = :s",
                    {"p": prev, "h": h, "s": seq},
                )
            )
        prev = h
    if move_head:
        updates.append(
            (
                "UPDATE trail_head SET seq = :s, hash = :h WHERE id = 1",
                {"s": bodies[-1][0], "h": prev},
            )
        )
    intrude(engine, *updates)


def row_of(engine: Engine, seq: int) -> dict[str, Any]:
    """The stored row of event SEQ, its data as canonical JSON text."""
    with Session(engine) as s:
        row = dict(
            s.execute(select(TrailEvent.__table__).where(TrailEvent.seq == seq)).mappings().one()
        )
        if engine.dialect.name == "sqlite":  # `at` as stored, not as the driver would spell it
            row["at"] = s.execute(
                text("SELECT at FROM trail_events WHERE seq = :s"), {"s": seq}
            ).scalar_one()
    row["data"] = chain.canonical_json(row["data"]).decode()
    row.pop("written_at", None)  # the database sets it
    return row


def insert_sql(engine: Engine, row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    cols = ", ".join(f'"{c}"' for c in row)
    cast = "CAST(:data AS json)" if engine.dialect.name == "postgresql" else ":data"
    values = ", ".join(cast if c == "data" else f":{c}" for c in row)
    return f"INSERT INTO trail_events ({cols}) VALUES ({values})", row
