"""Photos and documents on the console: added at intake (the new-case form) and on the case
page (purpose: material, before, after, task), listed with thumbnails, opened within the case's
scope. Every file goes through workflow.attachments (checked by content, its hash in the trail)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from api import db
from api.console.common import bp, caller, current_caller, signed_in
from api.console.messages import say
from api.resources.attachments import file_response, upload_of
from workflow import config
from workflow.attachments import content, records
from workflow.errors import InvalidInput, WorkflowError
from workflow.queries import tasks as task_queries
from workflow.spec.model import ItemSpec
from workflow.store.models import Case, Task


def purpose_labels() -> dict[str, str]:
    """The purposes as the console names them, in the user's language."""
    return {
        "intake": _("At intake"),
        "material": _("Checklist material"),
        "before": _("Before (photo of the problem)"),
        "after": _("After (photo of the result)"),
        "task": _("For a task"),
    }


ADDED_ON_PAGE = ("material", "before", "after", "task")
# The new-case form takes at most this many files (the request's size allows for it).
MAX_INTAKE_FILES = 5


def _file(field: str) -> FileStorage | None:
    f = request.files.get(field)
    return f if f is not None and f.filename else None


def intake_files(session: Any, case: Case, item: ItemSpec) -> int:
    """The new-case form's files, added to the case just opened in SESSION's transaction: every
    file checked before any is stored; a refused file refuses the whole form (InvalidInput on
    the `files` field), so the case is not opened either."""
    c = caller()
    wanted: list[tuple[FileStorage, str, str | None]] = []
    wanted += [(f, "intake", None) for f in request.files.getlist("photos") if f.filename]
    for i, name in enumerate(item.materials):
        scan = _file(f"material_{i}")
        if scan is not None:
            wanted.append((scan, "material", name))
    if len(wanted) > MAX_INTAKE_FILES:
        raise InvalidInput(
            _("At most %(n)s files at intake.", n=MAX_INTAKE_FILES), {"files": ["too many"]}
        )
    keep = request.form.get("keep_location") == "on"
    prepared = []
    for f, purpose, material in wanted:
        upload = upload_of(f)
        try:
            checked = records.check(session, upload, keep_location=keep)
        except WorkflowError as exc:
            said = say(exc)
            raise InvalidInput(f"{upload.name}: {said}", {"files": [said]}) from None
        prepared.append((upload, purpose, material, checked))
    for upload, purpose, material, checked in prepared:
        records.add(
            session,
            case.id,
            c.actor,
            upload,
            purpose=purpose,
            material=material,
            keep_location=keep,
            checked=checked,
        )
    return len(prepared)


def _flag(name: str) -> bool:
    return request.form.get(name) == "on"


@bp.post("/cases/<int:case_id>/attachments")
@signed_in("clerk", "staff", "admin", "dispatcher")
def add_attachment(case_id: int) -> Any:
    """Add one file to a case from its page."""
    c = caller()
    f = _file("file")
    if f is None:
        flash(_("Choose a file first."), "error")
        return redirect(url_for("console.case", case_id=case_id))
    purpose = request.form.get("purpose", "")
    raw_task = request.form.get("task", "")
    if raw_task and not raw_task.isdigit():
        raise InvalidInput(_("Choose a task from the list."), {"task": ["not a task"]})
    with db.write() as w:
        row = records.add(
            w,
            case_id,
            c.actor,
            upload_of(f),
            purpose=purpose,
            task_id=int(raw_task) if raw_task else None,
            material=request.form.get("material") or None,
            public=_flag("public"),
            keep_location=_flag("keep_location"),
        )
        name = row.name
    flash(_("%(name)s added.", name=name), "ok")
    return redirect(url_for("console.case", case_id=case_id) + "#attachments")


@bp.get("/attachments/<int:attachment_id>")
@signed_in()
def attachment_file(attachment_id: int) -> Any:
    row, data = records.read(db.session(), caller().actor, attachment_id)
    return file_response(row, data)


@bp.get("/attachments/<int:attachment_id>/thumb")
@signed_in()
def attachment_thumb(attachment_id: int) -> Any:
    row, data = records.read(db.session(), caller().actor, attachment_id)
    if not row.content_type.startswith("image/"):
        abort(404)
    resp = file_response(row, content.thumbnail(data))
    resp.mimetype = "image/jpeg"
    return resp


def case_attachments(
    case: Case,
    item: ItemSpec | None = None,
    case_tasks: Sequence[Task] | None = None,
    *,
    scope_checked: bool = False,
) -> dict[str, Any]:
    """What the case page shows of its files: those the user sees, whether they may add, with
    which purposes, materials and tasks. CASE_TASKS: the case's tasks the user sees, where the
    page has read them (task_queries.tasks_of_case); SCOPE_CHECKED: the page read the case
    through scope.get_case for the user (records.of_case)."""
    c = current_caller()
    if c is None:
        return {"rows": [], "may_add": False}
    s = db.session()
    if case_tasks is None:
        case_tasks = task_queries.tasks_of_case(s, actor=c.actor, case_id=case.id)
    rows = records.of_case(
        s, c.actor, case.id, visible_tasks=case_tasks, scope_checked=scope_checked
    )
    may_add = c.role in records.ADDERS and case.closed_at is None
    labels = purpose_labels()
    tasks = [t for t in case_tasks if c.unit in (t.unit, t.commander) and t.status != "cancelled"]
    return {
        "rows": rows,
        "may_add": may_add,
        "reads_files": c.role != "auditor",
        "purposes": [(p, labels[p]) for p in ADDED_ON_PAGE if p != "task" or tasks],
        "materials": list(item.materials) if item is not None else [],
        "tasks": tasks,
        "labels": labels,
        "max_bytes": config.of(s).attachment_max_bytes,
    }


@bp.app_context_processor
def _attachments_globals() -> dict[str, Any]:
    return {"case_attachments": case_attachments}
