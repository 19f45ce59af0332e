"""The console's blueprint, its signed-in user (a session cookie), and what every page uses."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import zoneinfo
from collections.abc import Callable
from typing import Any, TypeVar

from flask import (
    Blueprint,
    current_app,
    g,
    has_request_context,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import get_timezone, get_translations
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import bindparam, select
from werkzeug.exceptions import Forbidden

from api import db
from api.auth import Caller
from api.console import labels
from workflow import instants, privacy
from workflow.catalog import registry
from workflow.errors import InvalidInput
from workflow.inputs import text_errors
from workflow.runtime import engine
from workflow.store.models import Case, ConsoleSession, User
from workflow.users import sha256

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
F = TypeVar("F", bound=Callable[..., Any])


@bp.before_request
def _text_policy() -> None:
    """Every form field and query parameter of the console follows the one text policy
    (workflow.inputs): refused, with the fields named, before any page reads it."""
    fields: dict[str, Any] = {}
    for source in (request.args, request.form):
        for key, values in source.to_dict(flat=False).items():
            fields[key] = values[0] if len(values) == 1 else values
    errors = text_errors(fields)
    if errors:
        raise InvalidInput(
            _(
                "These fields hold characters that are not allowed: %(fields)s",
                fields=", ".join(errors),
            ),
            errors,
        )


# current_caller()'s statement, built once (every request asks it).
_SIGNED_IN = (
    select(User.id, User.name, User.unit, User.role)
    .join(ConsoleSession, ConsoleSession.user_id == User.id)
    .where(
        ConsoleSession.sid_hash == bindparam("sid_hash"),
        ConsoleSession.expires_at > bindparam("now"),
        User.disabled.is_(False),
    )
)


def current_caller() -> Caller | None:
    """The signed-in user, checked against the database on every request: the session must
    still be on the server (not signed out, not ended by a disable or a new password, not run
    out) and the user enabled; None when nobody is signed in."""
    if "caller" in g:
        caller: Caller = g.caller
        return caller
    sid = session.get("sid")
    if not isinstance(sid, str):
        return None
    row = (
        db.session()
        .execute(_SIGNED_IN, {"sid_hash": sha256(sid), "now": dt.datetime.now(dt.UTC)})
        .one_or_none()
    )
    if row is None:
        session.pop("sid", None)
        return None
    # The API's own Caller: its scope rules and helpers work on it unchanged.
    g.caller = Caller(row.id, row.name, row.unit, row.role)
    return g.caller


def signed_in(*roles: str) -> Callable[[F], F]:
    """A page for signed-in users (of ROLES, when given); others go to the login page."""

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            caller = current_caller()
            if caller is None:
                return redirect(url_for("console.login", next=request.full_path))
            if roles and caller.role not in roles:
                who = "、".join(labels.label("role", r) for r in roles)
                raise Forbidden(_("This page is for: %(roles)s", roles=who))
            return view(*args, **kwargs)

        return inner  # type: ignore[return-value]

    return wrap


def caller() -> Caller:
    c = current_caller()
    assert c is not None
    return c


def catalogue() -> Any:
    """The request's translations (Flask-Babel's get_translations(), kept on g); outside a
    request, asked each time."""
    if not has_request_context():
        return get_translations()
    if "console_catalogue" not in g:
        g.console_catalogue = get_translations()
    return g.console_catalogue


def said(text: str) -> Markup:
    """TEXT translated as a template's {{ _(TEXT, ...) }} gives it: markup, to be formatted with
    % (its values escaped), for words a view works out for the template."""
    return Markup(catalogue().ugettext(text))


def now() -> dt.datetime:
    return engine.utcnow()


def when(at: dt.datetime | None) -> str:
    """A timestamp in the instance's time zone, to the minute."""
    if at is None:
        return "—"
    # What format_datetime(at, "yyyy-MM-dd HH:mm") writes, without Babel's pattern machinery
    # (a case page formats a hundred instants: a tenth of its time), in the time zone looked up
    # once per request (to_user_timezone asks Babel's for each instant).
    return when_in(at, zone())


def zone() -> Any:
    """The instance's time zone, looked up once per request: as the standard library's
    (zoneinfo), where Babel gives pytz's, whose conversion in Python took three times as long
    (a case page converts hundreds of instants)."""
    if "console_tz" not in g:
        tz = get_timezone()
        # (A zone only pytz knows is kept as it is.)
        with contextlib.suppress(zoneinfo.ZoneInfoNotFoundError, ValueError):
            tz = zoneinfo.ZoneInfo(getattr(tz, "zone", None) or str(tz))
        g.console_tz = tz
    return g.console_tz


def last_month() -> str:
    """The month before this one (YYYY-MM) in the instance's time zone, not the machine's: at
    00:30 on the first in Beijing the machine's UTC clock still reads the month before."""
    first = instants.utcnow().astimezone(zone()).date().replace(day=1)
    last = first - dt.timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def when_in(at: dt.datetime | None, tz: Any) -> str:
    """when(AT) in the time zone TZ (a list's rows: the zone looked up once for all of them)."""
    if at is None:
        return "—"
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    t = at.astimezone(tz)
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}"


def case_url(case_id: int) -> str:
    """url_for("console.case", case_id=CASE_ID), the rule built once per request (a list links
    every row, and url_for is a tenth of a millisecond each)."""
    if "console_case_url" not in g:
        one = url_for("console.case", case_id=1)
        assert one.endswith("/1"), one
        g.console_case_url = one[:-1]
    return f"{g.console_case_url}{int(case_id)}"


# (script root, endpoint, values) -> the path url_for gives it: the navigation's links, the same
# on every page (a dozen url_for calls a page, each building its rule again).
_links: dict[tuple[str, str, tuple[tuple[str, Any], ...]], str] = {}


def link(endpoint: str, **values: Any) -> str:
    """url_for(ENDPOINT, **VALUES) for a link whose values are the template's constants (the
    navigation's), kept per script root once built."""
    key = (request.script_root, endpoint, tuple(sorted(values.items())))
    hit = _links.get(key)
    if hit is None:
        hit = url_for(endpoint, **values)
        if len(_links) < 1_000:  # the templates' constant links: a few dozen
            _links[key] = hit
    return hit


def task_step_url(task_id: int, step: str) -> str:
    """url_for("console.task_step", task_id=TASK_ID, step=STEP), the rule built once per request
    (a task board has a form or two on every row)."""
    if "console_task_url" not in g:
        one = url_for("console.task_step", task_id=1, step="report")
        assert one.endswith("/1/report"), one
        g.console_task_url = one[: -len("1/report")]
    return f"{g.console_task_url}{int(task_id)}/{step}"


def units() -> registry.UnitIndex:
    """The published units, looked up once per request (a page names many)."""
    if "console_units" not in g:
        g.console_units = registry.units(db.session())
    index: registry.UnitIndex = g.console_units
    return index


def unit_name(code: str | None) -> str:
    if not code:
        return "—"
    return labels.named(units().units.get(code), code)


def community(workstation: str | None) -> list[dict[str, str]]:
    """The community of WORKSTATION as its three bodies (两委一站): party committee, residents'
    committee (with its people's mediation committee) and workstation, those the organisation
    has, each with its kind's word and its name."""
    if not workstation:
        return []
    index = units()
    out = []
    for kind in ("party_committee", "residents_committee", "mediation_committee", "workstation"):
        code = workstation if kind == "workstation" else index.body(workstation, kind)
        if code:
            out.append(
                {"code": code, "kind": labels.label("unit_kind", kind), "name": unit_name(code)}
            )
    return out


def holder_label(code: str | None, tier: str | None = None) -> str:
    """A holder's name with the kind of body it is (a committee of the community, the street's
    party working committee, ...), else with the tier it holds the case in, when given."""
    if not code:
        return "—"
    u = units().units.get(code)
    name = unit_name(code)
    if u is not None and u.kind not in ("district", "department", "street_office", "workstation"):
        return f"{name} · {labels.label('unit_kind', u.kind)}"
    return f"{name} ({labels.label('tier', tier)})" if tier else name


def work_calendar() -> Any:
    """The work calendar, looked up once per request (a list counts down on every row)."""
    if "console_calendar" not in g:
        g.console_calendar = engine.work_calendar(db.session())
    return g.console_calendar


def countdown(due: dt.datetime | None, urgency: str | None = None) -> dict[str, Any] | None:
    """Working time left until DUE (negative: overdue), as hours and minutes; clock time for an
    urgent or critical case."""
    if due is None:
        return None
    return countdown_at(due, urgency, work_calendar(), now())


def countdown_at(
    due: dt.datetime | None, urgency: str | None, cal: Any, t: dt.datetime
) -> dict[str, Any] | None:
    """countdown(DUE, URGENCY) with the calendar CAL at the instant T (a list's rows: both looked
    up once for all of them)."""
    if due is None:
        return None
    if urgency not in (None, "normal"):
        seconds = (due - t).total_seconds()
    elif due >= t:
        seconds = cal.working_seconds_between(t, due)
    else:
        seconds = -cal.working_seconds_between(due, t)
    minutes = int(abs(seconds) // 60)
    return {"overdue": seconds < 0, "hours": minutes // 60, "minutes": minutes % 60}


def home_for(role: str) -> str:
    return {
        "admin": "console.items",
        "auditor": "console.trail",
        "callback": "console.feedback_queue",
        "dispatcher": "console.dispatch_queue",
    }.get(role, "console.inbox")


def safe_next(target: str | None) -> str | None:
    """Only a path of this console: never an open redirect."""
    if (
        target
        and target.startswith("/console/")
        and not target.startswith("//")
        # No control characters (CR/LF would split the Location header) and no backslashes.
        and target.isprintable()
        and "\\" not in target
    ):
        return target
    return None


def applicant(case: Case) -> str:
    """The applicant's name as the signed-in user reads it (masked for an auditor)."""
    c = current_caller()
    if c is None:
        return privacy.mask_name(case.applicant_name)
    return privacy.applicant_name(c.actor, case.applicant_name)


def opens_cases(c: Any) -> bool:
    """Whether the caller opens cases: a clerk, or the staff of a community committee that
    receives items (a party committee, a mediation committee)."""
    if c is None:
        return False
    if c.role == "clerk":
        return True
    u = units().units.get(c.unit) if c.role == "staff" else None
    return u is not None and u.kind in ("party_committee", "mediation_committee")


def about(n: int | None) -> str:
    """An estimated count as shown: two significant digits, grouped (12,345 -> 12,000)."""
    if not n:
        return "0"
    keep = 10 ** max(0, len(str(n)) - 2)
    return f"{round(n / keep) * keep:,}"


def template_globals() -> dict[str, Any]:
    c = current_caller()
    return {
        "caller": c,
        "opens_cases": opens_cases(c),
        "applicant": applicant,
        "about": about,
        "label": labels.label,
        "unit_name": unit_name,
        "case_url": case_url,
        "task_url": task_step_url,
        "nav_link": link,
        "community": community,
        "holder_label": holder_label,
        "when": when,
        "is_zh": labels.is_zh(),
        "app_timezone": current_app.config["TIMEZONE"],
    }
