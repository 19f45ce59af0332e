"""The delivery worker: fan the queued events out, claim due deliveries, send, record.

At least once: a delivery is claimed under a lease (its status `sending`, a claim token); a
worker that dies mid-batch leaves its rows to be claimed again once the lease ends, under the
same delivery id. Failures are retried with exponential backoff and jitter, then `dead`."""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from workflow import config
from workflow.catalog import registry
from workflow.config import Settings
from workflow.instants import utcnow
from workflow.notify import outbox, send, templates
from workflow.store.models import (
    Case,
    Delivery,
    DeliveryAttempt,
    Extension,
    Feedback,
    Webhook,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_S = 30.0  # the first retry's wait; doubled each time, with jitter
BACKOFF_CAP_S = 6 * 3600.0
LEASE_S = 120.0

_deliveries = cast(Table, Delivery.__table__)


@dataclass
class Policy:
    """How the worker retries: tests and benchmarks shorten it."""

    max_attempts: int = MAX_ATTEMPTS
    backoff_s: float = BACKOFF_S
    lease_s: float = LEASE_S
    batch: int = 50


@dataclass
class Round:
    fanned_out: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    ids: list[str] = field(default_factory=list)

    @property
    def work(self) -> int:
        return self.fanned_out + self.delivered + self.failed + self.dead


def backoff(attempts: int, base: float) -> float:
    """Exponential with full jitter: uniform in [base*2^(n-1)/2, base*2^(n-1)], capped."""
    wait = min(BACKOFF_CAP_S, base * (2 ** max(0, attempts - 1)))
    return wait / 2 + random.random() * wait / 2


def claim(session: Session, *, now: dt.datetime, policy: Policy) -> tuple[str, list[int]]:
    """Take up to a batch of due deliveries (pending and due, or sending with a lapsed lease)
    for this worker, in the caller's transaction: FOR UPDATE SKIP LOCKED on PostgreSQL, one
    UPDATE under SQLite's write lock."""
    token = uuid.uuid4().hex
    due = or_(
        and_(Delivery.status == "pending", Delivery.next_at <= now),
        and_(Delivery.status == "sending", Delivery.lease_until <= now),
    )
    pick = select(Delivery.id).where(due).order_by(Delivery.id).limit(policy.batch)
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = list(
        session.execute(
            update(_deliveries)
            .where(_deliveries.c.id.in_(pick.scalar_subquery()))
            .values(
                status="sending",
                claim=token,
                lease_until=now + dt.timedelta(seconds=policy.lease_s),
                attempts=_deliveries.c.attempts + 1,
            )
            .returning(_deliveries.c.id)
        ).scalars()
    )
    return token, sorted(ids)


def _values(session: Session, d: Delivery, case: Case) -> dict[str, Any]:
    """The placeholders of a resident's SMS, read when it is sent."""
    from workflow.store.models import TrailEvent

    s = config.of(session)
    ev = session.execute(select(TrailEvent).where(TrailEvent.seq == d.seq)).scalar_one()
    item_name = _item_name(session, case)
    data = ev.data or {}
    reason = ev.reason or ""
    if d.payload.get("template") == "extension" and "extension" in data:
        # The reason the holder gave when asking, not the approver's note.
        ext = session.get(Extension, data["extension"])
        reason = ext.reason if ext is not None else reason
    values: dict[str, Any] = {
        "case": case.id,
        "item": item_name,
        "due": _local_date(case.due_at, s.timezone),
        "reason": reason,
        "days": data.get("days", ""),
        "into": data.get("into", ""),
    }
    if d.payload.get("template") == "result":
        code = session.execute(
            # The link asked with this ending (the resident may have answered by now).
            select(Feedback.code)
            .where(Feedback.case_id == case.id, Feedback.created_at <= ev.at)
            .order_by(Feedback.id.desc())
            .limit(1)
        ).scalar()
        values["link"] = f"{s.public_url}/f/{code}" if code else s.public_url
    return values


def _item_name(session: Session, case: Case) -> str:
    """The item's Chinese name; a call not yet classified (the dispatch centre's) has none."""
    from workflow.errors import NotFound

    try:
        return registry.item(session, case.item, case.list_version)[0].name_zh
    except NotFound:
        return "您反映的问题"


def _local_time(at: str, tz: str) -> str:
    from zoneinfo import ZoneInfo

    when = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    return when.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _local_date(at: dt.datetime | None, tz: str) -> str:
    if at is None:
        return "—"
    from zoneinfo import ZoneInfo

    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d")


def deliver_one(
    sessions: sessionmaker[Session], did: int, token: str, settings: Settings, policy: Policy
) -> str:
    """Send the claimed delivery DID and record the answer; its new status."""
    with sessions() as s:
        d = s.get(Delivery, did)
        if d is None or d.claim != token:
            return "lost"
        if d.channel == "webhook":
            hook = s.get(Webhook, d.webhook_id)
            if hook is None or not hook.active:
                answer = send.Answer(False, None, "the webhook was removed")
                final = True
            else:
                body = json.dumps(d.payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
                url, secret, event = hook.url, hook.secret, d.event
                s.rollback()  # no transaction held while the receiver answers
                answer = send.webhook(url, secret, body, d.delivery_id, event)
                final = False
        elif "staff" in d.payload:
            answer, final = _to_duty(s, d, settings)
        else:
            case = s.get(Case, d.case_id)
            texts, problems = templates.read(settings.definitions)
            if case is None or not case.applicant_phone:
                answer, final = send.Answer(True, None, "no phone: nothing sent"), True
            elif texts is None:
                why = "; ".join(str(p) for p in problems) or "no notifications.yaml"
                answer, final = send.Answer(False, None, f"no SMS texts: {why}"), False
            else:
                text = texts.render(d.payload["template"], _values(s, d, case))
                phone, delivery_id = case.applicant_phone, d.delivery_id
                s.rollback()
                answer = send.gateway(settings).send(phone, text, delivery_id)
                final = False
    return record(sessions, did, token, answer, policy, final=final)


def _to_duty(s: Session, d: Delivery, settings: Settings) -> tuple[send.Answer, bool]:
    """A staff notification to the unit's duty phone (SMS) or address (e-mail)."""
    texts, problems = templates.read(settings.definitions)
    unit, kind = d.payload["unit"], d.payload["staff"]
    contact = texts.duty.get(unit) if texts is not None else None
    if texts is None or kind not in texts.staff:
        why = "; ".join(str(p) for p in problems) or f"no staff text {kind!r}"
        return send.Answer(False, None, f"no texts: {why}"), False
    if contact is None:
        return send.Answer(True, None, f"{unit} has no duty contact any more"), True
    case = s.get(Case, d.case_id)
    from workflow.store.models import TrailEvent

    ev = s.execute(select(TrailEvent).where(TrailEvent.seq == d.seq)).scalar_one()
    item = _item_name(s, case) if case else ""
    values = {"case": d.case_id, "item": item, "reason": ev.reason or "", "unit": unit}
    if d.payload.get("due_at"):
        # A light's notification: its seq is the stage's first event, the news is the limit.
        values["reason"] = ""
        values["due"] = _local_time(d.payload["due_at"], settings.timezone)
    text = texts.render_staff(kind, values)
    delivery_id = d.delivery_id
    s.rollback()
    if d.channel == "email" and contact.email:
        subject = text.split("：", 1)[0] + f" · {d.event} · #{d.case_id}"
        return send.email(settings, contact.email, subject, text, delivery_id), False
    if contact.phone:
        return send.gateway(settings).send(contact.phone, text, delivery_id), False
    return send.Answer(True, None, "no duty phone or address any more"), True


def record(
    sessions: sessionmaker[Session],
    did: int,
    token: str,
    answer: send.Answer,
    policy: Policy,
    *,
    final: bool = False,
) -> str:
    """Write the answer: delivered, pending again after a backoff, or dead after the last try.
    Only while this worker's claim holds (a lapsed lease may have passed it on)."""
    now = utcnow()
    with sessions.begin() as s:
        d = s.get(Delivery, did, with_for_update=True)
        if d is None:
            return "lost"
        s.add(
            DeliveryAttempt(
                delivery_id=did, at=now, ok=answer.ok, status_code=answer.status, answer=answer.text
            )
        )
        if d.claim != token:
            return "lost"
        d.claim = None
        d.lease_until = None
        if answer.ok:
            d.status, d.delivered_at, d.last_error = "delivered", now, None
        elif final or d.attempts >= policy.max_attempts:
            d.status, d.last_error = "dead", _error(answer)
            log.warning(
                "delivery %s is dead after %s tries: %s", d.delivery_id, d.attempts, d.last_error
            )
        else:
            d.status, d.last_error = "pending", _error(answer)
            d.next_at = now + dt.timedelta(seconds=backoff(d.attempts, policy.backoff_s))
        return d.status


def _error(answer: send.Answer) -> str:
    return f"HTTP {answer.status}: {answer.text}" if answer.status else answer.text


def run_once(
    sessions: sessionmaker[Session],
    settings: Settings | None = None,
    policy: Policy | None = None,
    now: dt.datetime | None = None,
) -> Round:
    """One round: fan out the queued events, then deliver what is due now."""
    policy = policy or Policy()
    settings = settings or config.DEFAULTS
    out = Round()
    with sessions.begin() as s:
        out.fanned_out = outbox.fan_out(s, now=now or utcnow(), batch=policy.batch * 4)
    with sessions.begin() as s:
        token, ids = claim(s, now=now or utcnow(), policy=policy)
    for did in ids:
        try:
            status = deliver_one(sessions, did, token, settings, policy)
        except Exception as exc:  # a bad gateway setting, a template gone wrong: counted as a try
            log.exception("delivery %s failed", did)
            why = send.Answer(False, None, f"{type(exc).__name__}: {exc}"[: send.ANSWER_CHARS])
            status = record(sessions, did, token, why, policy)
        if status == "delivered":
            out.delivered += 1
        elif status == "dead":
            out.dead += 1
        elif status == "pending":
            out.failed += 1
    return out


def run(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    every: float = 2.0,
    stopping: threading.Event | None = None,
    policy: Policy | None = None,
) -> None:
    """Rounds until STOPPING is set; a round that found work is followed at once by the next."""
    stopping = stopping or threading.Event()
    while not stopping.is_set():
        try:
            done = run_once(sessions, settings, policy)
        except Exception:  # the next round tries again: nothing is lost, rows stay queued
            log.exception("notify round failed")
            done = Round()
        if not done.work:
            stopping.wait(every)


def drain(
    sessions: sessionmaker[Session],
    settings: Settings | None = None,
    policy: Policy | None = None,
    *,
    rounds: int = 100_000,
) -> Round:
    """Rounds until nothing is due now (the demo, `init --demo`); the totals."""
    total = Round()
    for _ in range(rounds):
        done = run_once(sessions, settings, policy)
        total.fanned_out += done.fanned_out
        total.delivered += done.delivered
        total.failed += done.failed
        total.dead += done.dead
        if not done.work or (not done.fanned_out and not done.delivered):
            break
    return total
