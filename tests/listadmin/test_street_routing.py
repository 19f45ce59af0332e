"""Street routing tables: a street picks which of its units holds an item's street stage and
shortens the district's limits; cases opened afterwards follow it, cases already open do not."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0, staff_of
from tests.listadmin.helpers import CLERK, STREET, open_case, run, walk
from workflow.actors import Actor
from workflow.catalog import registry, street_routing
from workflow.errors import InvalidInput, NotHolder
from workflow.runtime import engine
from workflow.store.models import Case, TrailEvent

TABLE = {
    "items": {
        # UD-01 (incident, district default: enforcement squad, 4 working days at the street)
        "UD-01": {"agency": "A-ZHL-PCS", "street_limit_wd": 2},
        # SW-01 (street approval): the justice office reviews instead of the street office.
        "SW-01": {"street_office": "A-ZHL-SF"},
    }
}


def test_a_street_routes_an_item_to_its_agency_with_a_shorter_limit(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        before = open_case(s, "UD-01")
        walk(s, before, ("accept", CLERK), ("forward", CLERK))
        change = street_routing.publish_table(s, "S-ZHL", TABLE, actor="zhl-admin", now=T0)
        assert (change.version, change.changed) == (1, True)
    with sessions.begin() as s:
        ev = s.execute(select(TrailEvent).order_by(TrailEvent.seq.desc()).limit(1)).scalar_one()
        assert ev.action == "definitions.published" and ev.actor == "zhl-admin"
        assert ev.data["kind"] == "street_routing" and ev.data["name"] == "S-ZHL"
        after = open_case(s, "UD-01")
        case = walk(s, after, ("accept", CLERK), ("forward", CLERK))
        calendar = engine.work_calendar(s)
        assert case.routing_version == 1
        assert case.stage_due_at == calendar.add_working_days(T0, 2)
        assert walk(s, after, ("dispatch", STREET)).holder == "A-ZHL-PCS"
        with pytest.raises(NotHolder):
            engine.fire(s, after, "resolve", staff_of("A-ZHL-ZF"), now=T0)
        assert walk(s, after, ("resolve", staff_of("A-ZHL-PCS"))).state == "resolved"
    with sessions.begin() as s:
        # Opened before the table: the district's agency and limit.
        old = walk(s, before, ("dispatch", STREET))
        assert old.routing_version is None and old.holder == "A-ZHL-ZF"
        # Another street's cases are not touched by Zhuhai Road's table.
        other = open_case(s, "UD-01", "W-XGZ-01")
        clerk = Actor("clerk", "W-XGZ-01", "clerk")
        c = walk(s, other, ("accept", clerk), ("forward", clerk), ("dispatch", staff_of("S-XGZ")))
        assert c.routing_version is None and c.holder == "A-XGZ-ZF"
        sw = open_case(s, "SW-01")
        assert walk(s, sw, ("accept", CLERK), ("forward", CLERK)).holder == "A-ZHL-SF"
        assert walk(s, sw, ("approve", staff_of("A-ZHL-SF"))).state == "approved"


@pytest.mark.parametrize(
    ("entry", "place", "message"),
    [
        ({"street_limit_wd": 5}, "items.UD-01.street_limit_wd", "would lengthen the district's 4"),
        ({"agency": "A-XGZ-PCS"}, "items.UD-01.agency", "neither S-ZHL nor an agency stationed"),
        ({"agency": "D-GA"}, "items.UD-01.agency", "neither S-ZHL nor an agency stationed"),
        ({"dept_limit_wd": 1}, "items.UD-01.dept_limit_wd", "Unknown field"),
        ({"street_limit_wd": 0}, "items.UD-01.street_limit_wd", "greater than or equal to 1"),
    ],
)
def test_a_street_may_not_lengthen_a_limit_or_name_a_foreign_unit(
    sessions: sessionmaker[Session], entry: dict[str, object], place: str, message: str
) -> None:
    with sessions.begin() as s, pytest.raises(InvalidInput) as exc:
        street_routing.publish_table(s, "S-ZHL", {"items": {"UD-01": entry}}, actor="a", now=T0)
    assert place in exc.value.errors
    assert message in " ".join(exc.value.errors[place])
    with sessions() as s:
        assert registry.latest_version(s, "street_routing", "S-ZHL") == 0


def test_routing_cli_sets_shows_and_refuses(
    env: Path, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    good = tmp_path / "zhl.yaml"
    good.write_text("items:\n  UD-01: {agency: A-ZHL-PCS, street_limit_wd: 2}\n", "utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "items:\n  UD-01: {agency: A-XGZ-PCS}\n  SW-01: {street_limit_wd: 20}\n  XX-01: {}\n",
        "utf-8",
    )
    code, out = run("routing", "set", "S-ZHL", str(bad))
    assert code == 1
    assert "items.UD-01.agency: 'A-XGZ-PCS' is neither S-ZHL nor an agency stationed" in out
    assert "items.SW-01.street_limit_wd: 20 working days would lengthen the district's 12" in out
    assert "items.XX-01: no item XX-01" in out
    code, out = run("routing", "set", "S-ZHL", str(good), "--dry-run")
    assert code == 0 and "dry run" in out
    with sessions() as s:
        assert street_routing.table(s, "S-ZHL") is None
    code, out = run("routing", "set", "S-ZHL", str(good))
    assert code == 0 and "street_routing S-ZHL: version 1 (published)" in out
    code, out = run("routing", "set", "S-ZHL", str(good))
    assert code == 0 and "version 1 (unchanged)" in out
    code, out = run("routing", "show", "S-ZHL")
    assert code == 0 and "agency: A-ZHL-PCS" in out and "street_limit_wd: 2" in out
    with sessions() as s:
        n = s.execute(select(Case).where(Case.routing_version.is_not(None))).first()
        assert n is None  # publishing a table moves no case
