"""Bearer tokens: issued for a user name and password, stored as SHA-256 with an expiry, checked
on every request, or kept a moment (see TOKEN_CACHE_SECONDS), so `streetflow users disable` stops
a user's tokens at once in its own process and within seconds everywhere else."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import secrets
import time
from typing import Any

import marshmallow as ma
from flask import current_app, g, request
from flask.views import MethodView
from flask_limiter import Limiter
from flask_smorest import abort
from sqlalchemy import select

from api import db
from api.blueprint import Blueprint
from workflow import users
from workflow.actors import Actor
from workflow.store.models import ApiToken, User
from workflow.users import check_password, find_user, hash_password, normalise_name, sha256

log = logging.getLogger("streetflow.auth")
blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Tokens")


def login_key() -> str:
    """The failed-login count a sign-in attempt belongs to: its user name as the lookup reads it
    (normalise_name), whether it came as the API's JSON or the console's form."""
    body = request.get_json(silent=True) if request.is_json else None
    name = body.get("username") if isinstance(body, dict) else request.form.get("username")
    return f"login:{normalise_name(name)}" if isinstance(name, str) else "login:?"


def login_failed(response: Any) -> bool:
    return bool(response.status_code == 401)


# Failed logins are counted per user name (Flask-Limiter, in this process's memory): after
# LOGIN_LIMIT failures the next attempts are refused with 429 until the window passes. The API
# and the console share one count per name: both limits have the scope LOGIN_SCOPE.
limiter = Limiter(key_func=login_key, storage_uri="memory://", headers_enabled=True)
LOGIN_SCOPE = "login"
# Only sign-ins (here and in the console) and the resident pages carry a limit. Flask-Limiter
# looks every request's limits up before it runs (a fiftieth of a transition's CPU): the API's
# other paths skip that. A limit put on one of them would never apply: the test
# tests/api/test_limits.py fails when one is.
# The console's pages skip it too (a tenth of a millisecond or more of every page), but for its
# sign-in.
UNLIMITED_PREFIX = "/api/v1/"
LIMITED_PREFIX = "/api/v1/auth/"
CONSOLE_PREFIX = "/console/"
CONSOLE_LIMITED_PREFIX = "/console/login"


def skips_limits(path: str) -> bool:
    """Whether a request to PATH skips Flask-Limiter's lookup: no limit applies there."""
    if path.startswith(UNLIMITED_PREFIX):
        return not path.startswith(LIMITED_PREFIX)
    return path.startswith(CONSOLE_PREFIX) and not path.startswith(CONSOLE_LIMITED_PREFIX)


@limiter.request_filter
def _no_limit_here() -> bool:
    return skips_limits(request.path)


def skip_limiter_hooks(app: Any) -> None:
    """After limiter.init_app(APP): Flask-Limiter's three hooks (before the request, after it,
    at its teardown) return at once on the paths _no_limit_here() exempts. The request filter
    alone still let each of them build the limiter's per-request context, look up the
    endpoint's limits and check its conditional deductions, for nothing: no limit applies
    there and no header is added (a fortieth of a transition's CPU)."""

    def skipping(hook: Any, passes: bool) -> Any:
        @functools.wraps(hook)
        def hook_unless_exempt(*args: Any) -> Any:
            if _no_limit_here():
                return args[0] if passes else None
            return hook(*args)

        return hook_unless_exempt

    ours = (
        limiter._check_request_limit,
        getattr(limiter, "_Limiter__release_context", None),
    )
    for hooks, passes in (
        (app.before_request_funcs, False),
        (app.after_request_funcs, True),
        (app.teardown_request_funcs, False),
    ):
        funcs = hooks.get(None, [])
        for i, hook in enumerate(funcs):
            of_limiter = hook in ours or (
                isinstance(hook, functools.partial) and hook.args[:1] == (limiter,)
            )
            if of_limiter:
                funcs[i] = skipping(hook, passes)


def login_limit(**kw: Any) -> Any:
    """The shared limit on failed logins, for a view that signs people in."""
    return limiter.shared_limit(
        lambda: current_app.config["LOGIN_LIMIT"],
        scope=LOGIN_SCOPE,
        key_func=login_key,
        methods=["POST"],
        deduct_when=login_failed,
        **kw,
    )


def still_valid(s: Any, user_id: int, password_hash: str) -> bool:
    """Inside the write that issues a token or session: the user is still enabled and has the
    password just checked (a new password or a disable that committed meanwhile wins)."""
    row = s.execute(select(User.password_hash, User.disabled).where(User.id == user_id)).one()
    return bool(row.password_hash == password_hash and not row.disabled)


class Caller:
    """The authenticated user of this request."""

    def __init__(self, user_id: int, name: str, unit: str, role: str):
        self.user_id, self.name, self.unit, self.role = user_id, name, unit, role

    @property
    def actor(self) -> Actor:
        return Actor(self.name, self.unit, self.role)


def _unauthorized(detail: str) -> None:
    abort(401, message=detail, headers={"WWW-Authenticate": 'Bearer realm="streetflow"'})


# Verified tokens, kept briefly per process: the lookup (a join and a snapshot) was a good part
# of a firing's CPU. A revoke or disable in this process empties it at once (users.
# forget_credentials); one made by another process (another gunicorn worker, the CLI) is seen
# within TOKEN_CACHE_SECONDS.
TOKEN_CACHE_SECONDS = 2.0
TOKEN_CACHE_SIZE = 1024
_verified: dict[str, tuple[float, dt.datetime, Caller]] = {}
_verified_epoch = [-1]


def _cached_caller(token_hash: str, now: dt.datetime) -> Caller | None:
    if _verified_epoch[0] != users.credentials_changed[0]:
        _verified.clear()
        _verified_epoch[0] = users.credentials_changed[0]
        return None
    hit = _verified.get(token_hash)
    if hit is None:
        return None
    checked_at, expires_at, caller = hit
    if time.monotonic() - checked_at > TOKEN_CACHE_SECONDS or expires_at <= now:
        _verified.pop(token_hash, None)
        return None
    return caller


def _remember_caller(token_hash: str, expires_at: dt.datetime, caller: Caller, epoch: int) -> None:
    if epoch != users.credentials_changed[0]:
        return  # revoked something while we looked: do not keep what we read before it
    if len(_verified) >= TOKEN_CACHE_SIZE:
        _verified.clear()
    _verified[token_hash] = (time.monotonic(), expires_at, caller)


def current_caller() -> Caller:
    """The caller behind `Authorization: Bearer TOKEN`, or 401. A revoked or expired token, or a
    disabled user, is refused at once in the process that revoked it, and within
    TOKEN_CACHE_SECONDS everywhere else."""
    if "caller" in g:
        caller: Caller = g.caller
        return caller
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        _unauthorized("a bearer token is required: POST /api/v1/auth/token")
    now = dt.datetime.now(dt.UTC)
    token_hash = sha256(token.strip())
    cached = _cached_caller(token_hash, now)
    if cached is not None:
        g.caller = cached
        return cached
    epoch = users.credentials_changed[0]
    row = (
        db.session()
        .execute(
            select(User.id, User.name, User.unit, User.role, ApiToken.expires_at)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(
                ApiToken.token_hash == token_hash,
                ApiToken.revoked.is_(False),
                User.disabled.is_(False),
            )
        )
        .one_or_none()
    )
    if row is None or row.expires_at <= now:
        _unauthorized("the token is unknown, expired or revoked")
    assert row is not None
    g.caller = Caller(row.id, row.name, row.unit, row.role)
    _remember_caller(token_hash, row.expires_at, g.caller, epoch)
    return g.caller


def current_actor() -> Actor:
    return current_caller().actor


def require_roles(*roles: str) -> Actor:
    """The caller's actor when their role is one of ROLES, else 403 (401 without a token)."""
    actor = current_actor()
    if actor.role not in roles:
        abort(403, message=f"this needs the role {' or '.join(roles)}, not {actor.role}")
    return actor


class LoginSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1024))


class TokenSchema(ma.Schema):
    token = ma.fields.String(required=True)
    expires_at = ma.fields.DateTime(required=True)


@blp.route("/token")
class TokenResource(MethodView):
    @blp.doc(security=[])
    @blp.arguments(LoginSchema)
    @blp.response(201, TokenSchema)
    @blp.alt_response(401, description="Wrong user name or password")
    @blp.alt_response(429, description="Too many failed logins for this user; wait")
    @login_limit()
    def post(self, body: dict[str, str]) -> dict[str, Any]:
        """Exchange a user name and password for a bearer token"""
        name, password = body["username"], body["password"]
        user = find_user(db.session(), name)
        # Check a password even for an unknown user, so timing does not tell who exists.
        ok = check_password(user, password) if user is not None else _dummy_check(password)
        if user is None or not ok or user.disabled:
            log.warning("failed login for %r from %s", name, request.remote_addr)
            _unauthorized("wrong user name or password")
        assert user is not None
        user_id, checked_hash = user.id, user.password_hash
        token = secrets.token_urlsafe(32)
        now = dt.datetime.now(dt.UTC)
        expires = now + dt.timedelta(seconds=int(current_app.config["TOKEN_TTL"]))
        with db.write() as s:
            if not still_valid(s, user_id, checked_hash):
                _unauthorized("wrong user name or password")
            s.add(
                ApiToken(
                    user_id=user_id,
                    token_hash=sha256(token),
                    created_at=now,
                    expires_at=expires,
                    revoked=False,
                )
            )
        return {"token": token, "expires_at": expires}


_dummy: list[User] = []


def _dummy_check(password: str) -> bool:
    if not _dummy:
        _dummy.append(User(password_hash=hash_password(secrets.token_hex(8))))
    check_password(_dummy[0], password)
    return False
