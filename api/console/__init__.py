"""The web console: server-rendered pages for clerks, staff, administrators and auditors, in
Chinese by default with an English switch, signed in with a session cookie and CSRF-protected."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from pathlib import Path
from typing import Any

from flask import (
    Flask,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import Babel
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup
from sqlalchemy import delete
from werkzeug.exceptions import HTTPException

from api import db
from api.auth import _dummy_check, login_limit, still_valid
from api.console import (  # noqa: F401  (they add their pages to bp)
    admin,
    admin_people,
    admin_work,
    appraisal,
    attachments,
    audit,
    cases,
    diagrams,
    dispatch,
    errors,
    feedback,
    find,
    notifications,
    oversight,
    places,
    returns,
)
from api.console.common import (
    bp,
    catalogue,
    current_caller,
    home_for,
    safe_next,
    template_globals,
)
from api.console.messages import problem_text
from api.console.messages import say as refusal
from api.problems import WORKFLOW_STATUS
from workflow.errors import WorkflowError
from workflow.store.models import ConsoleSession
from workflow.users import check_password, find_user, sha256

log = logging.getLogger("streetflow.auth")
LANGUAGES = ("zh", "en")
csrf = CSRFProtect()


def locale() -> str:
    lang = session.get("lang")
    return lang if lang in LANGUAGES else "zh"


@pass_eval_context
def _template_gettext(eval_ctx: EvalContext, text: str, **variables: Any) -> str:
    """A template's _(TEXT, **VARIABLES), as Jinja's newstyle gettext gives it."""
    rv = catalogue().ugettext(text)
    if eval_ctx.autoescape:
        rv = Markup(rv)
    # Always a format string, as the newstyle gettext has it (escaping the values).
    return rv % variables


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "zh")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config["TIMEZONE"])
    app.config.setdefault(
        "BABEL_TRANSLATION_DIRECTORIES", str(Path(__file__).parent / "translations")
    )
    # The API is authenticated by bearer tokens, not cookies: only console forms need a token.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # as long as the session lives
    Babel(app, locale_selector=locale)
    # The templates' _() with the request's catalogue looked up once: Flask-Babel's own asks
    # for it through several context lookups at every word (a page says a few hundred).
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: catalogue().ugettext(s),
        ngettext=lambda s, p, n: catalogue().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: catalogue().unpgettext(c, s, p, n),
    )
    # The templates' _() itself: what the newstyle gettext above does (the word as markup where
    # the template escapes, then formatted with its values escaped), without being handed the
    # template's context: Jinja copies the whole context for each such call inside a loop, and
    # _() goes through two context calls (its alias, then gettext) for each word.
    app.jinja_env.globals["_"] = _template_gettext
    csrf.init_app(app)
    app.register_blueprint(bp)

    @app.get("/")
    def root() -> Response:
        return redirect(url_for("console.inbox"))  # type: ignore[return-value]


@bp.before_request
def _protect() -> None:
    if request.method == "POST":
        csrf.protect()


@bp.context_processor
def _globals() -> dict[str, Any]:
    return {
        **template_globals(),
        "problem_text": problem_text,
        "transition_words": diagrams.transition_words,
        "column_name": diagrams.column_name,
    }


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError) -> Response:
    return errors.page(400, _("The form expired; please try again."))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Any:
    if exc.response is not None:  # a page made for the case already (too many sign-ins)
        return exc.response
    return errors.page(exc.code or 500, errors.particular(exc), exc.get_headers())


@bp.errorhandler(WorkflowError)
def _workflow_error(exc: WorkflowError) -> Any:
    """A refusal of the engine: on a form, said above the page the user came from."""
    status = next((s for cls, s in WORKFLOW_STATUS.items() if isinstance(exc, cls)), 409)
    # Said in the user's words (its code's wording); the fields' own English notes, meant for
    # API clients, are not repeated here.
    detail = refusal(exc)
    if request.method == "POST" and request.referrer:
        flash(detail, "error")
        back = safe_next(_path_of(request.referrer))
        if back:
            return redirect(back)
    return errors.page(status, detail)


def _path_of(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _too_many(limit: Any) -> Response:
    """The login page again, saying why, instead of a bare error page."""
    flash(_("Too many failed sign-ins for this user name; wait a few minutes."), "error")
    page = render_template("console/login.html", next=request.form.get("next", ""))
    return Response(page, status=429)


@bp.route("/login", methods=["GET", "POST"])
@login_limit(on_breach=_too_many)
def login() -> Any:
    """Sign in with a user name and password (the same users, and the same count of failed
    sign-ins, as the API)."""
    if request.method == "GET":
        return render_template("console/login.html", next=request.args.get("next", ""))
    name = request.form.get("username", "")
    password = request.form.get("password", "")
    user = find_user(db.session(), name)
    ok = check_password(user, password) if user is not None else _dummy_check(password)
    if user is None or not ok or user.disabled:
        log.warning("failed console sign-in for %r from %s", name, request.remote_addr)
        return _wrong_password()
    assert user is not None
    user_id, role, checked_hash = user.id, user.role, user.password_hash
    sid = secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    ttl = dt.timedelta(seconds=int(current_app.config["SESSION_TTL"]))
    with db.write() as s:
        if not still_valid(s, user_id, checked_hash):
            return _wrong_password()
        # Sessions of this user that ran out are of no use to anyone: drop them on the way.
        s.execute(
            delete(ConsoleSession).where(
                ConsoleSession.user_id == user_id, ConsoleSession.expires_at <= now
            )
        )
        s.add(
            ConsoleSession(
                user_id=user_id, sid_hash=sha256(sid), created_at=now, expires_at=now + ttl
            )
        )
    lang = session.get("lang")
    session.clear()  # a fresh session on sign-in: nothing carried over from before
    if lang:
        session["lang"] = lang
    session["sid"] = sid
    session.permanent = False
    return redirect(safe_next(request.form.get("next")) or url_for(home_for(role)))


def _wrong_password() -> Any:
    flash(_("Wrong user name or password."), "error")
    return render_template("console/login.html", next=request.form.get("next", "")), 401


@bp.post("/logout")
def logout() -> Any:
    """Sign out: the session ends on the server, so a copy of the cookie is worthless too."""
    sid = session.get("sid")
    if isinstance(sid, str):
        with db.write() as s:
            s.execute(delete(ConsoleSession).where(ConsoleSession.sid_hash == sha256(sid)))
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("console.login"))


@bp.get("/lang/<code>")
def language(code: str) -> Any:
    """Switch the console's language (zh or en) and come back to the same page."""
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")) or url_for("console.inbox"))


@bp.get("/")
def index() -> Any:
    caller = current_caller()
    if caller is None:
        return redirect(url_for("console.login"))
    return redirect(url_for(home_for(caller.role)))
