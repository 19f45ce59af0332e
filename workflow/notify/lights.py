"""A stage's light turning yellow or red, told to the unit that holds it (issue 21).

A light change made by the sweep is not a trail event (a city keeps hundreds of thousands of
late stages; one event per light would double the trail), so the sweep writes the unit's
notification, and the deliveries to its duty phone or address, itself, in the transaction
that sets the light: a rolled-back batch tells nothing, a committed one tells once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from workflow import config
from workflow.store import direct
from workflow.store.models import Delivery, Notification

LIGHTS = ("yellow", "red")


def _insert(table: Any, keys: tuple[str, ...]) -> direct.Insert:
    return direct.Insert(cast(Table, table), keys)


_INSERT_NOTIFICATION = _insert(
    Notification.__table__, ("unit", "kind", "seq", "case_id", "data", "created_at")
)
_INSERT_DELIVERY = _insert(
    Delivery.__table__,
    (
        "delivery_id",
        "channel",
        "case_id",
        "seq",
        "event",
        "payload",
        "status",
        "attempts",
        "next_at",
        "created_at",
    ),
)


# Which of a sweep chunk's stages were told already (built once: a sweep asks it per chunk).
_TOLD = direct.Expanding(
    lambda member: select(Notification.case_id, Notification.seq, Notification.kind).where(
        # (each light its own parameter: a literal list would be an expanding one)
        Notification.kind.in_([bindparam(f"light_{x}", x) for x in LIGHTS]),
        member(Notification.case_id),
    )
)


@dataclass(frozen=True)
class Turned:
    """A stage (a case's, or a task's step) whose light the sweep has just changed."""

    case_id: int
    stage_seq: int  # the trail event that began the stage: the notification's seq
    holder: str
    light: str
    due_at: dt.datetime | None
    item: str | None
    task_id: int | None = None


@dataclass(frozen=True)
class Telling:
    """A turned light's notification and deliveries, spelled ahead (prepare()) as the driver
    takes them: written by write() unless that stage and light was told already."""

    key: tuple[int, int, str]
    note: Any
    sends: list[Any]


def tell(session: Session, turned: list[Turned], *, now: dt.datetime) -> int:
    """One notification per stage and light (never a second one, whatever runs twice), with
    the duty SMS or e-mail of the units that have one; the number written."""
    return write(session, prepare(session, turned, now=now))


def prepare(session: Session, turned: list[Turned], *, now: dt.datetime) -> list[Telling]:
    """What tell() writes for TURNED, spelled without writing (nor the write lock): the sweep
    prepares its chunks before it takes the lock."""
    turned = [t for t in turned if t.light in LIGHTS and t.holder]
    if not turned:
        return []
    from workflow.audit.chain import format_at
    from workflow.notify import templates

    duty = (templates.read(config.of(session).definitions)[0] or templates.NONE).duty
    dialect = session.get_bind().dialect
    out: list[Telling] = []
    for t in turned:
        event = f"{'task' if t.task_id else 'stage'}.{t.light}"
        data: dict[str, Any] = {
            "event": event,
            "item": t.item,
            "due_at": format_at(t.due_at) if t.due_at else None,
        }
        if t.task_id is not None:
            data["task"] = t.task_id
        note = {
            "unit": t.holder,
            "kind": t.light,
            "seq": t.stage_seq,
            "case_id": t.case_id,
            "data": data,
            "created_at": now,
        }
        sends: list[Any] = []
        contact = duty.get(t.holder)
        if contact is not None:
            payload = {"staff": t.light, "unit": t.holder, "due_at": data["due_at"]}
            for channel, address in (("sms", contact.phone), ("email", contact.email)):
                if not address:
                    continue
                of = f"task{t.task_id}" if t.task_id else "stage"
                send = {
                    "delivery_id": f"{t.stage_seq}-{of}-{t.light}-{channel}-{t.holder}",
                    "channel": channel,
                    "case_id": t.case_id,
                    "seq": t.stage_seq,
                    "event": event,
                    "payload": payload,
                    "status": "pending",
                    "attempts": 0,
                    "next_at": now,
                    "created_at": now,
                }
                sends.append(_INSERT_DELIVERY.encode(dialect, send))
        out.append(
            Telling(
                (t.case_id, t.stage_seq, t.light),
                _INSERT_NOTIFICATION.encode(dialect, note),
                sends,
            )
        )
    return out


def write(session: Session, prepared: list[Telling]) -> int:
    """Write PREPARED's notifications and deliveries (prepare()), in the caller's transaction,
    but not a second one for a stage and light: the number written."""
    if not prepared:
        return 0
    session.flush()  # as session.execute() would
    conn = session.connection()
    told = set(_TOLD.run(conn, list({p.key[0] for p in prepared})).tuples())
    notes: list[Any] = []
    sends: list[Any] = []
    for p in prepared:
        if p.key in told:
            continue
        told.add(p.key)
        notes.append(p.note)
        sends += p.sends
    # In bulk (one executemany each): a sweep's batch tells hundreds of units at once.
    _INSERT_NOTIFICATION.run_encoded(conn, notes)
    _INSERT_DELIVERY.run_encoded(conn, sends)
    return len(notes)
