"""problem+json (RFC 9457) for every error: HTTP errors, validation, the engine's refusals, crashes.

No request, however malformed, gets an HTML page or a 500 that says more than "internal error"."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from flask import Flask, Response, json, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from workflow.attachments.errors import Damaged, TooLarge, UnsupportedType
from workflow.errors import (
    Conflict,
    InvalidInput,
    NotAllowed,
    NotFound,
    NotHolder,
    StaleVersion,
    Unavailable,
    WorkflowError,
)

log = logging.getLogger("streetflow.api")
PROBLEM = "application/problem+json"
WORKFLOW_STATUS: dict[type[WorkflowError], int] = {
    TooLarge: 413,
    UnsupportedType: 415,
    Damaged: 500,
    NotFound: 404,
    NotHolder: 403,
    NotAllowed: 409,
    Conflict: 409,
    StaleVersion: 412,
    InvalidInput: 422,
    Unavailable: 503,
}


# A refused file (workflow.attachments): its reason by field, as a 422's.
FIELD_STATUSES = (413, 415, 422)


class ProblemSchema(ma.Schema):
    """An error, as every endpoint returns it (application/problem+json)."""

    type = ma.fields.String(metadata={"example": "about:blank"})
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "field -> messages (422 only)"},
    )
    code = ma.fields.String(
        metadata={
            "description": "the engine's refusal, a stable code (see the API's error codes); "
            "absent on errors that are not the engine's",
            "example": "needs_reason",
        }
    )
    params = ma.fields.Dict(
        metadata={
            "description": "the code's named values (a trigger, a case number, a unit code)",
            "example": {"trigger": "whistle"},
        }
    )


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    errors: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
    code: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> Response:
    from http import HTTPStatus

    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = {k: list(v) for k, v in errors.items()}
    if code is not None:
        body["code"] = code
        body["params"] = dict(params or {})
    resp = Response(json.dumps(body), status=status, mimetype=PROBLEM)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs' nested {"json": {"applicant": {"name": [...]}}} -> {"applicant.name": [...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            # The location (json, query, headers) is not part of a field's name.
            if not prefix and key in ("json", "query", "headers", "form", "view_args"):
                out.update(flatten_messages(value, ""))
                continue
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten_messages(value, name))
    elif isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            out[prefix or "_schema"] = [str(m) for m in messages]
        else:
            for m in messages:
                out.update(flatten_messages(m, prefix))
    else:
        out[prefix or "_schema"] = [str(messages)]
    return out


def from_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    headers = {k: v for k, v in exc.get_headers() if k.lower() not in ("content-type",)}
    headers.update(data.get("headers") or {})
    errors = None
    if "messages" in data:
        errors = flatten_messages(data["messages"])
    elif "errors" in data:
        errors = flatten_messages(data["errors"])
    detail = data.get("message") or exc.description or ""
    if status == 422:
        if errors and not data.get("message"):
            detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
        errors = errors or {}
    elif status == 400 and errors:
        # webargs reports undecodable JSON as a 400 with messages: keep it one readable line.
        detail = "; ".join(" ".join(v) for v in errors.values())
        errors = None
    if status >= 500:
        errors = None
    return problem(status, str(detail), errors=errors, headers=headers)


def from_workflow_error(exc: WorkflowError) -> Response:
    status = next((s for cls, s in WORKFLOW_STATUS.items() if isinstance(exc, cls)), 409)
    errors = exc.errors if status in FIELD_STATUSES else None
    if status == 422 and not errors:
        errors = {"_schema": [exc.detail]}
    return problem(
        status, exc.detail, title=exc.title, errors=errors, code=exc.code, params=exc.params
    )


def init_app(app: Flask, *, open311_errors: Any = None, console_errors: Any = None) -> None:
    """Register the handlers. OPEN311_ERRORS, when given, renders errors under /open311/;
    CONSOLE_ERRORS, errors under /console/ (pages, not problem+json)."""

    def render(resp: Response, exc: Exception | None = None) -> Response:
        if console_errors is not None and (
            request.path == "/console" or request.path.startswith("/console/")
        ):
            body = json.loads(resp.get_data())
            page: Response = console_errors(body["status"], body["detail"], resp.headers)
            return page
        if open311_errors is not None and request.path.startswith("/open311/"):
            body = json.loads(resp.get_data())
            out: Response = open311_errors(body["status"], body["detail"] or body["title"])
            for k, v in resp.headers.items():
                if k.lower() in ("allow", "retry-after"):
                    out.headers[k] = v
            return out
        return resp

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        original = getattr(exc, "original_exception", None)
        if (exc.code or 500) >= 500 and original is not None:
            return _crash(original)
        return render(from_http_exception(exc))

    @app.errorhandler(WorkflowError)
    def _workflow(exc: WorkflowError) -> Response:
        return render(from_workflow_error(exc))

    @app.errorhandler(OperationalError)
    def _database(exc: OperationalError) -> Response:
        log.error("database error on %s %s: %s", request.method, request.path, exc.orig)
        return render(problem(503, "the database is not available; try again shortly"))

    @app.errorhandler(Exception)
    def _crash(exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            return _http(exc)
        if isinstance(exc, WorkflowError):
            return _workflow(exc)
        if isinstance(exc, OperationalError):
            return _database(exc)
        log.exception("unexpected error on %s %s", request.method, request.path)
        return render(problem(500, "internal error; it has been logged"))
