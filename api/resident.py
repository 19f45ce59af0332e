"""The resident's one-time rating page, /f/{code}: no login, a small form in Chinese for a
phone, rate-limited. It shows nothing but the case's item name and date."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_limiter.util import get_remote_address

from api import db
from api.auth import limiter
from api.console.common import when
from workflow.catalog import registry
from workflow.errors import InvalidInput, NotFound
from workflow.feedback import LEVELS, callbacks, links
from workflow.runtime import engine
from workflow.store.models import Case

bp = Blueprint("resident", __name__, template_folder="templates")
# Guessing codes is slow: a few tries a minute from one address.
LIMIT = "20 per minute"


def _shown(code: str) -> dict[str, Any]:
    s = db.session()
    fb = links.by_code(s, code, engine.utcnow())
    case = s.get(Case, fb.case_id)
    assert case is not None
    item, _ = registry.item(s, case.item, case.list_version)
    # The day the case ended, in the instance's time zone; on a second round (after a
    # rectification) also the day the rectification was reported, which the round asks about.
    ended = case.closed_at or fb.created_at
    return {
        "item": item.name_zh,
        "date": when(ended)[:10],
        "rectified": when(fb.created_at)[:10] if fb.round > 1 else None,
        "code": code,
    }


def _gone() -> tuple[str, int]:
    return render_template("resident/gone.html"), 404


@bp.get("/f/<code>")
@limiter.limit(LIMIT, key_func=get_remote_address)
def form(code: str) -> Any:
    try:
        shown = _shown(code)
    except NotFound:
        return _gone()
    return render_template("resident/form.html", levels=LEVELS, errors={}, **shown)


@bp.post("/f/<code>")
@limiter.limit(LIMIT, key_func=get_remote_address)
def answer(code: str) -> Any:
    try:
        shown = _shown(code)
    except NotFound:
        return _gone()
    raw_level = request.form.get("level", "")
    raw_resolved = request.form.get("resolved", "")
    level = int(raw_level) if raw_level in ("1", "2", "3", "4", "5") else None
    resolved = {"1": True, "0": False}.get(raw_resolved)
    try:
        with db.write() as w:
            callbacks.answer_link(
                w,
                code,
                level=level,
                resolved=resolved,
                comment=request.form.get("comment") or None,
            )
    except InvalidInput as err:
        return (
            render_template("resident/form.html", levels=LEVELS, errors=err.errors, **shown),
            422,
        )
    except NotFound:
        return _gone()
    return render_template("resident/thanks.html")
