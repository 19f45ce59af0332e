"""The administrator's pages for people and outside channels: users (add, disable, enable, a new
password) and Open311 api keys, as `streetflow users` and `streetflow apikeys` do.

A district administrator manages every user and issues the api keys (they are the district's
channels); a street's administrator manages the people of their street only
(workflow.catalog.authority.may_manage_people)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from api import db
from api.console.common import bp, caller, current_caller, signed_in, units
from workflow import users as people
from workflow.catalog import authority
from workflow.store.models import ApiKey, User

ROLES = ("clerk", "staff", "admin", "auditor", "callback")


@bp.context_processor
def _admin_scope() -> dict[str, Any]:
    """For the navigation: whether the signed-in administrator is the district's or a
    street's (None for everyone else)."""
    c = current_caller()
    if c is None or c.role != "admin":
        return {"admin_scope": None}
    s = db.session()
    if authority.is_district_admin(s, c.actor):
        return {"admin_scope": "district"}
    return {"admin_scope": "street" if authority.street_of_admin(s, c.actor) else None}


def _managed_units() -> list[str]:
    """The units whose people the signed-in administrator manages."""
    s = db.session()
    actor = caller().actor
    return sorted(
        code for code in units().units if authority.may_manage_people(s, actor, code) is None
    )


@bp.get("/admin/users")
@signed_in("admin")
def users_page() -> str:
    """The users the administrator manages, with their state and the forms to change them."""
    managed = _managed_units()
    mine = set(managed)
    rows = [u for u in people.list_users(db.session()) if u.unit in mine]
    return render_template(
        "console/admin_users.html",
        users=rows,
        unit_codes=managed,
        roles=ROLES,
        district=authority.is_district_admin(db.session(), caller().actor),
    )


def _user(name: str) -> User:
    """The user NAME, if the administrator manages them (else 404: not told they exist)."""
    user = people.find_user(db.session(), name)
    if user is None or authority.may_manage_people(db.session(), caller().actor, user.unit):
        abort(404, _("No user %(name)s.", name=name))
    return user


@bp.post("/admin/users")
@signed_in("admin")
def add_user() -> Any:
    form = request.form
    unit = form.get("unit", "").strip()
    with db.write() as w:
        authority.require_people_manager(w, caller().actor, unit)
        user = people.add_user(
            w,
            name=form.get("name", ""),
            unit=unit,
            role=form.get("role", ""),
            password=form.get("password", ""),
            actor=caller().actor.label,
        )
        name = user.name
    flash(_("User %(name)s added.", name=name), "ok")
    return redirect(url_for("console.users_page"))


@bp.post("/admin/users/<name>/<change>")
@signed_in("admin")
def change_user(name: str, change: str) -> Any:
    """Disable, enable, or give a new password (their sessions end)."""
    if change not in ("disable", "enable", "password"):
        abort(404)
    target = _user(name).name
    actor = caller().actor.label
    with db.write() as w:
        if change == "disable":
            people.disable_user(w, name=target, actor=actor)
            message = _("User %(name)s disabled: their sessions and tokens ended.", name=target)
        elif change == "enable":
            people.enable_user(w, name=target, actor=actor)
            message = _("User %(name)s enabled.", name=target)
        else:
            people.set_password(
                w, name=target, password=request.form.get("password", ""), actor=actor
            )
            message = _("New password set for %(name)s: their sessions ended.", name=target)
    flash(message, "ok")
    return redirect(url_for("console.users_page"))


def _district_only() -> None:
    if not authority.is_district_admin(db.session(), caller().actor):
        abort(403, _("Open311 api keys are issued by a district administrator."))


@bp.get("/admin/apikeys")
@signed_in("admin")
def apikeys_page() -> str:
    _district_only()
    return _apikeys()


def _apikeys(new: tuple[str, str] | None = None) -> str:
    keys = list(db.session().execute(select(ApiKey).order_by(ApiKey.name)).scalars())
    return render_template("console/admin_apikeys.html", keys=keys, new=new)


@bp.post("/admin/apikeys")
@signed_in("admin")
def add_apikey() -> str:
    """Issue a key: shown on this page once (never stored, never in a cookie)."""
    _district_only()
    with db.write() as w:
        row, key = people.add_api_key(
            w, name=request.form.get("name", "").strip(), actor=caller().actor.label
        )
        name = row.name
    return _apikeys(new=(name, key))
