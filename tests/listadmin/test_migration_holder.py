"""A running case that no unit of the organisation as published now could hold is not moved."""

from __future__ import annotations

import dataclasses

from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0
from tests.listadmin.helpers import CLERK, open_case, walk
from workflow.audit import chain
from workflow.catalog import registry, street_routing
from workflow.runtime import migration
from workflow.spec.serialize import record_to_data, route_to_data
from workflow.store.models import Case


def test_a_case_whose_holder_left_the_organisation_is_not_moved(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        # The street gives its review of SW-02 to its police station, by its routing table.
        street_routing.publish_table(
            s, "S-ZHL", {"items": {"SW-02": {"street_office": "A-ZHL-PCS"}}}, actor="admin", now=T0
        )
        case_id = open_case(s, "SW-02")
        walk(s, case_id, ("accept", CLERK), ("forward", CLERK))
        case = s.get(Case, case_id)
        assert case is not None and (case.state, case.holder) == ("street_review", "A-ZHL-PCS")
        # three_tier version 2 (a new title only), and the police station leaves the units list.
        v1, _, _ = registry.route(s, "three_tier")
        v2 = dataclasses.replace(v1, title_en=v1.title_en + " (revised)")
        chain.lock_head(s)
        registry.publish_one(s, "route", "three_tier", route_to_data(v2), actor="admin", now=T0)
        kept = [record_to_data(u) for u in registry.units(s).units.values()]
        kept = [u for u in kept if u["code"] != "A-ZHL-PCS"]
        registry.publish_one(s, "units", "units", {"units": kept}, actor="admin", now=T0)
    with sessions.begin() as s:
        plan = migration.plan(s, route="three_tier", from_version=1, to_version=2, mapping={})
        move = next(m for m in plan.moves if m.case_id == case_id)
        assert move.why_not == (
            "no unit would hold it in street_review (street_office tier): A-ZHL-PCS"
        )
