"""An instance made from the definitions before the community's two committees upgrades
cleanly: `streetflow init` publishes the new units, list and routes as new versions, and the
running cases of moved items go to their new route with `streetflow routes migrate`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from api.cli import main
from tests.conftest import T0
from workflow.actors import Actor
from workflow.audit.replay import differences
from workflow.catalog import registry
from workflow.config import DEFAULT_DEFINITIONS
from workflow.runtime import engine
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.models import Unit

OLD = Path(__file__).parent.parent / "fixtures" / "definitions_before_two_committees"
CLERK = Actor("clerk", "W-ZHL-01", "clerk")
PARTY = Actor("party", "P-ZHL-01", "staff")
MEDIATOR = Actor("mediator", "M-ZHL-01", "staff")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def _open(s: Session, item: str) -> int:
    case_id = engine.open_case(
        s,
        item=item,
        workstation="W-ZHL-01",
        actor=CLERK,
        applicant_name="王芳",
        applicant_phone="13800000000",
        now=T0,
    ).id
    engine.fire(s, case_id, "accept", CLERK, now=T0)
    return case_id


def test_an_old_instance_upgrades_and_its_running_cases_move(
    new_database: Callable[[], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = new_database()
    monkeypatch.setenv("STREETFLOW_DATABASE_URL", url)
    monkeypatch.setenv("STREETFLOW_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("STREETFLOW_SECRET_KEY", "test-secret-" + uuid.uuid4().hex)
    db = make_engine(url)
    sessions = make_sessionmaker(db)
    monkeypatch.setenv("STREETFLOW_DEFINITIONS", str(OLD))
    code, out = run("init")
    assert code == 0, out
    with sessions.begin() as s:
        party_case = _open(s, "PB-03")  # the old list: 入党申请 at the workstation
        mediation_case = _open(s, "PS-01")
        other_case = _open(s, "SW-10")
    with sessions() as s:
        assert engine.get_case(s, party_case).holder == "W-ZHL-01"

    monkeypatch.setenv("STREETFLOW_DEFINITIONS", str(DEFAULT_DEFINITIONS))
    code, out = run("init")
    assert code == 0, out
    for published in ("units: version 2", "items: version 2", "route mediation: version 2"):
        assert published in out
    assert "route party_local: version 1 (published)" in out
    with sessions() as s:
        assert s.get(Unit, "P-ZHL-01").kind == "party_committee"
        assert s.get(Unit, "D-ZZB").kind == "party_department"
        assert registry.item(s, "PB-03")[0].route == "party_local"
        # Nothing moved by itself: the running cases keep their versions until migrated.
        assert engine.get_case(s, party_case).route_name == "local"

    code, out = run(
        "routes", "migrate", "local", "--from", "1", "--to", "1", "--to-route", "party_local",
        "--item", "PB-03", "--reason", "入党申请改由社区党委受理",
    )  # fmt: skip
    assert code == 0, out
    assert "1 moved, 0 cannot" in out
    code, out = run("routes", "migrate", "mediation", "--from", "1", "--to", "2")
    assert code == 0, out
    assert "1 moved, 0 cannot" in out

    with sessions() as s:
        moved = engine.get_case(s, party_case)
        assert (moved.route_name, moved.state, moved.holder) == (
            "party_local",
            "processing",
            "P-ZHL-01",
        )
        assert engine.get_case(s, mediation_case).holder == "M-ZHL-01"
        assert engine.get_case(s, other_case).route_name == "local"
    # The party committee finishes what the workstation began; the clerk no longer can.
    with sessions.begin() as s:
        engine.fire(s, party_case, "complete", PARTY, now=T0)
        engine.fire(s, mediation_case, "settle", MEDIATOR, now=T0)
        engine.fire(s, other_case, "complete", CLERK, now=T0)
    with sessions() as s:
        assert engine.get_case(s, party_case).state == "completed"
        assert engine.get_case(s, mediation_case).state == "settled"
        assert list(differences(s)) == []
    # Run again: nothing more to publish.
    code, out = run("init")
    assert code == 0 and "0 published" in out
    db.dispose()
