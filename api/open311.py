"""Open311 GeoReport v2 (prefix /open311/v2): the list as services, cases as service requests.

Reads need no key; POST requests.{fmt} needs an `api_key` (`streetflow apikeys add NAME`). A
request filed here opens a case exactly like one at the window (engine.open_case), at the
workstation named by the service's optional `workstation` attribute, else at the community its
`lat`/`long` or `address_string` lies in (routing by place), with an `applicant` actor
and channel = the key's name. Only requests filed here are published (listed, and readable by
id); a case opened at a window is 404 here. Errors are [{"code", "description"}] with 400, 403
or 404."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, json, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api import db
from api.console.labels import STATES
from workflow import privacy
from workflow.actors import Actor
from workflow.catalog import registry
from workflow.errors import InvalidInput, NotFound, WorkflowError
from workflow.inputs import date_range_text, in_range, text_errors
from workflow.runtime import engine
from workflow.spec.model import ItemSpec
from workflow.store.models import ApiKey, Case, TrailEvent
from workflow.users import sha256

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FORMATS = "<any(json, xml):fmt>"
MAX_REQUESTS = 1000
WINDOW = dt.timedelta(days=90)
# Longest value of each parameter, in characters. GeoReport v2 limits description to 4,000;
# the others follow what they hold (an e-mail address is at most 254, RFC 5321; a URL 2,048 as
# browsers and servers accept them; names and phone as the case's columns).
LIMITS = {
    "description": 4000,
    "email": 254,
    "media_url": 2048,
    "address_string": 500,
    "address_id": 64,
    "first_name": 60,
    "last_name": 60,
    "phone": 32,
    "device_id": 128,
    "account_id": 128,
    "api_key": 128,
    "service_code": 32,
    "jurisdiction_id": 64,
    "lat": 32,
    "service_request_id": 2000,
    "long": 32,
}
OTHER_LIMIT = 200  # any other parameter, attribute[...] included
# Lists in XML: the element name of each member.
MEMBER = {
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
    "keywords": "keyword",
}


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class Open311Error(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status, self.description = status, description


def _xml_into(parent: ET.Element, value: Any, tag: str) -> None:
    el = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for k, v in value.items():
            _xml_into(el, v, k)
    elif isinstance(value, list):
        for v in value:
            _xml_into(el, v, MEMBER.get(tag, "item"))
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    elif value is not None:
        # Text stored before the text policy may hold what XML 1.0 cannot: shown as U+FFFD.
        el.text = _XML_ILLEGAL.sub("\ufffd", str(value))


def render(value: Any, fmt: str, root: str, member: str, status: int = 200) -> Response:
    """JSON as is; XML as <root><member>...</member></root> (a dict: <root> with its fields)."""
    if fmt == "xml":
        top = ET.Element(root)
        if isinstance(value, list):
            for v in value:
                _xml_into(top, v, member)
        else:
            for k, v in value.items():
                _xml_into(top, v, k)
        body = b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="utf-8")
        body = body.replace(b"<?xml version='1.0' encoding='utf-8'?>\n", b"")
        return Response(body, status=status, mimetype="text/xml")
    return Response(
        json.dumps(value, ensure_ascii=False), status=status, mimetype="application/json"
    )


def _fmt() -> str:
    fmt = (request.view_args or {}).get("fmt")
    if fmt in ("json", "xml"):
        return str(fmt)
    return "xml" if request.path.endswith(".xml") else "json"


def error_response(status: int, description: str, fmt: str | None = None) -> Response:
    """Errors as GeoReport v2 says: [{"code", "description"}], or <errors><error> in XML."""
    return render(
        [{"code": status, "description": description}],
        fmt or _fmt(),
        "errors",
        "error",
        status,
    )


def on_error(exc: Open311Error) -> Response:
    return error_response(exc.status, exc.description)


@bp.before_request
def _check_params() -> None:
    """The text policy and a length for every parameter (query, form or JSON body): a 400
    naming the first offending field."""
    values = _params()
    for key in request.args:
        values.setdefault(key, request.args[key])
    errors = text_errors(values)
    if errors:
        field, messages = next(iter(errors.items()))
        raise Open311Error(400, f"{field}: {' '.join(messages)}")
    for key, value in values.items():
        limit = LIMITS.get(key, OTHER_LIMIT)
        if len(value) > limit:
            raise Open311Error(400, f"{key[:64]}: at most {limit} characters")


def _w3c(at: dt.datetime | None) -> str | None:
    return at.astimezone(dt.UTC).isoformat(timespec="seconds") if at else None


# ---------------------------------------------------------------- discovery and services


@bp.get(f"/discovery.{FORMATS}")
def discovery(fmt: str) -> Response:
    base = url_for("open311.services", fmt="json", _external=True).rsplit("/", 1)[0]
    return render(
        {
            "changeset": _w3c(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
            "contact": "the street office administrator",
            "key_service": "streetflow apikeys add NAME (ask the administrator)",
            "endpoints": [
                {
                    "specification": "http://wiki.open311.org/GeoReport_v2",
                    "url": base,
                    "changeset": _w3c(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        },
        fmt,
        "discovery",
        "discovery",
    )


def _service(item: ItemSpec) -> dict[str, Any]:
    return {
        "service_code": item.code,
        "service_name": item.name_zh,
        "description": item.name_en,
        "metadata": True,
        "type": "realtime",
        "keywords": item.kind,
        "group": item.window,
    }


def _public_items(s: Session) -> dict[str, ItemSpec]:
    """The items residents may file from an app (the list's `public` column: incidents,
    consultations, complaints), not applications like 低保 or 入党 that need the window."""
    items, _ = registry.items(s)
    return {code: i for code, i in items.items() if i.public}


def needs_location(item: ItemSpec) -> bool:
    """A request needs a place where the item asks for one among its materials (位置)."""
    return "位置" in item.materials


@bp.get(f"/services.{FORMATS}")
def services(fmt: str) -> Response:
    items = _public_items(db.session())
    return render([_service(i) for i in items.values()], fmt, "services", "service")


def _workstations(s: Session) -> list[tuple[str, str]]:
    units = registry.units(s).units.values()
    return [(u.code, u.name_zh) for u in units if u.kind == "workstation"]


@bp.get(f"/services/<string:code>.{FORMATS}")
def service_definition(code: str, fmt: str) -> Response:
    s = db.session()
    items = _public_items(s)
    if code not in items:
        raise Open311Error(404, f"no service {code!r}")
    definition = {
        "service_code": code,
        "attributes": [
            {
                "variable": True,
                "code": "workstation",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "the community workstation the request goes to; "
                "without it, the community its lat/long or address_string lies in",
                "order": 1,
                "description": "社区工作站 (community workstation)",
                "values": [{"key": k, "name": n} for k, n in _workstations(s)],
            }
        ],
    }
    return render(definition, fmt, "service_definition", "service_definition")


# ---------------------------------------------------------------- requests


def _last_holder(s: Session, case: Case) -> str | None:
    if case.holder:
        return case.holder
    return s.execute(
        select(TrailEvent.from_holder)
        .where(TrailEvent.case_id == case.id, TrailEvent.action == "case.transition")
        .order_by(TrailEvent.seq.desc())
        .limit(1)
    ).scalar_one_or_none()


def _status(s: Session, case: Case, holder_name: str | None) -> tuple[bool, str]:
    """(closed?, status_notes): at the dispatch centre and merged (合并) cases have no route
    state; the resident of a merged case is told which case goes on."""
    if case.merged_into is not None:
        return True, f"已合并（merged）至 {case.merged_into} 号，请关注该件办理结果"
    if not case.route_version:
        return False, f"待派单（awaiting_dispatch），{holder_name} 办理中"
    state = engine.route_of(s, case).state(case.state)
    # The state's Chinese word, with its code for programs that read it.
    label = state.label_zh or STATES.get(case.state, (case.state,))[0]
    if state.final:
        return True, f"{label}（{case.state}）"
    return False, f"{label}（{case.state}），{holder_name} 办理中"


def _last_holders(s: Session, cases: list[Case]) -> dict[int, str | None]:
    """_last_holder() of each of CASES, in two queries however many there are."""
    out: dict[int, str | None] = {c.id: c.holder for c in cases if c.holder}
    ended = [c.id for c in cases if not c.holder]
    if ended:
        last = (
            select(func.max(TrailEvent.seq))
            .where(TrailEvent.case_id.in_(ended), TrailEvent.action == "case.transition")
            .group_by(TrailEvent.case_id)
        )
        rows = s.execute(
            select(TrailEvent.case_id, TrailEvent.from_holder).where(TrailEvent.seq.in_(last))
        )
        out.update((case_id, holder) for case_id, holder in rows if case_id is not None)
    return out


def _request_json(
    s: Session,
    case: Case,
    items: Any,
    *,
    holders: dict[int, str | None] | None = None,
    media: dict[int, str] | None = None,
) -> dict[str, Any]:
    """A case as a GeoReport v2 request. HOLDERS and MEDIA: the last holders and public photos
    of a whole list read at once (otherwise read here, for this case)."""
    units = registry.units(s)
    holder = holders.get(case.id) if holders is not None else _last_holder(s, case)
    holder_name = units.units[holder].name_zh if holder and holder in units.units else holder
    final, notes = _status(s, case, holder_name)
    item = items.get(case.item)
    o311 = (case.form or {}).get("open311", {}) if case.channel != "window" else {}
    return {
        "service_request_id": str(case.id),
        "status": "closed" if final else "open",
        "status_notes": notes,
        "service_name": item.name_zh if item else case.item,
        "service_code": case.item,
        # Residents' free text stays out of the public list.
        "description": None,
        "agency_responsible": holder_name,
        "service_notice": None,
        "requested_datetime": _w3c(case.created_at),
        "updated_datetime": _w3c(case.updated_at),
        "expected_datetime": _w3c(case.due_at),
        "address": o311.get("address_string"),
        "address_id": o311.get("address_id"),
        "zipcode": None,
        # The point as the case keeps it (a number, as GeoReport v2 has it); older requests
        # kept it only as filed.
        "lat": case.lat if case.lat is not None else o311.get("lat"),
        "long": case.long if case.long is not None else o311.get("long"),
        # The resident's own link, else the first photo the case's handlers marked public.
        "media_url": o311.get("media_url")
        or (media.get(case.id) if media is not None else _public_media(s, case)),
    }


def _public_media(s: Session, case: Case) -> str | None:
    from api.resources.attachments import public_url
    from workflow.attachments import records

    shown = records.public_of(s, case)
    return public_url(shown[0]) if shown else None


def _public_medias(s: Session, cases: list[Case]) -> dict[int, str]:
    """_public_media() of each of CASES, in one query."""
    from api.resources.attachments import public_url
    from workflow.attachments import records

    return {case_id: public_url(a) for case_id, a in records.first_public_of(s, cases).items()}


def _date_arg(name: str) -> dt.datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        at = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(
            400, f"{name} must be a W3C date-time, e.g. 2026-11-26T10:00:00+08:00"
        ) from None
    if not in_range(at):
        raise Open311Error(400, f"{name} must lie {date_range_text()}")
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


@bp.get(f"/requests.{FORMATS}")
def requests_list(fmt: str) -> Response:
    s = db.session()
    items, _ = registry.items(s)
    # Only what was filed through Open311 is published: window cases are not a public record.
    q = select(Case).where(privacy.open311_published())
    ids = request.args.get("service_request_id")
    if ids:
        wanted = [p.strip() for p in ids.split(",") if p.strip()]
        if not all(p.isdigit() and len(p) < 10 for p in wanted):
            raise Open311Error(400, "service_request_id is a comma-separated list of numbers")
        q = q.where(Case.id.in_([int(p) for p in wanted]))
    else:
        start, end = _date_arg("start_date"), _date_arg("end_date")
        if start is None and end is None:
            start = engine.utcnow() - WINDOW
        if start is not None:
            q = q.where(Case.created_at >= start)
        if end is not None:
            q = q.where(Case.created_at <= end)
        if request.args.get("service_code"):
            codes = request.args["service_code"].split(",")
            q = q.where(Case.item.in_([c.strip() for c in codes]))
    rows = list(s.execute(q.order_by(Case.id.desc()).limit(MAX_REQUESTS)).scalars())
    holders, media = _last_holders(s, rows), _public_medias(s, rows)
    out = [_request_json(s, c, items, holders=holders, media=media) for c in rows]
    status = request.args.get("status")
    if status and not ids:
        allowed = {p.strip() for p in status.split(",")}
        if not allowed <= {"open", "closed"}:
            raise Open311Error(400, "status is open or closed")
        out = [r for r in out if r["status"] in allowed]
    return render(out, fmt, "service_requests", "request")


@bp.get(f"/requests/<string:request_id>.{FORMATS}")
def request_one(request_id: str, fmt: str) -> Response:
    s = db.session()
    if not request_id.isdigit() or len(request_id) > 9:
        raise Open311Error(404, f"no service request {request_id!r}")
    case = s.get(Case, int(request_id))
    if case is None or not privacy.is_open311_published(case):
        raise Open311Error(404, f"no service request {request_id}")
    items, _ = registry.items(s)
    return render([_request_json(s, case, items)], fmt, "service_requests", "request")


def _params() -> dict[str, str]:
    values: dict[str, str] = {k: v for k, v in request.values.items()}
    if request.is_json:
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            values.update(
                {
                    str(k): v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                    for k, v in body.items()
                }
            )
    return values


@bp.post(f"/requests.{FORMATS}")
def request_create(fmt: str) -> Response:
    p = _params()
    key = p.get("api_key", "")
    s = db.session()
    row = (
        s.execute(
            select(ApiKey).where(ApiKey.key_hash == sha256(key), ApiKey.disabled.is_(False))
        ).scalar_one_or_none()
        if key
        else None
    )
    if row is None:
        raise Open311Error(403, "api_key was not provided or is not valid")
    channel = row.name
    code = p.get("service_code", "").strip()
    if not code:
        raise Open311Error(400, "service_code is required")
    items = _public_items(s)
    if code not in items:
        raise Open311Error(404, f"no service {code!r}")
    lat, long_ = p.get("lat", "").strip(), p.get("long", "").strip()
    if needs_location(items[code]) and not (
        (lat and long_) or p.get("address_string") or p.get("address_id")
    ):
        raise Open311Error(
            400, "a location is required: lat and long, address_string or address_id"
        )
    if lat or long_:
        try:
            if not (-90 <= float(lat) <= 90 and -180 <= float(long_) <= 180):
                raise ValueError
        except ValueError:
            raise Open311Error(400, "lat and long are decimal degrees") from None
    media_url = p.get("media_url", "").strip()
    # Kept as a link and shown as one: only a web address, never javascript: or data:.
    if media_url and not re.match(r"^https?://[^\s/]+", media_url, re.IGNORECASE):
        raise Open311Error(400, "media_url is an http:// or https:// address")
    # Optional: without it the request lands at the community its point or address lies in.
    workstation = p.get("attribute[workstation]", "").strip() or None
    if workstation is not None and workstation not in dict(_workstations(s)):
        raise Open311Error(400, f"attribute[workstation]: {workstation!r} is not a workstation")
    if workstation is None and not ((lat and long_) or p.get("address_string", "").strip()):
        raise Open311Error(
            400, "give attribute[workstation], or a location: lat and long, or address_string"
        )
    name = " ".join(x for x in (p.get("last_name", ""), p.get("first_name", "")) if x).strip()
    where = {
        k: p[k]
        for k in (
            "lat",
            "long",
            "address_string",
            "address_id",
            "media_url",
            "email",
            "device_id",
            "account_id",
        )
        if p.get(k)
    }
    try:
        with db.write() as w:
            case = engine.open_case(
                w,
                item=code,
                workstation=workstation,
                actor=Actor(channel, None, "applicant"),
                applicant_name=name,
                applicant_phone=p.get("phone", ""),
                description=p.get("description", ""),
                form={"open311": where},
                channel=channel[:32],
                lat=float(lat) if lat and long_ else None,
                long=float(long_) if lat and long_ else None,
                address=p.get("address_string", "").strip() or None,
            )
            case_id, due = case.id, case.due_at
    except InvalidInput as exc:
        fields = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
        raise Open311Error(400, fields or exc.detail) from None
    except NotFound as exc:
        raise Open311Error(404, exc.detail) from None
    except WorkflowError as exc:
        raise Open311Error(400, exc.detail) from None
    # Said to the resident by the channel's app: in Chinese, the instant in W3C form as well.
    notice = f"预计办结时间：{_w3c(due)}" if due else None
    answer = [{"service_request_id": str(case_id), "service_notice": notice, "account_id": None}]
    return render(answer, fmt, "service_requests", "request", 201)
