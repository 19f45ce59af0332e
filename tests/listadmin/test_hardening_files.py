"""Hostile files through the CLI: YAML bombs in every YAML the service reads, spreadsheet
bombs in `list import`, and list cells that a spreadsheet would run, exported as text and
imported back exactly."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from tests.hostile_files import (
    BOMB,
    BOMB_LINE,
    DEEP,
    FORMULAS,
    claims_a_million_rows,
    counts,
    publish_hostile_list,
    unpacking_to,
    with_entities,
    with_row_at,
)
from tests.listadmin.helpers import published, rows_of, run, write_csv
from workflow.spec.files import FORMULA_START

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the shipped definitions folder to spoil."""
    return Path(shutil.copytree(DEFINITIONS, tmp_path / "definitions"))


ALIASES = "anchors and aliases (&name, *name) are not accepted"


@pytest.mark.parametrize(
    ("file", "text", "line", "message"),
    [
        ("routes/bomb.yaml", BOMB, BOMB_LINE, ALIASES),
        ("routes/deep.yaml", DEEP, 2, "nested deeper than 32 levels"),
        (
            "calendar.yaml",
            "holidays: &days [2026-12-31]\nworkdays: *days\n",
            1,
            ALIASES,
        ),
        ("calendar.yaml", "holidays: [2026-13-45]\n", None, "month must be in 1..12"),
        (
            "appraisal.yaml",
            "kinds:\n  department: &w\n    weights: {on_time_rate: 100}\n  workstation: *w\n",
            2,
            ALIASES,
        ),
        ("appraisal.yaml", "kinds: " + "{a: " * 40 + "1" + "}" * 40 + "\n", 1, "nested deeper"),
    ],
)
def test_definitions_refuse_yaml_bombs_with_file_and_line(
    env: Path,
    sessions: sessionmaker[Session],
    folder: Path,
    file: str,
    text: str,
    line: int | None,
    message: str,
) -> None:
    (folder / file).write_text(text, encoding="utf-8")
    before = counts(sessions)
    code, out = run("definitions", "validate", str(folder))
    assert code == 1
    where = f"{file}:{line}" if line else file
    assert f"{where}: malformed YAML: {message}" in out
    code, out = run("definitions", "publish", str(folder))
    assert code == 1 and "nothing published" in out
    assert counts(sessions) == before


def test_routing_set_refuses_a_yaml_bomb(
    env: Path, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    bomb = tmp_path / "zhl.yaml"
    bomb.write_text(BOMB.replace("transitions:", "items:"), encoding="utf-8")
    before = counts(sessions)
    for dry in ([], ["--dry-run"]):
        code, out = run("routing", "set", "S-ZHL", str(bomb), *dry)
        assert code == 1
        assert f"zhl.yaml:{BOMB_LINE}: malformed YAML: {ALIASES}" in out
    deep = tmp_path / "deep.yaml"
    deep.write_text(DEEP, encoding="utf-8")
    code, out = run("routing", "set", "S-ZHL", str(deep))
    assert code == 1 and "deep.yaml:2: malformed YAML: nested deeper than 32 levels" in out
    assert counts(sessions) == before


# ---------------------------------------------------------------- spreadsheet bombs


def exported(tmp_path: Path, name: str = "list.xlsx") -> Path:
    path = tmp_path / name
    code, out = run("list", "export", str(path))
    assert code == 0, out
    return path


def test_a_sheet_claiming_a_million_rows_is_read_as_the_rows_it_has(
    env: Path, tmp_path: Path
) -> None:
    path = exported(tmp_path)
    path.write_bytes(claims_a_million_rows(path.read_bytes()))
    code, out = run("list", "import", str(path), "--dry-run")
    assert code == 0, out
    assert "0 added, 0 removed, 0 changed" in out


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda d: with_row_at(d, 1_048_576), "list.xlsx:10001: more than 10000 rows"),
        (lambda d: with_row_at(d, 10_001), "list.xlsx:10001: more than 10000 rows"),
        (lambda d: with_row_at(d, 60, "XFD"), "list.xlsx: more than 64 columns"),
        (lambda d: unpacking_to(d, 40), "list.xlsx: unpacks to more than 32 MiB"),
        (with_entities, "list.xlsx: not a readable XLSX workbook: it declares XML entities"),
    ],
)
def test_spreadsheet_bombs_are_refused_before_they_are_read(
    env: Path,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    spoil: Callable[[bytes], bytes],
    message: str,
) -> None:
    path = exported(tmp_path)
    path.write_bytes(spoil(path.read_bytes()))
    before = counts(sessions)
    code, out = run("list", "import", str(path))
    assert code == 1
    assert message in out and "nothing published" in out
    assert counts(sessions) == before


def test_a_csv_of_more_than_ten_thousand_rows_is_refused(
    env: Path, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with sessions() as s:
        rows = rows_of(published(s), chinese=False)
    rows += [rows[1]] * 10_000
    code, out = run("list", "import", str(write_csv(tmp_path / "long.csv", rows)))
    assert code == 1 and "long.csv:10001: more than 10000 rows" in out
    wide = [r + ["x"] * 60 for r in rows[:3]]
    code, out = run("list", "import", str(write_csv(tmp_path / "wide.csv", wide)))
    assert code == 1 and "wide.csv: more than 64 columns" in out


# ---------------------------------------------------------------- formula injection


@pytest.fixture
def hostile_list(sessions: sessionmaker[Session]) -> None:
    publish_hostile_list(sessions)


@pytest.mark.parametrize("chinese", [[], ["--chinese"]])
def test_an_exported_xlsx_has_no_formula_and_imports_back_exactly(
    env: Path, hostile_list: None, tmp_path: Path, chinese: list[str]
) -> None:
    path = tmp_path / "list.xlsx"
    code, out = run("list", "export", str(path), *chinese)
    assert code == 0, out
    sheet = load_workbook(path).active
    assert sheet is not None
    cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert [c.coordinate for c in cells if c.data_type != "s" and isinstance(c.value, str)] == []
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    risky = [c for c in cells if isinstance(c.value, str) and c.value.startswith(FORMULA_START)]
    assert {c.value for c in risky} >= {FORMULAS["name_zh"], "-第三条", "@SUM(A1)", "\tindented"}
    assert all(c.quotePrefix for c in risky)
    code, out = run("list", "import", str(path), "--dry-run")
    assert code == 0, out
    assert "0 added, 0 removed, 0 changed" in out


@pytest.mark.parametrize("chinese", [[], ["--chinese"]])
def test_an_exported_csv_starts_no_cell_with_a_formula_and_imports_back_exactly(
    env: Path, hostile_list: None, tmp_path: Path, chinese: list[str]
) -> None:
    path = tmp_path / "list.csv"
    code, out = run("list", "export", str(path), *chinese)
    assert code == 0, out
    with path.open(encoding="utf-8", newline="") as f:
        table = list(csv.reader(f))
    assert [c for row in table for c in row if c.startswith(FORMULA_START)] == []
    cells = {c for row in table for c in row}
    assert {
        "'-第三条",
        "'@SUM(A1)",
        "'+1+1",
        "'\tindented",
        "'\r依据",
        "''=quoted by hand",
    } <= cells
    # An apostrophe of the cell's own, before an ordinary character, is left alone.
    assert {"'kept apostrophe", "'''two"} <= cells
    code, out = run("list", "import", str(path), "--dry-run")
    assert code == 0, out
    assert "0 added, 0 removed, 0 changed" in out


def test_an_appraisal_export_has_no_formula(
    env: Path, sessions: sessionmaker[Session], folder: Path, tmp_path: Path
) -> None:
    """A unit named like a formula (units.csv is the administrators' text) is exported as text."""
    units = folder / "units.csv"
    with units.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    for row in rows:
        if row[0] == "W-ZHL-01":
            row[1] = FORMULAS["name_zh"]
        if row[0] == "W-ZHL-02":
            row[1] = "-第三社区"
    with units.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    code, out = run("definitions", "publish", str(folder))
    assert code == 0, out
    code, out = run("appraisal", "compute", "--period", "2026-10")
    assert code == 0, out

    code, out = run("appraisal", "export", "--period", "2026-10", str(tmp_path / "oct.xlsx"))
    assert code == 0, out
    sheet = load_workbook(tmp_path / "oct.xlsx").active
    assert sheet is not None
    assert [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"] == []
    names = {row[1]: row[2] for row in sheet.iter_rows(values_only=True)}
    assert names["W-ZHL-01"] == FORMULAS["name_zh"] and names["W-ZHL-02"] == "-第三社区"

    code, out = run("appraisal", "export", "--period", "2026-10", str(tmp_path / "oct.csv"))
    assert code == 0, out
    with (tmp_path / "oct.csv").open(encoding="utf-8-sig", newline="") as f:
        table = list(csv.reader(f))
    assert [c for row in table for c in row if c.startswith(FORMULA_START)] == []
    names = {row[1]: row[2] for row in table}
    assert names["W-ZHL-01"] == "'" + FORMULAS["name_zh"] and names["W-ZHL-02"] == "'-第三社区"


def test_a_definition_file_that_is_not_utf8_or_too_large_is_a_problem_not_a_crash(
    env: Path, folder: Path
) -> None:
    (folder / "routes" / "latin.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    (folder / "calendar.yaml").write_text("holidays: []\n" + "#" * (1024 * 1024), encoding="utf-8")
    code, out = run("definitions", "validate", str(folder))
    assert code == 1
    assert "routes/latin.yaml: not UTF-8 text: invalid continuation byte at byte 9" in out
    assert "calendar.yaml: larger than 1024 KiB" in out
