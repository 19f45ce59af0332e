"""What administrators and staff do with notifications: webhooks, deliveries (retry a dead
one), the staff's notification list. Each change in the caller's transaction."""

from __future__ import annotations

import datetime as dt
import secrets
import urllib.parse
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from workflow.actors import Actor
from workflow.errors import InvalidInput, NotFound, NotHolder
from workflow.inputs import check_text
from workflow.queries.paging import Seek, seek
from workflow.store.models import Delivery, Notification, Webhook

# What a webhook may ask for: names, a family ('task.*'), or everything ('*').
EVENTS = (
    "case.opened",
    "case.transition",
    "case.closed",
    "case.migrated",
    "case.urgency_changed",
    "case.*",
    "task.*",
    "supervision.*",
    "extension.*",
    "return.*",
    "feedback.*",
    "*",
)
STATUSES = ("pending", "sending", "delivered", "dead")


def may_manage(session: Session, actor: Actor) -> bool:
    """The district's administrators (and the command line, the machine's operator): a webhook
    hears about every case of the district, a street's administrator sees only its own."""
    from workflow.catalog.authority import is_district_admin

    return actor.role == "admin" and (actor.unit is None or is_district_admin(session, actor))


def _admin(session: Session, actor: Actor) -> None:
    if not may_manage(session, actor):
        raise NotHolder(
            "only the district's administrators manage webhooks and deliveries",
            code="webhooks_admins",
        )


def _known(pattern: str) -> bool:
    if pattern in EVENTS:
        return True
    family = pattern.split(".", 1)[0] + ".*"
    return "." in pattern and family in EVENTS and pattern.count(".") == 1


def add_webhook(
    session: Session,
    *,
    url: str,
    events: list[str],
    actor: Actor,
    secret: str | None = None,
    channel: str | None = None,
    now: dt.datetime,
) -> Webhook:
    _admin(session, actor)
    url = (url or "").strip()
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 (a bad port raises here, not when sending)
    except ValueError:
        parts = urllib.parse.urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2000:
        raise InvalidInput(
            "the URL must be http:// or https:// with a host", {"url": ["bad URL"]}, code="bad_url"
        )
    check_text(url=url)
    if not events:
        raise InvalidInput(
            "name at least one event", {"events": ["required"]}, code="name_an_event"
        )
    bad = [e for e in events if not isinstance(e, str) or not _known(e)]
    if bad:
        raise InvalidInput(
            f"unknown event {bad[0]!r}",
            {"events": [f"one of {', '.join(EVENTS)}, or a task.x"]},
            code="unknown_event",
            params={"event": bad[0]},
        )
    if secret is not None and not 16 <= len(secret) <= 200:
        raise InvalidInput(
            "the secret needs 16 to 200 characters", {"secret": ["16 to 200"]}, code="secret_length"
        )
    if secret is not None:
        check_text(secret=secret)
    if channel is not None:
        check_text(channel=channel)
        if not channel.strip() or len(channel) > 32:
            raise InvalidInput(
                "channel: 1 to 32 characters",
                {"channel": ["1 to 32 characters"]},
                code="channel_length",
            )
    hook = Webhook(
        url=url,
        events=sorted(set(events)),
        channel=channel.strip() if channel else None,
        secret=secret or secrets.token_hex(24),
        active=True,
        created_by=actor.label,
        created_at=now,
    )
    session.add(hook)
    session.flush()
    return hook


def webhooks(session: Session, actor: Actor) -> list[Webhook]:
    _admin(session, actor)
    return list(
        session.execute(select(Webhook).where(Webhook.active.is_(True)).order_by(Webhook.id))
        .scalars()
        .all()
    )


def webhook(session: Session, webhook_id: int, actor: Actor) -> Webhook:
    _admin(session, actor)
    hook = session.get(Webhook, webhook_id)
    if hook is None or not hook.active:
        raise NotFound(
            f"no webhook {webhook_id}", code="no_webhook", params={"webhook": webhook_id}
        )
    return hook


def remove_webhook(session: Session, webhook_id: int, actor: Actor) -> None:
    """Stops it: its deliveries stay listed, the pending ones are not sent."""
    webhook(session, webhook_id, actor).active = False


def deliveries(
    session: Session,
    actor: Actor,
    *,
    webhook_id: int | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[Delivery]:
    _admin(session, actor)
    q = select(Delivery).order_by(Delivery.id.desc()).limit(limit)
    if webhook_id is not None:
        webhook(session, webhook_id, actor)
        q = q.where(Delivery.webhook_id == webhook_id)
    if status is not None:
        if status not in STATUSES:
            raise InvalidInput(
                f"no status {status!r}",
                {"status": [", ".join(STATUSES)]},
                code="no_delivery_status",
                params={"status": status},
            )
        q = q.where(Delivery.status == status)
    return list(session.execute(q).scalars().all())


def deliveries_page(
    session: Session,
    actor: Actor,
    *,
    webhook_id: int | None = None,
    status: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> Seek[Delivery]:
    """The deliveries newest first, a page at a time: after the cursor AFTER (keyset, so a
    delivery added meanwhile neither shifts the pages nor is read twice)."""
    _admin(session, actor)
    where: list[ColumnElement[bool]] = []
    if webhook_id is not None:
        webhook(session, webhook_id, actor)
        where.append(Delivery.webhook_id == webhook_id)
    if status is not None:
        if status not in STATUSES:
            raise InvalidInput(
                f"no status {status!r}",
                {"status": [", ".join(STATUSES)]},
                code="no_delivery_status",
                params={"status": status},
            )
        where.append(Delivery.status == status)
    keys = [(Delivery.id, True)]
    return seek(session, Delivery, where, keys, after=after, limit=limit, count_cap=10_000)


def retry(session: Session, delivery_id: int, actor: Actor, *, now: dt.datetime) -> Delivery:
    """A dead (or failing) delivery again, now, with its tries counted afresh; same id."""
    _admin(session, actor)
    d = session.get(Delivery, delivery_id)
    if d is None:
        raise NotFound(
            f"no delivery {delivery_id}", code="no_delivery", params={"delivery": delivery_id}
        )
    if d.status not in ("dead", "pending"):
        raise InvalidInput(
            f"delivery {delivery_id} is {d.status}: only a dead or pending one is retried",
            {"status": [d.status]},
            code="delivery_not_retried",
            params={"delivery": delivery_id, "status": d.status},
        )
    d.status, d.attempts, d.next_at, d.claim, d.lease_until = "pending", 0, now, None, None
    return d


def notifications(
    session: Session, actor: Actor, *, unread: bool = False, limit: int = 100
) -> list[Notification]:
    if not actor.unit:
        return []
    q = (
        select(Notification)
        .where(Notification.unit == actor.unit)
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    if unread:
        q = q.where(Notification.read_at.is_(None))
    return list(session.execute(q).scalars().all())


def notifications_page(
    session: Session,
    actor: Actor,
    *,
    unread: bool = False,
    after: str | None = None,
    limit: int = 100,
) -> Seek[Notification]:
    """The unit's notifications newest first, a page at a time after the cursor AFTER."""
    where: list[ColumnElement[bool]] = [Notification.unit == (actor.unit or "")]
    if not actor.unit:
        where.append(Notification.id < 0)  # a user of no unit is told nothing
    if unread:
        where.append(Notification.read_at.is_(None))
    keys = [(Notification.id, True)]
    return seek(session, Notification, where, keys, after=after, limit=limit, count_cap=10_000)


def unread_count(session: Session, unit: str | None) -> int:
    if not unit:
        return 0
    return int(
        session.execute(
            select(func.count())
            .select_from(Notification)
            .where(Notification.unit == unit, Notification.read_at.is_(None))
        ).scalar_one()
    )


def mark_read(
    session: Session, notification_id: int, actor: Actor, *, now: dt.datetime
) -> Notification:
    n = session.get(Notification, notification_id)
    if n is None or n.unit != actor.unit:
        raise NotFound(
            f"no notification {notification_id} for your unit",
            code="no_notification",
            params={"notification": notification_id},
        )
    if n.read_at is None:
        n.read_at, n.read_by = now, actor.label
    return n


def mark_all_read(session: Session, actor: Actor, *, now: dt.datetime) -> int:
    result = session.execute(
        update(Notification)
        .where(Notification.unit == actor.unit, Notification.read_at.is_(None))
        .values(read_at=now, read_by=actor.label)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def delivery_json(d: Delivery) -> dict[str, Any]:
    from workflow.instants import iso

    return {
        "id": d.id,
        "delivery_id": d.delivery_id,
        "channel": d.channel,
        "webhook": d.webhook_id,
        "case": d.case_id,
        "event": d.event,
        "status": d.status,
        "attempts": d.attempts,
        "next_at": iso(d.next_at),
        "delivered_at": iso(d.delivered_at),
        "last_error": d.last_error,
    }
