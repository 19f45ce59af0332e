"""Returns (退单) in the console: the requester's form on the case page, the reviewer's queue
with the time left to decide, and the urgency and supervision answers of the case page. Every
change goes through the engine."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from api import db
from api.console.common import bp, caller, countdown, signed_in
from workflow.errors import InvalidInput
from workflow.queries import returns as queries
from workflow.queries import scope
from workflow.runtime import returns, sla, urgency
from workflow.store.models import Case, ReturnRequest


def _row(ret: ReturnRequest) -> dict[str, Any]:
    s = db.session()
    case = s.get(Case, ret.case_id)
    level = case.urgency if case is not None else None
    return {
        "ret": ret,
        "json": queries.return_json(s, ret, now=dt.datetime.now(dt.UTC)),
        "countdown": countdown(ret.review_due_at, level) if ret.status == "pending" else None,
        "urgency": level,
    }


@bp.get("/returns")
@signed_in("clerk", "staff", "admin", "auditor")
def returns_page() -> str:
    """The returns for the user's unit to review (pending first, the least time left first),
    and those its unit asked for."""
    c = caller()
    s = db.session()
    rows = queries.list_returns(s, actor=c.actor, limit=100).items
    to_review = [r for r in rows if r.reviewer == c.unit or c.role == "auditor"]
    to_review.sort(key=lambda r: (r.status != "pending", r.review_due_at))
    asked = [r for r in rows if r.unit == c.unit]
    return render_template(
        "console/returns.html",
        to_review=[_row(r) for r in to_review],
        asked=[_row(r) for r in asked],
    )


@bp.post("/cases/<int:case_id>/returns")
@signed_in("clerk", "staff", "admin")
def request_return(case_id: int) -> Any:
    c = caller()
    raw_task = request.form.get("task", "")
    task = int(raw_task) if raw_task.isdigit() and len(raw_task) < 10 else None
    if raw_task and task is None:
        raise InvalidInput(_("No such task."), {"task": [raw_task[:20]]})
    with db.write() as w:
        scope.get_case(w, c.actor, case_id)
        ret = returns.request_return(
            w,
            case_id=case_id,
            actor=c.actor,
            category=request.form.get("category", ""),
            reason=request.form.get("reason", ""),
            task=task,
        )
        rid = ret.id
    flash(_("Return %(id)s requested: the reviewer decides.", id=rid), "ok")
    return redirect(url_for("console.case", case_id=case_id))


@bp.post("/returns/<int:return_id>/decide")
@signed_in("staff", "admin")
def decide_return(return_id: int) -> Any:
    c = caller()
    approve = request.form.get("decision") == "approve"
    if not 1 <= return_id <= scope.MAX_ID:
        abort(404)
    with db.write() as w:
        queries.get_return(w, actor=c.actor, return_id=return_id)
        returns.decide_return(
            w,
            return_id=return_id,
            actor=c.actor,
            approve=approve,
            reason=request.form.get("reason", ""),
            to=(request.form.get("to") or None) if approve else None,
            at_fault=(request.form.get("at_fault") or None) if approve else None,
        )
    flash(_("Return approved.") if approve else _("Return refused."), "ok")
    return redirect(url_for("console.returns_page"))


@bp.post("/cases/<int:case_id>/urgency")
@signed_in("clerk", "staff", "admin")
def change_urgency(case_id: int) -> Any:
    c = caller()
    with db.write() as w:
        scope.get_case(w, c.actor, case_id)
        urgency.set_urgency(
            w,
            case_id=case_id,
            actor=c.actor,
            urgency=request.form.get("urgency", ""),
            reason=request.form.get("reason", ""),
        )
    flash(_("Urgency changed."), "ok")
    return redirect(url_for("console.case", case_id=case_id))


@bp.post("/supervisions/<int:supervision_id>/answer")
@signed_in("clerk", "staff", "admin")
def answer_supervision(supervision_id: int) -> Any:
    c = caller()
    raw = request.form.get("fix_date", "")
    try:
        fix = dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            _("The fix date is a day like 2026-12-01."), {"fix_date": [raw[:20]]}
        ) from None
    with db.write() as w:
        sup = sla.answer_supervision(
            w,
            supervision_id=supervision_id,
            actor=c.actor,
            explanation=request.form.get("explanation", ""),
            fix_date=fix,
        )
        case_id = sup.case_id
    flash(_("Supervision answered."), "ok")
    return redirect(url_for("console.case", case_id=case_id))
