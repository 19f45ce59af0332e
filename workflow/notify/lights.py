"""A stage's light turning yellow or red, told to the unit that holds it (issue 21).

A light change made by the sweep is not a trail event (a city keeps hundreds of thousands of
late stages; one event per light would double the trail), so the sweep writes the unit's
notification, and the deliveries to its duty phone or address, itself, in the transaction
that sets the light: a rolled-back batch tells nothing, a committed one tells once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from workflow import config
from workflow.store import direct
from workflow.store.models import Delivery, Notification

LIGHTS = ("yellow", "red")


def _insert(table: Any, keys: tuple[str, ...]) -> direct.Statement:
    return direct.Statement(insert(cast(Table, table)).values({k: bindparam(k) for k in keys}))


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
_TOLD = select(Notification.case_id, Notification.seq, Notification.kind).where(
    Notification.kind.in_(LIGHTS), Notification.case_id.in_(bindparam("ids", expanding=True))
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


def tell(session: Session, turned: list[Turned], *, now: dt.datetime) -> int:
    """One notification per stage and light (never a second one, whatever runs twice), with
    the duty SMS or e-mail of the units that have one; the number written."""
    turned = [t for t in turned if t.light in LIGHTS and t.holder]
    if not turned:
        return 0
    session.flush()  # as session.execute() would
    told = {
        (r.case_id, r.seq, r.kind)
        for r in session.connection().execute(_TOLD, {"ids": list({t.case_id for t in turned})})
    }
    from workflow.audit.chain import format_at
    from workflow.notify import templates

    duty = (templates.read(config.of(session).definitions)[0] or templates.NONE).duty
    n = 0
    notes: list[dict[str, Any]] = []
    sends: list[dict[str, Any]] = []
    for t in turned:
        key = (t.case_id, t.stage_seq, t.light)
        if key in told:
            continue
        told.add(key)
        event = f"{'task' if t.task_id else 'stage'}.{t.light}"
        data: dict[str, Any] = {
            "event": event,
            "item": t.item,
            "due_at": format_at(t.due_at) if t.due_at else None,
        }
        if t.task_id is not None:
            data["task"] = t.task_id
        notes.append(
            {
                "unit": t.holder,
                "kind": t.light,
                "seq": t.stage_seq,
                "case_id": t.case_id,
                "data": data,
                "created_at": now,
            }
        )
        n += 1
        contact = duty.get(t.holder)
        if contact is None:
            continue
        payload = {"staff": t.light, "unit": t.holder, "due_at": data["due_at"]}
        for channel, address in (("sms", contact.phone), ("email", contact.email)):
            if not address:
                continue
            of = f"task{t.task_id}" if t.task_id else "stage"
            sends.append(
                {
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
            )
    # In bulk (one executemany each): a sweep's batch tells hundreds of units at once.
    if notes or sends:
        session.flush()
        conn = session.connection()
        _INSERT_NOTIFICATION.run_many(conn, notes)
        _INSERT_DELIVERY.run_many(conn, sends)
    return n
