"""The outbox: an event queued with its change, then fanned out into what must be told."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, select
from sqlalchemy.orm import Session

from workflow.store import direct
from workflow.store.models import (
    Case,
    Delivery,
    Notification,
    OutboxEvent,
    TrailEvent,
    Webhook,
)

_outbox = cast(Table, OutboxEvent.__table__)
_QUEUE = direct.Insert(_outbox, ("seq",))

# Trail actions nobody outside is told about (they concern staff reading, not the case).
SILENT = frozenset({"case.personal_data_read"})


def queue(conn: Connection, seq: int) -> None:
    """Queue the trail event SEQ in the caller's transaction (chain.append's hot path: one
    INSERT, nothing read)."""
    _QUEUE.run(conn, {"seq": seq})


def queue_many(conn: Connection, seqs: list[dict[str, int]]) -> None:
    """queue() for several events ({"seq": n} each), one executemany."""
    _QUEUE.run_many(conn, seqs)


# ---------------------------------------------------------------- what an event tells


def event_name(ev: TrailEvent) -> str:
    """The event as webhooks name it: the trail's action, a case's last transition
    `case.closed`."""
    if ev.action == "case.transition" and ev.to_holder is None and ev.from_holder is not None:
        return "case.closed"
    return ev.action


# The staff notifications: (kind, the unit told) for an event, from the event alone.
def staff_told(ev: TrailEvent) -> list[tuple[str, str]]:
    data = ev.data or {}
    out: list[tuple[str, str | None]] = []
    if ev.action == "case.transition" and ev.trigger in ("whistle", "dispatch"):
        out.append(("whistle", ev.to_holder))
    elif ev.action == "task.opened":
        out.append(("task", ev.to_holder))
    elif ev.action in ("supervision.raised", "supervision.reminded", "supervision.listed"):
        out.append(("supervision", data.get("holder") or ev.to_holder))
    elif ev.action == "return.requested":
        out.append(("return_review", data.get("reviewer")))
    elif ev.action == "feedback.rectification_opened":
        out.append(("rectify", data.get("unit") or ev.unit))
    return [(kind, unit) for kind, unit in out if unit]


def resident_told(ev: TrailEvent) -> str | None:
    """The resident's SMS template for an event (None: no SMS)."""
    if ev.action == "case.opened":
        # A call at the dispatch centre has no item nor limit yet: its receipt waits for the
        # dispatch (or the answer on the spot, or the merge, tells the resident instead).
        return None if (ev.data or {}).get("dispatch_centre") else "receipt"
    if ev.action == "case.dispatched":
        return "receipt"
    if ev.action == "case.answered":
        return "result"
    if ev.action == "case.merged":
        return "merged"
    if ev.action == "case.transition":
        if ev.trigger == "request_materials":
            return "materials"
        if ev.to_holder is None and ev.from_holder is not None:
            return "result"
    if ev.action == "extension.approved" and "task" not in (ev.data or {}):
        return "extension"
    return None


def matches(patterns: Any, name: str) -> bool:
    """A webhook's events: exact names, 'prefix.*', or '*'."""
    for p in patterns or ():
        if p == "*" or p == name or (p.endswith(".*") and name.startswith(p[:-1])):
            return True
    return False


def webhook_body(ev: TrailEvent, name: str, delivery_id: str) -> dict[str, Any]:
    """What a webhook receives: the trail event (which holds no personal data) and its ids."""
    from workflow.audit.chain import format_at  # chain imports this module

    return {
        "delivery": delivery_id,
        "event": name,
        "seq": ev.seq,
        "at": format_at(ev.at),
        "case": ev.case_id,
        "actor": ev.actor,
        "unit": ev.unit,
        "trigger": ev.trigger,
        "from_state": ev.from_state,
        "to_state": ev.to_state,
        "from_holder": ev.from_holder,
        "to_holder": ev.to_holder,
        "reason": ev.reason,
        "data": ev.data or {},
    }


def fan_out(session: Session, *, now: dt.datetime, batch: int = 200) -> int:
    """Turn up to BATCH queued events into deliveries and staff notifications, in the caller's
    transaction; the events leave the queue in the same transaction. Several workers may run:
    on PostgreSQL each takes other rows (SKIP LOCKED); SQLite's write lock serialises them."""
    q = select(OutboxEvent.id, OutboxEvent.seq).order_by(OutboxEvent.id).limit(batch)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    else:
        # Take SQLite's write lock first, so two workers never fan out the same event.
        session.execute(delete(OutboxEvent).where(OutboxEvent.id == -1))
    rows = session.execute(q).all()
    if not rows:
        return 0
    seqs = [r.seq for r in rows]
    events = session.execute(select(TrailEvent).where(TrailEvent.seq.in_(seqs))).scalars().all()
    hooks = session.execute(select(Webhook).where(Webhook.active.is_(True))).scalars().all()
    from workflow import config
    from workflow.notify import templates

    duty = (templates.read(config.of(session).definitions)[0] or templates.NONE).duty
    cases: dict[int, Case] = {}
    for ev in sorted(events, key=lambda e: e.seq):
        if ev.action in SILENT or ev.case_id is None:
            continue
        case = cases.get(ev.case_id) or session.get(Case, ev.case_id)
        if case is None:
            continue
        cases[ev.case_id] = case
        name = event_name(ev)
        for kind, unit in staff_told(ev):
            session.add(
                Notification(
                    unit=unit,
                    kind=kind,
                    seq=ev.seq,
                    case_id=ev.case_id,
                    data={"event": name, "item": case.item, "reason": ev.reason, **_brief(ev)},
                    created_at=ev.at,
                )
            )
            contact = duty.get(unit)
            staff = {"staff": kind, "unit": unit}
            if contact is not None and contact.phone:
                _deliver(session, f"{ev.seq}-sms-{unit}", "sms", ev, name, now, staff)
            if contact is not None and contact.email:
                _deliver(session, f"{ev.seq}-email-{unit}", "email", ev, name, now, staff)
        template = resident_told(ev)
        if template and case.applicant_phone:
            _deliver(session, f"{ev.seq}-sms", "sms", ev, name, now, {"template": template})
        if template == "result":
            # 合并: the residents of the cases merged into this one rate its outcome too.
            for merged in _merged_into(session, ev.case_id):
                if merged.applicant_phone:
                    _deliver(
                        session,
                        f"{ev.seq}-sms-{merged.id}",
                        "sms",
                        ev,
                        name,
                        now,
                        {"template": "result"},
                        case_id=merged.id,
                    )
        for hook in hooks:
            if hook.created_at > ev.at or not matches(hook.events, name):
                continue
            if hook.channel and hook.channel != case.channel:
                continue
            did = f"{ev.seq}-webhook-{hook.id}"
            _deliver(session, did, "webhook", ev, name, now, webhook_body(ev, name, did), hook.id)
    session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_([r.id for r in rows])))
    return len(rows)


def _merged_into(session: Session, master_id: int) -> list[Case]:
    return list(
        session.execute(
            select(Case).where(Case.merged_into == master_id).order_by(Case.id)
        ).scalars()
    )


def _brief(ev: TrailEvent) -> dict[str, Any]:
    data = ev.data or {}
    keep = ("task", "supervision", "return", "rectification", "due_at", "review_due_at")
    return {k: data[k] for k in keep if k in data}


def _deliver(
    session: Session,
    delivery_id: str,
    channel: str,
    ev: TrailEvent,
    name: str,
    now: dt.datetime,
    payload: dict[str, Any],
    webhook_id: int | None = None,
    *,
    case_id: int | None = None,
) -> None:
    session.add(
        Delivery(
            delivery_id=delivery_id,
            channel=channel,
            webhook_id=webhook_id,
            case_id=case_id or ev.case_id,
            seq=ev.seq,
            event=name,
            payload=payload,
            status="pending",
            attempts=0,
            next_at=now,
            created_at=now,
        )
    )
