"""Supervision records (督办) and extensions (延期): list, acknowledge, request, decide. The lists
and who sees what are workflow.queries' (the console reads the same); the schemas write the
records."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from api import db
from api.auth import current_actor
from api.blueprint import Blueprint
from api.schemas import At, Int, KeysetPageArgs, page_body, page_of, page_schema
from workflow.queries import extensions as extension_queries
from workflow.queries import scope
from workflow.queries import supervisions as supervision_queries
from workflow.runtime import sla
from workflow.store.models import Extension, Supervision

blp = Blueprint(
    "supervision",
    __name__,
    url_prefix="/api/v1",
    description="Supervision records (督办) of overdue stages, and extensions (延期)",
)


# ---------------------------------------------------------------- schemas


class SupervisionSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    case = ma.fields.Integer(required=True, attribute="case_id")
    stage_seq = ma.fields.Integer(
        required=True, metadata={"description": "the trail event that began the late stage"}
    )
    task = ma.fields.Integer(
        attribute="task_id",
        allow_none=True,
        metadata={"description": "a task's late step (its unit's supervisor; the street copied)"},
    )
    state = ma.fields.String(required=True)
    holder = ma.fields.String(allow_none=True, required=True)
    unit = ma.fields.String(required=True, metadata={"description": "the supervising unit"})
    also_unit = ma.fields.String(
        allow_none=True, metadata={"description": "a stationed agency's host street"}
    )
    stage_due_at = At(required=True)
    raised_at = At(required=True)
    acknowledged_at = At(allow_none=True, required=True)
    acknowledged_by = ma.fields.String(allow_none=True, required=True)
    open = ma.fields.Function(
        lambda sup: sup.acknowledged_at is None,
        required=True,
        metadata={"type": "boolean", "description": "not acknowledged yet"},
    )
    active = ma.fields.Function(
        lambda sup: getattr(sup, "active", None),
        metadata={
            "type": "boolean",
            "description": "the case (or task) is still on the late stage; once it moves on "
            "the supervision asks for nothing",
        },
    )
    level = ma.fields.Function(
        lambda sup: "listed" if sup.listed_at is not None else "supervision",
        metadata={"type": "string", "description": "督办, or 挂牌督办 once listed"},
    )
    explanation = ma.fields.String(allow_none=True)
    fix_date = ma.fields.Date(allow_none=True)
    answered_by = ma.fields.String(allow_none=True)
    answered_at = At(allow_none=True)
    list_at = At(allow_none=True, metadata={"description": "listed then if still late"})
    listed_at = At(allow_none=True)
    listed_unit = ma.fields.String(allow_none=True)


class SupervisionAnswerSchema(ma.Schema):
    explanation = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=4000))
    fix_date = ma.fields.Date(required=True, metadata={"description": "done by this day"})


class SupervisionArgs(KeysetPageArgs):
    unit = ma.fields.String(
        validate=ma.validate.Length(max=32),
        metadata={"description": "addressed to this unit (as supervising unit or host street)"},
    )
    open = ma.fields.Boolean(
        metadata={"description": "true: not acknowledged; false: acknowledged"}
    )
    case = Int(max=scope.MAX_ID)


class ExtensionSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    case = ma.fields.Integer(required=True, attribute="case_id")
    stage_seq = ma.fields.Integer(required=True)
    task = ma.fields.Integer(
        attribute="task_id",
        allow_none=True,
        metadata={"description": "a task's step, not the case's"},
    )
    state = ma.fields.String(required=True)
    holder = ma.fields.String(required=True)
    unit = ma.fields.String(required=True, metadata={"description": "who decides"})
    requested_by = ma.fields.String(required=True)
    requested_at = At(required=True)
    reason = ma.fields.String(required=True)
    days = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(extension_queries.STATUSES))
    decided_by = ma.fields.String(allow_none=True, required=True)
    decided_at = At(allow_none=True, required=True)
    decision_reason = ma.fields.String(allow_none=True, required=True)
    new_stage_due_at = At(allow_none=True, required=True)


class ExtensionArgs(KeysetPageArgs):
    unit = ma.fields.String(validate=ma.validate.Length(max=32))
    status = ma.fields.String(validate=ma.validate.OneOf(extension_queries.STATUSES))
    case = Int(max=scope.MAX_ID)


class ExtensionRequestSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=4000))
    task = Int(
        max=scope.MAX_ID,
        metadata={"description": "a called unit's task of the case: more time on its step"},
    )
    days = ma.fields.Integer(
        required=True,
        strict=True,
        validate=ma.validate.Range(1, sla.MAX_EXTENSION_DAYS),
        metadata={"description": "working days asked for"},
    )


class ExtensionDecisionSchema(ma.Schema):
    approve = ma.fields.Boolean(required=True, truthy={True}, falsy={False})
    reason = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(max=4000),
        metadata={"description": "required to refuse"},
    )
    days = ma.fields.Integer(
        allow_none=True,
        strict=True,
        validate=ma.validate.Range(1, sla.MAX_EXTENSION_DAYS),
        metadata={"description": "working days granted (default: those asked for)"},
    )


SupervisionPage = page_schema(SupervisionSchema, "SupervisionPage", keyset=True)
ExtensionPage = page_schema(ExtensionSchema, "ExtensionPage", keyset=True)


# ---------------------------------------------------------------- endpoints


@blp.route("/supervisions")
class Supervisions(MethodView):
    @blp.arguments(SupervisionArgs, location="query")
    @blp.response(200, SupervisionPage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Supervision records the caller may see, newest first; `unit` and `open` filter"""
        offset, limit = page_of(args)
        page = supervision_queries.list_supervisions(
            db.session(),
            actor=current_actor(),
            unit=args.get("unit"),
            open=args.get("open"),
            case=args.get("case"),
            after=args.get("after"),
            offset=offset,
            limit=limit,
        )
        sla.mark_active(db.session(), page.items)
        return page_body(args, page)


@blp.route("/supervisions/<int:supervision_id>/acknowledgement")
class Acknowledgement(MethodView):
    @blp.response(200, SupervisionSchema)
    @blp.alt_response(403, description="The supervision is not addressed to the caller's unit")
    @blp.alt_response(404, description="No such supervision in the caller's scope")
    @blp.alt_response(409, description="Acknowledged already")
    def post(self, supervision_id: int) -> Supervision:
        """Acknowledge a supervision (staff or admin of the unit it is addressed to)"""
        actor = current_actor()
        with db.write() as s:
            supervision_queries.get_visible(s, actor=actor, supervision_id=supervision_id)
            sup = sla.acknowledge_supervision(s, supervision_id=supervision_id, actor=actor)
            sla.mark_active(s, [sup])
            return sup


@blp.route("/supervisions/<int:supervision_id>/answer")
class Answer(MethodView):
    @blp.arguments(SupervisionAnswerSchema)
    @blp.response(200, SupervisionSchema)
    @blp.alt_response(403, description="The caller's unit is not the late stage's holder")
    @blp.alt_response(404, description="No such supervision in the caller's scope")
    @blp.alt_response(409, description="Answered already, or the case has moved on")
    def post(self, body: dict[str, Any], supervision_id: int) -> Supervision:
        """Answer a supervision (the holder): a written explanation and the date it will be done"""
        actor = current_actor()
        with db.write() as s:
            supervision_queries.get_visible(s, actor=actor, supervision_id=supervision_id)
            sup = sla.answer_supervision(
                s,
                supervision_id=supervision_id,
                actor=actor,
                explanation=body["explanation"],
                fix_date=body["fix_date"],
            )
            sla.mark_active(s, [sup])
            return sup


@blp.route("/extensions")
class Extensions(MethodView):
    @blp.arguments(ExtensionArgs, location="query")
    @blp.response(200, ExtensionPage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Extension requests the caller may see (of their cases, or for them to decide)"""
        offset, limit = page_of(args)
        page = extension_queries.list_extensions(
            db.session(),
            actor=current_actor(),
            unit=args.get("unit"),
            status=args.get("status"),
            case=args.get("case"),
            after=args.get("after"),
            offset=offset,
            limit=limit,
        )
        return page_body(args, page)


@blp.route("/cases/<int:case_id>/extensions")
class CaseExtensions(MethodView):
    @blp.arguments(ExtensionRequestSchema)
    @blp.response(201, ExtensionSchema)
    @blp.alt_response(403, description="The caller's unit does not hold the case")
    @blp.alt_response(404, description="No such case in the caller's scope")
    @blp.alt_response(
        409,
        description="No limit, the clock is stopped, the limit has passed, "
        "or a request of this stage is pending",
    )
    def post(self, body: dict[str, Any], case_id: int) -> Extension:
        """Ask for more working days on the case's current stage, before its limit (the holder)"""
        actor = current_actor()
        with db.write() as s:
            scope.get_case(s, actor, case_id)
            return sla.request_extension(
                s,
                case_id=case_id,
                actor=actor,
                reason=body["reason"],
                days=body["days"],
                task_id=body.get("task"),
            )


@blp.route("/extensions/<int:extension_id>/decision")
class Decision(MethodView):
    @blp.arguments(ExtensionDecisionSchema)
    @blp.response(200, ExtensionSchema)
    @blp.alt_response(403, description="The caller's unit does not supervise the stage")
    @blp.alt_response(404, description="No such extension in the caller's scope")
    @blp.alt_response(409, description="Decided already, or the stage has ended")
    def post(self, body: dict[str, Any], extension_id: int) -> Extension:
        """Approve (with the working days granted) or refuse (with a reason) an extension"""
        actor = current_actor()
        with db.write() as s:
            extension_queries.get_visible(s, actor=actor, extension_id=extension_id)
            return sla.decide_extension(
                s,
                extension_id=extension_id,
                actor=actor,
                approve=body["approve"],
                reason=body.get("reason"),
                days=body.get("days"),
            )
