"""Supervision records (督办) and extensions (延期): list, acknowledge, request, decide."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from api import db, scope
from api.auth import current_actor
from api.schemas import Int, PageArgs, page_of, page_schema
from workflow.audit import chain
from workflow.catalog import registry
from workflow.errors import NotFound
from workflow.runtime import sla
from workflow.runtime.machines import Actor
from workflow.store.models import Case, Extension, Supervision

blp = Blueprint(
    "supervision",
    __name__,
    url_prefix="/api/v1",
    description="Supervision records (督办) of overdue stages, and extensions (延期)",
)


# ---------------------------------------------------------------- schemas


class SupervisionSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    case = ma.fields.Integer(required=True)
    stage_seq = ma.fields.Integer(
        required=True, metadata={"description": "the trail event that began the late stage"}
    )
    state = ma.fields.String(required=True)
    holder = ma.fields.String(allow_none=True, required=True)
    unit = ma.fields.String(required=True, metadata={"description": "the supervising unit"})
    also_unit = ma.fields.String(
        allow_none=True, metadata={"description": "a stationed agency's host street"}
    )
    stage_due_at = ma.fields.String(required=True)
    raised_at = ma.fields.String(required=True)
    acknowledged_at = ma.fields.String(allow_none=True, required=True)
    acknowledged_by = ma.fields.String(allow_none=True, required=True)
    open = ma.fields.Boolean(required=True, metadata={"description": "not acknowledged yet"})
    active = ma.fields.Boolean(
        metadata={
            "description": "the case is still on the late stage; once it moves on (or closes) "
            "the supervision asks for nothing"
        }
    )
    level = ma.fields.String(
        validate=ma.validate.OneOf(("supervision", "listed")),
        metadata={"description": "督办, or 挂牌督办 once the district has listed it"},
    )
    explanation = ma.fields.String(allow_none=True)
    fix_date = ma.fields.String(allow_none=True, metadata={"description": "YYYY-MM-DD"})
    answered_by = ma.fields.String(allow_none=True)
    answered_at = ma.fields.String(allow_none=True)
    list_at = ma.fields.String(allow_none=True, metadata={"description": "listed if still late"})
    listed_at = ma.fields.String(allow_none=True)
    listed_unit = ma.fields.String(allow_none=True)


class SupervisionAnswerSchema(ma.Schema):
    explanation = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=4000))
    fix_date = ma.fields.Date(required=True, metadata={"description": "done by this day"})


class SupervisionArgs(PageArgs):
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
    case = ma.fields.Integer(required=True)
    stage_seq = ma.fields.Integer(required=True)
    state = ma.fields.String(required=True)
    holder = ma.fields.String(required=True)
    unit = ma.fields.String(required=True, metadata={"description": "who decides"})
    requested_by = ma.fields.String(required=True)
    requested_at = ma.fields.String(required=True)
    reason = ma.fields.String(required=True)
    days = ma.fields.Integer(required=True)
    status = ma.fields.String(
        required=True, validate=ma.validate.OneOf(("pending", "approved", "refused"))
    )
    decided_by = ma.fields.String(allow_none=True, required=True)
    decided_at = ma.fields.String(allow_none=True, required=True)
    decision_reason = ma.fields.String(allow_none=True, required=True)
    new_stage_due_at = ma.fields.String(allow_none=True, required=True)


class ExtensionArgs(PageArgs):
    unit = ma.fields.String(validate=ma.validate.Length(max=32))
    status = ma.fields.String(validate=ma.validate.OneOf(("pending", "approved", "refused")))
    case = Int(max=scope.MAX_ID)


class ExtensionRequestSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=4000))
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


SupervisionPage = page_schema(SupervisionSchema, "SupervisionPage")
ExtensionPage = page_schema(ExtensionSchema, "ExtensionPage")


def _iso(at: Any) -> str | None:
    return chain.format_at(at) if at is not None else None


def supervision_json(sup: Supervision, active: bool | None = None) -> dict[str, Any]:
    return {
        **({"active": active} if active is not None else {}),
        "level": "listed" if sup.listed_at is not None else "supervision",
        "explanation": sup.explanation,
        "fix_date": sup.fix_date.isoformat() if sup.fix_date else None,
        "answered_by": sup.answered_by,
        "answered_at": _iso(sup.answered_at),
        "list_at": _iso(sup.list_at),
        "listed_at": _iso(sup.listed_at),
        "listed_unit": sup.listed_unit,
        "id": sup.id,
        "case": sup.case_id,
        "stage_seq": sup.stage_seq,
        "state": sup.state,
        "holder": sup.holder,
        "unit": sup.unit,
        "also_unit": sup.also_unit,
        "stage_due_at": _iso(sup.stage_due_at),
        "raised_at": _iso(sup.raised_at),
        "acknowledged_at": _iso(sup.acknowledged_at),
        "acknowledged_by": sup.acknowledged_by,
        "open": sup.acknowledged_at is None,
    }


def extension_json(ext: Extension) -> dict[str, Any]:
    return {
        "id": ext.id,
        "case": ext.case_id,
        "stage_seq": ext.stage_seq,
        "state": ext.state,
        "holder": ext.holder,
        "unit": ext.unit,
        "requested_by": ext.requested_by,
        "requested_at": _iso(ext.requested_at),
        "reason": ext.reason,
        "days": ext.days,
        "status": ext.status,
        "decided_by": ext.decided_by,
        "decided_at": _iso(ext.decided_at),
        "decision_reason": ext.decision_reason,
        "new_stage_due_at": _iso(ext.new_stage_due_at),
    }


# ---------------------------------------------------------------- scope


def _addressed(session: Session, actor: Actor) -> set[str]:
    """The units whose supervisions ACTOR answers for: their own (staff and admins only)."""
    if actor.role not in sla.SUPERVISOR_ROLES or not actor.unit:
        return set()
    return {actor.unit} if actor.unit in registry.units(session).units else set()


def supervision_filter(session: Session, actor: Actor) -> ColumnElement[bool]:
    """What ACTOR may see: the supervisions of the cases they may see, and those addressed to
    their unit (a department sees its agencies' late stages, a district all it is sent)."""
    units = _addressed(session, actor)
    seen = select(Case.id).where(scope.case_filter(session, actor))
    clauses = [Supervision.case_id.in_(seen)]
    if units:
        clauses += [Supervision.unit.in_(units), Supervision.also_unit.in_(units)]
    return or_(*clauses) if actor.role != "auditor" else Supervision.case_id.in_(seen)


def extension_filter(session: Session, actor: Actor) -> ColumnElement[bool]:
    units = _addressed(session, actor)
    seen = select(Case.id).where(scope.case_filter(session, actor))
    clauses = [Extension.case_id.in_(seen)]
    if units:
        clauses.append(Extension.unit.in_(units))
    return or_(*clauses) if actor.role != "auditor" else Extension.case_id.in_(seen)


def _visible(session: Session, model: Any, row_id: int, where: ColumnElement[bool]) -> Any:
    name = model.__tablename__.rstrip("s")
    if not 1 <= row_id <= scope.MAX_ID:
        raise NotFound(f"no {name} {row_id}")
    row = session.execute(select(model).where(model.id == row_id, where)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no {name} {row_id}")
    return row


# ---------------------------------------------------------------- endpoints


@blp.route("/supervisions")
class Supervisions(MethodView):
    @blp.arguments(SupervisionArgs, location="query")
    @blp.response(200, SupervisionPage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Supervision records the caller may see, newest first; `unit` and `open` filter"""
        actor = current_actor()
        s = db.session()
        offset, limit = page_of(args)
        where = [supervision_filter(s, actor)]
        if args.get("unit"):
            where.append(
                or_(Supervision.unit == args["unit"], Supervision.also_unit == args["unit"])
            )
        if "open" in args:
            done = Supervision.acknowledged_at.is_not(None)
            where.append(~done if args["open"] else done)
        if args.get("case"):
            where.append(Supervision.case_id == args["case"])
        total = s.execute(select(func.count()).select_from(Supervision).where(*where)).scalar_one()
        rows = list(
            s.execute(
                select(Supervision)
                .where(*where)
                .order_by(Supervision.id.desc())
                .offset(offset)
                .limit(limit)
            ).scalars()
        )
        active = set(
            s.execute(
                select(Supervision.id).where(
                    Supervision.id.in_([x.id for x in rows]), sla.still_open()
                )
            ).scalars()
        )
        return {
            "items": [supervision_json(x, x.id in active) for x in rows],
            "page": args["page"],
            "per_page": limit,
            "total": total,
        }


@blp.route("/supervisions/<int:supervision_id>/acknowledgement")
class Acknowledgement(MethodView):
    @blp.response(200, SupervisionSchema)
    @blp.alt_response(403, description="The supervision is not addressed to the caller's unit")
    @blp.alt_response(404, description="No such supervision in the caller's scope")
    @blp.alt_response(409, description="Acknowledged already")
    def post(self, supervision_id: int) -> dict[str, Any]:
        """Acknowledge a supervision (staff or admin of the unit it is addressed to)"""
        actor = current_actor()
        with db.write() as s:
            _visible(s, Supervision, supervision_id, supervision_filter(s, actor))
            sup = sla.acknowledge_supervision(s, supervision_id=supervision_id, actor=actor)
            return supervision_json(sup, sla.is_open(s, sup))


@blp.route("/supervisions/<int:supervision_id>/answer")
class Answer(MethodView):
    @blp.arguments(SupervisionAnswerSchema)
    @blp.response(200, SupervisionSchema)
    @blp.alt_response(403, description="The caller's unit is not the late stage's holder")
    @blp.alt_response(404, description="No such supervision in the caller's scope")
    @blp.alt_response(409, description="Answered already, or the case has moved on")
    def post(self, body: dict[str, Any], supervision_id: int) -> dict[str, Any]:
        """Answer a supervision (the holder): a written explanation and the date it will be done"""
        actor = current_actor()
        with db.write() as s:
            _visible(s, Supervision, supervision_id, supervision_filter(s, actor))
            sup = sla.answer_supervision(
                s,
                supervision_id=supervision_id,
                actor=actor,
                explanation=body["explanation"],
                fix_date=body["fix_date"],
            )
            return supervision_json(sup, sla.is_open(s, sup))


@blp.route("/extensions")
class Extensions(MethodView):
    @blp.arguments(ExtensionArgs, location="query")
    @blp.response(200, ExtensionPage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Extension requests the caller may see (of their cases, or for them to decide)"""
        actor = current_actor()
        s = db.session()
        offset, limit = page_of(args)
        where = [extension_filter(s, actor)]
        for name, column in (
            ("unit", Extension.unit),
            ("status", Extension.status),
            ("case", Extension.case_id),
        ):
            if args.get(name):
                where.append(column == args[name])
        total = s.execute(select(func.count()).select_from(Extension).where(*where)).scalar_one()
        rows = s.execute(
            select(Extension)
            .where(*where)
            .order_by(Extension.id.desc())
            .offset(offset)
            .limit(limit)
        ).scalars()
        return {
            "items": [extension_json(x) for x in rows],
            "page": args["page"],
            "per_page": limit,
            "total": total,
        }


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
    def post(self, body: dict[str, Any], case_id: int) -> dict[str, Any]:
        """Ask for more working days on the case's current stage, before its limit (the holder)"""
        actor = current_actor()
        with db.write() as s:
            scope.get_case(s, actor, case_id)
            ext = sla.request_extension(
                s, case_id=case_id, actor=actor, reason=body["reason"], days=body["days"]
            )
            return extension_json(ext)


@blp.route("/extensions/<int:extension_id>/decision")
class Decision(MethodView):
    @blp.arguments(ExtensionDecisionSchema)
    @blp.response(200, ExtensionSchema)
    @blp.alt_response(403, description="The caller's unit does not supervise the stage")
    @blp.alt_response(404, description="No such extension in the caller's scope")
    @blp.alt_response(409, description="Decided already, or the stage has ended")
    def post(self, body: dict[str, Any], extension_id: int) -> dict[str, Any]:
        """Approve (with the working days granted) or refuse (with a reason) an extension"""
        actor = current_actor()
        with db.write() as s:
            _visible(s, Extension, extension_id, extension_filter(s, actor))
            ext = sla.decide_extension(
                s,
                extension_id=extension_id,
                actor=actor,
                approve=body["approve"],
                reason=body.get("reason"),
                days=body.get("days"),
            )
            return extension_json(ext)
