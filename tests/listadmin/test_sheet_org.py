"""The list's new columns in the spreadsheet: limit unit, public, lead and assisting units read
back unchanged; a sheet of the old shape (without them) keeps each item's published values."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.listadmin.helpers import published, rows_of, run, write_csv, write_xlsx
from workflow.catalog import registry
from workflow.catalog.sheet import HEADER_OF, read_sheet
from workflow.spec.schemas import OPTIONAL_ITEM_COLUMNS


@pytest.mark.parametrize("chinese", [False, True])
def test_the_new_columns_are_exported_and_read_back(
    env: Path, sessions: sessionmaker[Session], tmp_path: Path, chinese: bool
) -> None:
    path = tmp_path / "list.xlsx"
    code, out = run("list", "export", str(path), *(["--chinese"] if chinese else []))
    assert code == 0, out
    with sessions() as s:
        items = {i.code: i for i in read_sheet(path.read_bytes(), "list.xlsx", session=s).items}
    assert items["PB-03"].limit_unit == "months" and items["PB-03"].kind == "党内事务"
    assert items["UD-01"].public and not items["SW-02"].public
    assert (items["PS-06"].lead_unit, items["PS-06"].assist_units) == ("D-GA", ("D-ZJ", "D-ZF"))


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_an_old_shaped_sheet_keeps_the_published_values(
    env: Path, sessions: sessionmaker[Session], tmp_path: Path, suffix: str
) -> None:
    with sessions() as s:
        rows = rows_of(published(s), chinese=True)
    # Every column added later (the urgency columns too) left out.
    later = {HEADER_OF[c] for c in OPTIONAL_ITEM_COLUMNS}
    drop = [i for i, h in enumerate(rows[0]) if h in later]
    assert len(drop) == len(OPTIONAL_ITEM_COLUMNS)
    rows = [[v for i, v in enumerate(r) if i not in drop] for r in rows]
    write = write_xlsx if suffix == ".xlsx" else write_csv
    sheet = write(tmp_path / f"old{suffix}", rows)
    code, out = run("list", "import", str(sheet))
    assert code == 0, out
    assert "0 added, 0 removed, 0 changed" in out
    with sessions() as s:
        assert registry.item(s, "PB-03")[0].limit_unit == "months"
        assert registry.item(s, "UD-01")[0].public


def test_a_bad_public_flag_is_named(
    env: Path, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with sessions() as s:
        rows = rows_of(published(s), chinese=False)
    rows[1][rows[0].index("public")] = "maybe"
    sheet = write_csv(tmp_path / "list.csv", rows)
    code, out = run("list", "import", str(sheet))
    assert code == 1
    assert "list.csv:2: row 2, column public: must be yes or no" in out
