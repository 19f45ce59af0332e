"""Users and Open311 api keys: passwords hashed with Argon2, keys and tokens stored as SHA-256."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import os
import re
import secrets

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from workflow import messages, privacy
from workflow.audit import chain
from workflow.common_passwords import COMMON_PASSWORDS
from workflow.errors import Conflict, InvalidInput, NotFound
from workflow.instants import utcnow
from workflow.spec.model import ROLES
from workflow.store.models import ApiKey, ApiToken, ConsoleSession, Unit, User, normalise_name

# The test suite's switch (tests/conftest.py sets it; its subprocesses inherit it): Argon2's own
# cheapest parameters, the same code path without 0.2 s a hash or a sign-in. Never in service:
# such a hash falls to a guess in no time (a process that sees it says so in its log).
CHEAP_HASHES = "STREETFLOW_TEST_CHEAP_PASSWORD_HASHES"
_HASHERS = {False: PasswordHasher(), True: PasswordHasher.from_parameters(profiles.CHEAPEST)}


@functools.cache
def _say_cheap() -> None:
    """Once a process: its passwords are hashed cheaply."""
    logging.getLogger("streetflow.auth").warning(
        "%s=1: passwords are hashed with Argon2's cheapest parameters, for tests only", CHEAP_HASHES
    )


def _hasher() -> PasswordHasher:
    cheap = os.environ.get(CHEAP_HASHES) == "1"
    if cheap:
        _say_cheap()
    return _HASHERS[cheap]


NAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
# Which unit kinds each role belongs to.
ROLE_UNIT_KINDS = {
    "clerk": {"workstation"},
    "staff": {
        "street_office",
        "dispatched_agency",
        "department",
        # 两委 and the street's party working committee and service centre.
        "party_committee",
        "residents_committee",
        "mediation_committee",
        "street_party_committee",
        "service_centre",
        "party_department",
    },
    "admin": {"street_office", "district"},
    "auditor": {"district", "street_office", "department", "party_department"},
    # 回访: a callback operator at the district or a street, never the handling unit.
    "callback": {"district", "street_office"},
    # 派单员: at the dispatch centre (12345/12349), never at a unit that handles cases.
    "dispatcher": {"dispatch_centre"},
}
MIN_PASSWORD = 8

# Bumped whenever tokens are revoked or a user is disabled in this process: a cache of verified
# tokens (the API keeps one, briefly) drops everything it verified before.
credentials_changed = [0]


def forget_credentials() -> None:
    """Tell this process's caches of verified tokens that some have just stopped being valid."""
    credentials_changed[0] += 1


def find_user(session: Session, name: str) -> User | None:
    """The user a typed NAME means (see normalise_name), or None."""
    return session.execute(
        select(User).where(User.name_key == normalise_name(name))
    ).scalar_one_or_none()


def password_refusal(password: str, name: str = "") -> tuple[str, dict[str, object]] | None:
    """Why PASSWORD is too weak to use (for user NAME), as a refusal's code and params; None
    when it will do."""
    if len(password) < MIN_PASSWORD:
        return "password_short", {"min": MIN_PASSWORD}
    if not password.strip():
        return "password_spaces", {}
    if len(set(password)) == 1:
        return "password_repeated", {}
    folded = password.casefold()
    if folded in COMMON_PASSWORDS:
        return "password_common", {}
    if name and normalise_name(name) == folded:
        return "password_is_name", {}
    return None


def password_problem(password: str, name: str = "") -> str | None:
    """Why PASSWORD is too weak to use (for user NAME), in English, or None when it will do."""
    refusal = password_refusal(password, name)
    return messages.english(*refusal) if refusal else None


def _check_password_strength(password: str, name: str) -> None:
    refusal = password_refusal(password or "", name)
    if refusal:
        code, params = refusal
        problem = messages.english(code, params)
        raise InvalidInput(problem, {"password": [problem]}, code=code, params=params)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        return _hasher().verify(user.password_hash, password)
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
    now = now or utcnow()
    name = (name or "").strip()
    if not NAME.match(name):
        raise InvalidInput(errors={"name": ["invalid"]}, code="user_name_invalid")
    if role not in ROLES:
        raise InvalidInput(
            errors={"role": ["unknown role"]}, code="role_unknown", params={"roles": list(ROLES)}
        )
    _check_password_strength(password, name)
    chain.lock_head(session)
    u = session.get(Unit, unit)
    if u is None:
        raise NotFound(code="user_unit_unknown", params={"unit": unit})
    if u.kind not in ROLE_UNIT_KINDS[role]:
        raise InvalidInput(
            errors={"unit": ["wrong kind"]},
            code="role_unit_kind",
            params={"role": role, "kinds": sorted(ROLE_UNIT_KINDS[role]), "kind": u.kind},
        )
    same = find_user(session, name)
    if same is not None:
        if same.name == name:
            raise Conflict(code="user_exists", params={"user": name})
        raise Conflict(code="user_exists_as", params={"user": name, "as": same.name})
    user = User(
        name=name,
        name_key=normalise_name(name),
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


def _user(session: Session, name: str) -> User:
    user = find_user(session, name)
    if user is None:
        raise NotFound(code="no_user", params={"user": name})
    return user


def end_sessions(session: Session, user: User) -> None:
    """End every console session and bearer token of USER, in the caller's transaction."""
    forget_credentials()
    session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
        .values(revoked=True)
    )


def disable_user(
    session: Session, *, name: str, actor: str, now: dt.datetime | None = None
) -> User:
    """Disable a user and end their console sessions and tokens at once."""
    now = now or utcnow()
    chain.lock_head(session)
    user = _user(session, name)
    user.disabled = True
    forget_credentials()
    end_sessions(session, user)
    chain.append(session, at=now, actor=actor, action="user.disabled", data={"user": user.name})
    return user


def enable_user(session: Session, *, name: str, actor: str, now: dt.datetime | None = None) -> User:
    """Let a disabled user sign in again (their old tokens stay revoked)."""
    now = now or utcnow()
    chain.lock_head(session)
    user = _user(session, name)
    if not user.disabled:
        raise Conflict(code="user_enabled_already", params={"user": user.name})
    user.disabled = False
    chain.append(session, at=now, actor=actor, action="user.enabled", data={"user": user.name})
    return user


def set_password(
    session: Session, *, name: str, password: str, actor: str, now: dt.datetime | None = None
) -> User:
    """Give a user a new password and end their console sessions and tokens: whoever held the
    old one is out. The trail records the change, never the password."""
    now = now or utcnow()
    chain.lock_head(session)
    user = _user(session, name)
    _check_password_strength(password, user.name)
    user.password_hash = hash_password(password)
    end_sessions(session, user)
    chain.append(
        session, at=now, actor=actor, action="user.password_changed", data={"user": user.name}
    )
    return user


def list_users(session: Session) -> list[User]:
    return list(session.execute(select(User).order_by(User.name_key)).scalars())


def add_api_key(
    session: Session, *, name: str, actor: str, now: dt.datetime | None = None
) -> tuple[ApiKey, str]:
    """A new Open311 api_key for an outside channel; the key itself is shown once, stored hashed."""
    now = now or utcnow()
    if not NAME.match(name or ""):
        raise InvalidInput(errors={"name": ["invalid"]}, code="key_name_invalid")
    if name.lower() == privacy.WINDOW:
        # A channel named so would be taken for the window, and its requests not published.
        raise InvalidInput(
            errors={"name": ["reserved"]}, code="key_name_reserved", params={"name": privacy.WINDOW}
        )
    chain.lock_head(session)
    if session.execute(select(ApiKey).where(ApiKey.name == name)).scalar_one_or_none():
        raise Conflict(code="key_exists", params={"name": name})
    key = secrets.token_urlsafe(32)
    row = ApiKey(name=name, key_hash=sha256(key), created_at=now, disabled=False)
    session.add(row)
    chain.append(session, at=now, actor=actor, action="apikey.issued", data={"name": name})
    return row, key
