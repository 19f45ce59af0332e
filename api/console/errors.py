"""Error pages of the console: a page in the console's layout and language for every error under
/console/ (an unknown address, a method the page does not take, a crash), never the API's
problem+json. The API and Open311 keep theirs (api/problems.py)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from workflow.messages import N_

log = logging.getLogger("streetflow.console")

# What the page says when nothing more particular was said (werkzeug's own descriptions are
# English sentences meant for developers).
TITLES = {
    400: N_("The request was not understood"),
    403: N_("Not for you"),
    404: N_("No such page"),
    405: N_("Not on this page"),
    409: N_("Refused"),
    412: N_("Changed meanwhile"),
    413: N_("Too large"),
    422: N_("Not accepted"),
    429: N_("Too many requests"),
    500: N_("Something went wrong"),
    503: N_("Not available"),
}
DETAILS = {
    400: N_("The request was not understood; go back and try again."),
    403: N_("Your role or unit may not open this page."),
    404: N_("There is no such page, or it is not yours to see."),
    405: N_("This page does not take that kind of request; use its form or its link."),
    413: N_("What was sent is too large."),
    429: N_("Too many requests in a short time; wait a moment and try again."),
    500: N_("Something went wrong on the server; it has been logged. Try again later."),
    503: N_("The database is not available; try again shortly."),
}


def is_console() -> bool:
    return request.path == "/console" or request.path.startswith("/console/")


def particular(exc: HTTPException) -> str | None:
    """EXC's description when the console wrote one (translated already), else None: werkzeug's
    default descriptions are not for users."""
    text = exc.description
    if not text or text == type(exc).description:
        return None
    return str(text)


def _globals(status: int) -> dict[str, Any]:
    """The layout's names; after a crash or with the database away, without asking the database
    who is signed in again (the page must come out whatever broke)."""
    from api.console.common import template_globals
    from api.console.messages import problem_text

    if status < 500:
        try:
            from api.console import diagrams

            return {
                **template_globals(),
                "problem_text": problem_text,
                "transition_words": diagrams.transition_words,
                "column_name": diagrams.column_name,
            }
        except Exception:  # a plain page is better than none
            log.exception("error page: the layout's names could not be read")
    from api.console import labels
    from api.console.common import link

    return {
        "caller": None,
        "is_zh": labels.is_zh(),
        "problem_text": problem_text,
        "nav_link": link,
    }


def page(status: int, detail: str | None = None, headers: Any = None) -> Response:
    """The error page for STATUS, saying DETAIL (or what is said for the status)."""
    title = TITLES.get(status) or TITLES[500 if status >= 500 else 400]
    said = detail or DETAILS.get(status) or DETAILS[500 if status >= 500 else 400]
    html = render_template(
        "console/error.html",
        status=status,
        title=gettext(title),
        detail=said if detail else gettext(said),
        **_globals(status),
    )
    resp = Response(html, status=status, mimetype="text/html")
    for k, v in dict(headers or {}).items():
        if k.lower() in ("allow", "retry-after"):
            resp.headers[k] = v
    return resp


def from_problem(status: int, detail: str, headers: Any = None) -> Response:
    """A problem the app's handlers made for a console address (an unknown page, a method not
    taken, a crash): its English detail is the API's, so the page says its status's sentence."""
    return page(status, None, headers)
