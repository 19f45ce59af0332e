"""The web console: server-rendered pages for clerks, staff, administrators and auditors, in
Chinese by default with an English switch, signed in with a session cookie and CSRF-protected."""

from __future__ import annotations

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
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from api import db
from api.auth import _dummy_check, limiter
from api.console import admin, appraisal, audit, cases, oversight  # noqa: F401  (they add their pages to bp)
from api.console.common import bp, current_caller, home_for, safe_next, template_globals
from api.problems import WORKFLOW_STATUS
from workflow.errors import WorkflowError
from workflow.store.models import User
from workflow.users import check_password

LANGUAGES = ("zh", "en")
csrf = CSRFProtect()


def locale() -> str:
    lang = session.get("lang")
    return lang if lang in LANGUAGES else "zh"


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "zh")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config["TIMEZONE"])
    app.config.setdefault(
        "BABEL_TRANSLATION_DIRECTORIES", str(Path(__file__).parent / "translations")
    )
    # The API is authenticated by bearer tokens, not cookies: only console forms need a token.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # as long as the session lives
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    Babel(app, locale_selector=locale)
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
    return template_globals()


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError) -> tuple[str, int]:
    return render_template(
        "console/error.html", status=400, detail=_("The form expired; please try again.")
    ), 400


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[str, int]:
    status = exc.code or 500
    return render_template("console/error.html", status=status, detail=exc.description), status


@bp.errorhandler(WorkflowError)
def _workflow_error(exc: WorkflowError) -> Any:
    """A refusal of the engine: on a form, said above the page the user came from."""
    status = next((s for cls, s in WORKFLOW_STATUS.items() if isinstance(exc, cls)), 409)
    if request.method == "POST" and request.referrer:
        flash(exc.detail, "error")
        for field, messages in (exc.errors or {}).items():
            for m in messages:
                flash(f"{field}: {m}", "error")
        back = safe_next(_path_of(request.referrer))
        if back:
            return redirect(back)
    return render_template("console/error.html", status=status, detail=exc.detail), status


def _path_of(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _login_key() -> str:
    return f"login:{request.form.get('username', '?')}"


def _failed(response: Response) -> bool:
    return bool(response.status_code == 401)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT"],
    key_func=_login_key,
    methods=["POST"],
    deduct_when=_failed,
)
def login() -> Any:
    """Sign in with a user name and password (the same users as the API)."""
    if request.method == "GET":
        return render_template("console/login.html", next=request.args.get("next", ""))
    name = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    user = db.session().execute(select(User).where(User.name == name)).scalar_one_or_none()
    ok = check_password(user, password) if user is not None else _dummy_check(password)
    if user is None or not ok or user.disabled:
        flash(_("Wrong user name or password."), "error")
        return render_template("console/login.html", next=request.form.get("next", "")), 401
    lang = session.get("lang")
    session.clear()  # a fresh session on sign-in: nothing carried over from before
    if lang:
        session["lang"] = lang
    session["uid"] = user.id
    session.permanent = False
    return redirect(safe_next(request.form.get("next")) or url_for(home_for(user.role)))


@bp.post("/logout")
def logout() -> Any:
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
