"""回访 and 好差评: the callback queue, the operator's record of a call, rectifications (整改)
and appeals (申诉). The resident's own page (/f/{code}) is in api/resident.py."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import url_for
from flask.views import MethodView

from api import db
from api.auth import current_actor
from api.blueprint import Blueprint
from api.schemas import Int
from workflow.actors import Actor
from workflow.audit.chain import format_at
from workflow.feedback import CHANNELS, appeals, callbacks, rectification
from workflow.queries import feedback as lists
from workflow.queries.scope import MAX_ID
from workflow.store.models import Appeal, Feedback, Rectification

blp = Blueprint(
    "feedback",
    __name__,
    url_prefix="/api/v1",
    description="回访 and 好差评: the resident's answers, rectifications (整改), appeals (申诉)",
)


def _iso(at: Any) -> str | None:
    return format_at(at) if at is not None else None


# ---------------------------------------------------------------- schemas


class FeedbackListArgs(ma.Schema):
    after = Int(metadata={"description": "the `next` cursor of the previous page"})
    per_page = Int(load_default=lists.PER_PAGE, max=lists.MAX_PER_PAGE)


class FeedbackArgs(FeedbackListArgs):
    status = ma.fields.String(validate=ma.validate.OneOf(lists.FEEDBACK_STATUSES))
    case = Int(max=MAX_ID)


class RectificationArgs(FeedbackListArgs):
    status = ma.fields.String(validate=ma.validate.OneOf(lists.RECTIFICATION_STATUSES))


class AppealArgs(FeedbackListArgs):
    status = ma.fields.String(validate=ma.validate.OneOf(lists.APPEAL_STATUSES))


class FeedbackSchema(ma.Schema):
    id = ma.fields.Integer(required=True, metadata={"description": "the rating's id once given"})
    case = ma.fields.Integer(required=True)
    round = ma.fields.Integer(required=True, metadata={"description": "2: after a rectification"})
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(lists.FEEDBACK_STATUSES))
    handler = ma.fields.String(allow_none=True, required=True, metadata={"description": "承办单位"})
    commander = ma.fields.String(allow_none=True, required=True)
    link = ma.fields.String(
        allow_none=True,
        metadata={"description": "the one-time link, to the case's workstation and callback"},
    )
    expires_at = ma.fields.String(required=True)
    level = ma.fields.Integer(allow_none=True, required=True)
    resolved = ma.fields.Boolean(allow_none=True, required=True)
    comment = ma.fields.String(allow_none=True)
    channel = ma.fields.String(allow_none=True, required=True)
    given_at = ma.fields.String(allow_none=True, required=True)
    excluded = ma.fields.Boolean(
        required=True, metadata={"description": "taken out of the appraisal by an upheld appeal"}
    )


class FeedbackAnswerSchema(ma.Schema):
    level = ma.fields.Integer(
        required=True,
        strict=True,
        validate=ma.validate.Range(1, 5),
        metadata={"description": "5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意"},
    )
    resolved = ma.fields.Boolean(required=True, truthy={True}, falsy={False})
    comment = ma.fields.String(
        allow_none=True, validate=ma.validate.Length(max=callbacks.MAX_COMMENT)
    )
    channel = ma.fields.String(required=True, validate=ma.validate.OneOf(CHANNELS))


class RectificationSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    case = ma.fields.Integer(required=True)
    rating = ma.fields.Integer(required=True)
    unit = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    opened_at = ma.fields.String(required=True)
    due_at = ma.fields.String(required=True)
    report = ma.fields.String(allow_none=True, required=True)
    reported_at = ma.fields.String(allow_none=True, required=True)
    reported_by = ma.fields.String(allow_none=True, required=True)


class RectificationReportSchema(ma.Schema):
    report = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=rectification.MAX_REPORT)
    )


class AppealSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    case = ma.fields.Integer(required=True)
    rating = ma.fields.Integer(required=True)
    unit = ma.fields.String(required=True)
    reason = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    appealed_by = ma.fields.String(required=True)
    appealed_at = ma.fields.String(required=True)
    decided_by = ma.fields.String(allow_none=True, required=True)
    decided_at = ma.fields.String(allow_none=True, required=True)
    decision_reason = ma.fields.String(allow_none=True, required=True)


class RatingAppealSchema(ma.Schema):
    reason = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=appeals.MAX_REASON)
    )


class AppealDecisionSchema(ma.Schema):
    uphold = ma.fields.Boolean(required=True, truthy={True}, falsy={False})
    reason = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=appeals.MAX_REASON)
    )


def _page(name: str, item: type[ma.Schema]) -> type[ma.Schema]:
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item), required=True),
            "next": ma.fields.Integer(
                allow_none=True, required=True, metadata={"description": "pass as `after`"}
            ),
        },
        name=name,
    )


FeedbackPage = _page("FeedbackPage", FeedbackSchema)
RectificationPage = _page("RectificationPage", RectificationSchema)
AppealPage = _page("AppealPage", AppealSchema)


# ---------------------------------------------------------------- JSON


def link_url(code: str) -> str:
    return url_for("resident.form", code=code, _external=True)


def feedback_json(s: Any, fb: Feedback, actor: Actor) -> dict[str, Any]:
    out = {
        "id": fb.id,
        "case": fb.case_id,
        "round": fb.round,
        "status": fb.status,
        "handler": fb.handler,
        "commander": fb.commander,
        "expires_at": _iso(fb.expires_at),
        "level": fb.level,
        "resolved": fb.resolved,
        "channel": fb.channel,
        "given_at": _iso(fb.given_at),
        "excluded": fb.excluded,
        "link": link_url(fb.code)
        if fb.code and lists.may_see_link(s, actor=actor, fb=fb)
        else None,
    }
    if actor.role != "auditor":  # the resident's own words; auditors read the numbers
        out["comment"] = fb.comment
    return out


def rectification_json(r: Rectification) -> dict[str, Any]:
    return {
        "id": r.id,
        "case": r.case_id,
        "rating": r.feedback_id,
        "unit": r.unit,
        "status": r.status,
        "opened_at": _iso(r.opened_at),
        "due_at": _iso(r.due_at),
        "report": r.report,
        "reported_at": _iso(r.reported_at),
        "reported_by": r.reported_by,
    }


def appeal_json(a: Appeal) -> dict[str, Any]:
    return {
        "id": a.id,
        "case": a.case_id,
        "rating": a.feedback_id,
        "unit": a.unit,
        "reason": a.reason,
        "status": a.status,
        "appealed_by": a.appealed_by,
        "appealed_at": _iso(a.appealed_at),
        "decided_by": a.decided_by,
        "decided_at": _iso(a.decided_at),
        "decision_reason": a.decision_reason,
    }


# ---------------------------------------------------------------- endpoints


@blp.route("/feedback")
class FeedbackList(MethodView):
    @blp.arguments(FeedbackArgs, location="query")
    @blp.response(200, FeedbackPage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The callback queue (status=pending) and the answers given, newest first"""
        actor = current_actor()
        s = db.session()
        page = lists.feedback(
            s,
            actor=actor,
            status=args.get("status"),
            case=args.get("case"),
            after=args.get("after"),
            limit=args["per_page"],
        )
        return {"items": [feedback_json(s, f, actor) for f in page.items], "next": page.next}


@blp.route("/cases/<int:case_id>/feedback")
class CaseFeedback(MethodView):
    @blp.arguments(FeedbackAnswerSchema)
    @blp.response(201, FeedbackSchema)
    @blp.alt_response(
        403, description="Not a callback operator of the district or the case's street"
    )
    @blp.alt_response(404, description="No such case")
    @blp.alt_response(409, description="The case has not ended, or is answered already")
    def post(self, body: dict[str, Any], case_id: int) -> dict[str, Any]:
        """回访: record the resident's answer, given on a call (callback operators)"""
        actor = current_actor()
        with db.write() as s:
            fb = callbacks.record_call(
                s,
                case_id,
                actor,
                level=body["level"],
                resolved=body["resolved"],
                comment=body.get("comment"),
                channel=body["channel"],
            )
            return feedback_json(s, fb, actor)


class FeedbackContactSchema(ma.Schema):
    name = ma.fields.String(required=True)
    phone = ma.fields.String(required=True)


@blp.route("/feedback/<int:feedback_id>/contact")
class FeedbackContact(MethodView):
    @blp.response(200, FeedbackContactSchema)
    @blp.alt_response(403, description="Not a callback operator who may make this call")
    @blp.alt_response(404, description="No such feedback")
    @blp.alt_response(409, description="Answered already")
    def post(self, feedback_id: int) -> dict[str, Any]:
        """The resident's name and phone for a 回访 call (the read is in the trail)"""
        actor = current_actor()
        with db.write() as s:
            name, phone = callbacks.contact_for_call(s, feedback_id, actor)
            return {"name": name, "phone": phone}


@blp.route("/rectifications")
class RectificationList(MethodView):
    @blp.arguments(RectificationArgs, location="query")
    @blp.response(200, RectificationPage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Rectifications (整改) after a 差评, newest first"""
        page = lists.rectifications(
            db.session(),
            actor=current_actor(),
            status=args.get("status"),
            after=args.get("after"),
            limit=args["per_page"],
        )
        return {"items": [rectification_json(r) for r in page.items], "next": page.next}


@blp.route("/rectifications/<int:rectification_id>/report")
class RectificationReport(MethodView):
    @blp.arguments(RectificationReportSchema)
    @blp.response(200, RectificationSchema)
    @blp.alt_response(403, description="Not the handling unit")
    @blp.alt_response(404, description="No such rectification")
    @blp.alt_response(409, description="Reported already")
    def post(self, body: dict[str, Any], rectification_id: int) -> dict[str, Any]:
        """The handling unit reports what it did; a second 回访 follows"""
        actor = current_actor()
        with db.write() as s:
            lists.one(s, actor=actor, model=Rectification, row_id=rectification_id)
            row = rectification.report(s, rectification_id, actor, text=body["report"])
            return rectification_json(row)


@blp.route("/ratings/<int:rating_id>/appeal")
class RatingAppeal(MethodView):
    @blp.arguments(RatingAppealSchema)
    @blp.response(201, AppealSchema)
    @blp.alt_response(403, description="Not the handling unit")
    @blp.alt_response(404, description="No such rating")
    @blp.alt_response(409, description="Appealed already")
    def post(self, body: dict[str, Any], rating_id: int) -> dict[str, Any]:
        """申诉: the handling unit appeals a rating it believes unfair"""
        actor = current_actor()
        with db.write() as s:
            lists.one(s, actor=actor, model=Feedback, row_id=rating_id)
            row = appeals.appeal(s, rating_id, actor, reason=body["reason"])
            return appeal_json(row)


@blp.route("/appeals")
class AppealList(MethodView):
    @blp.arguments(AppealArgs, location="query")
    @blp.response(200, AppealPage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Appeals (申诉), newest first"""
        page = lists.appeals(
            db.session(),
            actor=current_actor(),
            status=args.get("status"),
            after=args.get("after"),
            limit=args["per_page"],
        )
        return {"items": [appeal_json(a) for a in page.items], "next": page.next}


@blp.route("/appeals/<int:appeal_id>/decision")
class AppealDecision(MethodView):
    @blp.arguments(AppealDecisionSchema)
    @blp.response(200, AppealSchema)
    @blp.alt_response(403, description="Not a district administrator")
    @blp.alt_response(404, description="No such appeal")
    @blp.alt_response(409, description="Decided already")
    def post(self, body: dict[str, Any], appeal_id: int) -> dict[str, Any]:
        """The district decides an appeal; upheld: the rating leaves the appraisal"""
        actor = current_actor()
        with db.write() as s:
            lists.one(s, actor=actor, model=Appeal, row_id=appeal_id)
            row = appeals.decide(s, appeal_id, actor, uphold=body["uphold"], reason=body["reason"])
            return appeal_json(row)
