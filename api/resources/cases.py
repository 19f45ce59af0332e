"""Cases: open, list, read (a trail event per full read), fire triggers, rate, read the trail."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import Response, current_app, jsonify
from flask.views import MethodView
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import db
from api.auth import current_caller, require_roles
from api.blueprint import Blueprint
from api.problems import problem
from api.schemas import KeysetPageArgs, iso, page_body, page_of, page_schema
from workflow import privacy
from workflow.actors import Actor
from workflow.audit import chain
from workflow.catalog import registry
from workflow.catalog.registry import UnitIndex
from workflow.dispatch import duplicates
from workflow.errors import InvalidInput, NotFound, StaleVersion, WorkflowError
from workflow.queries import cases as case_queries
from workflow.queries import scope, search
from workflow.queries import tasks as task_queries
from workflow.queries import trail as trail_queries
from workflow.runtime import engine, tasks, urgency
from workflow.spec.model import URGENCIES
from workflow.store.models import Case, IdempotencyKey, Task

blp = Blueprint("cases", __name__, url_prefix="/api/v1/cases", description="Cases")
LIGHTS = case_queries.LIGHTS
TEXT = 4000


# ---------------------------------------------------------------- schemas


class ApplicantSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=128))
    phone = ma.fields.String(load_default="", validate=ma.validate.Length(max=32))


class OpenCaseSchema(ma.Schema):
    item = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=32))
    workstation = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(min=1, max=32),
        metadata={
            "description": "the community workstation; without it, the community that "
            "contains lat/long or matches address (routing by place)"
        },
    )
    lat = ma.fields.Float(
        load_default=None,
        allow_nan=False,
        validate=ma.validate.Range(-90, 90),
        metadata={"description": "where it was reported: latitude, decimal degrees (WGS 84)"},
    )
    long = ma.fields.Float(
        load_default=None,
        allow_nan=False,
        validate=ma.validate.Range(-180, 180),
        metadata={"description": "longitude, decimal degrees; with lat"},
    )
    address = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(min=1, max=500),
        metadata={"description": "the address as given: a road and number, or an estate"},
    )
    applicant = ma.fields.Nested(ApplicantSchema, required=True)
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=TEXT))
    form = ma.fields.Dict(
        keys=ma.fields.String(),
        load_default=dict,
        metadata={
            "description": "materials: the item's materials received (each is then required "
            "unless materials_override gives a reason)"
        },
    )
    materials_override = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=TEXT),
        metadata={"description": "why the case is opened without some of the item's materials"},
    )
    urgency = ma.fields.String(
        load_default=None,
        validate=ma.validate.OneOf(URGENCIES),
        metadata={
            "description": "normal (一般), urgent (紧急), critical (特急); default: the item's"
        },
    )


class UrgencyChangeSchema(ma.Schema):
    urgency = ma.fields.String(required=True, validate=ma.validate.OneOf(URGENCIES))
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=TEXT))


class RouteRefSchema(ma.Schema):
    name = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True)
    street = ma.fields.String(
        allow_none=True,
        metadata={"description": "the street whose variant the case is on; null: the district's"},
    )


class HolderSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    name_en = ma.fields.String()
    kind = ma.fields.String(required=True)


class CaseTaskSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    unit = ma.fields.String(required=True)
    unit_name = ma.fields.String()
    lead = ma.fields.Boolean(required=True)
    required = ma.fields.Boolean()
    status = ma.fields.String(required=True)
    report_due_at = ma.fields.String(allow_none=True, required=True)
    due_at = ma.fields.String(allow_none=True, required=True)
    light = ma.fields.String()
    result = ma.fields.String(allow_none=True, required=True)
    version = ma.fields.Integer()


class CaseSchema(ma.Schema):
    """A case as every endpoint returns it; the applicant's phone is masked unless the caller's
    unit holds the case and reads the full record; for an auditor the name is masked too."""

    id = ma.fields.Integer(required=True)
    item = ma.fields.String(required=True)
    route = ma.fields.Nested(RouteRefSchema, required=True)
    state = ma.fields.String(required=True)
    tier = ma.fields.String(allow_none=True, required=True)
    holder = ma.fields.Nested(HolderSchema, allow_none=True, required=True)
    workstation = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True)
    created_at = ma.fields.String(required=True)
    stage_due_at = ma.fields.String(allow_none=True, required=True)
    due_at = ma.fields.String(allow_none=True, required=True)
    light = ma.fields.String(required=True, validate=ma.validate.OneOf(LIGHTS))
    urgency = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(URGENCIES),
        metadata={"description": "urgent and critical cases run on clock time, round the clock"},
    )
    available_triggers = ma.fields.List(ma.fields.String(), required=True)
    tasks = ma.fields.List(
        ma.fields.Nested(CaseTaskSchema),
        metadata={"description": "its parallel tasks the caller may see (a department: its own)"},
    )
    channel = ma.fields.String()
    applicant = ma.fields.Nested(ApplicantSchema)
    merged_into = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "合并: the case this one was merged into (state `merged`)"},
    )
    result = ma.fields.String(
        allow_none=True,
        metadata={"description": "办理结果: as written on the latest resolve or complete"},
    )


class LocationSchema(ma.Schema):
    lat = ma.fields.Float(allow_none=True, required=True)
    long = ma.fields.Float(allow_none=True, required=True)
    address = ma.fields.String(allow_none=True, required=True)


class CaseDetailSchema(CaseSchema):
    """The full record: with the description, the form, the rating, and the versions of the list
    and of the street's routing table the case is pinned to (null: opened before its street had
    a table)."""

    list_version = ma.fields.Integer()
    routing_version = ma.fields.Integer(allow_none=True)
    description = ma.fields.String()
    form = ma.fields.Dict()
    updated_at = ma.fields.String()
    closed_at = ma.fields.String(allow_none=True)
    rating = ma.fields.Dict(allow_none=True)
    location = ma.fields.Nested(
        LocationSchema,
        allow_none=True,
        metadata={"description": "where it was reported; null: opened by workstation only"},
    )
    similar = ma.fields.List(
        ma.fields.Integer(),
        metadata={
            "description": "on opening: likely duplicates (open cases of the same item and "
            "place of the last days; GET /cases/{id}/similar)"
        },
    )


class CaseListArgs(KeysetPageArgs):
    q = ma.fields.String(
        validate=ma.validate.Length(max=search.MAX_Q),
        metadata={
            "description": "search: a case number (1024 or #1024); the last 3+ digits of the "
            "applicant's phone (clerks and staff); the applicant's name, anywhere from 3 "
            "characters, its start for 1-2 (王, 王五; not for auditors); the description or "
            "address, anywhere from 3 characters; the item's code or any part of its name"
        },
    )
    view = ma.fields.String(
        validate=ma.validate.OneOf(search.VIEWS),
        metadata={
            "description": "all (default): every case in scope; inbox: held by the caller's "
            "unit; handled: held by it at some time; opened: opened by it; whistled: the "
            "whistles the caller's street blew"
        },
    )
    state = ma.fields.String(validate=ma.validate.Length(max=64))
    holder = ma.fields.String(validate=ma.validate.Length(max=32))
    item = ma.fields.String(validate=ma.validate.Length(max=32))
    light = ma.fields.String(validate=ma.validate.OneOf(LIGHTS))
    street = ma.fields.String(validate=ma.validate.Length(max=32))
    urgency = ma.fields.String(validate=ma.validate.OneOf(URGENCIES))
    opened_from = ma.fields.Date(metadata={"description": "opened on or after this day"})
    opened_until = ma.fields.Date(metadata={"description": "opened on or before this day"})
    overdue = ma.fields.Boolean(
        metadata={"description": "only open cases past their whole-case limit"}
    )


CasePage = page_schema(CaseSchema, "CasePage", keyset=True)


class TransitionSchema(ma.Schema):
    trigger = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    reason = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=TEXT))
    target = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=32))
    targets = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=32)),
        allow_none=True,
        validate=ma.validate.Length(max=20),
        metadata={"description": "a joint whistle's departments; the first is the lead"},
    )
    lead = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(max=32),
        metadata={"description": "the lead (主办) among the targets, when not the first"},
    )
    data = ma.fields.Dict(keys=ma.fields.String(), allow_none=True)
    result = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(max=TEXT),
        metadata={"description": "办理结果: what was done, with resolve or complete only"},
    )


class TransitionHeaders(ma.Schema):
    if_match = ma.fields.String(
        data_key="If-Match",
        metadata={"description": "the case's ETag; 412 when the case changed since"},
    )
    idempotency_key = ma.fields.String(
        data_key="Idempotency-Key",
        validate=ma.validate.Length(min=1, max=128),
        metadata={"description": "a retry with the same key returns the first answer"},
    )


class TrailEventSchema(ma.Schema):
    seq = ma.fields.Integer(required=True)
    at = ma.fields.String(required=True)
    case = ma.fields.Integer(allow_none=True)
    actor = ma.fields.String(required=True)
    unit = ma.fields.String(allow_none=True)
    action = ma.fields.String(required=True)
    trigger = ma.fields.String(allow_none=True)
    from_state = ma.fields.String(allow_none=True)
    to_state = ma.fields.String(allow_none=True)
    from_holder = ma.fields.String(allow_none=True)
    to_holder = ma.fields.String(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    data = ma.fields.Dict()
    prev_hash = ma.fields.String(required=True)
    hash = ma.fields.String(required=True)


# ---------------------------------------------------------------- the case as JSON


def mask_phone(phone: str) -> str:
    """13800001234 -> 138****1234: enough to recognise, not enough to call."""
    if len(phone) <= 4:
        return "*" * len(phone)
    keep = 3 if len(phone) >= 8 else 0
    return phone[:keep] + "*" * (len(phone) - keep - 4) + phone[-4:]


def cases_json(session: Session, cases: list[Case], actor: Actor) -> list[dict[str, Any]]:
    """The cases of a page as JSON: their tasks read in one query, what each route version
    and the organisation say looked up once for the page, and the triggers of the cases that
    share them worked out once (engine.available_triggers_of)."""
    if not cases:
        return []
    routes = {
        (c.route_name, c.route_version): engine.route_of(session, c)
        for c in cases
        if c.route_version
    }
    with_tasks = [c.id for c in cases if c.route_version and routes[_route_key(c)].has_tasks]
    tasks_by_case = task_queries.tasks_of_cases(session, actor=actor, case_ids=with_tasks)
    page = _Page(
        units=registry.units(session),
        triggers=engine.available_triggers_of(session, cases, actor),
        streets={k: registry.route_street(session, *k) for k in routes},
        has_tasks={k: r.has_tasks for k, r in routes.items()},
    )
    return [case_json(session, c, actor, tasks_of=tasks_by_case, page=page) for c in cases]


def _route_key(case: Case) -> tuple[str, int]:
    return (case.route_name, case.route_version)


@dataclasses.dataclass(frozen=True)
class _Page:
    """What the cases of a page share, read once for it (cases_json)."""

    units: UnitIndex
    triggers: dict[int, list[str]]
    streets: dict[tuple[str, int], str | None]
    has_tasks: dict[tuple[str, int], bool]


def case_json(
    session: Session,
    case: Case,
    actor: Actor,
    *,
    full: bool = False,
    tasks_of: dict[int, list[Task]] | None = None,
    units: UnitIndex | None = None,
    page: _Page | None = None,
) -> dict[str, Any]:
    """The case as JSON; TASKS_OF: the tasks of a page's cases, read already (cases_json);
    UNITS: the organisation where the caller has it; PAGE: what a page's cases share."""
    units = page.units if page is not None else units or registry.units(session)
    holder = None
    if case.holder:
        u = units.units.get(case.holder)
        holder = {
            "code": case.holder,
            "name": u.name_zh if u else case.holder,
            "name_en": u.name_en if u else case.holder,
            "kind": u.kind if u else "unknown",
        }
    shows_phone = full and privacy.phone_shown_for(session, actor, case) is not None
    out: dict[str, Any] = {
        "id": case.id,
        "item": case.item,
        "route": {
            "name": case.route_name,
            "version": case.route_version,
            # (Route version 0: at the dispatch centre, no route yet.)
            "street": (
                page.streets[_route_key(case)]
                if page is not None
                else registry.route_street(session, case.route_name, case.route_version)
            )
            if case.route_version
            else None,
        },
        "state": case.state,
        "tier": case.tier,
        "holder": holder,
        "workstation": case.workstation,
        "version": case.version,
        "created_at": iso(case.created_at),
        "stage_due_at": iso(case.stage_due_at),
        "due_at": iso(case.due_at),
        "light": case.light,
        "urgency": case.urgency,
        "merged_into": case.merged_into,
        "available_triggers": (
            page.triggers[case.id]
            if page is not None
            else engine.available_triggers(session, case, actor)
        ),
        "tasks": case_tasks(
            session,
            case,
            actor,
            tasks_of,
            units,
            has_tasks=page.has_tasks.get(_route_key(case)) if page is not None else None,
        ),
        "channel": case.channel,
        "result": case.result,
        "applicant": {
            "name": privacy.applicant_name(actor, case.applicant_name),
            "phone": case.applicant_phone if shows_phone else mask_phone(case.applicant_phone),
        },
    }
    if full:
        out.update(
            list_version=case.list_version,
            routing_version=case.routing_version,
            description=case.description,
            form=privacy.form_for(actor, case.form or {}),
            updated_at=iso(case.updated_at),
            closed_at=iso(case.closed_at),
            rating=(
                {"score": case.rating_score, "comment": case.rating_comment}
                if case.rating_score is not None
                else None
            ),
            location=(
                # An auditor reads no personal data: an address may be the resident's home.
                {
                    "lat": case.lat,
                    "long": case.long,
                    "address": case.address if privacy.shows_names(actor) else None,
                }
                if case.lat is not None or case.address
                else None
            ),
        )
    return out


def case_tasks(
    session: Session,
    case: Case,
    actor: Actor,
    tasks_of: dict[int, list[Task]] | None = None,
    index: UnitIndex | None = None,
    *,
    has_tasks: bool | None = None,
) -> list[dict[str, Any]]:
    """The case's tasks the caller may see; none asked for on a route without task states
    (HAS_TASKS: whether the case's route has any, where the caller knows)."""
    if not case.route_version:
        return []
    if has_tasks is None:
        has_tasks = engine.route_of(session, case).has_tasks
    if not has_tasks:
        return []
    units = (index or registry.units(session)).units
    now = engine.utcnow()
    out = []
    found = tasks_of.get(case.id) if tasks_of is not None else None
    if found is None:
        found = list(
            task_queries.tasks_of_case(
                session, actor=actor, case_id=case.id, case=case, units=index
            )
        )
    for t in found:
        d = tasks.task_json(t, now)
        u = units.get(t.unit)
        d["unit_name"] = u.name_zh if u else t.unit
        out.append(d)
    return out


def etag_of(case: Case) -> str:
    return f'"{case.version}"'


def with_etag(body: dict[str, Any], status: int = 200) -> Response:
    resp = jsonify(body)
    resp.status_code = status
    resp.headers["ETag"] = f'"{body["version"]}"'
    return resp


def read_full(session: Session, case: Case, actor: Actor) -> dict[str, Any]:
    """The full record, with its read recorded on the trail (in the caller's transaction); an
    auditor's read shows no personal data (name and phone masked), so it is not recorded."""
    body = case_json(session, case, actor, full=True)
    _record_read(session, case, actor, body["applicant"]["phone"])
    return body


def read_phone(
    session: Session, case: Case, actor: Actor, head: tuple[int, str] | None = None
) -> str:
    """The applicant's phone as read_full() shows it, its read recorded as read_full() records
    it: for a page that shows the record itself (the console's case page), without building the
    record's JSON. HEAD: the case's trail partition's head as chain.lock_case_head() gave it."""
    shown = privacy.phone_shown_for(session, actor, case) is not None
    phone = case.applicant_phone if shown else mask_phone(case.applicant_phone)
    _record_read(session, case, actor, phone, head)
    return phone


def _record_read(
    session: Session, case: Case, actor: Actor, phone: str, head: tuple[int, str] | None = None
) -> None:
    if not privacy.shows_names(actor):
        return
    chain.append(
        session,
        at=engine.utcnow(),
        actor=actor.label,
        unit=actor.unit,
        action="case.personal_data_read",
        case_id=case.id,
        data=_read_data(session, case, actor, phone),
        head=head,
    )


def search_filters(args: dict[str, Any]) -> search.Filters:
    """The search filters of a list request (GET /cases)."""
    return search.Filters(
        q=args.get("q") or "",
        view=args.get("view") or "all",
        state=args.get("state"),
        holder=args.get("holder"),
        item=args.get("item"),
        light=args.get("light"),
        street=args.get("street"),
        urgency=args.get("urgency"),
        opened_from=args.get("opened_from"),
        opened_until=args.get("opened_until"),
        overdue=bool(args.get("overdue")),
        tz=current_app.config.get("TIMEZONE", "Asia/Shanghai"),
    )


def _read_data(session: Session, case: Case, actor: Actor, phone: str) -> dict[str, Any]:
    """What a personal-data read showed (PHONE as shown); a follow-up read (the phone of an ended
    case, for its 回访 or rectification) says so."""
    if "*" in phone:
        return {"phone": "masked"}
    why = privacy.phone_shown_for(session, actor, case)
    return {"phone": "shown", **({"for": why} if why == "follow_up" else {})}


# ---------------------------------------------------------------- endpoints


@blp.route("")
class Cases(MethodView):
    @blp.arguments(CaseListArgs, location="query")
    @blp.response(200, CasePage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The cases the caller may see, newest first, paged and filtered

        Page on with `after=next` (rows added meanwhile neither shift nor repeat), or by
        `page` number."""
        actor = current_caller().actor
        s = db.session()
        offset, limit = page_of(args)
        page = case_queries.list_cases(
            s,
            actor=actor,
            filters=search_filters(args),
            after=args.get("after"),
            offset=offset,
            limit=limit,
        )
        return page_body(args, page, cases_json(s, page.items, actor))

    @blp.arguments(OpenCaseSchema)
    @blp.response(201, CaseDetailSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @blp.alt_response(
        403,
        description="Not a clerk of that workstation, nor the staff of the community committee "
        "the item's route starts at",
    )
    def post(self, body: dict[str, Any]) -> Response:
        """Open a case at a workstation (its clerk, or the staff of the community's party or
        mediation committee for the items that committee receives)

        Without `workstation`, the case lands at the community that contains `lat`/`long`
        (on a shared edge: the lowest workstation code), else the one `address` matches;
        what cannot be placed is refused with 422 (`cannot place; name a workstation`)
        unless a dispatch centre takes it."""
        # The engine checks which clerk or committee may open there.
        actor = require_roles("clerk", "staff")
        with db.write() as s:
            case = engine.open_case(
                s,
                item=body["item"],
                workstation=body["workstation"],
                actor=actor,
                applicant_name=body["applicant"]["name"],
                applicant_phone=body["applicant"]["phone"],
                description=body["description"],
                form=body["form"],
                channel="window",
                urgency=body.get("urgency"),
                materials_override=body.get("materials_override"),
                lat=body["lat"],
                long=body["long"],
                address=body["address"],
            )
            out = case_json(s, case, actor, full=True)
            out["similar"] = [c.id for c in duplicates.similar(s, case)]
        return with_etag(out, 201)


@blp.route("/<int:case_id>")
class CaseResource(MethodView):
    @blp.response(200, CaseDetailSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @blp.alt_response(404, description="No such case in the caller's scope")
    def get(self, case_id: int) -> Response:
        """The full record of a case (each read is a trail event, but an auditor's)

        An auditor reads the applicant's name and phone masked, and that read is not a
        personal-data read."""
        actor = current_caller().actor
        with db.write() as s:
            case = scope.get_case(s, actor, case_id)
            out = read_full(s, case, actor)
        return with_etag(out)


_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')


def if_match_versions(if_match: str | None) -> list[int] | None:
    """The versions If-Match lists; None for no header or `*`; StaleVersion if it lists none."""
    if if_match is None or if_match.strip() == "*":
        return None
    versions = [int(m.group(1)) for p in if_match.split(",") if (m := _ETAG.match(p))]
    if not versions:
        raise StaleVersion(f"If-Match {if_match!r} does not match the case's ETag")
    return versions


def expected_version(s: Session, case_id: int, if_match: str | None) -> int | None:
    """The version If-Match asks for; None for no header or `*`."""
    versions = if_match_versions(if_match)
    if versions is None:
        return None
    if len(versions) == 1:
        return versions[0]
    chain.lock_head(s)  # the first statement: reading the version comes after the lock
    current = s.execute(select(Case.version).where(Case.id == case_id)).scalar_one_or_none()
    return current if current in versions else versions[0]


def request_digest(case_id: int, body: dict[str, Any]) -> str:
    return hashlib.sha256(chain.canonical_json({"case": case_id, **body})).hexdigest()


@blp.route("/<int:case_id>/transitions")
class Transitions(MethodView):
    @blp.arguments(TransitionHeaders, location="headers")
    @blp.arguments(TransitionSchema)
    @blp.response(200, CaseSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @blp.alt_response(403, description="The caller's unit does not hold the case")
    @blp.alt_response(404, description="No such case in the caller's scope")
    @blp.alt_response(409, description="The trigger is not allowed in the case's state")
    @blp.alt_response(412, description="If-Match is stale")
    def post(self, headers: dict[str, Any], body: dict[str, Any], case_id: int) -> Response:
        """Fire a trigger on a case (its holder)"""
        caller = current_caller()
        actor = caller.actor
        key = headers.get("idempotency_key")
        if not 1 <= case_id <= scope.MAX_ID:
            raise NotFound(f"no case {case_id}")

        if key is None and len(if_match_versions(headers.get("if_match")) or ()) <= 1:
            return fire_planned(case_id, body, actor, headers.get("if_match"))
        digest = request_digest(case_id, body)  # what an Idempotency-Key's answer is kept for

        def fire(s: Session) -> dict[str, Any]:
            try:
                engine.fire(
                    s,
                    case_id,
                    body["trigger"],
                    actor,
                    expected_version=expected_version(s, case_id, headers.get("if_match")),
                    **firing_args(body),
                )
            except WorkflowError:
                # Outside the caller's scope every refusal is a 404: nothing is told.
                scope.get_case(s, actor, case_id)
                raise
            return {}

        def render(s: Session) -> dict[str, Any]:
            # Whoever may fire is in scope (a holder, or the applicant's channel).
            return case_json(s, engine.get_case(s, case_id), actor)

        return idempotent_write(caller.user_id, key, digest, fire, render, case_id=case_id)


def firing_args(body: dict[str, Any]) -> dict[str, Any]:
    """A transition's fields as engine.fire() and engine.plan_fire() take them."""
    return {k: body.get(k) for k in ("reason", "target", "targets", "lead", "data", "result")}


def fire_planned(
    case_id: int, body: dict[str, Any], actor: Actor, if_match: str | None
) -> Response:
    """A transition without an Idempotency-Key: worked out without the write lock (the case,
    the definitions, the machine's checks, the new state and deadlines), then written under it
    if the case has not changed since (else fired again under it, engine.commit_fire); the
    answer is built after the commit from the case as written."""
    s = db.session()
    versions = if_match_versions(if_match)
    try:
        plan = engine.plan_fire(
            s,
            case_id,
            body["trigger"],
            actor,
            expected_version=versions[0] if versions else None,
            **firing_args(body),
        )
        # Only reads so far (the token, the plan): the write goes on in their transaction
        # where that is the same as a new one (db.write: SQLite, PostgreSQL at READ
        # COMMITTED), else it is ended first.
        with db.write(lock=False, after_reads=True) as s:
            engine.commit_fire(s, plan)
    except WorkflowError:
        # Outside the caller's scope every refusal is a 404: nothing is told.
        s = db.session()
        s.rollback()
        scope.get_case(s, actor, case_id)
        raise
    case = plan.case
    assert case is not None
    if not hasattr(case, "applicant_name"):
        # Fired again under the lock, from the columns a firing reads: the rest is read now.
        case = engine.get_case(s, case_id)
    # Whoever may fire is in scope (a holder, or the applicant's channel). A case without
    # tasks under the lock has none after a firing that opens none (one into a task state is
    # fired whole under the lock, and its tasks read here).
    no_tasks: dict[int, list[Task]] | None = {case_id: []} if plan.has_tasks is False else None
    return with_etag(case_json(s, case, actor, units=plan.units, tasks_of=no_tasks))


def idempotent_write(
    user_id: int,
    key: str | None,
    digest: str,
    write: Callable[[Session], dict[str, Any]],
    render: Callable[[Session], dict[str, Any]] | None = None,
    *,
    case_id: int | None = None,
) -> Response:
    """Run WRITE in one transaction and answer its body (or RENDER's) with its ETag. With an
    Idempotency-Key the answer is stored in the same transaction, so a retry gets it back and
    never writes twice; the same key with another request is a 422. Without a key RENDER runs
    after the commit, on a fresh snapshot, so the write lock is not held while the answer is
    built (another write may have come in between: the answer is the case as it is then)."""
    try:
        # Without a key the engine's own lock_head is the transaction's first statement; with
        # one, the lock of CASE_ID's trail partition where WRITE fires on that case only.
        with db.write(lock=bool(key) and case_id is None) as s:
            if key and case_id is not None:
                chain.lock_case_head(s, case_id)
            if key:
                stored = _stored_answer(s, user_id, key, digest)
                if stored is not None:
                    return stored
            out = write(s)
            if render is not None and key:
                out = render(s)
            if key:
                s.add(
                    IdempotencyKey(
                        user_id=user_id,
                        key=key,
                        request_digest=digest,
                        status=200,
                        body=out,
                        created_at=engine.utcnow(),
                    )
                )
                s.flush()
    except IntegrityError:
        # Another process stored the same key first (the chain's lock makes this rare).
        db.session().rollback()
        with db.write() as s:
            stored = _stored_answer(s, user_id, key or "", digest)
        if stored is None:
            raise
        return stored
    if render is not None and not key:
        out = render(db.session())
    return with_etag(out)


def _stored_answer(s: Session, user_id: int, key: str, digest: str) -> Response | None:
    row = s.execute(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    ).scalar_one_or_none()
    if row is None:
        return None
    if row.request_digest != digest:
        raise InvalidInput(
            "this Idempotency-Key was used for a different request",
            {"Idempotency-Key": ["used for a different request"]},
        )
    resp = with_etag(row.body, row.status)
    resp.headers["Idempotent-Replayed"] = "true"
    return resp


@blp.route("/<int:case_id>/urgency")
class Urgency(MethodView):
    @blp.arguments(UrgencyChangeSchema)
    @blp.response(200, CaseSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @blp.alt_response(403, description="Not the holder, its street or the dispatch centre")
    @blp.alt_response(404, description="No such case in the caller's scope")
    @blp.alt_response(409, description="Closed, or at that urgency already")
    def post(self, body: dict[str, Any], case_id: int) -> Response:
        """Raise or lower a case's urgency, with a reason (a trail event; not a transition)

        The current stage and the whole case get the new clock's limits from now."""
        actor = current_caller().actor
        with db.write() as s:
            case = scope.get_case(s, actor, case_id)
            urgency.set_urgency(
                s, case_id=case_id, actor=actor, urgency=body["urgency"], reason=body["reason"]
            )
            out = case_json(s, case, actor)
        return with_etag(out)


@blp.route("/<int:case_id>/rating")
class Rating(MethodView):
    @blp.response(410)
    @blp.alt_response(410, description="Gone: the resident rates, by the one-time link or a 回访")
    def post(self, case_id: int) -> Response:
        """Gone: a unit no longer enters a rating of its own case"""
        current_caller()  # still 401 without a token
        return problem(
            410,
            "a rating comes from the resident, never from the unit being rated: the resident "
            "answers through the one-time link (/f/{code}) shown when the case ends, or a "
            f"callback operator records a 回访 (POST /api/v1/cases/{case_id}/feedback)",
            title="Ratings are given by the resident",
        )


@blp.route("/<int:case_id>/trail")
class Trail(MethodView):
    @blp.response(200, TrailEventSchema(many=True))
    @blp.alt_response(404, description="No such case in the caller's scope")
    def get(self, case_id: int) -> list[dict[str, Any]]:
        """The case's trail, oldest first"""
        actor = current_caller().actor
        s = db.session()
        scope.get_case(s, actor, case_id)
        # An event reads as the trail hashed it (one spelling of its body: chain.event_dict).
        events = trail_queries.case_timeline(s, case_id=case_id, actor=actor)
        return [chain.event_dict(e) for e in events]
