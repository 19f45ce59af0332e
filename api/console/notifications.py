"""Notifications in the console: the unit's list (unread count in the navigation), and for
administrators the webhooks and the dead letters. Every change goes through workflow.notify."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from api import db
from api.console.common import bp, caller, current_caller, signed_in
from workflow.errors import InvalidInput
from workflow.instants import utcnow
from workflow.notify import manage
from workflow.store.models import Webhook

PER_PAGE = 50


def kinds() -> dict[str, str]:
    """What each kind of notification says to the unit, in the user's language."""
    return {
        "whistle": _("A case was whistled or dispatched to your unit"),
        "task": _("A task for your unit"),
        "supervision": _("A supervision of your unit's late stage"),
        "return_review": _("A return request for you to review"),
        "rectify": _("A poor rating for your unit to rectify"),
        "yellow": _("A stage your unit holds turned yellow: its limit is near"),
        "red": _("A stage your unit holds turned red: its limit has passed"),
    }


def statuses() -> dict[str, str]:
    return {
        "pending": _("waiting"),
        "sending": _("being sent"),
        "delivered": _("delivered"),
        "dead": _("dead"),
    }


@bp.context_processor
def _unread() -> dict[str, Any]:
    def unread_notifications() -> int:
        # Counted once per request (the notifications page asks twice).
        if "console_unread" not in g:
            c = current_caller()
            g.console_unread = manage.unread_count(db.session(), c.unit) if c is not None else 0
        n: int = g.console_unread
        return n

    def manages_webhooks() -> bool:
        c = current_caller()
        return c is not None and manage.may_manage(db.session(), c.actor)

    return {"unread_notifications": unread_notifications, "manages_webhooks": manages_webhooks}


@bp.get("/notifications")
@signed_in("clerk", "staff", "admin")
def notifications() -> str:
    c = caller()
    try:
        page = manage.notifications_page(
            db.session(), c.actor, after=request.args.get("after") or None, limit=PER_PAGE
        )
    except InvalidInput:
        # A stale or edited cursor: the first page rather than an error.
        page = manage.notifications_page(db.session(), c.actor, limit=PER_PAGE)
    return render_template(
        "console/notifications.html", rows=page.items, next=page.next, kinds=kinds()
    )


@bp.post("/notifications/<int:notification_id>/read")
@signed_in("clerk", "staff", "admin")
def notification_read(notification_id: int) -> Any:
    c = caller()
    with db.write() as w:
        n = manage.mark_read(w, notification_id, c.actor, now=utcnow())
        case_id = n.case_id
    if request.form.get("open") and case_id is not None:
        return redirect(url_for("console.case", case_id=case_id))
    return redirect(url_for("console.notifications"))


@bp.post("/notifications/read-all")
@signed_in("clerk", "staff", "admin")
def notifications_read_all() -> Any:
    c = caller()
    with db.write() as w:
        n = manage.mark_all_read(w, c.actor, now=utcnow())
    flash(_("%(n)s notifications marked read.", n=n), "ok")
    return redirect(url_for("console.notifications"))


@bp.get("/webhooks")
@signed_in("admin")
def webhooks() -> str:
    c = caller()
    s = db.session()
    return render_template(
        "console/webhooks.html",
        hooks=manage.webhooks(s, c.actor),
        dead=manage.deliveries(s, c.actor, status="dead", limit=200),
        recent=manage.deliveries(s, c.actor, limit=50),
        events=manage.EVENTS,
        status=statuses(),
    )


@bp.post("/webhooks")
@signed_in("admin")
def webhook_add() -> Any:
    c = caller()
    with db.write() as w:
        hook: Webhook = manage.add_webhook(
            w,
            url=request.form.get("url", ""),
            events=request.form.getlist("events"),
            actor=c.actor,
            channel=request.form.get("channel") or None,
            now=utcnow(),
        )
        hid, secret = hook.id, hook.secret
    flash(
        _("Webhook %(id)s added. Its secret, shown this once: %(secret)s", id=hid, secret=secret),
        "ok",
    )
    return redirect(url_for("console.webhooks"))


@bp.post("/webhooks/<int:webhook_id>/remove")
@signed_in("admin")
def webhook_remove(webhook_id: int) -> Any:
    c = caller()
    with db.write() as w:
        manage.remove_webhook(w, webhook_id, c.actor)
    flash(_("Webhook %(id)s removed.", id=webhook_id), "ok")
    return redirect(url_for("console.webhooks"))


@bp.post("/deliveries/<int:delivery_id>/retry")
@signed_in("admin")
def delivery_retry(delivery_id: int) -> Any:
    c = caller()
    with db.write() as w:
        manage.retry(w, delivery_id, c.actor, now=utcnow())
    flash(_("Delivery %(id)s will be sent again.", id=delivery_id), "ok")
    return redirect(url_for("console.webhooks"))
