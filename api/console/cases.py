"""The case pages: the unit's inbox, the new-case form, a case with its actions and timeline,
the resident's answers (好差评) and the whistle queue. Every change goes through the engine."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from api import db
from api.console import labels, messages
from api.console.attachments import intake_files
from api.console.common import (
    bp,
    caller,
    case_url,
    countdown,
    countdown_at,
    current_caller,
    holder_label,
    said,
    signed_in,
    unit_name,
    when,
    when_in,
    work_calendar,
    zone,
)
from api.resources.cases import mask_phone, read_phone
from workflow import privacy
from workflow.actors import Actor
from workflow.audit import chain
from workflow.catalog import registry
from workflow.errors import InvalidInput
from workflow.queries import cases as case_queries
from workflow.queries import scope, search
from workflow.queries import tasks as task_queries
from workflow.queries import trail as trail_queries
from workflow.runtime import engine, sla, tasks
from workflow.runtime.machines import RESULT_TRIGGERS
from workflow.runtime.urgency import may_change
from workflow.spec.model import URGENCIES
from workflow.spec.practice import practice
from workflow.store.models import Case, ReturnRequest, Supervision, TrailEvent

PER_PAGE = 25
LIGHT_ORDER = {"red": 0, "yellow": 1, "green": 2, "none": 3}


def _page() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 10_000))
    except ValueError:
        return 1


def pages(total: int | None) -> int:
    return max(1, -(-(total or 0) // PER_PAGE))


def case_view(case: Case) -> dict[str, Any]:
    """What a list row shows of a case."""
    item = registry.items(db.session(), case.list_version)[0].get(case.item)
    return {
        "case": case,
        "item_name": labels.named(item, case.item),
        "countdown": countdown(case.stage_due_at, case.urgency),
        # Past the whole case's limit: flagged even while the stage's light is green.
        "case_overdue": search.case_overdue(case, engine.utcnow()),
    }


class Rows:
    """What every row of a page's lists looks up once for the page: the language's words, the
    time zone, the calendar and the instant the countdowns count from, the reader (whether names
    are shown), the countdowns' words (a call from a row costs the same lookups again)."""

    __slots__ = (
        "calendar",
        "left",
        "lights",
        "now",
        "overdue",
        "shows_names",
        "states",
        "tasks",
        "tz",
        "urgencies",
    )

    def __init__(self) -> None:
        self.lights = labels.words("light")
        self.states = labels.words("state")
        self.urgencies = labels.words("urgency")
        self.tasks = labels.words("task")
        self.tz = zone()
        self.calendar = work_calendar()
        self.now = engine.utcnow()
        c = current_caller()
        self.shows_names = c is not None and privacy.shows_names(c.actor)
        # The time-left cell's words, as the template's _() gave them (markup, values escaped).
        self.overdue = said("overdue %(h)s h %(m)s min")
        self.left = said("%(h)s h %(m)s min left")

    def countdown(self, due: dt.datetime | None, urgency: str | None = None) -> Markup:
        """The time-left cell: working time to DUE (clock time when urgent), or overdue."""
        cd = countdown_at(due, urgency, self.calendar, self.now)
        if cd is None:
            return Markup("—")
        words = (self.overdue if cd["overdue"] else self.left) % {
            "h": cd["hours"],
            "m": cd["minutes"],
        }
        return Markup('<span class="overdue">%s</span>') % words if cd["overdue"] else words


class TableRow:
    """What a case list's row (_macros.html's case_table) shows of a case, worked out here: the
    template reads attributes instead of calling a label, a time, a link and the applicant's
    name for each cell (a call from a template costs several times the same call here)."""

    __slots__ = (
        "applicant",
        "case_overdue",
        "countdown",
        "due",
        "holder_label",
        "id",
        "item",
        "item_name",
        "light",
        "light_label",
        "stage_due",
        "state_label",
        "urgency",
        "urgency_label",
        "url",
    )

    def __init__(self, case: Case, item_name: str, holder: bool, rows: Rows) -> None:
        self.id = case.id
        self.light = case.light
        self.light_label = rows.lights.get(case.light, case.light)
        self.url = case_url(case.id)
        self.urgency = case.urgency
        self.urgency_label = (
            rows.urgencies.get(case.urgency, case.urgency)
            if case.urgency and case.urgency != "normal"
            else None
        )
        self.item = case.item
        self.item_name = item_name
        name = case.applicant_name
        self.applicant = name if rows.shows_names else privacy.mask_name(name)
        self.state_label = rows.states.get(case.state, case.state)
        self.holder_label = holder_label(case.holder) if holder else None
        self.stage_due = when_in(case.stage_due_at, rows.tz)
        self.countdown = rows.countdown(case.stage_due_at, case.urgency)
        self.due = when_in(case.due_at, rows.tz)
        # Past the whole case's limit: flagged even while the stage's light is green.
        self.case_overdue = search.case_overdue(case, rows.now)


def table_rows(cases: Any, *, holder: bool = False) -> list[TableRow]:
    """The rows of a case list (HOLDER: with the holder's column, as find and whistles show)."""
    s = db.session()
    rows = Rows()
    out = []
    for case in cases:
        item = registry.items(s, case.list_version)[0].get(case.item)
        out.append(TableRow(case, labels.named(item, case.item), holder, rows))
    return out


@bp.get("/inbox")
@signed_in()
def inbox() -> str:
    """The cases the user's unit holds now, the most urgent first."""
    from api.console.find import list_nav, page_request

    c = caller()
    light = request.args.get("light")
    page, after = page_request()
    rows = case_queries.inbox(
        db.session(),
        actor=c.actor,
        light=light if light in LIGHT_ORDER else None,
        after=after,
        offset=0 if after else (page - 1) * PER_PAGE,
        limit=PER_PAGE,
    )
    return render_template(
        "console/inbox.html",
        rows=table_rows(rows.items),
        nav=list_nav(rows, page),
        light=light,
        # The unit's open tasks (a called department's parts of other units' cases), a page.
        **task_board(task_queries.unit_inbox),
    )


@bp.get("/whistles")
@signed_in("staff", "admin")
def whistles() -> str:
    """Whistled cases awaiting a department's report: those addressed to the user's department,
    or those the user's street blew; each with the working time left to report."""
    from api.console.find import list_nav, page_request

    page, after = page_request()
    rows = case_queries.whistles(
        db.session(),
        actor=caller().actor,
        after=after,
        offset=0 if after else (page - 1) * PER_PAGE,
        limit=PER_PAGE,
    )
    return render_template(
        "console/whistles.html",
        rows=table_rows(rows.items, holder=True),
        nav=list_nav(rows, page),
        # Joint whistles: the departments yet to report, a page.
        **task_board(task_queries.awaiting_report),
    )


@bp.route("/cases/new", methods=["GET", "POST"])
@signed_in("clerk", "staff")
def new_case() -> Any:
    """Pick the item by service window, see its materials and legal basis, open the case.

    A clerk opens any item at the workstation; the staff of a community's party committee or
    mediation committee open the items that committee receives (两委一站)."""
    c = caller()
    s = db.session()
    items, list_version = registry.items(s)
    workstation = c.unit
    if c.role == "staff":
        index = registry.units(s)
        community = receiving_community(s, c.unit)
        if community is None:
            abort(403, _("Only a community's committees and workstation open cases."))
        workstation = community
        items = {
            code: it
            for code, it in items.items()
            if index.body(community, _first_tier(s, it.route)) == c.unit
        }
    by_window: dict[str, list[Any]] = defaultdict(list)
    for it in items.values():
        by_window[it.window].append(it)
    windows = sorted(by_window)
    source = request.form if request.method == "POST" else request.args
    window = source.get("window") or ""
    code = source.get("item") or ""
    item = items.get(code)
    if item is not None:
        window = item.window
    values = {
        k: request.form.get(k, "").strip()
        if k in ("lat", "long", "address")
        else request.form.get(k, "")
        for k in ("name", "phone", "description", "urgency", "lat", "long", "address")
    }
    values["materials_override"] = request.form.get("materials_override", "")
    # The materials ticked are kept after a refusal, like the rest of the form.
    checked = (
        [m for m in item.materials if m in request.form.getlist("materials")]
        if item is not None and request.method == "POST"
        else []
    )
    errors: dict[str, list[str]] = {}
    if request.method == "POST" and item is not None:
        try:
            with db.write() as w:
                case = engine.open_case(
                    w,
                    item=item.code,
                    workstation=workstation,
                    actor=c.actor,
                    applicant_name=values["name"],
                    applicant_phone=values["phone"],
                    description=values["description"],
                    form={"materials": checked},
                    channel="window",
                    urgency=values["urgency"] or None,
                    materials_override=values["materials_override"].strip() or None,
                    # Where it happened (an incident): kept on the case and drawn on its map.
                    lat=values["lat"] or None,
                    long=values["long"] or None,
                    address=values["address"] or None,
                )
                # The form's photos and scanned materials, in the same transaction.
                intake_files(w, case, item)
                case_id = case.id
        except InvalidInput as exc:
            # The refusal said once, in the user's words, beside the field it is about.
            errors = {next(iter(exc.errors), "_schema"): [messages.say(exc)]}
        else:
            flash(_("Case %(id)s opened.", id=case_id), "ok")
            return redirect(url_for("console.case", case_id=case_id))
    elif request.method == "POST":
        errors = {"item": [_("Choose an item.")]}
    route = registry.route(s, item.route)[0] if item is not None else None
    return render_template(
        "console/new_case.html",
        checked=checked,
        promise=engine.promise(s, item.code, workstation) if item is not None else None,
        windows=windows,
        window=window,
        items=sorted(by_window.get(window, []), key=lambda i: i.code),
        item=item,
        route=route,
        list_version=list_version,
        values=values,
        errors=errors,
        urgencies=URGENCIES,
    ), (422 if errors else 200)


def timeline(case_id: int, actor: Actor) -> list[TrailEvent]:
    """The case's trail; a called department reads its own task steps, not the others'."""
    return trail_queries.case_timeline(db.session(), case_id=case_id, actor=actor)


def grouped(events: list[TrailEvent]) -> list[dict[str, Any]]:
    """The timeline's lines: each event, but the personal-data reads of one user on one day
    (the instance's day) as one line, where the first of them was, to be expanded."""
    out: list[dict[str, Any]] = []
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for e in events:
        if e.action != "case.personal_data_read":
            out.append({"event": e})
            continue
        key = (e.actor, when(e.at)[:10])
        group = groups.get(key)
        if group is None:
            group = groups[key] = {"reads": [], "actor": e.actor, "unit": e.unit, "day": key[1]}
            out.append(group)
        group["reads"].append(e)
    return out


# The task board's own page and cursor, beside the case list's (page, after).
TASK_PAGE_ARGS = ("task_page", "task_after")


def task_board(query: Any) -> dict[str, Any]:
    """A page of a unit's task board (QUERY: task_queries.unit_inbox or awaiting_report) and its
    pager, in pages of PER_PAGE as the case lists."""
    from api.console.find import list_nav, page_request

    number, after = page_request(*TASK_PAGE_ARGS)
    found = query(
        db.session(),
        actor=caller().actor,
        after=after,
        offset=0 if after else (number - 1) * PER_PAGE,
        limit=PER_PAGE,
    )
    return {
        "task_board": task_rows(found.items),
        "task_nav": list_nav(found, number, *TASK_PAGE_ARGS),
    }


class TaskRow:
    """What the task board (_task_board.html) shows of a task, worked out here as TableRow does
    for a case list: its case's link, unit, status, light, limits and time left."""

    __slots__ = (
        "countdown",
        "due",
        "light",
        "light_label",
        "report_due",
        "status_label",
        "task",
        "unit_name",
        "url",
    )

    def __init__(self, task: Any, rows: Rows) -> None:
        self.task = task
        self.url = case_url(task.case_id)
        self.unit_name = unit_name(task.unit)
        self.status_label = rows.tasks.get(task.status, task.status)
        self.light = tasks.light_of(task, rows.now)
        self.light_label = rows.lights.get(self.light, self.light)
        self.report_due = when_in(task.report_due_at, rows.tz)
        self.due = when_in(task.due_at, rows.tz)
        self.countdown = (
            rows.countdown(task.stage_due_at) if task.status in tasks.OPEN else Markup("—")
        )


def task_rows(task_list: Any) -> list[TaskRow]:
    """What the task board shows of each task: its unit, state, countdown and result."""
    rows = Rows()
    return [TaskRow(t, rows) for t in task_list]


def _first_tier(s: Any, route_name: str) -> str:
    route = registry.route(s, route_name)[0]
    return route.state(route.initial).tier or ""


def receiving_community(s: Any, unit: str | None) -> str | None:
    """The workstation of the community whose party or mediation committee UNIT is, or None."""
    index = registry.units(s)
    u = index.units.get(unit or "")
    if u is None or u.kind not in ("party_committee", "mediation_committee"):
        return None
    return index.community_of(u.code)


@bp.get("/cases/<int:case_id>")
@signed_in()
def case(case_id: int) -> str:
    """A case: its record, the actions the user may take now, and its trail."""
    c = caller()
    actor = c.actor
    if c.role == "auditor":
        # An auditor reads the record without the resident's phone: no personal-data read.
        case = scope.get_case(db.session(), actor, case_id)
        phone = mask_phone(case.applicant_phone)
    else:
        # The lock of the case's trail partition only (as a firing's): the read's event is
        # appended there, and writers of other partitions go on (PostgreSQL; one statement
        # fewer: the head as locked is the one appended to).
        with db.write(lock=False) as w:
            head = chain.lock_case_head(w, case_id)
            case = scope.get_case(w, actor, case_id)
            phone = read_phone(w, case, actor, head)
    # The case as read in the user's scope just now (the session keeps what it loaded past the
    # write's commit): not read again.
    s = db.session()
    if not case.route_version:  # at the dispatch centre: no route yet
        return redirect(url_for("console.dispatch_case", case_id=case_id))  # type: ignore[return-value]
    route = engine.route_of(s, case)
    item = registry.item(s, case.item, case.list_version)[0]
    # Read once for the page: the board, and the files' tasks (_attachments.html).
    case_tasks = task_queries.tasks_of_case(
        s, actor=actor, case_id=case_id, case=case, units=registry.units(s)
    )
    board = task_rows(case_tasks)
    # Units working in the case's present round are not called again: not ticked beforehand.
    called = {
        r.task.unit
        for r in board
        if r.task.round == case.stage_seq and r.task.status != "cancelled"
    }
    actions = []
    for trigger in engine.available_triggers(s, case, actor):
        spec = route.transition(case.state, trigger)
        assert spec is not None
        joint = spec.target == "whistle_to" and route.state(spec.dest).tasks is not None
        actions.append(
            {
                "trigger": trigger,
                "reason_required": spec.reason_required,
                "targets": list(item.whistle_to)
                if spec.target == "whistle_to" and not joint
                else None,
                # A joint whistle: the item's departments first, then the others (with the
                # whistle's reason any department may be called).
                "joint": _departments(s, item.whistle_to) if joint else None,
                # Ticked beforehand: the list's lead and assisting units for the item.
                "defaults": ({item.lead_unit, *item.assist_units} - called)
                if item.lead_unit
                else set(),
                "dest": spec.dest,
                # A dispatch: the street's fitting agencies, or the street itself.
                "agencies": engine.dispatch_choices(s, case)
                if route.state(spec.dest).tier == "agency"
                else None,
                # 办理结果: asked for where the work on the case ends.
                "result": trigger in RESULT_TRIGGERS,
            }
        )
    # The holder may ask for more time on a running stage with a limit (the engine decides).
    may_extend = (
        c.unit == case.holder
        and c.role in ("clerk", "staff", "admin")
        and case.stage_due_at is not None
        and case.paused_at is None
        and case.stage_due_at > engine.utcnow()
    )
    from api.console.attachments import case_attachments
    from api.console.dispatch import similar_panel
    from api.console.feedback import case_feedback

    returns = list(
        s.execute(
            select(ReturnRequest).where(ReturnRequest.case_id == case_id).order_by(ReturnRequest.id)
        ).scalars()
    )
    may_return = (
        c.unit == case.holder
        and c.role in ("clerk", "staff", "admin")
        and case.tier is not None
        and not any(r.status == "pending" for r in returns)
        and not any(r.arbitration and r.status in ("approved", "refused") for r in returns)
    )
    # The open supervision of the current stage, which its holder answers in writing.
    supervision = (
        s.execute(
            select(Supervision).where(
                Supervision.case_id == case_id, Supervision.stage_seq == case.stage_seq
            )
        ).scalar_one_or_none()
        if case.tier is not None
        else None
    )
    return render_template(
        "console/case.html",
        urgencies=URGENCIES,
        may_change_urgency=case.tier is not None
        and c.role != "auditor"
        and may_change(case, actor),
        returns=returns,
        may_return=may_return,
        categories=practice(s).returns["categories"],
        supervision=supervision,
        may_answer=supervision is not None
        and supervision.answered_at is None
        and c.unit == case.holder
        and c.role in ("clerk", "staff", "admin"),
        case=case,
        phone=phone,
        item=item,
        item_name=labels.named(item, case.item),
        route=route,
        route_street=registry.route_street(s, case.route_name, case.route_version),
        actions=actions,
        feedback=case_feedback(s, actor, case_id),
        may_extend=may_extend,
        max_days=sla.MAX_EXTENSION_DAYS,
        countdown=countdown(case.stage_due_at, case.urgency),
        lines=grouped(timeline(case_id, actor)),
        board=board,
        case_tasks=case_tasks,
        attachments=case_attachments(case, item, case_tasks, scope_checked=True),
        commands=c.unit == case.holder and c.role in tasks.COMMAND_ROLES,
        current_round=case.stage_seq
        if case.state in route.state_names and route.state(case.state).tasks is not None
        else None,
        # An auditor's page has no duplicates panel (case.html): not looked for.
        **(similar_panel(case) if c.role != "auditor" else {"similar": [], "may_merge": False}),
    )


def _departments(s: Any, first: tuple[str, ...]) -> list[str]:
    others = sorted(code for code, u in registry.units(s).units.items() if u.kind == "department")
    return list(first) + [d for d in others if d not in first]


@bp.post("/cases/<int:case_id>/fire")
@signed_in()
def fire(case_id: int) -> Any:
    """Fire one trigger; the page's version guards against a change made meanwhile."""
    c = caller()
    trigger = request.form.get("trigger", "")
    try:
        expected = int(request.form.get("version", ""))
    except ValueError:
        abort(400)
    # A joint whistle: the departments ticked, the lead chosen (default: the first ticked).
    targets = [t for t in request.form.getlist("targets") if t] or None
    result = (request.form.get("result") or "").strip() or None
    if trigger in RESULT_TRIGGERS and result is None:
        # The console asks for the result where the work ends (the API leaves it optional).
        flash(_("Write the result (办理结果) before resolving or completing."), "error")
        return redirect(url_for("console.case", case_id=case_id))
    # The lock of the case's trail partition only (firings in other partitions go on).
    with db.write(lock=False) as w:
        chain.lock_case_head(w, case_id)
        scope.get_case(w, c.actor, case_id)
        engine.fire(
            w,
            case_id,
            trigger,
            c.actor,
            reason=request.form.get("reason") or None,
            target=request.form.get("target") or None,
            targets=targets,
            lead=(request.form.get("lead") or None) if targets else None,
            expected_version=expected,
            result=result,
        )
    flash(_("Done: %(action)s.", action=labels.label("trigger", trigger)), "ok")
    return redirect(url_for("console.case", case_id=case_id))


@bp.post("/tasks/<int:task_id>/<step>")
@signed_in("staff", "admin")
def task_step(task_id: int, step: str) -> Any:
    """A task step from the case page or the inbox: the task's version guards against a change
    made meanwhile; back to where the form was."""
    c = caller()
    if step not in tasks.STEPS:
        abort(404)
    try:
        expected = int(request.form.get("version", ""))
    except ValueError:
        abort(400)
    with db.write() as w:
        task = task_queries.get_task(w, actor=c.actor, task_id=task_id)
        case_id = task.case_id
        tasks.step(
            w,
            task_id,
            step,
            c.actor,
            result=request.form.get("result") or None,
            reason=request.form.get("reason") or None,
            expected_version=expected,
        )
    flash(_("Done: %(action)s.", action=labels.label("task_step", step)), "ok")
    if request.form.get("back") == "inbox":
        return redirect(url_for("console.inbox"))
    return redirect(url_for("console.case", case_id=case_id))
