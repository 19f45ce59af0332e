"""The resident's voice in the console: the callback queue (回访), ratings, rectifications (整改)
and appeals (申诉); on a case page, its answers and the one-time link as a QR code."""

from __future__ import annotations

import functools
from typing import Any

import segno
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy.orm import Session

from api import db
from api.console import labels
from api.console.common import bp, caller, signed_in
from api.resources.feedback import link_url
from workflow.actors import Actor
from workflow.catalog import registry
from workflow.errors import InvalidInput
from workflow.feedback import CHANNELS, LEVELS, callbacks, rectification
from workflow.feedback import appeals as appeal_rules
from workflow.queries import feedback as lists
from workflow.store.models import Appeal, Case, Feedback, Rectification


@functools.lru_cache(maxsize=512)
def qr_svg(url: str) -> Markup:
    """The link as an inline SVG QR code, drawn on the server (no script, no outside service);
    kept for the links shown again (drawing one is a third of a case page's time)."""
    svg = segno.make(url, error="m").svg_inline(scale=4, title=url)
    return Markup(svg)  # segno escapes the title, the only text in it


def case_feedback(s: Session, actor: Actor, case_id: int) -> list[dict[str, Any]]:
    """Every round of the case's feedback the caller may see, with the QR code where they hand
    the link to the resident."""
    rows = lists.feedback(s, actor=actor, case=case_id, limit=lists.MAX_PER_PAGE).items
    out = []
    for fb in sorted(rows, key=lambda f: f.round):
        link = link_url(fb.code) if fb.code and lists.may_see_link(s, actor=actor, fb=fb) else None
        out.append({"fb": fb, "link": link, "qr": qr_svg(link) if link else None})
    return out


def _item_names(s: Session, case_ids: set[int]) -> dict[int, str]:
    out = {}
    for case_id in case_ids:
        case = s.get(Case, case_id)
        if case is not None:
            item = registry.item(s, case.item, case.list_version)[0]
            out[case_id] = labels.named(item, case.item)
    return out


def _after() -> int | None:
    raw = request.args.get("after", "")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 2**31 else None


@bp.get("/feedback")
@signed_in()
def feedback_queue(contact: dict[int, tuple[str, str]] | None = None) -> str:
    """The callback queue (pending) or the ratings given."""
    c = caller()
    show = "given" if request.args.get("show") == "given" else "pending"
    s = db.session()
    page = lists.feedback(s, actor=c.actor, status=show, after=_after())
    return render_template(
        "console/feedback.html",
        show=show,
        page=page,
        names=_item_names(s, {f.case_id for f in page.items}),
        levels=LEVELS,
        channels=CHANNELS,
        contact=contact or {},
    )


@bp.post("/feedback/<int:feedback_id>/contact")
@signed_in("callback")
def contact(feedback_id: int) -> str:
    """The resident's phone for the call, shown on the queue; the read is in the trail."""
    c = caller()
    with db.write() as w:
        shown = callbacks.contact_for_call(w, feedback_id, c.actor)
    return feedback_queue(contact={feedback_id: shown})


@bp.post("/cases/<int:case_id>/feedback")
@signed_in("callback")
def record_call(case_id: int) -> Any:
    """A callback operator records what the resident answered on the call."""
    c = caller()
    level = request.form.get("level", "")
    resolved = {"1": True, "0": False}.get(request.form.get("resolved", ""))
    with db.write() as w:
        callbacks.record_call(
            w,
            case_id,
            c.actor,
            level=int(level) if level in ("1", "2", "3", "4", "5") else None,
            resolved=resolved,
            comment=request.form.get("comment") or None,
            channel=request.form.get("channel", "phone"),
        )
    flash(_("The answer is recorded."), "ok")
    return redirect(url_for("console.feedback_queue"))


@bp.get("/rectifications")
@signed_in()
def rectifications() -> str:
    c = caller()
    show = "reported" if request.args.get("show") == "reported" else "open"
    s = db.session()
    page = lists.rectifications(s, actor=c.actor, status=show, after=_after())
    return render_template(
        "console/rectifications.html",
        show=show,
        page=page,
        names=_item_names(s, {r.case_id for r in page.items}),
    )


@bp.post("/rectifications/<int:rectification_id>/report")
@signed_in("clerk", "staff", "admin")
def report_rectification(rectification_id: int) -> Any:
    c = caller()
    with db.write() as w:
        lists.one(w, actor=c.actor, model=Rectification, row_id=rectification_id)
        rectification.report(w, rectification_id, c.actor, text=request.form.get("report", ""))
    flash(_("Reported: the resident will be asked again."), "ok")
    return redirect(url_for("console.rectifications"))


@bp.get("/appeals")
@signed_in()
def appeals() -> str:
    c = caller()
    show = request.args.get("show", "pending")
    if show not in lists.APPEAL_STATUSES:
        show = "pending"
    s = db.session()
    page = lists.appeals(s, actor=c.actor, status=show, after=_after())
    return render_template(
        "console/appeals.html",
        show=show,
        page=page,
        names=_item_names(s, {a.case_id for a in page.items}),
        may_decide=appeal_rules.is_district_admin(s, c.actor),
    )


@bp.post("/ratings/<int:rating_id>/appeal")
@signed_in("clerk", "staff", "admin")
def appeal(rating_id: int) -> Any:
    c = caller()
    with db.write() as w:
        lists.one(w, actor=c.actor, model=Feedback, row_id=rating_id)
        appeal_rules.appeal(w, rating_id, c.actor, reason=request.form.get("reason", ""))
    flash(_("Appeal sent to the district."), "ok")
    return redirect(url_for("console.appeals"))


@bp.post("/appeals/<int:appeal_id>/decision")
@signed_in("admin")
def decide_appeal(appeal_id: int) -> Any:
    c = caller()
    uphold = {"1": True, "0": False}.get(request.form.get("uphold", ""))
    if uphold is None:
        raise InvalidInput(_("Uphold the appeal or reject it."), {"uphold": ["required"]})
    with db.write() as w:
        lists.one(w, actor=c.actor, model=Appeal, row_id=appeal_id)
        appeal_rules.decide(
            w, appeal_id, c.actor, uphold=uphold, reason=request.form.get("reason", "")
        )
    flash(_("Decided."), "ok")
    return redirect(url_for("console.appeals", show="upheld" if uphold else "rejected"))
