"""Returns (退单): the holder asks, the reviewer decides, a second return is arbitrated."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from api import db
from api.auth import current_actor
from api.blueprint import Blueprint
from api.schemas import Int, KeysetPageArgs, page_body, page_of, page_schema
from workflow.queries import returns as queries
from workflow.queries import scope
from workflow.runtime import engine, returns

blp = Blueprint(
    "returns",
    __name__,
    url_prefix="/api/v1",
    description="Returns (退单): requests to return a case, their review and arbitration",
)


class ReturnRequestSchema(ma.Schema):
    category = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=32),
        metadata={"description": "a category code of the scheme (e.g. not_our_duty)"},
    )
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=4000))
    task = Int(
        allow_none=True,
        max=scope.MAX_ID,
        metadata={"description": "a task of a joint whistle, to return that task only"},
    )


class ReturnDecisionSchema(ma.Schema):
    approve = ma.fields.Boolean(required=True, truthy={True}, falsy={False})
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=4000))
    to = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(max=32),
        metadata={"description": "approve only: where the case goes (default: its sender)"},
    )
    at_fault = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(max=32),
        metadata={"description": "approve only: the unit that mis-sent it carries the return"},
    )


class ReturnSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    case = ma.fields.Integer(required=True)
    task = ma.fields.Integer(allow_none=True, required=True)
    category = ma.fields.String(required=True)
    category_zh = ma.fields.String(required=True)
    category_en = ma.fields.String(required=True)
    reason = ma.fields.String(required=True)
    unit = ma.fields.String(required=True, metadata={"description": "the requesting unit"})
    requested_by = ma.fields.String(required=True)
    requested_at = ma.fields.String(required=True)
    state = ma.fields.String(required=True)
    sender = ma.fields.String(allow_none=True, required=True)
    reviewer = ma.fields.String(required=True)
    arbitration = ma.fields.Boolean(
        required=True, metadata={"description": "a dispute, decided finally by the district"}
    )
    review_due_at = ma.fields.String(required=True)
    late = ma.fields.Boolean(
        required=True, metadata={"description": "the review is past its limit"}
    )
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(returns.STATUSES))
    decided_by = ma.fields.String(allow_none=True, required=True)
    decided_at = ma.fields.String(allow_none=True, required=True)
    decision_reason = ma.fields.String(allow_none=True, required=True)
    to = ma.fields.String(allow_none=True, required=True)
    at_fault = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "who carries it in the appraisal (refused: the requester)"},
    )
    responsible = ma.fields.String(allow_none=True, required=True)


class ReturnArgs(KeysetPageArgs):
    status = ma.fields.String(validate=ma.validate.OneOf(returns.STATUSES))
    unit = ma.fields.String(
        validate=ma.validate.Length(max=32),
        metadata={"description": "asked for or reviewed by this unit"},
    )
    case = Int(max=scope.MAX_ID)


ReturnPage = page_schema(ReturnSchema, "ReturnPage", keyset=True)


@blp.route("/cases/<int:case_id>/returns")
class CaseReturns(MethodView):
    @blp.arguments(ReturnRequestSchema)
    @blp.response(201, ReturnSchema)
    @blp.alt_response(403, description="The caller's unit does not hold the case")
    @blp.alt_response(404, description="No such case in the caller's scope")
    @blp.alt_response(409, description="Closed, a return pending, or arbitrated already")
    def post(self, body: dict[str, Any], case_id: int) -> dict[str, Any]:
        """Ask to return a case (its holder), with a category and a reason"""
        actor = current_actor()
        with db.write() as s:
            scope.get_case(s, actor, case_id)
            ret = returns.request_return(
                s,
                case_id=case_id,
                actor=actor,
                category=body["category"],
                reason=body["reason"],
                task=body.get("task"),
            )
            return queries.return_json(s, ret, now=engine.utcnow())


@blp.route("/returns")
class Returns(MethodView):
    @blp.arguments(ReturnArgs, location="query")
    @blp.response(200, ReturnPage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Returns the caller may see, newest first; `status`, `unit` and `case` filter"""
        actor = current_actor()
        s = db.session()
        offset, limit = page_of(args)
        rows = queries.list_returns(
            s,
            actor=actor,
            status=args.get("status"),
            unit=args.get("unit"),
            case=args.get("case"),
            after=args.get("after"),
            offset=offset,
            limit=limit,
        )
        now = engine.utcnow()
        return page_body(args, rows, [queries.return_json(s, r, now=now) for r in rows.items])


@blp.route("/returns/<int:return_id>")
class ReturnResource(MethodView):
    @blp.response(200, ReturnSchema)
    @blp.alt_response(404, description="No such return in the caller's scope")
    def get(self, return_id: int) -> dict[str, Any]:
        """One return"""
        s = db.session()
        ret = queries.get_return(s, actor=current_actor(), return_id=return_id)
        return queries.return_json(s, ret, now=engine.utcnow())


@blp.route("/returns/<int:return_id>/decision")
class ReturnDecision(MethodView):
    @blp.arguments(ReturnDecisionSchema)
    @blp.response(200, ReturnSchema)
    @blp.alt_response(403, description="The caller's unit is not the reviewer")
    @blp.alt_response(404, description="No such return in the caller's scope")
    @blp.alt_response(409, description="Decided already, or the case has moved on")
    def post(self, body: dict[str, Any], return_id: int) -> dict[str, Any]:
        """Approve (the case goes to its sender, or to `to`) or refuse a return, with a reason"""
        actor = current_actor()
        with db.write() as s:
            queries.get_return(s, actor=actor, return_id=return_id)
            ret = returns.decide_return(
                s,
                return_id=return_id,
                actor=actor,
                approve=body["approve"],
                reason=body["reason"],
                to=body.get("to"),
                at_fault=body.get("at_fault"),
            )
            return queries.return_json(s, ret, now=engine.utcnow())
