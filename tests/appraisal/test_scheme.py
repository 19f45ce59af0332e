"""`definitions validate` checks appraisal.yaml like the other definitions: each breakage named
with its file, line and place; the shipped scheme is published as kind `appraisal`."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from workflow.config import DEFAULT_DEFINITIONS
from workflow.store.models import DefinitionVersion


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


def scheme(f: Path) -> Path:
    return f / "appraisal.yaml"


Breakage = Callable[[Path], None]
BROKEN: dict[str, tuple[Breakage, str]] = {
    "malformed YAML": (
        lambda f: edit(scheme(f), "kinds:", "kinds: [oops"),
        "appraisal.yaml:8: malformed YAML",
    ),
    "unknown field": (
        lambda f: edit(
            scheme(f), "open_overdue_penalty: 1", "open_overdue_penalty: 1\ncolour: red"
        ),
        "appraisal.yaml:36: colour: Unknown field.",
    ),
    "unknown field in a kind": (
        lambda f: edit(scheme(f), "  street_office:\n", "  street_office:\n    bonus: 3\n"),
        "appraisal.yaml:16: kinds.street_office.bonus: Unknown field.",
    ),
    "unknown unit kind": (
        lambda f: edit(scheme(f), "  department:", "  bureau:"),
        "appraisal.yaml:27: kinds.bureau: unknown unit kind 'bureau'",
    ),
    "unknown metric": (
        lambda f: edit(scheme(f), "      resolution_rate: 20\n", "      happiness: 20\n"),
        "appraisal.yaml:18: kinds.street_office.weights.happiness: unknown metric 'happiness'",
    ),
    "weights not adding up to 100": (
        lambda f: edit(scheme(f), "      return_refusal_rate: 10", "      return_refusal_rate: 15"),
        "appraisal.yaml:9: kinds.workstation.weights: weights add up to 105, not 100",
    ),
    "a negative weight": (
        lambda f: edit(
            scheme(f), "      return_refusal_rate: 10", "      return_refusal_rate: -10"
        ),
        "appraisal.yaml:14: kinds.workstation.weights.return_refusal_rate: Must be greater than or equal to 0",
    ),
    "the street's assessment for a department": (
        lambda f: edit(scheme(f), "      whistle_report_rate: 35", "      street_assessment: 35"),
        "appraisal.yaml:28: kinds.department.weights: street_assessment weighs only for dispatched_agency",
    ),
    "not a number": (
        lambda f: edit(scheme(f), "open_overdue_penalty: 1", "open_overdue_penalty: lots"),
        "appraisal.yaml:35: open_overdue_penalty: Not a valid number.",
    ),
    "missing kinds": (
        lambda f: scheme(f).write_text("title_zh: 方案\n", encoding="utf-8"),
        "appraisal.yaml:1: kinds: Missing data for required field.",
    ),
    "not a mapping": (
        lambda f: scheme(f).write_text("- 1\n- 2\n", encoding="utf-8"),
        "appraisal.yaml:1: the appraisal scheme must be a mapping",
    ),
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_each_breakage_of_the_scheme_is_named_with_file_and_place(folder: Path, kind: str) -> None:
    breakage, expected = BROKEN[kind]
    breakage(folder)
    code, lines = validate(folder)
    assert code == 1
    assert any(expected in line for line in lines), lines


def test_the_shipped_scheme_is_published_as_a_definition(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        row = s.scalars(
            select(DefinitionVersion).where(DefinitionVersion.kind == "appraisal")
        ).one()
    assert (row.name, row.version) == ("appraisal", 1)
    kinds = row.content["kinds"]
    assert set(kinds) == {"workstation", "street_office", "dispatched_agency", "department"}
    for spec in kinds.values():
        assert sum(spec["weights"].values()) == 100
    assert kinds["dispatched_agency"]["weights"]["street_assessment"] == 30
