"""The list as a spreadsheet: bad rows named by row and column with nothing published, and an
exported list read back unchanged (XLSX and CSV, Chinese and English headers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.listadmin.helpers import published, rows_of, run, write_csv, write_xlsx
from workflow.catalog import registry
from workflow.catalog.sheet import read_sheet
from workflow.store.models import TrailEvent


def spoil(rows: list[list[object]], chinese: bool) -> list[list[object]]:
    """Rows 3, 5, 6 and 8 (header = row 1) made wrong, as people get them wrong."""
    h = rows[0]

    def col(en: str, zh: str) -> int:
        return h.index(zh if chinese else en)

    rows[2][col("street_limit_wd", "街道时限")] = "十二"  # SW-02: not a number
    rows[4][col("route", "流程")] = "two_tier"  # SW-04: no such route
    rows[5][col("department", "责任部门")] = "D-XX"  # SW-05: no such department
    rows[5][col("dept_limit_wd", "部门时限")] = None  # ... and its route needs one
    rows[7][col("code", "事项编码")] = rows[6][
        col("code", "事项编码")
    ]  # SW-07 becomes SW-06: twice
    return rows


def trail_length(s: Session) -> int:
    return s.execute(select(func.count()).select_from(TrailEvent)).scalar_one()


@pytest.mark.parametrize(
    ("suffix", "chinese"), [(".xlsx", True), (".csv", False), (".xlsx", False), (".csv", True)]
)
def test_bad_rows_are_named_by_row_and_column_and_nothing_is_published(
    env: Path, sessions: sessionmaker[Session], tmp_path: Path, suffix: str, chinese: bool
) -> None:
    with sessions() as s:
        rows = spoil(rows_of(published(s), chinese=chinese), chinese)
        before = trail_length(s)
    write = write_xlsx if suffix == ".xlsx" else write_csv
    sheet = write(tmp_path / f"list{suffix}", rows)
    code, out = run("list", "import", str(sheet))
    assert code == 1

    def where(row: int, en: str, zh: str) -> str:
        return f"list{suffix}:{row}: row {row}, column " + (f"{zh} ({en})" if chinese else en)

    lines = out.splitlines()
    expected = [
        where(3, "street_limit_wd", "街道时限") + ": Not a valid integer.",
        where(5, "route", "流程") + ": unknown route 'two_tier'",
        where(6, "department", "责任部门") + ": unknown department 'D-XX'",
        where(6, "dept_limit_wd", "部门时限")
        + ": route three_tier needs a limit for the department tier",
        where(8, "code", "事项编码") + ": SW-06 appears twice",
    ]
    assert lines[: len(expected)] == expected
    assert "5 problem(s)" in out and "nothing published" in out
    with sessions() as s:
        assert registry.latest_version(s, "items", "items") == 1
        assert trail_length(s) == before


def test_a_bad_header_or_file_is_refused(
    env: Path, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with sessions() as s:
        rows = rows_of(published(s), chinese=True)
    rows[0][rows[0].index("服务窗口")] = "窗口"
    del rows[0][rows[0].index("实施依据")]
    code, out = run("list", "import", str(write_xlsx(tmp_path / "h.xlsx", rows)))
    assert code == 1
    assert "h.xlsx:1: column '窗口': unknown column" in out
    assert "h.xlsx:1: column 服务窗口 (window): missing column" in out
    fake = tmp_path / "fake.xlsx"
    fake.write_text("code,name_zh\n", encoding="utf-8")
    code, out = run("list", "import", str(fake))
    assert code == 1 and "fake.xlsx: not a readable XLSX workbook" in out
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"code,name_zh\rSW-01,\x00\r\n")
    code, out = run("list", "import", str(broken))
    assert code == 1 and "broken.csv:1: malformed CSV" in out
    other = tmp_path / "list.ods"
    other.write_bytes(b"x")
    code, out = run("list", "import", str(other))
    assert code == 1 and "use .xlsx or .csv" in out
    with sessions() as s:
        assert registry.latest_version(s, "items", "items") == 1


@pytest.mark.parametrize("name", ["list.xlsx", "list.csv"])
@pytest.mark.parametrize("chinese", [False, True])
def test_an_exported_list_reads_back_unchanged(
    env: Path, sessions: sessionmaker[Session], tmp_path: Path, name: str, chinese: bool
) -> None:
    path = tmp_path / name
    code, out = run("list", "export", str(path), *(["--chinese"] if chinese else []))
    assert code == 0, out
    with sessions() as s:
        sheet = read_sheet(path.read_bytes(), name, session=s)
        assert sheet.problems == ()
        assert list(sheet.items) == published(s)
    code, out = run("list", "import", str(path))
    assert code == 0, out
    assert "0 added, 0 removed, 0 changed" in out
    assert "items: version 1 (unchanged)" in out


def test_a_csv_saved_by_a_chinese_excel_reads_too(
    env: Path, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with sessions() as s:
        rows = rows_of(published(s), chinese=True, english_names=False)
    path = tmp_path / "gbk.csv"
    text = "\n".join(",".join("" if v is None else str(v) for v in r) for r in rows)
    path.write_bytes(text.encode("gb18030"))
    code, out = run("list", "import", str(path), "--dry-run")
    assert code == 0, out
    assert "0 added, 0 removed, 0 changed" in out
    assert "has no English names: each item keeps its published one" in out
