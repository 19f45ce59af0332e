"""Notifications (issue 21): the staff's list, webhooks for outside systems and their
deliveries (dead ones retried by an administrator)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from sqlalchemy import select

from api import db
from api.auth import current_actor
from api.blueprint import Blueprint
from api.schemas import At
from workflow.instants import utcnow
from workflow.notify import manage
from workflow.store.models import Delivery, DeliveryAttempt, Notification, Webhook

blp = Blueprint(
    "notifications",
    __name__,
    url_prefix="/api/v1",
    description="Notifications: the staff's list, webhooks and their deliveries",
)


class NotificationArgs(ma.Schema):
    unread = ma.fields.Boolean(load_default=False, metadata={"description": "only the unread"})
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(1, 500))
    after = ma.fields.String(
        validate=ma.validate.Length(min=1, max=200),
        metadata={"description": "the `next` of the page before: the page after it"},
    )


class NotificationSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(
        required=True,
        metadata={
            "description": "whistle, task, supervision, return_review, rectify, "
            "or yellow / red (a stage the unit holds changed light)"
        },
    )
    case = ma.fields.Integer(attribute="case_id", allow_none=True, required=True)
    seq = ma.fields.Integer(required=True, metadata={"description": "the trail event's seq"})
    data = ma.fields.Dict(required=True)
    created_at = At(required=True)
    read_at = At(allow_none=True, required=True)
    read_by = ma.fields.String(allow_none=True, required=True)


class NotificationListSchema(ma.Schema):
    unread = ma.fields.Integer(required=True, metadata={"description": "the unit's unread count"})
    items = ma.fields.List(ma.fields.Nested(NotificationSchema), required=True)
    next = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "pass as `after` for the next page; null: the last page"},
    )


class WebhookInSchema(ma.Schema):
    url = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))
    events = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=64)),
        required=True,
        validate=ma.validate.Length(min=1, max=20),
        metadata={"description": f"any of {', '.join(manage.EVENTS)}, or a name like task.opened"},
    )
    channel = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(min=1, max=32),
        metadata={"description": "only the cases that came in through this channel"},
    )
    secret = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(min=16, max=200),
        metadata={"description": "the signing secret (default: generated, answered once)"},
    )


class WebhookSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    url = ma.fields.String(required=True)
    events = ma.fields.List(ma.fields.String(), required=True)
    channel = ma.fields.String(allow_none=True, required=True)
    created_by = ma.fields.String(required=True)
    created_at = At(required=True)


class WebhookCreatedSchema(WebhookSchema):
    secret = ma.fields.String(
        required=True, metadata={"description": "shown this once: verify each delivery with it"}
    )


class AttemptSchema(ma.Schema):
    at = At(required=True)
    ok = ma.fields.Boolean(required=True)
    status_code = ma.fields.Integer(allow_none=True, required=True)
    answer = ma.fields.String(allow_none=True, required=True)


class DeliverySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    delivery_id = ma.fields.String(required=True, metadata={"description": "stable over tries"})
    channel = ma.fields.String(required=True, metadata={"description": "webhook or sms"})
    webhook = ma.fields.Integer(attribute="webhook_id", allow_none=True, required=True)
    case = ma.fields.Integer(attribute="case_id", allow_none=True, required=True)
    event = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(manage.STATUSES))
    attempts = ma.fields.Integer(required=True)
    next_at = At(required=True)
    delivered_at = At(allow_none=True, required=True)
    last_error = ma.fields.String(allow_none=True, required=True)
    answers = ma.fields.List(ma.fields.Nested(AttemptSchema), required=True)


class DeliveryArgs(ma.Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(manage.STATUSES))
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(1, 500))
    after = ma.fields.String(
        validate=ma.validate.Length(min=1, max=200),
        metadata={"description": "the `next` of the page before: the page after it"},
    )


class DeliveryPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DeliverySchema), required=True)
    next = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "pass as `after` for the next page; null: the last page"},
    )


def _with_answers(s: Any, rows: list[Delivery]) -> list[dict[str, Any]]:
    answers: dict[int, list[DeliveryAttempt]] = {}
    if rows:
        for a in s.execute(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id.in_([d.id for d in rows]))
            .order_by(DeliveryAttempt.id)
        ).scalars():
            answers.setdefault(a.delivery_id, []).append(a)
    return [{**_fields(d), "answers": answers.get(d.id, [])} for d in rows]


def _fields(d: Delivery) -> dict[str, Any]:
    return {
        c: getattr(d, c) for c in DeliverySchema().fields if c not in ("webhook", "case", "answers")
    } | {
        "webhook_id": d.webhook_id,
        "case_id": d.case_id,
    }


@blp.route("/notifications")
class Notifications(MethodView):
    @blp.arguments(NotificationArgs, location="query")
    @blp.response(200, NotificationListSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The caller's unit's notifications, newest first, with the unread count"""
        actor = current_actor()
        s = db.session()
        page = manage.notifications_page(
            s, actor, unread=args["unread"], after=args.get("after"), limit=args["limit"]
        )
        return {
            "unread": manage.unread_count(s, actor.unit),
            "items": page.items,
            "next": page.next,
        }


@blp.route("/notifications/<int:notification_id>/read")
class NotificationRead(MethodView):
    @blp.response(200, NotificationSchema)
    @blp.alt_response(404, description="No such notification for the caller's unit")
    def post(self, notification_id: int) -> Notification:
        """Mark a notification of the caller's unit read"""
        actor = current_actor()
        with db.write() as s:
            return manage.mark_read(s, notification_id, actor, now=utcnow())


@blp.route("/webhooks")
class Webhooks(MethodView):
    @blp.response(200, WebhookSchema(many=True))
    @blp.alt_response(403, description="Not an administrator")
    def get(self) -> list[Webhook]:
        """The webhooks (administrators)"""
        return manage.webhooks(db.session(), current_actor())

    @blp.arguments(WebhookInSchema)
    @blp.response(201, WebhookCreatedSchema)
    @blp.alt_response(403, description="Not an administrator")
    @blp.alt_response(422, description="A bad URL, event or secret")
    def post(self, body: dict[str, Any]) -> Webhook:
        """Register a webhook (the district's administrators): each event it names is POSTed to its URL,
        signed (X-Streetflow-Signature) with its secret, at least once"""
        actor = current_actor()
        with db.write() as s:
            return manage.add_webhook(
                s,
                url=body["url"],
                events=body["events"],
                actor=actor,
                secret=body.get("secret"),
                channel=body.get("channel"),
                now=utcnow(),
            )


@blp.route("/webhooks/<int:webhook_id>")
class WebhookOne(MethodView):
    @blp.response(204)
    @blp.alt_response(403, description="Not an administrator")
    @blp.alt_response(404, description="No such webhook")
    def delete(self, webhook_id: int) -> None:
        """Remove a webhook (administrators): nothing more is sent to it; its deliveries stay"""
        actor = current_actor()
        with db.write() as s:
            manage.remove_webhook(s, webhook_id, actor)


@blp.route("/webhooks/<int:webhook_id>/deliveries")
class WebhookDeliveries(MethodView):
    @blp.arguments(DeliveryArgs, location="query")
    @blp.response(200, DeliveryPageSchema)
    @blp.alt_response(403, description="Not an administrator")
    @blp.alt_response(404, description="No such webhook")
    def get(self, args: dict[str, Any], webhook_id: int) -> dict[str, Any]:
        """A webhook's deliveries, newest first, with each try's answer (administrators)

        Page on with `after=next`."""
        s = db.session()
        page = manage.deliveries_page(
            s,
            current_actor(),
            webhook_id=webhook_id,
            status=args.get("status"),
            after=args.get("after"),
            limit=args["limit"],
        )
        return {"items": _with_answers(s, page.items), "next": page.next}


@blp.route("/deliveries")
class Deliveries(MethodView):
    @blp.arguments(DeliveryArgs, location="query")
    @blp.response(200, DeliveryPageSchema)
    @blp.alt_response(403, description="Not an administrator")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Every delivery (webhooks, SMS and e-mail), newest first; status=dead: the dead letters

        Page on with `after=next`."""
        s = db.session()
        page = manage.deliveries_page(
            s,
            current_actor(),
            status=args.get("status"),
            after=args.get("after"),
            limit=args["limit"],
        )
        return {"items": _with_answers(s, page.items), "next": page.next}


@blp.route("/deliveries/<int:delivery_id>/retry")
class DeliveryRetry(MethodView):
    @blp.response(200, DeliverySchema)
    @blp.alt_response(403, description="Not an administrator")
    @blp.alt_response(404, description="No such delivery")
    @blp.alt_response(422, description="Delivered already, or being sent")
    def post(self, delivery_id: int) -> dict[str, Any]:
        """Send a dead delivery again at the worker's next round, under the same delivery id"""
        actor = current_actor()
        with db.write() as s:
            d = manage.retry(s, delivery_id, actor, now=utcnow())
            s.flush()
            return _with_answers(s, [d])[0]
