"""Rebuild from the trail alone every column it determines, of every case, supervision and
extension, and compare with the stored rows: each field that differs is named.

What the trail determines, and from which events:

- a case: item, route (name and version), list version, routing version, workstation, street,
  channel and created_at (case.opened); at the dispatch centre the item (case.classified), the
  place (case.placed), and what it is pinned to on leaving (case.dispatched, case.answered);
  merged_into and the end of a merged case (case.merged); state, holder, version, updated_at, the stage's and the
  case's limits (stage_due_at, due_at) after each case.opened, case.transition and
  case.migrated; tier, closed_at, whistle_target and the stage (stage_seq, stage_started_at,
  paused_at) from the route version each event names; whistled (an event with the trigger
  "whistle"); an approved extension's new limits;
  rating_score (case.rated); urgency (case.opened, case.urgency_changed with its new limits);
  the result (办理结果) of the latest case.transition that carried one.
  A return's move (退单 approved) is a case.transition with the trigger "return".
- a supervision: every column (supervision.raised, supervision.acknowledged).
- an extension: every column (extension.requested, extension.approved / extension.refused).
- an attachment: every column (attachment.added): which file (its SHA-256), its name, kind,
  size, purpose, task, material, whether public and whether it kept its location, who and when.

Not determined by the trail, so not compared: the applicant's name, phone, description and form
(personal data stays out of the trail), the rating's comment, and what the clock derives from the
limits (light, stage_yellow_at, stage_limit_s, the time left while paused)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.audit import replay_tasks
from workflow.audit.chain import format_at
from workflow.catalog import registry
from workflow.errors import WorkflowError
from workflow.spec.model import DISPATCH_TIER, RouteSpec
from workflow.store.models import Attachment, Case, Extension, Supervision, Task, TrailEvent

CASE_ACTIONS = ("case.opened", "case.transition", "case.migrated")
# The dispatch centre's steps and merges (workflow.dispatch).
DISPATCH_ACTIONS = (
    "case.classified",
    "case.placed",
    "case.dispatched",
    "case.answered",
    "case.merged",
)
REPLAYED_ACTIONS = (
    *CASE_ACTIONS,
    "case.rated",
    "supervision.raised",
    "supervision.acknowledged",
    "extension.requested",
    "extension.approved",
    "extension.refused",
    "case.urgency_changed",
    *DISPATCH_ACTIONS,
    *replay_tasks.TASK_ACTIONS,
    "attachment.added",
)
CASE_FIELDS = (
    "item",
    "list_version",
    "route_name",
    "route_version",
    "routing_version",
    "workstation",
    "street",
    "channel",
    "state",
    "tier",
    "holder",
    "whistle_target",
    "whistled",
    "version",
    "created_at",
    "updated_at",
    "closed_at",
    "stage_seq",
    "stage_started_at",
    "paused_at",
    "stage_due_at",
    "due_at",
    "rating_score",
    "urgency",
    "merged_into",
    "result",
)
SUPERVISION_FIELDS = (
    "case_id",
    "stage_seq",
    "state",
    "holder",
    "unit",
    "also_unit",
    "stage_due_at",
    "raised_at",
    "acknowledged_at",
    "acknowledged_by",
    "task_id",
)
EXTENSION_FIELDS = (
    "case_id",
    "task_id",
    "stage_seq",
    "state",
    "holder",
    "unit",
    "requested_by",
    "requested_at",
    "reason",
    "days",
    "status",
    "decided_by",
    "decided_at",
    "decision_reason",
    "new_stage_due_at",
)
ATTACHMENT_FIELDS = (
    "case_id",
    "task_id",
    "purpose",
    "material",
    "name",
    "content_type",
    "size",
    "sha256",
    "public",
    "location_kept",
    "added_by",
    "unit",
    "added_at",
)
ABSENT = "(no row)"


@dataclass(frozen=True)
class Difference:
    """One field of one row that is not what the trail gives (FIELD "row": a row the trail has
    and the table has not, or the other way round)."""

    kind: str  # case | supervision | extension | task | attachment
    id: int
    field: str
    stored: Any
    trail: Any

    @property
    def case_id(self) -> int:
        return self.id

    def __str__(self) -> str:
        return f"{self.kind} {self.id}: {self.field}: stored {self.stored!r}, trail {self.trail!r}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "field": self.field,
            "stored": self.stored,
            "trail": self.trail,
        }


Row = dict[str, Any]


class _Replay:
    """The rows as the trail builds them, event by event (oldest first)."""

    def __init__(self, route: Callable[[str, int], RouteSpec | None]) -> None:
        self.route = route
        self.cases: dict[int, Row] = {}
        self.supervisions: dict[int, Row] = {}
        self.extensions: dict[int, Row] = {}
        self.tasks: dict[int, Row] = {}
        self.attachments: dict[int, Row] = {}

    def apply(self, ev: TrailEvent) -> None:
        if ev.action.startswith("task."):
            replay_tasks.apply(self.tasks, ev, ev.data or {}, format_at(ev.at))
            return
        getattr(self, "_" + ev.action.replace(".", "_"))(ev, ev.data or {}, format_at(ev.at))
        if ev.trigger == "whistle" and ev.case_id in self.cases:
            self.cases[ev.case_id]["whistled"] = True

    def _tier(self, case: Row, state: str | None) -> tuple[bool, str | None, bool] | None:
        """(known, tier, final) of STATE on the case's route version; None if unknown."""
        spec = self.route(case["route_name"], case["route_version"])
        if spec is None or state not in spec.state_names:
            return None
        st = spec.state(state)
        return (True, st.tier, bool(st.final))

    def _case_opened(self, ev: TrailEvent, d: Row, at: str) -> None:
        case = {
            "item": d.get("item"),
            "list_version": d.get("list_version"),
            "route_name": d.get("route"),
            "route_version": d.get("route_version"),
            "routing_version": d.get("routing_version"),
            "workstation": d.get("workstation"),
            "channel": d.get("channel"),
            "state": ev.to_state,
            "holder": ev.to_holder,
            "whistle_target": None,
            "whistled": False,
            "version": 1,
            "created_at": at,
            "updated_at": at,
            "closed_at": None,
            "stage_seq": ev.seq,
            "stage_started_at": at,
            "paused_at": None,
            "stage_due_at": d.get("stage_due_at"),
            "due_at": d.get("due_at"),
            "rating_score": None,
            "urgency": d.get("urgency", "normal"),
            "merged_into": None,
            "result": None,
        }
        if "street" in d:  # recorded since the trail named it
            case["street"] = d["street"]
        assert ev.case_id is not None  # replay() passes only case events with a case
        self.cases[ev.case_id] = case
        self._enter(case, ev, at, d, transition=False)
        if "dispatch_centre" in d:  # at the centre's queue: no route, the centre's tier
            case.update(
                tier=DISPATCH_TIER,
                closed_at=None,
                whistle_target=None,
                stage_seq=ev.seq,
                stage_started_at=at,
                paused_at=None,
            )

    def _enter(self, case: Row, ev: TrailEvent, at: str, d: Row, *, transition: bool) -> None:
        """The state entered by EV: its tier, and the stage as stages.enter_stage sets it."""
        known = self._tier(case, ev.to_state)
        if known is None:
            for f in ("tier", "closed_at", "whistle_target", "stage_seq", "stage_started_at"):
                case.pop(f, None)
            case.pop("paused_at", None)
            return
        _, tier, final = known
        case["tier"] = tier
        spec = self.route(case["route_name"], case["route_version"])
        same = ev.to_state is not None and ev.from_state == ev.to_state
        if same and spec is not None and spec.state(ev.to_state or "").tasks is not None:
            return  # calling more units into a task state: the same stage goes on
        if "target" in d:
            case["whistle_target"] = d["target"]
        elif tier != "department" and "whistle_target" in case:
            case["whistle_target"] = None
        if not transition:
            return
        if final:
            case.update(stage_seq=ev.seq, stage_started_at=at, paused_at=None, closed_at=at)
        elif tier == "applicant":
            if case.get("paused_at") is None:
                case["paused_at"] = at
        elif case.get("paused_at") is not None:
            case["paused_at"] = None  # resumed: the same stage goes on
        else:
            case.update(stage_seq=ev.seq, stage_started_at=at)

    def _moved(self, ev: TrailEvent, d: Row, at: str) -> Row | None:
        case = self.cases.get(ev.case_id) if ev.case_id is not None else None
        if case is None:
            return None
        case.update(
            state=ev.to_state,
            holder=ev.to_holder,
            version=case["version"] + 1,
            updated_at=at,
            stage_due_at=d.get("stage_due_at"),
            due_at=d.get("due_at"),
        )
        return case

    def _case_transition(self, ev: TrailEvent, d: Row, at: str) -> None:
        case = self._moved(ev, d, at)
        if case is not None:
            self._enter(case, ev, at, d, transition=True)
            if "result" in d:  # 办理结果: the latest resolve's or complete's
                case["result"] = d["result"]

    def _case_migrated(self, ev: TrailEvent, d: Row, at: str) -> None:
        case = self._moved(ev, d, at)
        if case is None:
            return
        case.update(
            route_name=d.get("to_route", d.get("route")),
            route_version=d.get("to_version"),
            list_version=d.get("to_list_version"),
        )
        known = self._tier(case, ev.to_state)
        if known is None:
            case.pop("tier", None)
            return
        case["tier"] = known[1]
        if known[1] != "department" and "whistle_target" in case:
            case["whistle_target"] = None

    def _case_urgency_changed(self, ev: TrailEvent, d: Row, at: str) -> None:
        case = self.cases.get(ev.case_id) if ev.case_id is not None else None
        if case is not None:
            case.update(
                urgency=d.get("urgency"), stage_due_at=d.get("stage_due_at"), due_at=d.get("due_at")
            )

    def _attachment_added(self, ev: TrailEvent, d: Row, at: str) -> None:
        self.attachments[d["attachment"]] = {
            "case_id": ev.case_id,
            "task_id": d.get("task"),
            "purpose": d.get("purpose"),
            "material": d.get("material"),
            "name": d.get("name"),
            "content_type": d.get("content_type"),
            "size": d.get("size"),
            "sha256": d.get("sha256"),
            "public": d.get("public"),
            "location_kept": d.get("location_kept"),
            "added_by": ev.actor,
            "unit": ev.unit,
            "added_at": at,
        }

    def _case_classified(self, ev: TrailEvent, d: Row, at: str) -> None:
        case = self.cases.get(ev.case_id) if ev.case_id is not None else None
        if case is not None:
            case.update(item=d.get("item"), updated_at=at)

    def _case_placed(self, ev: TrailEvent, d: Row, at: str) -> None:
        case = self.cases.get(ev.case_id) if ev.case_id is not None else None
        if case is not None:
            case.update(workstation=d.get("workstation"), street=d.get("street"), updated_at=at)

    def _case_dispatched(self, ev: TrailEvent, d: Row, at: str) -> None:
        """The case leaves the dispatch centre, pinned (as case.opened pins at the window)."""
        case = self.cases.get(ev.case_id) if ev.case_id is not None else None
        if case is None:
            return
        case.update(
            item=d.get("item"),
            list_version=d.get("list_version"),
            route_name=d.get("route"),
            route_version=d.get("route_version"),
            routing_version=d.get("routing_version"),
            workstation=d.get("workstation"),
            street=d.get("street"),
        )
        self._moved(ev, d, at)
        case.update(closed_at=None, whistle_target=None, paused_at=None)
        self._enter(case, ev, at, d, transition=True)

    _case_answered = _case_dispatched

    def _case_merged(self, ev: TrailEvent, d: Row, at: str) -> None:
        case = self._moved(ev, d, at)
        if case is not None:
            case.update(
                tier=None,
                closed_at=at,
                stage_seq=ev.seq,
                stage_started_at=at,
                paused_at=None,
                merged_into=d.get("into"),
            )

    def _case_rated(self, ev: TrailEvent, d: Row, at: str) -> None:
        if ev.case_id in self.cases:
            self.cases[ev.case_id]["rating_score"] = d.get("score")

    def _supervision_raised(self, ev: TrailEvent, d: Row, at: str) -> None:
        self.supervisions[d["supervision"]] = {
            "case_id": ev.case_id,
            "stage_seq": d.get("stage_seq"),
            "state": d.get("state"),
            "holder": d.get("holder"),
            "unit": d.get("unit"),
            "also_unit": d.get("also_unit"),
            "stage_due_at": d.get("stage_due_at"),
            "raised_at": at,
            "acknowledged_at": None,
            "acknowledged_by": None,
            "task_id": d.get("task"),
        }

    def _supervision_acknowledged(self, ev: TrailEvent, d: Row, at: str) -> None:
        sup = self.supervisions.setdefault(d["supervision"], {})
        sup.update(acknowledged_at=at, acknowledged_by=ev.actor)

    def _extension_requested(self, ev: TrailEvent, d: Row, at: str) -> None:
        self.extensions[d["extension"]] = {
            "case_id": ev.case_id,
            "stage_seq": d.get("stage_seq"),
            "state": ev.to_state,
            "holder": ev.to_holder,
            "unit": d.get("unit"),
            "requested_by": ev.actor,
            "requested_at": at,
            "reason": ev.reason,
            "days": d.get("days"),
            "status": "pending",
            "decided_by": None,
            "decided_at": None,
            "decision_reason": None,
            "new_stage_due_at": None,
            "task_id": d.get("task"),
        }

    def _extension_decided(self, ev: TrailEvent, d: Row, at: str, status: str) -> None:
        ext = self.extensions.setdefault(d["extension"], {})
        ext.update(status=status, decided_by=ev.actor, decided_at=at, decision_reason=ev.reason)
        if status == "approved" and "task" in d:
            # A task's step extended: the task's limit moves, not the case's.
            ext["days"] = d.get("days")
            ext["new_stage_due_at"] = d.get("task_due_at")
            replay_tasks.extended(self.tasks, d)
        elif status == "approved":
            ext["days"] = d.get("days")
            case = self.cases.get(ev.case_id) if ev.case_id is not None else None
            # While the clock is stopped the limit moves when it starts again (None here).
            paused = case is not None and case.get("paused_at") is not None
            ext["new_stage_due_at"] = None if paused else d.get("stage_due_at")
            if case is not None and "stage_due_at" in d:
                case.update(stage_due_at=d["stage_due_at"], due_at=d.get("due_at"))

    def _extension_approved(self, ev: TrailEvent, d: Row, at: str) -> None:
        self._extension_decided(ev, d, at, "approved")

    def _extension_refused(self, ev: TrailEvent, d: Row, at: str) -> None:
        self._extension_decided(ev, d, at, "refused")


def _routes(session: Session) -> Callable[[str, int], RouteSpec | None]:
    found: dict[tuple[str, int], RouteSpec | None] = {}

    def route(name: str, version: int) -> RouteSpec | None:
        key = (name, version)
        if key not in found:
            try:
                found[key] = registry.route(session, name, version)[0]
            except WorkflowError:  # a version the definitions do not hold: not rebuilt
                found[key] = None
        return found[key]

    return route


def replay(session: Session, *, batch: int = 5000) -> _Replay:
    """The rows the trail gives, from its events in seq order."""
    rebuilt = _Replay(_routes(session))
    events = session.execute(
        select(TrailEvent)
        .where(TrailEvent.action.in_(REPLAYED_ACTIONS))
        .order_by(TrailEvent.seq)
        .execution_options(yield_per=batch)
    ).scalars()
    for ev in events:
        if ev.case_id is not None or not ev.action.startswith("case."):
            rebuilt.apply(ev)
    replay_tasks.streets(rebuilt.tasks, rebuilt.cases)
    return rebuilt


def _plain(value: Any) -> Any:
    return format_at(value) if isinstance(value, dt.datetime) else value


def _compare(
    kind: str, stored: dict[int, Row], trail: dict[int, Row], fields: tuple[str, ...]
) -> Iterator[Difference]:
    for id_ in sorted(set(stored) | set(trail)):
        row, want = stored.get(id_), trail.get(id_)
        if row is None or want is None:
            yield Difference(
                kind,
                id_,
                "row",
                ABSENT if row is None else "present",
                ABSENT if want is None else "present",
            )
            continue
        for f in fields:
            if f in want and _plain(row[f]) != want[f]:
                yield Difference(kind, id_, f, _plain(row[f]), want[f])


def _stored(session: Session, model: Any, fields: tuple[str, ...]) -> dict[int, Row]:
    cols = [getattr(model, f) for f in fields]
    rows = session.execute(select(model.id, *cols).order_by(model.id)).all()
    return {r[0]: dict(zip(fields, r[1:], strict=True)) for r in rows}


def differences(session: Session, *, batch: int = 5000) -> Iterator[Difference]:
    """Every field of every case, supervision, extension, task and attachment row that is not
    what the trail gives; a row that only one of the two has."""
    rebuilt = replay(session, batch=batch)
    yield from _compare("case", _stored(session, Case, CASE_FIELDS), rebuilt.cases, CASE_FIELDS)
    yield from _compare(
        "supervision",
        _stored(session, Supervision, SUPERVISION_FIELDS),
        rebuilt.supervisions,
        SUPERVISION_FIELDS,
    )
    yield from _compare(
        "extension",
        _stored(session, Extension, EXTENSION_FIELDS),
        rebuilt.extensions,
        EXTENSION_FIELDS,
    )
    yield from _compare(
        "task",
        _stored(session, Task, replay_tasks.TASK_FIELDS),
        rebuilt.tasks,
        replay_tasks.TASK_FIELDS,
    )
    yield from _compare(
        "attachment",
        _stored(session, Attachment, ATTACHMENT_FIELDS),
        rebuilt.attachments,
        ATTACHMENT_FIELDS,
    )
