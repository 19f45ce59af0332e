"""The auditor's view of the trail: events with filters, paged by seq, and a full verification."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import abort

from api import db
from api.auth import current_actor, require_roles
from api.blueprint import Blueprint
from api.resources.cases import TrailEventSchema
from api.schemas import Instant, Int
from workflow import privacy
from workflow.audit import chain
from workflow.audit.verify import verify
from workflow.inputs import INT64
from workflow.queries import trail as trail_queries

blp = Blueprint(
    "audit", __name__, url_prefix="/api/v1/audit", description="The trail, for auditors"
)


class EventArgs(ma.Schema):
    after = Int(load_default=0, min=0, max=INT64)
    case = Int()
    unit = ma.fields.String(validate=ma.validate.Length(min=1, max=32))
    actor = ma.fields.String(validate=ma.validate.Length(min=1, max=64))
    # An event's action, as its `action` reads (case.opened, feedback.appealed, ...): the
    # console's trail filters by it too.
    action = ma.fields.String(validate=ma.validate.Length(min=1, max=48))
    from_ = Instant(data_key="from")
    to = Instant()
    per_page = Int(load_default=100)


class EventPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TrailEventSchema), required=True)
    per_page = ma.fields.Integer(required=True)
    total = ma.fields.Integer(
        required=True,
        metadata={
            "description": "events matching, all pages: exact when `total_exact`, else an "
            "estimate (more than 1,000 match)"
        },
    )
    total_exact = ma.fields.Boolean(
        required=True,
        metadata={"description": "false: `total` is an estimate (约), not a count"},
    )
    next_after = ma.fields.Integer(
        allow_none=True, metadata={"description": "pass as `after` for the next page; null: last"}
    )


class TrailProblemSchema(ma.Schema):
    seq = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True)
    detail = ma.fields.String(required=True)
    partition = ma.fields.Integer(
        metadata={"description": "on a partitioned trail: the partition it was found in"}
    )


class TrailPartitionSchema(ma.Schema):
    partition = ma.fields.Integer(required=True)
    ok = ma.fields.Boolean(required=True)
    events_checked = ma.fields.Integer(required=True)
    last_seq = ma.fields.Integer(required=True, metadata={"description": "its chain's last seq"})
    head_seq = ma.fields.Integer(allow_none=True, metadata={"description": "its head's seq"})


class TrailVerifySchema(ma.Schema):
    ok = ma.fields.Boolean(required=True)
    events_checked = ma.fields.Integer(required=True)
    first_bad = ma.fields.Nested(
        TrailProblemSchema,
        allow_none=True,
        metadata={"description": "the first break of the chain; null when it holds"},
    )
    warnings = ma.fields.List(
        ma.fields.Nested(TrailProblemSchema),
        required=True,
        metadata={
            "description": "the chain holds but time does not (kind time_backwards or "
            "dated_after_write): the first 100; they do not make ok false"
        },
    )
    warnings_total = ma.fields.Integer(required=True, metadata={"description": "all warnings"})
    partitions = ma.fields.List(
        ma.fields.Nested(TrailPartitionSchema),
        metadata={"description": "on a partitioned trail only: each partition's chain"},
    )


@blp.route("/events")
class Events(MethodView):
    @blp.arguments(EventArgs, location="query")
    @blp.response(200, EventPageSchema)
    @blp.alt_response(403, description="Not an auditor")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The trail, oldest first, after a seq; filtered by case, unit, actor, action and time

        An auditor at the district reads every event; one at a street office or department
        reads their unit's part (the events of the cases their unit may see, and what their unit
        did without a case). `unit` matches the acting unit and the holder before or after the
        event; `action` is the event's action (`case.opened`, `feedback.appealed`, ...: one the
        part lacks gives an empty page); `from` is inclusive, `to` exclusive (ISO-8601 with an
        offset). Page on with `after=next_after`."""
        s = db.session()
        actor = current_actor()
        if privacy.trail_part(s, actor) is None:
            abort(403, message="the trail is read by auditors")
        per_page = min(args["per_page"], int(current_app.config["PER_PAGE_MAX"]))
        page = trail_queries.list_events(
            s,
            actor=actor,
            case=args.get("case"),
            unit=args.get("unit"),
            by=args.get("actor"),
            action=args.get("action"),
            since=args.get("from_"),
            until=args.get("to"),
            after=args["after"],
            limit=per_page,
        )
        return {
            # An event reads as the trail hashed it (one spelling of its body).
            "items": [chain.event_dict(e) for e in page.items],
            "per_page": per_page,
            "total": page.total,
            "total_exact": page.exact,
            "next_after": page.next,
        }


@blp.route("/verify")
class Verify(MethodView):
    @blp.response(200, TrailVerifySchema)
    @blp.alt_response(403, description="Not an auditor")
    def get(self) -> dict[str, Any]:
        """Verify the whole trail and its signed checkpoints, as `streetflow audit verify` does"""
        require_roles("auditor")
        report = verify(db.session(), str(current_app.config["SECRET_KEY"]))
        return report.as_dict()
