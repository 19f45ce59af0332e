"""Time oversight in the console: supervision records (督办) and extension requests (延期)
addressed to the user's unit, acknowledged and decided here through the engine's sla module."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from api import db, scope
from api.console.cases import _page, case_view
from api.console.common import bp, caller, signed_in
from api.resources.supervision import extension_filter, supervision_filter
from workflow.errors import InvalidInput
from workflow.runtime import sla
from workflow.store.models import Case, Extension, Supervision

PER_PAGE = 25
STAFF = ("staff", "admin", "clerk")


@bp.get("/supervisions")
@signed_in("staff", "admin", "auditor")
def supervisions() -> str:
    """Supervision records addressed to the user's unit (open first), or all for an auditor."""
    c = caller()
    s = db.session()
    where: list[Any] = [supervision_filter(s, c.actor)]
    if c.role != "auditor":
        where.append(
            or_(
                Supervision.unit == c.unit,
                Supervision.also_unit == c.unit,
                Supervision.listed_unit == c.unit,
            )
        )
    show = request.args.get("show", "open")
    if show == "open":
        where.append(Supervision.acknowledged_at.is_(None))
    elif show == "listed":
        # 挂牌督办: listed by the district, shown here until the case moves on.
        where += [Supervision.listed_at.is_not(None), sla.still_open()]
    page = _page()
    total = s.execute(select(func.count()).select_from(Supervision).where(*where)).scalar_one()
    rows = list(
        s.execute(
            select(Supervision, Case)
            .join(Case, Case.id == Supervision.case_id)
            .where(*where)
            .order_by(Supervision.id.desc())
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE)
        ).all()
    )
    active = {
        sup.id: case.stage_seq == sup.stage_seq and case.tier is not None for sup, case in rows
    }
    return render_template(
        "console/supervisions.html",
        active=active,
        rows=[(sup, case_view(case)) for sup, case in rows],
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        show=show,
    )


@bp.post("/supervisions/<int:supervision_id>/acknowledge")
@signed_in("staff", "admin")
def acknowledge(supervision_id: int) -> Any:
    c = caller()
    if not 1 <= supervision_id <= scope.MAX_ID:
        abort(404)
    with db.write() as w:
        visible = w.execute(
            select(Supervision.id).where(
                Supervision.id == supervision_id, supervision_filter(w, c.actor)
            )
        ).scalar_one_or_none()
        if visible is None:
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
    visible = extension_filter(s, c.actor)

    def of(*where: Any) -> list[tuple[Extension, dict[str, Any]]]:
        rows = s.execute(
            select(Extension, Case)
            .join(Case, Case.id == Extension.case_id)
            .where(visible, *where)
            .order_by(Extension.status != "pending", Extension.id.desc())
            .limit(100)
        ).all()
        return [(ext, case_view(case)) for ext, case in rows]

    to_decide = of(Extension.unit == c.unit) if c.role != "auditor" else of()
    asked = of(Extension.holder == c.unit) if c.role != "auditor" else []
    return render_template(
        "console/extensions.html",
        to_decide=to_decide,
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
    if not 1 <= extension_id <= scope.MAX_ID:
        abort(404)
    with db.write() as w:
        visible = w.execute(
            select(Extension.id).where(Extension.id == extension_id, extension_filter(w, c.actor))
        ).scalar_one_or_none()
        if visible is None:
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
