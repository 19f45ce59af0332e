"""The list's urgency columns: an item's default urgency and its clock-time limits, through the
spreadsheet (import, export, read back) and checked like every other column."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.listadmin.helpers import published, rows_of, run, write_csv, write_xlsx
from workflow.catalog import registry
from workflow.catalog.sheet import read_sheet


@pytest.mark.parametrize(("suffix", "chinese"), [(".xlsx", True), (".csv", False)])
def test_urgency_columns_round_trip_through_the_spreadsheet(
    env: Path, sessions: sessionmaker[Session], tmp_path: Path, suffix: str, chinese: bool
) -> None:
    with sessions() as s:
        items = published(s)
    changed = [
        dataclasses.replace(
            i,
            urgency="critical",
            critical_report_min=20,
            critical_response_min=10,
            critical_handling_h=2,
        )
        if i.code == "PS-04"
        else dataclasses.replace(i, urgency="urgent", urgent_handling_h=12)
        if i.code == "PS-03"
        else i
        for i in items
    ]
    rows = rows_of(changed, chinese=chinese)
    assert ("紧急程度" if chinese else "urgency") in rows[0]
    path = tmp_path / f"list{suffix}"
    (write_xlsx if suffix == ".xlsx" else write_csv)(path, rows)
    code, out = run("list", "import", str(path))
    assert code == 0, out
    assert "2 changed" in out
    with sessions() as s:
        fire = registry.item(s, "PS-04")[0]
        assert (fire.urgency, fire.critical_report_min, fire.critical_response_min) == (
            "critical",
            20,
            10,
        )
        assert fire.critical_handling_h == 2 and fire.urgent_report_min is None
        assert registry.item(s, "PS-03")[0].urgent_handling_h == 12
        assert registry.item(s, "SW-01")[0].urgency == "normal"
    # Exported and read back: the same items, the new columns with them.
    back = tmp_path / f"back{suffix}"
    code, out = run("list", "export", str(back), *(["--chinese"] if chinese else []))
    assert code == 0, out
    with sessions() as s:
        sheet = read_sheet(back.read_bytes(), back.name, session=s)
        assert sheet.problems == ()
        assert list(sheet.items) == published(s)
        assert next(i for i in sheet.items if i.code == "PS-04").critical_report_min == 20


def test_bad_urgency_cells_are_named_and_nothing_is_published(
    env: Path, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with sessions() as s:
        items = published(s)
    rows = rows_of(items, chinese=True)
    h = rows[0]
    rows[1][h.index("紧急程度")] = "very"
    rows[2][h.index("特急报到时限(分钟)")] = 0
    path = write_xlsx(tmp_path / "list.xlsx", rows)
    code, out = run("list", "import", str(path))
    assert code != 0
    assert "row 2, column 紧急程度 (urgency)" in out
    assert "row 3, column 特急报到时限(分钟) (critical_report_min)" in out
    with sessions() as s:
        assert registry.latest_version(s, "items", "items") == 1
