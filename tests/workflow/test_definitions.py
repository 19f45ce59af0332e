"""`definitions validate`: the shipped folder is valid; each kind of breakage is named with its
file and place, one problem a line, exit code 1."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from workflow.config import DEFAULT_DEFINITIONS
from workflow.spec.loader import read_definitions


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    dest = tmp_path / "definitions"
    shutil.copytree(DEFAULT_DEFINITIONS, dest)
    return dest


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def validate(folder: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, ["definitions", "validate", str(folder)])
    return result.exit_code, result.output.strip().splitlines()


def test_the_shipped_definitions_are_valid() -> None:
    code, lines = validate(DEFAULT_DEFINITIONS)
    assert code == 0, lines
    assert "valid (286 units, 44 items, 9 routes, 50 communities)" in lines[-1]


def test_the_route_templates_are_exactly_those_of_the_domain() -> None:
    defs, _ = read_definitions(DEFAULT_DEFINITIONS)
    assert defs is not None
    got = {
        r.name: {(t.source, t.trigger, t.dest, t.reason_required) for t in r.transitions}
        for r in defs.routes
    }
    assert got["incident"] == {
        ("reported", "accept", "ws_handling", False),
        ("reported", "refuse", "refused", True),
        ("ws_handling", "resolve", "resolved", False),
        ("ws_handling", "forward", "street_handling", False),
        ("street_handling", "dispatch", "agency_handling", False),
        ("street_handling", "resolve", "resolved", False),
        # The whistle keeps the street in command: the called departments work in tasks, and
        # the street resolves once every part is done (no department resolves or sends back).
        ("street_handling", "whistle", "coordinating", True),
        ("coordinating", "whistle", "coordinating", True),
        ("coordinating", "resolve", "resolved", False),
        ("agency_handling", "resolve", "resolved", False),
        ("agency_handling", "send_back", "street_handling", True),
        ("resolved", "confirm", "closed", False),
        ("resolved", "reopen", "ws_handling", True),
    }
    tiers = {r.name: {s.name: s.tier for s in r.states} for r in defs.routes}
    assert tiers["three_tier"] == {
        "submitted": "workstation",
        "ws_review": "workstation",
        "awaiting_materials": "applicant",
        "street_review": "street_office",
        "dept_review": "department",
        "approved": None,
        "rejected": None,
        "refused": None,
    }
    assert tiers["mediation"]["street_mediation"] == "agency"
    assert tiers["mediation"]["community_mediation"] == "mediation_committee"
    assert tiers["party_approval"]["street_party_review"] == "street_party"
    assert tiers["pass_through"]["delivery"] == "workstation"
    finals = {r.name: sorted(s.name for s in r.states if s.final) for r in defs.routes}
    assert finals == {
        "local": ["completed", "refused", "rejected"],
        "street_approval": ["approved", "refused", "rejected"],
        "three_tier": ["approved", "refused", "rejected"],
        "pass_through": ["completed", "refused", "rejected"],
        "incident": ["closed", "refused"],
        "mediation": ["referred", "settled", "withdrawn"],
        "party_local": ["completed", "refused", "rejected"],
        "party_approval": ["approved", "refused", "rejected"],
        "consultation": ["answered"],
    }


Breakage = Callable[[Path], None]
BROKEN: dict[str, tuple[Breakage, str]] = {
    "malformed YAML": (
        lambda f: edit(f / "routes/local.yaml", "initial: submitted", "initial: [submitted"),
        "routes/local.yaml:6: malformed YAML",
    ),
    "malformed CSV": (
        lambda f: edit(f / "items.csv", "SW-01,高龄津贴申请", 'SW-01,"高龄津贴申请'),
        "items.csv",
    ),
    "unknown field": (
        lambda f: edit(
            f / "routes/local.yaml",
            "  processing: {tier: workstation}",
            "  processing: {tier: workstation, colour: red}",
        ),
        "routes/local.yaml:8: states.processing.colour: Unknown field.",
    ),
    "unknown column": (
        lambda f: edit(f / "items.csv", "assist_units\n", "assist_units,colour\n"),
        "items.csv:1: column 'colour': unknown column",
    ),
    "transition to an unknown state": (
        lambda f: edit(f / "routes/local.yaml", "dest: completed", "dest: finished"),
        "routes/local.yaml:16: transitions[2].dest: unknown state 'finished'",
    ),
    "unreachable state": (
        lambda f: edit(
            f / "routes/local.yaml",
            "  - {trigger: reject, source: processing, dest: rejected, roles: [clerk], "
            "reason_required: true}\n",
            "",
        ),
        "routes/local.yaml:12: states.rejected: unreachable from the initial state",
    ),
    "non-final state with no way out": (
        lambda f: edit(
            f / "routes/local.yaml",
            "  completed: {final: true}",
            "  completed: {tier: workstation}",
        ),
        "routes/local.yaml:10: states.completed: a working state with no way out",
    ),
    "trigger no tier may fire": (
        lambda f: edit(
            f / "routes/street_approval.yaml",
            "source: street_review, dest: approved, roles: [staff]",
            "source: street_review, dest: approved, roles: [clerk]",
        ),
        "routes/street_approval.yaml:20: transitions[5].roles: no one may fire 'approve'",
    ),
    "unknown route": (
        lambda f: edit(
            f / "items.csv",
            "SW-01,高龄津贴申请,Old-age allowance application,社会福利,行政给付,street_approval",
            "SW-01,高龄津贴申请,Old-age allowance application,社会福利,行政给付,two_tier",
        ),
        "items.csv:2: row 2, column route: unknown route 'two_tier'",
    ),
    "unknown department": (
        lambda f: edit(f / "items.csv", "street_approval,D-MZ,3,12", "street_approval,D-XX,3,12"),
        "items.csv:2: row 2, column department: unknown department 'D-XX'",
    ),
    "unknown agency kind": (
        lambda f: edit(f / "items.csv", "24,SF,D-SF", "24,TAX,D-SF"),
        "column street_agency: unknown agency kind 'TAX'",
    ),
    "missing time limit": (
        lambda f: edit(f / "items.csv", "three_tier,D-MZ,5,15,10", "three_tier,D-MZ,5,15,"),
        "items.csv:3: row 3, column dept_limit_wd: route three_tier needs a limit for the department tier",
    ),
    "whistle target not a department": (
        lambda f: edit(f / "items.csv", "D-YJ;D-ZF", "D-YJ;S-ZHL"),
        "column whistle_to: whistle target 'S-ZHL' is not a department",
    ),
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_each_breakage_is_named_with_file_and_place(folder: Path, kind: str) -> None:
    breakage, expected = BROKEN[kind]
    breakage(folder)
    code, lines = validate(folder)
    assert code == 1
    assert any(expected in line for line in lines), lines


def test_every_problem_is_reported_not_just_the_first(folder: Path) -> None:
    for kind in ("unknown department", "missing time limit", "transition to an unknown state"):
        BROKEN[kind][0](folder)
    code, lines = validate(folder)
    assert code == 1
    for kind in ("unknown department", "missing time limit", "transition to an unknown state"):
        assert any(BROKEN[kind][1] in line for line in lines), (kind, lines)


def test_publish_refuses_invalid_definitions_and_publishes_nothing(folder: Path, env: Path) -> None:
    BROKEN["unknown route"][0](folder)
    result = CliRunner().invoke(main, ["definitions", "publish", str(folder)])
    assert result.exit_code == 1
    assert "nothing published" in result.output
