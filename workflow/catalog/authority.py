"""Who may publish which definition: one rule for the API, the console and the CLI.

Definitions that bind the whole district (routes, the list, units, calendar, appraisal scheme)
are published by district administrators: role ``admin`` at the district's own unit (kind
``district``). A street office's administrators publish for their own street only: its routing
table and its variants of routes. A district administrator may publish a variant for any
street. Operator commands that read a definitions folder (``init``, ``definitions publish``)
run with the database's own rights and are not asked."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from workflow.actors import Actor
from workflow.audit import chain
from workflow.catalog import registry
from workflow.errors import InvalidInput, NotFound, NotHolder
from workflow.instants import utcnow
from workflow.spec.model import RouteSpec
from workflow.spec.serialize import route_to_data


class NotPermitted(NotHolder):
    """The actor may not publish this definition (403 on HTTP)."""

    title = "Not permitted"


def is_district_admin(session: Session, actor: Actor) -> bool:
    unit = registry.units(session).units.get(actor.unit or "")
    return actor.role == "admin" and unit is not None and unit.kind == "district"


def street_of_admin(session: Session, actor: Actor) -> str | None:
    """The street office an administrator belongs to (None: not a street's administrator)."""
    unit = registry.units(session).units.get(actor.unit or "")
    if actor.role != "admin" or unit is None or unit.kind != "street_office":
        return None
    return unit.code


def check_street(session: Session, street: str) -> None:
    """InvalidInput unless STREET is a street office."""
    unit = registry.units(session).units.get(street)
    if unit is None or unit.kind != "street_office":
        raise InvalidInput(
            errors={"street": ["not a street office"]},
            code="not_a_street",
            params={"street": street},
        )


def publish_refusal(
    session: Session, actor: Actor, street: str | None = None
) -> NotPermitted | None:
    """Why ACTOR may not publish a district-wide definition (STREET None) or a definition
    of STREET, as the refusal; None when they may."""
    if is_district_admin(session, actor):
        return None
    if street is None:
        return NotPermitted(code="district_publisher")
    if street_of_admin(session, actor) == street:
        return None
    return NotPermitted(code="street_publisher", params={"street": street})


def may_publish(session: Session, actor: Actor, street: str | None = None) -> str | None:
    """Why ACTOR may not publish a district-wide definition (STREET None) or a definition
    of STREET; None when they may."""
    refusal = publish_refusal(session, actor, street)
    return refusal.detail if refusal else None


def require_publisher(session: Session, actor: Actor, street: str | None = None) -> None:
    """NotPermitted unless ACTOR may publish for STREET (None: district-wide)."""
    refusal = publish_refusal(session, actor, street)
    if refusal is not None:
        raise refusal


def publish_route(
    session: Session,
    route: RouteSpec,
    *,
    actor: Actor,
    street: str | None = None,
    now: dt.datetime | None = None,
) -> registry.Change:
    """Publish ROUTE as the district's new version (STREET None) or as STREET's variant, as
    ACTOR, in the caller's transaction; unchanged content keeps its version. A variant applies
    to the street's cases opened afterwards; running cases keep the version they are on.
    Raises NotPermitted, InvalidInput (not a street; no district route of that name)."""
    now = now or utcnow()
    chain.lock_head(session)
    require_publisher(session, actor, street)
    if street is not None:
        check_street(session, street)
        if registry.latest_row(session, "route", route.name) is None:
            raise InvalidInput(
                errors={"name": [f"no district route {route.name!r}"]},
                code="no_district_route",
                params={"route": route.name},
            )
    return registry.publish_one(
        session,
        "route",
        route.name,
        route_to_data(route),
        actor=actor.label,
        now=now,
        street=street,
    )


def withdraw_variant(
    session: Session, name: str, street: str, *, actor: Actor, now: dt.datetime | None = None
) -> registry.Change:
    """Withdraw STREET's variant of route NAME: the street's cases opened afterwards follow
    the district's version again; cases on the variant keep it. Raises NotPermitted,
    InvalidInput (not a street), NotFound (no variant in force)."""
    now = now or utcnow()
    chain.lock_head(session)
    require_publisher(session, actor, street)
    check_street(session, street)
    if street not in registry.route_variants(session, name):
        raise NotFound(code="no_variant", params={"street": street, "route": name})
    return registry.publish_one(
        session,
        "route",
        name,
        registry.WITHDRAWN,
        actor=actor.label,
        now=now,
        street=street,
        action="definitions.variant_withdrawn",
    )


def people_refusal(session: Session, actor: Actor, unit: str) -> NotPermitted | None:
    """Why ACTOR may not manage the users of UNIT, as the refusal; None when they may."""
    if is_district_admin(session, actor):
        return None
    own = street_of_admin(session, actor)
    if own is None:
        return NotPermitted(code="people_admins")
    if registry.units(session).street_of(unit) == own:
        return None
    return NotPermitted(code="own_street_people", params={"street": own})


def may_manage_people(session: Session, actor: Actor, unit: str) -> str | None:
    """Why ACTOR may not add, disable, enable or reset the password of a user of UNIT; None when
    they may. A district administrator manages everyone; a street's administrator the people of
    their street (its office, bodies, workstations, committees and stationed agencies)."""
    refusal = people_refusal(session, actor, unit)
    return refusal.detail if refusal else None


def require_people_manager(session: Session, actor: Actor, unit: str) -> None:
    """NotPermitted unless ACTOR may manage the users of UNIT."""
    refusal = people_refusal(session, actor, unit)
    if refusal is not None:
        raise refusal
