"""Attachments on a case: added (its row and its trail event, attachment.added, in the caller's
transaction, after the trail's lock), listed and read within the case's scope
(workflow.queries.scope), and the stored files checked against their hashes.

Who adds: anyone who works on the case and can see it (a clerk, staff, an administrator; not an
auditor, a callback operator or an outside channel), while the case is open; a task's file by the
task's unit or the unit in command. Who reads: whoever sees the case (a called department sees
the files of its own task, not of other units' tasks, as with the tasks themselves); an auditor
reads what was added, not the files (workflow.privacy). Open311 readers: only the public files of
a case Open311 publishes."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import config, privacy
from workflow.actors import Actor
from workflow.attachments import content
from workflow.attachments.errors import Damaged, TooLarge
from workflow.attachments.storage import Store, sha256, store_for
from workflow.audit import chain
from workflow.catalog import registry
from workflow.errors import InvalidInput, NotAllowed, NotFound, NotHolder
from workflow.inputs import text_problem
from workflow.instants import utcnow
from workflow.queries import scope
from workflow.queries import tasks as task_queries
from workflow.store.models import Attachment, Case, Task

ADDED = "attachment.added"
PURPOSES = ("intake", "material", "before", "after", "task")
# Purposes that may name a task (a task's own file, or a result's photos of that task).
TASK_PURPOSES = ("task", "before", "after")
ADDERS = frozenset({"clerk", "staff", "admin", "dispatcher"})
MAX_NAME = 255


@dataclass(frozen=True)
class Upload:
    """A file as received: its bytes, the name and content type the sender gave."""

    data: bytes
    name: str
    content_type: str | None = None


def store_of(session: Session) -> Store:
    return store_for(config.of(session))


def clean_name(name: str | None, kind: str) -> str:
    """The file's name as shown: its last path part, without control characters, at most 255
    characters; a name that is empty becomes `file` with the kind's extension."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if text_problem(ch) is None)
    base = base.strip().strip(".") or "file"
    if "." not in base:
        base += {v: k for k, v in content.EXTENSIONS.items() if k != ".jpeg"}.get(kind, "")
    return base[-MAX_NAME:]


def check(
    session: Session, upload: Upload, *, keep_location: bool = False
) -> tuple[content.Checked, str]:
    """The file as it will be stored and its shown name: refused (TooLarge, UnsupportedType)
    before anything is written."""
    limit = config.of(session).attachment_max_bytes
    if len(upload.data) > limit:
        raise TooLarge(
            f"the file is {len(upload.data)} bytes: at most {limit} bytes are taken",
            {"file": [f"larger than {limit} bytes"]},
        )
    if not upload.data:
        raise InvalidInput("the file is empty", {"file": ["empty"]}, code="file_empty")
    checked = content.check(
        upload.data, content_type=upload.content_type, name=upload.name, keep_location=keep_location
    )
    return checked, clean_name(upload.name, checked.content_type)


def _task_of(
    session: Session, case: Case, task_id: int | None, purpose: str, actor: Actor
) -> Task | None:
    if task_id is None:
        if purpose == "task":
            raise InvalidInput(
                "a task's file names its task", {"task": ["required"]}, code="task_file_names_task"
            )
        return None
    if purpose not in TASK_PURPOSES:
        raise InvalidInput(
            f"a file for {purpose!r} names no task",
            {"task": [f"not with purpose {purpose}"]},
            code="purpose_names_no_task",
            params={"purpose": purpose},
        )
    task = session.get(Task, task_id) if 1 <= task_id <= scope.MAX_ID else None
    if task is None or task.case_id != case.id:
        raise InvalidInput(
            f"case {case.id} has no task {task_id}",
            {"task": ["not on this case"]},
            code="case_has_no_task",
            params={"case": case.id, "task": task_id},
        )
    if actor.unit not in (task.unit, task.commander):
        raise NotHolder(
            f"only task {task_id}'s unit or the unit in command add its files",
            code="task_files_by",
            params={"task": task_id},
        )
    return task


def add(
    session: Session,
    case_id: int,
    actor: Actor,
    upload: Upload,
    *,
    purpose: str = "intake",
    task_id: int | None = None,
    material: str | None = None,
    public: bool = False,
    keep_location: bool = False,
    store: Store | None = None,
    now: dt.datetime | None = None,
    checked: tuple[content.Checked, str] | None = None,
) -> Attachment:
    """Add UPLOAD to CASE_ID: checked by content, stored by its hash, its row and its trail event
    in the caller's transaction (which this starts with the trail's lock). CHECKED: the result
    of check() when the caller checked every file first (nothing stored if one is refused)."""
    now = now or utcnow()
    chain.lock_head(session)
    if purpose not in PURPOSES:
        raise InvalidInput(
            f"purpose is one of {', '.join(PURPOSES)}",
            {"purpose": [f"not {purpose!r}"]},
            code="purpose_one_of",
            params={"purposes": list(PURPOSES), "purpose": purpose},
        )
    if actor.role not in ADDERS:
        raise NotHolder(
            f"a {actor.role} does not add files to cases",
            code="role_adds_no_files",
            params={"role": actor.role},
        )
    case = scope.get_case(session, actor, case_id)
    if case.closed_at is not None:
        raise NotAllowed(
            f"case {case_id} has ended: its files are as they were",
            code="case_ended_files",
            params={"case": case_id},
        )
    task = _task_of(session, case, task_id, purpose, actor)
    if material is not None:
        material = material.strip() or None
    if material is not None:
        item = registry.item(session, case.item, case.list_version)[0]
        if material not in item.materials:
            raise InvalidInput(
                f"{material!r} is not on item {case.item}'s checklist",
                {"material": ["not on the item's checklist"]},
                code="material_not_on_checklist",
                params={"material": material, "item": case.item},
            )
    elif purpose == "material":
        raise InvalidInput(
            "a material names which of the checklist it is",
            {"material": ["required"]},
            code="material_required",
        )
    good, name = checked or check(session, upload, keep_location=keep_location)
    digest = (store or store_of(session)).put(good.data)
    row = Attachment(
        case_id=case.id,
        task_id=task.id if task else None,
        purpose=purpose,
        material=material,
        name=name,
        content_type=good.content_type,
        size=len(good.data),
        sha256=digest,
        public=bool(public),
        location_kept=good.location_kept,
        added_by=actor.label,
        unit=actor.unit,
        added_at=now,
    )
    session.add(row)
    session.flush()
    chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action=ADDED,
        case_id=case.id,
        data=trail_data(row),
    )
    return row


def trail_data(row: Attachment) -> dict[str, Any]:
    """What the trail says of a file: enough to rebuild its row and to check the stored bytes."""
    return {
        "attachment": row.id,
        "sha256": row.sha256,
        "name": row.name,
        "content_type": row.content_type,
        "size": row.size,
        "purpose": row.purpose,
        "material": row.material,
        "task": row.task_id,
        "public": row.public,
        "location_kept": row.location_kept,
    }


# ---------------------------------------------------------------- reading


def _visible_tasks(session: Session, actor: Actor, case_id: int) -> set[int]:
    return {t.id for t in task_queries.tasks_of_case(session, actor=actor, case_id=case_id)}


def of_case(
    session: Session,
    actor: Actor,
    case_id: int,
    *,
    visible_tasks: Sequence[Task] | None = None,
    scope_checked: bool = False,
) -> list[Attachment]:
    """The files of a case ACTOR may see (NotFound outside the case's scope), oldest first.
    VISIBLE_TASKS: the case's tasks ACTOR sees (task_queries.tasks_of_case), where the caller
    has read them; SCOPE_CHECKED: the caller has read the case through scope.get_case for
    ACTOR in this request (the case page), so it is not asked again."""
    if not scope_checked:
        scope.get_case(session, actor, case_id)
    rows = session.execute(
        select(Attachment).where(Attachment.case_id == case_id).order_by(Attachment.id)
    ).scalars()
    if visible_tasks is None:
        tasks = _visible_tasks(session, actor, case_id)
    else:
        tasks = {t.id for t in visible_tasks}
    return [r for r in rows if r.task_id is None or r.task_id in tasks]


def visible(session: Session, actor: Actor, attachment_id: int) -> Attachment:
    """The file's row when ACTOR sees its case (and its task); NotFound otherwise."""
    row = session.get(Attachment, attachment_id) if 1 <= attachment_id <= scope.MAX_ID else None
    if row is None:
        raise NotFound(
            f"no attachment {attachment_id}",
            code="no_attachment",
            params={"attachment": attachment_id},
        )
    try:
        scope.get_case(session, actor, row.case_id)
    except NotFound:
        raise NotFound(
            f"no attachment {attachment_id}",
            code="no_attachment",
            params={"attachment": attachment_id},
        ) from None
    if row.task_id is not None and row.task_id not in _visible_tasks(session, actor, row.case_id):
        raise NotFound(
            f"no attachment {attachment_id}",
            code="no_attachment",
            params={"attachment": attachment_id},
        )
    return row


def read(
    session: Session, actor: Actor, attachment_id: int, store: Store | None = None
) -> tuple[Attachment, bytes]:
    """The file's row and bytes, for ACTOR; the bytes are checked against the hash first."""
    row = visible(session, actor, attachment_id)
    if not privacy.reads_attachment_files(actor):
        raise NotHolder(
            "an auditor reads what was attached (the trail), not the files", code="auditor_no_files"
        )
    return row, _bytes(row, store or store_of(session))


def public(
    session: Session, attachment_id: int, store: Store | None = None
) -> tuple[Attachment, bytes]:
    """A file for Open311 readers: public, on a case Open311 publishes; NotFound otherwise."""
    row = session.get(Attachment, attachment_id) if 1 <= attachment_id <= scope.MAX_ID else None
    case = session.get(Case, row.case_id) if row is not None else None
    if row is None or case is None or not privacy.is_open311_attachment(case, row):
        raise NotFound(
            f"no attachment {attachment_id}",
            code="no_attachment",
            params={"attachment": attachment_id},
        )
    return row, _bytes(row, store or store_of(session))


def public_of(session: Session, case: Case) -> list[Attachment]:
    if not privacy.is_open311_published(case):
        return []
    return list(
        session.execute(
            select(Attachment)
            .where(Attachment.case_id == case.id, Attachment.public.is_(True))
            .order_by(Attachment.id)
        ).scalars()
    )


def first_public_of(session: Session, cases: list[Case]) -> dict[int, Attachment]:
    """public_of()'s first attachment of each of CASES that has one, in one query."""
    ids = [c.id for c in cases if privacy.is_open311_published(c)]
    if not ids:
        return {}
    first: dict[int, Attachment] = {}
    rows = session.execute(
        select(Attachment)
        .where(Attachment.case_id.in_(ids), Attachment.public.is_(True))
        .order_by(Attachment.id)
    ).scalars()
    for row in rows:
        first.setdefault(row.case_id, row)
    return first


def _bytes(row: Attachment, store: Store) -> bytes:
    data = store.get(row.sha256)
    if data is None:
        raise Damaged(
            f"attachment {row.id}: its file {row.sha256} is missing from {store.describe()}"
        )
    if sha256(data) != row.sha256:
        raise Damaged(f"attachment {row.id}: its file {row.sha256} has been changed")
    return data


# ---------------------------------------------------------------- checking the store


@dataclass(frozen=True)
class FileProblem:
    attachment: int
    case_id: int
    sha256: str
    problem: str  # missing | changed

    def __str__(self) -> str:
        what = "is missing" if self.problem == "missing" else "no longer hashes to its name"
        return f"attachment {self.attachment} (case {self.case_id}): file {self.sha256} {what}"


def check_files(session: Session, store: Store | None = None) -> Iterator[FileProblem]:
    """Every stored file that is missing or whose bytes no longer give its SHA-256 (each file
    read once, however many rows name it). Whether the rows agree with the trail is replay's
    part (`audit replay`)."""
    store = store or store_of(session)
    seen: dict[str, str | None] = {}
    rows = session.execute(
        select(Attachment.id, Attachment.case_id, Attachment.sha256).order_by(Attachment.id)
    ).all()
    for id_, case_id, digest in rows:
        if digest not in seen:
            try:
                data = store.get(digest)
            except ValueError:
                data = None  # a row whose hash is not a hash at all: its file cannot be found
            seen[digest] = None if data is None else ("ok" if sha256(data) == digest else "changed")
        state = seen[digest]
        if state != "ok":
            yield FileProblem(id_, case_id, digest, state or "missing")


def counted(session: Session) -> int:
    return len(session.execute(select(Attachment.id)).all())


__all__: Sequence[str] = (
    "ADDED",
    "PURPOSES",
    "Damaged",
    "FileProblem",
    "Upload",
    "add",
    "check",
    "check_files",
    "of_case",
    "public",
    "public_of",
    "read",
    "visible",
)
