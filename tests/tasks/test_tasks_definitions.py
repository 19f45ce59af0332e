"""Task states in route definitions: validated with their place, published with the route
version, drawn as such."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from click.testing import CliRunner

from api.cli import main
from workflow.config import DEFAULT_DEFINITIONS
from workflow.runtime.diagram import route_svg
from workflow.spec.checks import check_route
from workflow.spec.loader import load_definitions
from workflow.spec.model import TaskSpec
from workflow.spec.serialize import route_from_data, route_to_data

INCIDENT = load_definitions(DEFAULT_DEFINITIONS).route("incident")


def test_the_incident_route_declares_its_task_state_and_round_trips() -> None:
    assert INCIDENT.state("coordinating").tasks == TaskSpec(per="targets", join="all")
    assert route_from_data(route_to_data(INCIDENT)) == INCIDENT
    svg = route_svg(INCIDENT).decode()
    assert "tasks per targets, join all" in svg


def test_misplaced_tasks_are_named_with_their_place() -> None:
    states = tuple(
        dataclasses.replace(s, tasks=TaskSpec())
        if s.name in ("street_handling", "agency_handling")
        else s
        for s in INCIDENT.states
    )
    problems = {
        (p.place, p.message)
        for p in check_route(dataclasses.replace(INCIDENT, states=states), "incident.yaml")
    }
    # agency_handling is entered by dispatch and send_back, which name no units.
    assert (
        "states.agency_handling.tasks",
        "'dispatch' enters 'agency_handling' without naming its units (target: whistle_to)",
    ) in problems
    assert (
        "states.street_handling.tasks",
        "'forward' enters 'street_handling' without naming its units (target: whistle_to)",
    ) in problems
    dept = tuple(
        dataclasses.replace(s, tier="department") if s.name == "coordinating" else s
        for s in INCIDENT.states
    )
    problems = {
        (p.place, p.message)
        for p in check_route(dataclasses.replace(INCIDENT, states=dept), "incident.yaml")
    }
    assert (
        "states.coordinating.tasks",
        "tasks are opened in a working state held by the commanding unit",
    ) in problems


def test_validate_names_an_unknown_join(tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "definitions"
    shutil.copytree(DEFAULT_DEFINITIONS, folder)
    path = folder / "routes" / "incident.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("join: all", "join: most"), encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["definitions", "validate", str(folder)])
    assert result.exit_code == 1
    assert "routes/incident.yaml" in result.output and "join" in result.output
