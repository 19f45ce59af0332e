"""Users and Open311 api keys: passwords hashed with Argon2, keys and tokens stored as SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import privacy
from workflow.audit import chain
from workflow.errors import Conflict, InvalidInput, NotFound
from workflow.spec.model import ROLES
from workflow.store.models import ApiKey, ApiToken, Unit, User

_hasher = PasswordHasher()
NAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
# Which unit kinds each role belongs to.
ROLE_UNIT_KINDS = {
    "clerk": {"workstation"},
    "staff": {"street_office", "dispatched_agency", "department"},
    "admin": {"street_office", "district"},
    "auditor": {"district", "street_office", "department"},
}
MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def add_user(
    session: Session,
    *,
    name: str,
    unit: str,
    role: str,
    password: str,
    actor: str,
    now: dt.datetime | None = None,
) -> User:
    """Add a user, in the caller's transaction, with a trail event (the password is not in it)."""
    now = now or dt.datetime.now(dt.UTC)
    if not NAME.match(name or ""):
        raise InvalidInput("a user name is 2-64 letters, digits or _.@-", {"name": ["invalid"]})
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", {"role": ["unknown role"]})
    if len(password or "") < MIN_PASSWORD:
        raise InvalidInput(
            f"a password has at least {MIN_PASSWORD} characters", {"password": ["too short"]}
        )
    chain.lock_head(session)
    u = session.get(Unit, unit)
    if u is None:
        raise NotFound(f"no unit {unit!r}; run 'streetflow init' or check the code")
    if u.kind not in ROLE_UNIT_KINDS[role]:
        kinds = ", ".join(sorted(ROLE_UNIT_KINDS[role]))
        raise InvalidInput(
            f"a {role} belongs to a {kinds}, not a {u.kind}", {"unit": ["wrong kind"]}
        )
    if session.execute(select(User).where(User.name == name)).scalar_one_or_none():
        raise Conflict(f"user {name!r} exists already")
    user = User(
        name=name,
        unit=unit,
        role=role,
        password_hash=hash_password(password),
        disabled=False,
        created_at=now,
    )
    session.add(user)
    session.flush()
    chain.append(
        session,
        at=now,
        actor=actor,
        action="user.added",
        data={"user": name, "unit": unit, "role": role},
    )
    return user


def disable_user(
    session: Session, *, name: str, actor: str, now: dt.datetime | None = None
) -> User:
    """Disable a user and revoke every token of theirs at once."""
    now = now or dt.datetime.now(dt.UTC)
    chain.lock_head(session)
    user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {name!r}")
    user.disabled = True
    for token in session.execute(select(ApiToken).where(ApiToken.user_id == user.id)).scalars():
        token.revoked = True
    chain.append(session, at=now, actor=actor, action="user.disabled", data={"user": name})
    return user


def add_api_key(
    session: Session, *, name: str, actor: str, now: dt.datetime | None = None
) -> tuple[ApiKey, str]:
    """A new Open311 api_key for an outside channel; the key itself is shown once, stored hashed."""
    now = now or dt.datetime.now(dt.UTC)
    if not NAME.match(name or ""):
        raise InvalidInput("a key name is 2-64 letters, digits or _.@-", {"name": ["invalid"]})
    if name.lower() == privacy.WINDOW:
        # A channel named so would be taken for the window, and its requests not published.
        raise InvalidInput(
            f"{privacy.WINDOW!r} is the channel of cases opened at a window; choose another name",
            {"name": ["reserved"]},
        )
    chain.lock_head(session)
    if session.execute(select(ApiKey).where(ApiKey.name == name)).scalar_one_or_none():
        raise Conflict(f"api key {name!r} exists already")
    key = secrets.token_urlsafe(32)
    row = ApiKey(name=name, key_hash=sha256(key), created_at=now, disabled=False)
    session.add(row)
    chain.append(session, at=now, actor=actor, action="apikey.issued", data={"name": name})
    return row, key
