"""The dispatch centre's pages (12345/12349): its queue and a new call, a waiting case with the
dispatch and answer forms; and merging a likely duplicate (合并), from the case page too."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from api import db
from api.console import labels
from api.console.cases import PER_PAGE, _page, case_view, pages, timeline
from api.console.common import bp, caller, signed_in, units
from api.console.messages import say
from api.resources.cases import mask_phone, read_phone
from workflow.catalog import registry
from workflow.dispatch import centre, duplicates
from workflow.errors import InvalidInput, WorkflowError
from workflow.queries import scope
from workflow.runtime import engine
from workflow.spec.model import DISPATCH_STATE, URGENCIES
from workflow.store.models import Case


def _items() -> list[Any]:
    items, _v = registry.items(db.session())
    return sorted(items.values(), key=lambda i: i.code)


def _workstations(centre_code: str | None) -> list[str]:
    """The workstations a centre places in: its street's (12349), else every one (12345)."""
    index = units()
    own = index.street_of(centre_code or "")
    return sorted(
        c
        for c, u in index.units.items()
        if u.kind == "workstation" and (own is None or u.parent == own)
    )


def _consultations() -> list[Any]:
    s = db.session()
    out = []
    for it in _items():
        if centre.is_consultation(registry.route(s, it.route)[0]):
            out.append(it)
    return out


@bp.route("/dispatch", methods=["GET", "POST"])
@signed_in("dispatcher")
def dispatch_queue() -> Any:
    """The queue: what came in without a place or with an unclear item, the most urgent first;
    and the form that records a call."""
    c = caller()
    errors: dict[str, list[str]] = {}
    values = request.form if request.method == "POST" else {}
    if request.method == "POST":
        try:
            with db.write() as w:
                case = centre.open_at_dispatch(
                    w,
                    actor=c.actor,
                    applicant_name=request.form.get("name", ""),
                    applicant_phone=request.form.get("phone", ""),
                    description=request.form.get("description", ""),
                    item=request.form.get("item") or None,
                    workstation=request.form.get("workstation") or None,
                    urgency=request.form.get("urgency") or None,
                )
                case_id = case.id
            flash(_("Call recorded: case #%(id)s is in the queue.", id=case_id), "ok")
            return redirect(url_for("console.dispatch_case", case_id=case_id))
        except InvalidInput as exc:
            # The refusal said whole, in the user's words (its field errors are English).
            errors = {"_schema": [say(exc)]}
    page = _page()
    s = db.session()
    rows = centre.queue(s, c.actor, offset=(page - 1) * PER_PAGE, limit=PER_PAGE)
    return render_template(
        "console/dispatch_queue.html",
        rows=[case_view(r) for r in rows.items],
        total=rows.total or 0,
        exact=rows.exact,
        page=page,
        pages=pages(rows.total),
        items=_items(),
        workstations=_workstations(c.unit),
        urgencies=URGENCIES,
        errors=errors,
        values=values,
    ), (422 if errors else 200)


@bp.get("/dispatch/<int:case_id>")
@signed_in()
def dispatch_case(case_id: int) -> Any:
    """A case at the dispatch centre: its call, the steps so far, likely duplicates, and (for
    its dispatcher) the forms that classify, place, dispatch, answer or merge it."""
    c = caller()
    if c.role == "auditor":
        case = scope.get_case(db.session(), c.actor, case_id)
        phone = mask_phone(case.applicant_phone)
    else:
        with db.write() as w:
            case = scope.get_case(w, c.actor, case_id)
            phone = read_phone(w, case, c.actor)
    if case.state != DISPATCH_STATE:
        return redirect(url_for("console.case", case_id=case_id))
    s = db.session()
    items, _v = registry.items(s)
    item = items.get(case.item)
    index = units()
    placed = centre.placed(index, case)
    allowed = (
        centre.destinations(s, case.item, case.workstation) if item is not None and placed else []
    )
    return render_template(
        "console/dispatch_case.html",
        case=case,
        phone=phone,
        item=item,
        item_name=labels.named(item, case.item) if item else _("not classified yet"),
        placed=placed,
        allowed=allowed,
        acts=c.role == "dispatcher" and c.unit == case.holder,
        items=_items(),
        consultations=_consultations(),
        workstations=_workstations(case.holder),
        urgencies=URGENCIES,
        similar=_similar(case),
        may_merge=duplicates.may_merge(s, case, c.actor),
        events=timeline(case_id, c.actor),
    )


def _similar(case: Case) -> list[dict[str, Any]]:
    """Likely duplicates the caller may see, as the rows _similar.html shows (the case's id,
    state and opening, the item's name): scope.in_scope() of each asked in the same statement
    (duplicates.similar_rows)."""
    s = db.session()
    found = duplicates.similar_rows(s, case, scope.case_filter(s, caller().actor))
    if not found:
        return []
    item_names = registry.items
    return [
        {
            "case": row,
            "item_name": labels.named(item_names(s, row.list_version)[0].get(row.item), row.item),
        }
        for row in found
    ]


@bp.post("/dispatch/<int:case_id>")
@signed_in("dispatcher")
def dispatch_send(case_id: int) -> Any:
    """Dispatch from the form: the item, the place, the urgency, and where to (the tier: the
    workstation, its street or the department, as the list allows)."""
    c = caller()
    form = request.form
    with db.write() as w:
        scope.get_case(w, c.actor, case_id)
        case = engine.get_case(w, case_id)
        item = form.get("item") or case.item
        workstation = form.get("workstation") or (
            case.workstation if centre.placed(registry.units(w), case) else ""
        )
        if not item or not workstation:
            raise InvalidInput(
                _("Choose the item and the community first."),
                {"item" if not item else "workstation": ["required"]},
            )
        tier = form.get("tier") or "workstation"
        to = next(
            (d.unit for d in centre.destinations(w, item, workstation) if d.tier == tier), None
        )
        if to is None:
            raise InvalidInput(
                _("The list does not allow this item to be dispatched there."), {"to": [tier]}
            )
        centre.dispatch(
            w,
            case_id,
            c.actor,
            to,
            item=item,
            workstation=workstation,
            urgency=form.get("urgency") or None,
            reason=form.get("reason") or None,
        )
    flash(_("Dispatched to %(unit)s.", unit=labels.named(units().units.get(to), to)), "ok")
    return redirect(url_for("console.dispatch_queue"))


@bp.post("/dispatch/<int:case_id>/answer")
@signed_in("dispatcher")
def dispatch_answer(case_id: int) -> Any:
    """Answer a question on the spot: the case ends with the answer given."""
    c = caller()
    with db.write() as w:
        scope.get_case(w, c.actor, case_id)
        centre.answer(
            w,
            case_id,
            c.actor,
            request.form.get("answer", ""),
            item=request.form.get("item") or None,
        )
    flash(_("Answered: case #%(id)s has ended.", id=case_id), "ok")
    return redirect(url_for("console.dispatch_queue"))


@bp.post("/cases/<int:case_id>/merge")
@signed_in("clerk", "dispatcher")
def merge(case_id: int) -> Any:
    """Merge this case into a likely duplicate (合并): it closes as merged."""
    c = caller()
    try:
        into = int(request.form.get("into", ""))
    except ValueError:
        abort(400)
    with db.write() as w:
        scope.get_case(w, c.actor, case_id)
        scope.get_case(w, c.actor, into)
        duplicates.merge(w, case_id, c.actor, into, reason=request.form.get("reason", ""))
    flash(_("Merged into case #%(id)s.", id=into), "ok")
    return redirect(url_for("console.case", case_id=into))


def similar_panel(case: Case) -> dict[str, Any]:
    """What the case page's duplicates panel needs."""
    try:
        rows = _similar(case)
    except WorkflowError:
        rows = []
    return {
        "similar": rows,
        "may_merge": duplicates.may_merge(db.session(), case, caller().actor),
    }
