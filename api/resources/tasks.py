"""Tasks: a case's parallel parts (a joint whistle's departments), listed, read and stepped."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import marshmallow as ma
from flask import Response, jsonify
from flask.views import MethodView
from sqlalchemy.orm import Session

from api import db
from api.auth import current_caller
from api.blueprint import Blueprint
from api.resources.cases import TEXT, TransitionHeaders, idempotent_write
from api.schemas import Int
from workflow.actors import Actor
from workflow.audit import chain
from workflow.catalog import registry
from workflow.errors import StaleVersion, WorkflowError
from workflow.queries import tasks as task_queries
from workflow.runtime import engine, tasks
from workflow.store.models import Task

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="Tasks")


class TaskSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    case = ma.fields.Integer(required=True)
    unit = ma.fields.String(required=True)
    unit_name = ma.fields.String()
    lead = ma.fields.Boolean(required=True, metadata={"description": "the lead unit (主办)"})
    required = ma.fields.Boolean(metadata={"description": "the join waits for it"})
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(tasks.STATUSES))
    state = ma.fields.String(metadata={"description": "the case's state that opened it"})
    round = ma.fields.Integer()
    version = ma.fields.Integer(metadata={"description": "the task's ETag"})
    report_due_at = ma.fields.String(allow_none=True, required=True)
    due_at = ma.fields.String(allow_none=True, required=True)
    stage_due_at = ma.fields.String(allow_none=True)
    light = ma.fields.String(validate=ma.validate.OneOf(("green", "yellow", "red", "none")))
    result = ma.fields.String(allow_none=True, required=True, metadata={"description": "办理结果"})
    created_at = ma.fields.String()
    updated_at = ma.fields.String()


class TaskListArgs(ma.Schema):
    unit = ma.fields.String(validate=ma.validate.Length(max=32))
    status = ma.fields.String(validate=ma.validate.OneOf(tasks.STATUSES))
    case = Int()
    after = Int(metadata={"description": "the last task id of the previous page"})
    per_page = Int(max=task_queries.MAX_PAGE, load_default=50)


class TaskPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TaskSchema), required=True)
    next = ma.fields.Integer(allow_none=True, metadata={"description": "pass as after="})


class ReportSchema(ma.Schema):
    pass


class DoneSchema(ma.Schema):
    result = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=TEXT))


class ReasonSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=TEXT))


def task_json(session: Session, task: Task) -> dict[str, Any]:
    out = tasks.task_json(task, engine.utcnow())
    u = registry.units(session).units.get(task.unit)
    out["unit_name"] = u.name_zh if u else task.unit
    return out


def with_etag(body: dict[str, Any], status: int = 200) -> Response:
    resp = jsonify(body)
    resp.status_code = status
    resp.headers["ETag"] = f'"{body["version"]}"'
    return resp


_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')


def _expected(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    m = _ETAG.match(if_match)
    if not m:
        raise StaleVersion(f"If-Match {if_match!r} does not match the task's ETag")
    return int(m.group(1))


@blp.route("")
class Tasks(MethodView):
    @blp.arguments(TaskListArgs, location="query")
    @blp.response(200, TaskPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The tasks the caller may see (a department its own; a street those of its cases)"""
        actor = current_caller().actor
        s = db.session()
        found = task_queries.list_tasks(
            s,
            actor=actor,
            unit=args.get("unit"),
            status=args.get("status"),
            case=args.get("case"),
            after=args.get("after"),
            limit=args["per_page"],
        )
        return {"items": [task_json(s, t) for t in found.items], "next": found.next}


@blp.route("/<int:task_id>")
class TaskResource(MethodView):
    @blp.response(200, TaskSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @blp.alt_response(404, description="No such task in the caller's scope")
    def get(self, task_id: int) -> Response:
        """One task, with its version as ETag"""
        actor = current_caller().actor
        s = db.session()
        return with_etag(task_json(s, task_queries.get_task(s, actor=actor, task_id=task_id)))


def _step(task_id: int, name: str, headers: dict[str, Any], body: dict[str, Any]) -> Response:
    caller = current_caller()
    actor: Actor = caller.actor
    key = headers.get("idempotency_key")
    digest = hashlib.sha256(
        chain.canonical_json({"task": task_id, "step": name, **body})
    ).hexdigest()

    def step(s: Session) -> dict[str, Any]:
        try:
            task = tasks.step(
                s,
                task_id,
                name,
                actor,
                result=body.get("result"),
                reason=body.get("reason"),
                expected_version=_expected(headers.get("if_match")),
            )
        except WorkflowError:
            # Outside the caller's scope every refusal is a 404: nothing is told.
            task_queries.get_task(s, actor=actor, task_id=task_id)
            raise
        return task_json(s, task)

    return idempotent_write(caller.user_id, key, digest, step)


_STEP_DOC = {
    "headers": {"ETag": {"schema": {"type": "string"}}},
}


@blp.route("/<int:task_id>/report")
class Report(MethodView):
    @blp.arguments(TransitionHeaders, location="headers")
    @blp.arguments(ReportSchema)
    @blp.response(200, TaskSchema, **_STEP_DOC)
    @blp.alt_response(403, description="Not the task's unit")
    @blp.alt_response(404, description="No such task in the caller's scope")
    @blp.alt_response(409, description="Not awaiting a report, or the case has moved on")
    @blp.alt_response(412, description="If-Match is stale")
    def post(self, headers: dict[str, Any], body: dict[str, Any], task_id: int) -> Response:
        """Report for duty (报到): the task's unit"""
        return _step(task_id, "report", headers, body)


@blp.route("/<int:task_id>/done")
class Done(MethodView):
    @blp.arguments(TransitionHeaders, location="headers")
    @blp.arguments(DoneSchema)
    @blp.response(200, TaskSchema, **_STEP_DOC)
    @blp.alt_response(403, description="Not the task's unit")
    @blp.alt_response(404, description="No such task in the caller's scope")
    @blp.alt_response(409, description="Not working, or the case has moved on")
    @blp.alt_response(412, description="If-Match is stale")
    def post(self, headers: dict[str, Any], body: dict[str, Any], task_id: int) -> Response:
        """Mark the unit's part done with its written result (办理结果)"""
        return _step(task_id, "done", headers, body)


@blp.route("/<int:task_id>/send_back")
class SendBack(MethodView):
    @blp.arguments(TransitionHeaders, location="headers")
    @blp.arguments(ReasonSchema)
    @blp.response(200, TaskSchema, **_STEP_DOC)
    @blp.alt_response(403, description="Not the commanding unit")
    @blp.alt_response(404, description="No such task in the caller's scope")
    @blp.alt_response(409, description="Not done, or the case has moved on")
    @blp.alt_response(412, description="If-Match is stale")
    def post(self, headers: dict[str, Any], body: dict[str, Any], task_id: int) -> Response:
        """Send a done part back to its unit with a reason (the commanding unit)"""
        return _step(task_id, "send_back", headers, body)


@blp.route("/<int:task_id>/cancel")
class Cancel(MethodView):
    @blp.arguments(TransitionHeaders, location="headers")
    @blp.arguments(ReasonSchema)
    @blp.response(200, TaskSchema, **_STEP_DOC)
    @blp.alt_response(403, description="Not the commanding unit")
    @blp.alt_response(404, description="No such task in the caller's scope")
    @blp.alt_response(409, description="Cancelled already, or the case has moved on")
    @blp.alt_response(412, description="If-Match is stale")
    def post(self, headers: dict[str, Any], body: dict[str, Any], task_id: int) -> Response:
        """Cancel a task with a reason (the commanding unit)"""
        return _step(task_id, "cancel", headers, body)
