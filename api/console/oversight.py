"""Time oversight in the console: supervision records (督办) and extension requests (延期)
addressed to the user's unit, acknowledged and decided here through the engine's sla module."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from api import db
from api.console.cases import _page, case_view, pages
from api.console.common import bp, caller, signed_in
from workflow.errors import InvalidInput, NotFound
from workflow.queries import cases as case_queries
from workflow.queries import extensions as extension_queries
from workflow.queries import scope
from workflow.queries import supervisions as supervision_queries
from workflow.runtime import sla
from workflow.store.models import Extension

PER_PAGE = 25
STAFF = ("staff", "admin", "clerk")


@bp.get("/supervisions")
@signed_in("staff", "admin", "auditor")
def supervisions() -> str:
    """Supervision records addressed to the user's unit (open first), or all for an auditor."""
    c = caller()
    s = db.session()
    show = request.args.get("show", "open")
    page = _page()
    rows = supervision_queries.list_supervisions(
        s,
        actor=c.actor,
        # An auditor reads every supervision of their part; others, those sent to their unit.
        unit=c.unit if c.role != "auditor" else None,
        open=True if show == "open" else None,
        # 挂牌督办: listed by the district, shown until the case moves on.
        listed=True if show == "listed" else None,
        offset=(page - 1) * PER_PAGE,
        limit=PER_PAGE,
    )
    cases = case_queries.by_ids(s, [sup.case_id for sup in rows.items])
    sla.mark_active(s, rows.items)
    return render_template(
        "console/supervisions.html",
        rows=[(sup, case_view(cases[sup.case_id])) for sup in rows.items],
        total=rows.total,
        exact=rows.exact,
        page=page,
        pages=pages(rows.total),
        show=show,
    )


@bp.post("/supervisions/<int:supervision_id>/acknowledge")
@signed_in("staff", "admin")
def acknowledge(supervision_id: int) -> Any:
    c = caller()
    with db.write() as w:
        try:
            supervision_queries.get_visible(w, actor=c.actor, supervision_id=supervision_id)
        except NotFound:
            abort(404, _("No supervision %(id)s.", id=supervision_id))
        sla.acknowledge_supervision(w, supervision_id=supervision_id, actor=c.actor)
    flash(_("Supervision %(id)s acknowledged.", id=supervision_id), "ok")
    return redirect(url_for("console.supervisions"))


@bp.get("/extensions")
@signed_in("staff", "admin", "clerk", "auditor")
def extensions() -> str:
    """Extension requests for the user's unit to decide, and those its own cases asked for."""
    c = caller()
    s = db.session()

    def of(**where: Any) -> list[tuple[Extension, dict[str, Any]]]:
        rows = extension_queries.pending_first(s, actor=c.actor, limit=100, **where)
        cases = case_queries.by_ids(s, [ext.case_id for ext in rows])
        return [(ext, case_view(cases[ext.case_id])) for ext in rows]

    # An auditor reads every extension of their part; others, those their unit decides, and
    # those their unit asked for.
    mine = of(unit=c.unit) if c.role != "auditor" else of()
    asked = of(holder=c.unit) if c.role != "auditor" else []
    return render_template(
        "console/extensions.html",
        # A decided request leaves the list to decide; it stays readable among the decided.
        to_decide=[r for r in mine if r[0].status == "pending"],
        decided=[r for r in mine if r[0].status != "pending"],
        asked=asked,
        max_days=sla.MAX_EXTENSION_DAYS,
    )


def _days(raw: str | None) -> int | None:
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(_("Days are a whole number."), {"days": [raw[:20]]}) from None


@bp.post("/cases/<int:case_id>/extension")
@signed_in(*STAFF)
def request_extension(case_id: int) -> Any:
    """The holder asks for more working days on the current stage."""
    c = caller()
    days = _days(request.form.get("days"))
    with db.write() as w:
        scope.get_case(w, c.actor, case_id)
        sla.request_extension(
            w,
            case_id=case_id,
            actor=c.actor,
            reason=request.form.get("reason") or "",
            days=days or 0,
        )
    flash(_("Extension requested."), "ok")
    return redirect(url_for("console.case", case_id=case_id))


@bp.post("/extensions/<int:extension_id>/decide")
@signed_in("staff", "admin")
def decide_extension(extension_id: int) -> Any:
    c = caller()
    approve = request.form.get("decision") == "approve"
    days = _days(request.form.get("days"))
    with db.write() as w:
        try:
            extension_queries.get_visible(w, actor=c.actor, extension_id=extension_id)
        except NotFound:
            abort(404, _("No extension %(id)s.", id=extension_id))
        sla.decide_extension(
            w,
            extension_id=extension_id,
            actor=c.actor,
            approve=approve,
            reason=request.form.get("reason") or None,
            days=days,
        )
    flash(_("Extension approved.") if approve else _("Extension refused."), "ok")
    return redirect(url_for("console.extensions"))
