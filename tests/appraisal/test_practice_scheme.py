"""`definitions validate` checks the scheme's practice sections (urgency limits, returns, the
ladder) and the list's urgency columns, each breakage named with its file and place."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.appraisal.test_scheme import edit, folder, scheme, validate  # noqa: F401

Breakage = Callable[[Path], None]


def add_column(path: Path, name: str, values: dict[str, str]) -> None:
    """Add column NAME to a CSV list, with VALUES by item code (empty elsewhere)."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    rows[0].append(name)
    for row in rows[1:]:
        row.append(values.get(row[0], ""))
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)


BROKEN: dict[str, tuple[Breakage, str]] = {
    "a zero clock limit": (
        lambda f: edit(scheme(f), "report_min: 30", "report_min: 0"),
        "urgency.critical.report_min: Must be greater than or equal to 1",
    ),
    "a missing clock limit": (
        lambda f: edit(scheme(f), "{response_min: 15, report_min: 30, handling_h: 4}", "{}"),
        "urgency.critical.handling_h: Missing data for required field.",
    ),
    "an unknown urgency": (
        lambda f: edit(scheme(f), "  urgent: {", "  hurry: {"),
        "urgency.hurry: Unknown field.",
    ),
    "a category code twice": (
        lambda f: edit(scheme(f), "{code: done,", "{code: other,"),
        "returns.categories: a category code appears twice",
    ),
    "an unknown field of returns": (
        lambda f: edit(
            scheme(f),
            "  categories:\n",
            "  categories: []\n  old_categories:\n",
        ),
        "returns.old_categories: Unknown field.",
    ),
    "a reviewer that is not a code": (
        lambda f: edit(scheme(f), "reviewer: X-SN", "reviewer: the district"),
        "returns.reviewer: must be a code like X-SN",
    ),
    "a negative ladder penalty": (
        lambda f: edit(scheme(f), "listed: 3}", "listed: -3}"),
        "ladder.penalties.listed: Must be greater than or equal to 0",
    ),
    "an item's unknown urgency": (
        lambda f: add_column(f / "items.csv", "urgency", {"PS-04": "panic"}),
        "column urgency: Must be one of: normal, urgent, critical.",
    ),
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_each_breakage_of_the_practice_sections_is_named(folder: Path, kind: str) -> None:  # noqa: F811
    breakage, expected = BROKEN[kind]
    breakage(folder)
    code, lines = validate(folder)
    assert code == 1, lines
    assert any(expected in line for line in lines), lines


def test_the_shipped_definitions_validate(folder: Path) -> None:  # noqa: F811
    code, lines = validate(folder)
    assert code == 0, lines
