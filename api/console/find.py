"""Finding work: the search box and the lists beside the inbox (cases the unit handled, opened,
the whistles its street blew), filtered, in numbered pages (keyset underneath), exported to
XLSX as listed. The lists are workflow.queries.search's, as on the API's GET /cases."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from flask import Response, current_app, render_template, request
from flask_babel import gettext as _

from api import db
from api.console import labels
from api.console.cases import PER_PAGE, table_rows
from api.console.common import bp, caller, signed_in, unit_name, units
from api.resources.cases import mask_phone
from workflow import privacy
from workflow.catalog import registry
from workflow.errors import InvalidInput
from workflow.queries import pending as pending_queries
from workflow.queries import search
from workflow.queries.paging import Seek
from workflow.queries.scope import unit_kind
from workflow.spec.files import MAX_ROWS, write_table
from workflow.spec.model import URGENCIES

MAX_PAGE_NO = 10_000


def page_request(page_arg: str = "page", after_arg: str = "after") -> tuple[int, str | None]:
    """The page number asked for and the cursor that leads to it (a Next link carries both).
    A page with two lists (the inbox's cases and its task board) names the second one's."""
    try:
        number = max(1, min(int(request.args.get(page_arg, "1")), MAX_PAGE_NO))
    except ValueError:
        number = 1
    return number, request.args.get(after_arg) or None


def list_nav(
    found: Seek[Any], number: int, page_arg: str = "page", after_arg: str = "after"
) -> dict[str, Any]:
    """What the pager and the count show of a page: numbered pages, the next page's cursor, and
    whether the count is exact (else the list holds at least that many)."""
    pages = max(1, -(-found.total // PER_PAGE))
    return {
        "page": number,
        "pages": max(pages, number),
        "total": found.total,
        "exact": found.exact,
        "next": found.next,
        "window": list(range(max(1, number - 3), min(pages, number + 3) + 1)),
        # The list's filters (and the other list's page, on a page with two), carried by every
        # pager link.
        "kept": {k: v for k, v in request.args.items() if k not in (page_arg, after_arg)},
        "page_arg": page_arg,
        "after_arg": after_arg,
    }


def views_for(c: Any) -> list[str]:
    """The lists a user has: everyone the search over their scope and their inbox; a unit that
    holds cases the ones it handled; a window (or a community committee) those it opened; a
    street office the whistles it blew."""
    kind = unit_kind(db.session(), c.unit)
    out = ["all"]
    if c.role in ("clerk", "staff", "admin"):
        out += ["inbox", "handled"]
    if c.role == "clerk" or kind in ("party_committee", "mediation_committee"):
        out.append("opened")
    if kind == "street_office" and c.role in ("staff", "admin"):
        out.append("whistled")
    return out


def _date(name: str) -> dt.date | None:
    value = request.args.get(name) or ""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            _("A date is written YYYY-MM-DD."), {name: [_("A date is written YYYY-MM-DD.")]}
        ) from None


def filters_from_request(views: list[str]) -> search.Filters:
    """The list's filters as the page's form (and every pager link) carries them."""
    a = request.args
    view = a.get("view") or "all"
    if view not in views:
        raise InvalidInput(_("No such list."), {"view": [", ".join(views)]})
    return search.Filters(
        q=a.get("q", ""),
        view=view,
        item=a.get("item") or None,
        light=a.get("light") or None,
        street=a.get("street") or None,
        urgency=a.get("urgency") or None,
        opened_from=_date("opened_from"),
        opened_until=_date("opened_until"),
        overdue=a.get("overdue") == "1",
        tz=current_app.config["TIMEZONE"],
    )


def view_title(view: str) -> str:
    return {
        "all": _("Find cases"),
        "inbox": _("Inbox"),
        "handled": _("Cases we handled"),
        "opened": _("Cases we opened"),
        "whistled": _("Whistles our street blew"),
    }[view]


@bp.get("/find")
@signed_in()
def find() -> str:
    """Search and the lists beside the inbox, in numbered pages, filters kept."""
    c = caller()
    s = db.session()
    views = views_for(c)
    f = filters_from_request(views)
    number, after = page_request()
    found = search.find(
        s,
        actor=c.actor,
        filters=f,
        after=after,
        offset=0 if after else (number - 1) * PER_PAGE,
        limit=PER_PAGE,
    )
    items, _version = registry.items(s)
    streets = sorted(code for code, u in units().units.items() if u.kind == "street_office")
    return render_template(
        "console/find.html",
        f=f,
        views=[(v, view_title(v)) for v in views],
        title=view_title(f.view),
        rows=table_rows(found.items, holder=True),
        nav=list_nav(found, number),
        items=sorted(items.values(), key=lambda i: i.code),
        streets=[(code, unit_name(code)) for code in streets],
        urgencies=URGENCIES,
        names=privacy.searches_names(c.actor),
        phones=privacy.searches_phone(c.actor),
    )


@bp.app_context_processor
def _pending() -> dict[str, Any]:
    """pending(): what waits for the signed-in user's unit, for the navigation's badges; counted
    when a page asks, once per request."""

    def pending() -> dict[str, int]:
        from flask import g

        if "pending_counts" not in g:
            from api.console.common import current_caller

            c = current_caller()
            # The navigation's unread notifications (notifications.unread_notifications) asked
            # in the same statement, where the navigation shows them and none was asked yet.
            unread = (
                c is not None
                and c.role in ("clerk", "staff", "admin")
                and "console_unread" not in g
            )
            found = pending_queries.counts(db.session(), c.actor, unread=unread) if c else {}
            if unread:
                g.console_unread = found.pop("unread")
            g.pending_counts = found
        counts: dict[str, int] = g.pending_counts
        return counts

    return {"pending": pending, "pending_cap": pending_queries.CAP}


def export_header() -> list[str]:
    return [
        _("Case"),
        _("Item"),
        _("Applicant"),
        _("Phone"),
        _("State"),
        _("Holder"),
        _("Urgency"),
        _("Light"),
        _("Opened"),
        _("Stage due"),
        _("Case due"),
        _("Case overdue"),
    ]


@bp.get("/find/export.xlsx")
@signed_in()
def find_export() -> Response:
    """The list as filtered (every page, up to the table limit) as an XLSX workbook; names as
    the user reads them, phones masked, no cell a spreadsheet would run as a formula."""
    c = caller()
    s = db.session()
    f = filters_from_request(views_for(c))
    rows = search.all_rows(s, actor=c.actor, filters=f, order=search.NEWEST_FIRST, limit=MAX_ROWS)
    items, _version = registry.items(s)
    now = dt.datetime.now(dt.UTC)
    tz = current_app.config["TIMEZONE"]

    def local(at: dt.datetime | None) -> str:
        from zoneinfo import ZoneInfo

        return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") if at else ""

    table = [
        [
            r.id,
            labels.named(items.get(r.item), r.item),
            privacy.applicant_name(c.actor, r.applicant_name),
            mask_phone(r.applicant_phone),
            labels.label("state", r.state),
            unit_name(r.holder) if r.holder else "",
            labels.label("urgency", r.urgency),
            labels.label("light", r.light),
            local(r.created_at),
            local(r.stage_due_at),
            local(r.due_at),
            _("yes") if search.case_overdue(r, now) else "",
        ]
        for r in rows
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cases.xlsx"
        write_table(path, export_header(), table, sheet_title=_("Cases"))
        body = path.read_bytes()
    resp = Response(
        body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    resp.headers["Content-Disposition"] = 'attachment; filename="cases.xlsx"'
    return resp
