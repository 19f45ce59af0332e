"""The dispatch centre (派单中心, 12345/12349) and duplicates (合并) over HTTP: the queue, a call
opened at the centre, a dispatch, an answer on the spot; likely duplicates and merging."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response
from flask.views import MethodView

from api import db
from api.auth import current_actor, require_roles
from api.blueprint import Blueprint
from api.resources.cases import (
    ApplicantSchema,
    CaseDetailSchema,
    CaseSchema,
    case_json,
    cases_json,
    with_etag,
)
from api.schemas import Int, PageArgs, page_body, page_of, page_schema
from workflow.dispatch import centre, duplicates
from workflow.queries import scope
from workflow.spec.model import URGENCIES

blp = Blueprint(
    "dispatch",
    __name__,
    url_prefix="/api/v1",
    description="The dispatch centre (12345/12349): its queue, dispatch, answers; duplicates",
)
TEXT = 4000
CODE = ma.validate.Length(min=1, max=32)


class CallSchema(ma.Schema):
    applicant = ma.fields.Nested(ApplicantSchema, required=True)
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=TEXT))
    form = ma.fields.Dict(keys=ma.fields.String(), load_default=dict)
    item = ma.fields.String(
        allow_none=True, validate=CODE, metadata={"description": "the item, if already clear"}
    )
    workstation = ma.fields.String(
        allow_none=True,
        validate=CODE,
        metadata={"description": "the community, if already known (a proposed place)"},
    )
    urgency = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(URGENCIES))
    channel = ma.fields.String(
        load_default="hotline", validate=ma.validate.OneOf(("hotline", "window", "web", "app"))
    )


class DispatchSchema(ma.Schema):
    to = ma.fields.String(
        required=True,
        validate=CODE,
        metadata={
            "description": "a workstation, its street office or the item's department, as "
            "GET /dispatch/destinations lists for the item and place"
        },
    )
    item = ma.fields.String(
        allow_none=True, validate=CODE, metadata={"description": "classify first (事项)"}
    )
    workstation = ma.fields.String(
        allow_none=True,
        validate=CODE,
        metadata={"description": "place first (the community); `to` a workstation places too"},
    )
    urgency = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(URGENCIES))
    reason = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=TEXT))


class AnswerSchema(ma.Schema):
    answer = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=TEXT))
    item = ma.fields.String(
        allow_none=True,
        validate=CODE,
        metadata={"description": "a consultation item (its route ends by `answer`)"},
    )


class ClassifySchema(ma.Schema):
    item = ma.fields.String(required=True, validate=CODE)
    reason = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=TEXT))


class PlaceSchema(ma.Schema):
    workstation = ma.fields.String(required=True, validate=CODE)
    reason = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=TEXT))


class MergeSchema(ma.Schema):
    into = Int(required=True, max=scope.MAX_ID, metadata={"description": "the open case kept"})
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=TEXT))


class DestinationArgs(ma.Schema):
    item = ma.fields.String(required=True, validate=CODE)
    workstation = ma.fields.String(required=True, validate=CODE)


class DestinationSchema(ma.Schema):
    unit = ma.fields.String(required=True)
    tier = ma.fields.String(required=True, validate=ma.validate.OneOf(centre.DESTINATION_TIERS))
    state = ma.fields.String(required=True, metadata={"description": "the state it enters"})


QueuePage = page_schema(CaseSchema, "DispatchQueuePage")


def _case(case_id: int) -> Response:
    actor = current_actor()
    s = db.session()
    return with_etag(case_json(s, scope.get_case(s, actor, case_id), actor))


@blp.route("/dispatch")
class Queue(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, QueuePage)
    @blp.alt_response(403, description="Not a dispatcher")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The dispatch centre's queue: what came in without a place or with an unclear item,
        the most urgent first, then the oldest"""
        actor = require_roles("dispatcher")
        s = db.session()
        offset, limit = page_of(args)
        page = centre.queue(s, actor, offset=offset, limit=limit)
        return page_body(args, page, cases_json(s, page.items, actor))

    @blp.arguments(CallSchema)
    @blp.response(201, CaseDetailSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @blp.alt_response(403, description="Not a dispatcher")
    def post(self, body: dict[str, Any]) -> Response:
        """Open a case at the caller's dispatch centre (a call to 12345/12349), with or without
        its item and place"""
        actor = require_roles("dispatcher")
        with db.write() as s:
            case = centre.open_at_dispatch(
                s,
                actor=actor,
                applicant_name=body["applicant"]["name"],
                applicant_phone=body["applicant"]["phone"],
                description=body["description"],
                form=body["form"],
                item=body.get("item"),
                workstation=body.get("workstation"),
                urgency=body.get("urgency"),
                channel=body["channel"],
            )
            out = case_json(s, case, actor, full=True)
            out["similar"] = [c.id for c in duplicates.similar(s, case)]
        return with_etag(out, 201)


@blp.route("/dispatch/destinations")
class Destinations(MethodView):
    @blp.arguments(DestinationArgs, location="query")
    @blp.response(200, DestinationSchema(many=True))
    def get(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        """Where a case of an item placed at a workstation may be dispatched: the workstation;
        the street office or the department where the list gives that tier a limit and the
        route a state there a case may be handed to"""
        current_actor()
        found = centre.destinations(db.session(), args["item"], args["workstation"])
        return [{"unit": d.unit, "tier": d.tier, "state": d.state} for d in found]


@blp.route("/cases/<int:case_id>/dispatch")
class Dispatch(MethodView):
    @blp.arguments(DispatchSchema)
    @blp.response(200, CaseSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @blp.alt_response(403, description="Not a dispatcher of the centre that holds the case")
    @blp.alt_response(404, description="No such case in the caller's scope")
    @blp.alt_response(409, description="The case is not at the dispatch centre")
    def post(self, body: dict[str, Any], case_id: int) -> Response:
        """Dispatch a case from the centre's queue (classify, place and raise urgency on the way,
        each a trail event)"""
        actor = current_actor()
        with db.write() as s:
            scope.get_case(s, actor, case_id)
            case = centre.dispatch(
                s,
                case_id,
                actor,
                body["to"],
                item=body.get("item"),
                workstation=body.get("workstation"),
                urgency=body.get("urgency"),
                reason=body.get("reason"),
            )
            out = case_json(s, case, actor)
        return with_etag(out)


@blp.route("/cases/<int:case_id>/answer")
class Answer(MethodView):
    @blp.arguments(AnswerSchema)
    @blp.response(200, CaseSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @blp.alt_response(403, description="Not a dispatcher of the centre that holds the case")
    @blp.alt_response(404, description="No such case in the caller's scope")
    @blp.alt_response(409, description="The case is not at the dispatch centre")
    def post(self, body: dict[str, Any], case_id: int) -> Response:
        """Answer a consultation on the spot: the case ends with the answer given"""
        actor = current_actor()
        with db.write() as s:
            scope.get_case(s, actor, case_id)
            case = centre.answer(s, case_id, actor, body["answer"], item=body.get("item"))
            out = case_json(s, case, actor)
        return with_etag(out)


@blp.route("/cases/<int:case_id>/classify")
class Classify(MethodView):
    @blp.arguments(ClassifySchema)
    @blp.response(200, CaseSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @blp.alt_response(403, description="Not a dispatcher of the centre that holds the case")
    @blp.alt_response(404, description="No such case in the caller's scope")
    @blp.alt_response(409, description="The case is not at the dispatch centre")
    def post(self, body: dict[str, Any], case_id: int) -> Response:
        """Choose the item of a case at the dispatch centre"""
        actor = current_actor()
        with db.write() as s:
            scope.get_case(s, actor, case_id)
            centre.classify(s, case_id, actor, body["item"], reason=body.get("reason"))
        return _case(case_id)


@blp.route("/cases/<int:case_id>/place")
class Place(MethodView):
    @blp.arguments(PlaceSchema)
    @blp.response(200, CaseSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @blp.alt_response(403, description="Not a dispatcher of the centre that holds the case")
    @blp.alt_response(404, description="No such case in the caller's scope")
    @blp.alt_response(409, description="The case is not at the dispatch centre")
    def post(self, body: dict[str, Any], case_id: int) -> Response:
        """Choose or confirm the community of a case at the dispatch centre"""
        actor = current_actor()
        with db.write() as s:
            scope.get_case(s, actor, case_id)
            centre.place(s, case_id, actor, body["workstation"], reason=body.get("reason"))
        return _case(case_id)


@blp.route("/cases/<int:case_id>/similar")
class Similar(MethodView):
    @blp.response(200, CaseSchema(many=True))
    @blp.alt_response(404, description="No such case in the caller's scope")
    def get(self, case_id: int) -> list[dict[str, Any]]:
        """Likely duplicates: open cases of the same item and place opened within the window
        (STREETFLOW_DUPLICATE_WINDOW_DAYS) that the caller may see, the newest first"""
        actor = current_actor()
        s = db.session()
        case = scope.get_case(s, actor, case_id)
        return [
            case_json(s, c, actor)
            for c in duplicates.similar(s, case)
            if scope.in_scope(s, actor, c)
        ]


@blp.route("/cases/<int:case_id>/merge")
class Merge(MethodView):
    @blp.arguments(MergeSchema)
    @blp.response(200, CaseSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @blp.alt_response(
        403, description="Not the dispatcher or clerk holding the case before it is accepted"
    )
    @blp.alt_response(404, description="No such case (or `into`) in the caller's scope")
    @blp.alt_response(409, description="Either case is closed")
    def post(self, body: dict[str, Any], case_id: int) -> Response:
        """Merge a case into an open one (合并): it closes as merged; its resident rates the
        master's outcome when the master ends"""
        actor = current_actor()
        with db.write() as s:
            scope.get_case(s, actor, case_id)
            scope.get_case(s, actor, body["into"])
            case = duplicates.merge(s, case_id, actor, body["into"], reason=body["reason"])
            out = case_json(s, case, actor)
        return with_etag(out)
