"""Bearer tokens: issued for a user name and password, stored as SHA-256 with an expiry, checked
on every request (so `streetflow users disable` stops a user's tokens at once)."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from typing import Any

import marshmallow as ma
from flask import current_app, g, request
from flask.views import MethodView
from flask_limiter import Limiter
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from api import db
from workflow.runtime.machines import Actor
from workflow.store.models import ApiToken, User
from workflow.users import check_password, hash_password, sha256

log = logging.getLogger("streetflow.auth")
blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Tokens")


def _login_name() -> str:
    body = request.get_json(silent=True)
    name = body.get("username") if isinstance(body, dict) else None
    return f"login:{name}" if isinstance(name, str) else "login:?"


# Failed logins are counted per user name (Flask-Limiter, in this process's memory): after
# LOGIN_LIMIT failures the next attempts are refused with 429 until the window passes.
limiter = Limiter(key_func=_login_name, storage_uri="memory://", headers_enabled=True)


class Caller:
    """The authenticated user of this request."""

    def __init__(self, user_id: int, name: str, unit: str, role: str):
        self.user_id, self.name, self.unit, self.role = user_id, name, unit, role

    @property
    def actor(self) -> Actor:
        return Actor(self.name, self.unit, self.role)


def _unauthorized(detail: str) -> None:
    abort(401, message=detail, headers={"WWW-Authenticate": 'Bearer realm="streetflow"'})


def current_caller() -> Caller:
    """The caller behind `Authorization: Bearer TOKEN`, or 401. Checked against the database on
    every request: a revoked or expired token, or a disabled user, is refused at once."""
    if "caller" in g:
        caller: Caller = g.caller
        return caller
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        _unauthorized("a bearer token is required: POST /api/v1/auth/token")
    now = dt.datetime.now(dt.UTC)
    row = (
        db.session()
        .execute(
            select(User.id, User.name, User.unit, User.role, ApiToken.expires_at)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(
                ApiToken.token_hash == sha256(token.strip()),
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


def _failed(response: Any) -> bool:
    return bool(response.status_code == 401)


@blp.route("/token")
class TokenResource(MethodView):
    @blp.doc(security=[])
    @blp.arguments(LoginSchema)
    @blp.response(201, TokenSchema)
    @blp.alt_response(401, description="Wrong user name or password")
    @blp.alt_response(429, description="Too many failed logins for this user; wait")
    @limiter.limit(lambda: current_app.config["LOGIN_LIMIT"], deduct_when=_failed)
    def post(self, body: dict[str, str]) -> dict[str, Any]:
        """Exchange a user name and password for a bearer token"""
        name, password = body["username"], body["password"]
        user = db.session().execute(select(User).where(User.name == name)).scalar_one_or_none()
        # Check a password even for an unknown user, so timing does not tell who exists.
        ok = check_password(user, password) if user is not None else _dummy_check(password)
        if user is None or not ok or user.disabled:
            log.warning("failed login for %r from %s", name, request.remote_addr)
            _unauthorized("wrong user name or password")
        assert user is not None
        token = secrets.token_urlsafe(32)
        now = dt.datetime.now(dt.UTC)
        expires = now + dt.timedelta(seconds=int(current_app.config["TOKEN_TTL"]))
        with db.write() as s:
            s.add(
                ApiToken(
                    user_id=user.id,
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
