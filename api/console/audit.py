"""The auditor's pages: the trail browser with filters (a case's full timeline is its case
page, open to auditors). What each auditor reads is workflow.privacy's rule, as on the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from flask import Response, current_app, render_template, request, stream_with_context
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.exceptions import Forbidden

from api import db
from api.console import labels
from api.console.cases import _page
from api.console.common import (
    bp,
    caller,
    case_url,
    signed_in,
    unit_name,
    units,
    when_in,
    zone,
)
from workflow import privacy
from workflow.audit.export import export_lines
from workflow.audit.verify import Report, verify
from workflow.catalog import registry
from workflow.inputs import FIRST_YEAR, LAST_YEAR, in_range
from workflow.queries import trail as trail_queries
from workflow.runtime import engine
from workflow.store.models import TrailEvent

PER_PAGE = 50
FIRST_DAY, LAST_DAY = f"{FIRST_YEAR}-01-01", f"{LAST_YEAR}-12-31"


def _day(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _in_range(day: dt.date | None) -> bool:
    return day is None or in_range(day)


@bp.get("/trail")
@signed_in("auditor")
def trail() -> tuple[str, int]:
    """Trail events, newest first, filtered by case, actor, unit, action and days."""
    return trail_page()


@bp.post("/trail/verify")
@signed_in("auditor")
def verify_trail() -> tuple[str, int]:
    """Check the whole trail and its signed checkpoints (as `streetflow audit verify`)."""
    report = verify(db.session(), str(current_app.config["SECRET_KEY"]))
    return trail_page(report)


@bp.get("/trail/export.jsonl")
@signed_in("auditor")
def export_trail() -> Response:
    """The whole trail as JSON Lines, streamed (as `streetflow audit export`): for the auditors
    who read all of it (a part would not verify as a chain)."""
    if not privacy.reads_whole_trail(db.session(), caller().actor):
        raise Forbidden(_("The whole trail is exported by the district's auditors."))

    def lines() -> Iterator[bytes]:
        s = current_app.extensions["streetflow.sessions"]()
        try:
            yield from export_lines(s)
        finally:
            s.close()

    resp = Response(stream_with_context(lines()), mimetype="application/jsonl")
    resp.headers["Content-Disposition"] = 'attachment; filename="trail.jsonl"'
    return resp


def unit_choices() -> list[tuple[str, str]]:
    """(code, name) of every unit, named in the page's language: the unit filter's completion."""
    return sorted((code, labels.named(u, code)) for code, u in units().units.items())


# The completion's options, written once per organisation and language: a few hundred units,
# named and escaped on every trail page, were a tenth of it.
_options: dict[bool, tuple[registry.UnitIndex, Markup]] = {}


def unit_options() -> Markup:
    """unit_choices() as the datalist's <option> elements."""
    index, zh = units(), labels.is_zh()
    hit = _options.get(zh)
    if hit is None or hit[0] is not index:
        hit = _options[zh] = (
            index,
            Markup("").join(
                Markup('<option value="{}">{}</option>').format(name, code)
                for code, name in unit_choices()
            ),
        )
    return hit[1]


def unit_named(raw: str) -> tuple[str | None, str | None]:
    """The unit code a filter names (a code, a name in either language, or the one unit whose
    name holds the text), and why not when none or several match."""
    text = raw.strip()[:128]
    if not text:
        return None, None
    index = units().units
    if text in index:
        return text, None
    exact = [c for c, u in index.items() if text in (u.name_zh, u.name_en)]
    if len(exact) == 1:
        return exact[0], None
    found = [c for c, u in index.items() if text in u.name_zh or text.lower() in u.name_en.lower()]
    if len(found) == 1:
        return found[0], None
    if not found:
        return None, _("No unit is named %(name)s.", name=text)
    return None, _("%(n)s units match %(name)s: choose one from the list.", n=len(found), name=text)


# What a publication event published, in the reader's words.
_KINDS = {
    "units": lambda: _("the units"),
    "items": lambda: _("the list of items"),
    "calendar": lambda: _("the calendar"),
    "route": lambda: _("the route"),
    "appraisal": lambda: _("the appraisal scheme"),
    "street_routing": lambda: _("the street routing table"),
}


def published_what(data: dict[str, object]) -> str:
    kind = str(data.get("kind", ""))
    what = _KINDS[kind]() if kind in _KINDS else kind
    name = str(data.get("name", ""))
    out = _(
        "%(what)s %(name)s, version %(v)s",
        what=what,
        name=name if kind == "route" else "",
        v=data.get("version"),
    )
    if data.get("street"):
        out += " · " + _("for %(street)s", street=unit_name(str(data["street"])))
    return " ".join(out.split())


class TrailRow:
    """What the trail's table shows of an event, worked out here: the template reads attributes
    instead of calling a time, a link, two or three labels and a unit's name for each of its 50
    rows (a call from a template costs several times the same call here)."""

    __slots__ = (
        "action",
        "actor",
        "at",
        "case_id",
        "change",
        "hash",
        "reason",
        "seq",
        "unit",
        "url",
    )

    def __init__(self, e: TrailEvent, words: _Words) -> None:
        self.seq = e.seq
        self.at = when_in(e.at, words.tz)
        self.case_id = e.case_id
        self.url = case_url(e.case_id) if e.case_id else None
        self.action = (
            words.triggers.get(e.trigger, e.trigger)
            if e.trigger
            else words.actions.get(e.action, e.action)
        )
        self.actor = e.actor
        self.unit = words.unit(e.unit)
        change: Markup | None = None
        if e.to_state:
            states = words.states
            before = "" if e.from_state is None else states.get(e.from_state, e.from_state)
            change = Markup("{} → {}").format(before, states.get(e.to_state, e.to_state))
        elif e.action == "definitions.published" and e.data:
            change = Markup('<span class="published">{}</span>').format(published_what(e.data))
        self.change = change
        self.reason = e.reason or ""
        self.hash = e.hash[:10]


class _Words:
    """What every row of the trail's table looks up once for the page: the language's words for
    the triggers, actions and states, the units' names, the time zone."""

    __slots__ = ("actions", "name", "states", "triggers", "tz", "units")

    def __init__(self) -> None:
        self.triggers = labels.words("trigger")
        self.actions = labels.words("action")
        self.states = labels.words("state")
        self.tz = zone()
        self.units = units().units
        self.name = "name_zh" if labels.is_zh() else "name_en"

    def unit(self, code: str | None) -> str:
        """unit_name(CODE): the unit's name in the page's language, its code when unknown."""
        if not code:
            return "—"
        record = self.units.get(code)
        return code if record is None else str(getattr(record, self.name))


def trail_page(report: Report | None = None) -> tuple[str, int]:
    args = request.args
    s = db.session()
    if privacy.trail_part(s, caller().actor) is None:
        raise Forbidden(_("The trail is read by auditors."))
    errors: list[str] = []
    case: int | None = None
    case_raw = args.get("case", "").strip()
    if case_raw:
        if case_raw.isdigit() and int(case_raw) < 2**31:
            case = int(case_raw)
        else:
            errors.append(_("A case number is a whole number."))
    unit, why = unit_named(args.get("unit", ""))
    if why:
        errors.append(why)
    cal = engine.work_calendar(s)
    bounds: dict[str, dt.datetime | None] = {"from": None, "to": None}
    for name in bounds:
        day = _day(args.get(name))
        if args.get(name) and day is None:
            errors.append(_("A day is written YYYY-MM-DD."))
        elif not _in_range(day):
            errors.append(
                _("A day lies between %(first)s and %(last)s.", first=FIRST_DAY, last=LAST_DAY)
            )
            day = None
        if day is not None:
            if name == "to":
                day += dt.timedelta(days=1)
            # A day is the instance's local day.
            bounds[name] = dt.datetime.combine(day, dt.time(), cal.tz).astimezone(dt.UTC)
    page = _page()
    events = trail_queries.list_events(
        s,
        actor=caller().actor,
        case=case,
        # The acting unit, or the holder before or after (as the audit API filters).
        unit=unit,
        by=args.get("actor", "").strip()[:64] or None,
        action=args.get("action", "").strip()[:48] or None,
        since=bounds["from"],
        until=bounds["to"],
        newest_first=True,
        offset=(page - 1) * PER_PAGE,
        limit=PER_PAGE,
    )
    total = events.total or 0
    words = _Words()
    return render_template(
        "console/trail.html",
        events=[TrailRow(e, words) for e in events.items],
        total=total,
        exact=events.exact,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        actions=trail_queries.actions(s, actor=caller().actor),
        unit_options=unit_options(),
        errors=errors,
        args=args,
        report=report,
        may_export=privacy.reads_whole_trail(s, caller().actor),
    ), (422 if errors else 200)
