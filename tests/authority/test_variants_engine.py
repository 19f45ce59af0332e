"""A street's variant of a route: its street's new cases open on it, other streets and running
cases keep theirs, and the variant is moved to and drawn like any route version."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.authority.helpers import variant
from tests.conftest import T0
from tests.listadmin.helpers import CLERK, open_case, trail_is_intact, walk
from workflow.actors import Actor
from workflow.catalog import authority, registry
from workflow.errors import InvalidInput, NotFound
from workflow.runtime import engine, migration
from workflow.store.models import Case, TrailEvent

ZHL_ADMIN = Actor("admin", "S-ZHL", "admin")
XGZ_ADMIN = Actor("admin-xgz", "S-XGZ", "admin")
DISTRICT = Actor("district", "X-SN", "admin")
XGZ_CLERK = Actor("clerk-xgz", "W-XGZ-01", "clerk")


def test_a_variant_applies_to_its_streets_new_cases_only(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        district_version = registry.route(s, "incident")[1]
        before = open_case(s, "UD-01")  # Zhuhai Road, before the variant
        change = authority.publish_route(s, variant(), actor=ZHL_ADMIN, street="S-ZHL", now=T0)
        assert change.changed and change.street == "S-ZHL"
        assert change.version == district_version + 1
        zhl = open_case(s, "UD-01")
        xgz = open_case(s, "UD-01", "W-XGZ-01")
    with sessions.begin() as s:
        cases = {c.id: c for c in s.execute(select(Case)).scalars()}
        assert cases[before].route_version == district_version
        assert cases[zhl].route_version == change.version
        assert cases[xgz].route_version == district_version
        assert registry.route_street(s, "incident", change.version) == "S-ZHL"
        assert registry.route_street(s, "incident", district_version) is None
        # The district's latest is still what the district's pages and other streets get.
        assert registry.route(s, "incident")[1] == district_version
        assert registry.route(s, "incident", street="S-XGZ")[1] == district_version
        assert registry.route(s, "incident", street="S-ZHL")[1] == change.version
        # The variant's trigger is there for Zhuhai Road's new case only.
        assert "resolve_on_site" in engine.available_triggers(s, cases[zhl], CLERK)
        assert "resolve_on_site" not in engine.available_triggers(s, cases[before], CLERK)
        assert "resolve_on_site" not in engine.available_triggers(s, cases[xgz], XGZ_CLERK)
        engine.fire(s, zhl, "resolve_on_site", CLERK, now=T0)
        with pytest.raises(InvalidInput):
            engine.fire(s, xgz, "resolve_on_site", XGZ_CLERK, now=T0)
        opened = s.execute(
            select(TrailEvent.data).where(
                TrailEvent.case_id == zhl, TrailEvent.action == "case.opened"
            )
        ).scalar_one()
        assert opened["route_version"] == change.version and opened["route_street"] == "S-ZHL"
        assert trail_is_intact(s)


def test_running_cases_keep_their_version_when_a_variant_or_the_district_publishes(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        v1 = authority.publish_route(s, variant(), actor=ZHL_ADMIN, street="S-ZHL", now=T0)
        on_variant = open_case(s, "UD-01")
        # The district publishes a new version: Zhuhai Road keeps its variant for new cases.
        district = registry.route(s, "incident")[0]
        changed = district.__class__(**{**vars(district), "title_en": "Incident (2027)"})
        d2 = authority.publish_route(s, changed, actor=DISTRICT, now=T0)
        assert d2.changed and d2.street is None
        # The street publishes its variant again, changed: a new number after the district's.
        v2_spec = variant().__class__(**{**vars(variant()), "title_en": "Incident, Zhuhai Road"})
        v2 = authority.publish_route(s, v2_spec, actor=ZHL_ADMIN, street="S-ZHL", now=T0)
        assert v1.version < d2.version < v2.version
        # Unchanged content keeps its version.
        again = authority.publish_route(s, v2_spec, actor=DISTRICT, street="S-ZHL", now=T0)
        assert not again.changed and again.version == v2.version
        new_zhl = open_case(s, "UD-01")
        new_xgz = open_case(s, "UD-01", "W-XGZ-01")
    with sessions.begin() as s:
        assert engine.get_case(s, on_variant).route_version == v1.version
        assert engine.get_case(s, new_zhl).route_version == v2.version
        assert engine.get_case(s, new_xgz).route_version == d2.version
        walk(s, on_variant, ("accept", CLERK))  # still fires on its own version


def test_cases_move_to_a_variant_only_from_its_street(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        district_version = registry.route(s, "incident")[1]
        zhl, xgz = open_case(s, "UD-01"), open_case(s, "UD-01", "W-XGZ-01")
        v = authority.publish_route(s, variant(), actor=ZHL_ADMIN, street="S-ZHL", now=T0)
        plan = migration.plan(
            s, route="incident", from_version=district_version, to_version=v.version, mapping={}
        )
        assert [m.case_id for m in plan.moves] == [zhl]
        with pytest.raises(InvalidInput, match="variant of S-ZHL"):
            migration.plan(
                s,
                route="incident",
                from_version=district_version,
                to_version=v.version,
                mapping={},
                street="S-XGZ",
            )
        migration.apply(
            s,
            route="incident",
            from_version=district_version,
            to_version=v.version,
            mapping={},
            actor="admin",
            now=T0,
        )
    with sessions.begin() as s:
        assert engine.get_case(s, zhl).route_version == v.version
        assert engine.get_case(s, xgz).route_version == district_version
        assert "resolve_on_site" in engine.available_triggers(s, engine.get_case(s, zhl), CLERK)


def test_who_may_publish(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        route = variant()
        for actor, street in (
            (ZHL_ADMIN, None),  # a street's administrator: not district-wide
            (XGZ_ADMIN, "S-ZHL"),  # nor for another street
            (Actor("staff", "S-ZHL", "staff"), "S-ZHL"),  # nor staff
            (Actor("auditor", "X-SN", "auditor"), None),  # nor the district's auditor
        ):
            with pytest.raises(authority.NotPermitted):
                authority.publish_route(s, route, actor=actor, street=street, now=T0)
        with pytest.raises(InvalidInput, match="not a street office"):
            authority.publish_route(s, route, actor=DISTRICT, street="W-ZHL-01", now=T0)
        orphan = route.__class__(**{**vars(route), "name": "zhl_only"})
        with pytest.raises(InvalidInput, match="no route 'zhl_only'"):
            authority.publish_route(s, orphan, actor=ZHL_ADMIN, street="S-ZHL", now=T0)
        assert authority.publish_route(s, route, actor=DISTRICT, street="S-XGZ", now=T0).changed
        assert registry.route_variants(s, "incident").keys() == {"S-XGZ"}


def test_a_withdrawn_variant_puts_the_streets_new_cases_back_on_the_districts_version(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        district_version = registry.route(s, "incident")[1]
        v = authority.publish_route(s, variant(), actor=ZHL_ADMIN, street="S-ZHL", now=T0)
        on_variant = open_case(s, "UD-01")
        with pytest.raises(authority.NotPermitted):
            authority.withdraw_variant(s, "incident", "S-ZHL", actor=XGZ_ADMIN, now=T0)
        w = authority.withdraw_variant(s, "incident", "S-ZHL", actor=ZHL_ADMIN, now=T0)
        assert w.version > v.version
        with pytest.raises(NotFound, match="no variant"):
            authority.withdraw_variant(s, "incident", "S-ZHL", actor=DISTRICT, now=T0)
        after = open_case(s, "UD-01")
        assert registry.route_variants(s, "incident") == {}
        assert w.version not in [r.version for r in registry.route_versions(s, "incident")]
        with pytest.raises(NotFound):
            registry.route(s, "incident", w.version)
        withdrawn = s.execute(
            select(TrailEvent.data).where(TrailEvent.action == "definitions.variant_withdrawn")
        ).scalar_one()
        assert withdrawn["street"] == "S-ZHL" and withdrawn["version"] == w.version
        # Published again afterwards: in force again, with a newer number.
        again = authority.publish_route(s, variant(), actor=ZHL_ADMIN, street="S-ZHL", now=T0)
        assert again.changed and again.version > w.version
        third = open_case(s, "UD-01")
    with sessions.begin() as s:
        assert engine.get_case(s, on_variant).route_version == v.version
        assert engine.get_case(s, after).route_version == district_version
        assert engine.get_case(s, third).route_version == again.version
