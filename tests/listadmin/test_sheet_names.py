"""The list's Chinese spreadsheet says names, not codes, and reads back unchanged."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from tests.listadmin.helpers import published, run
from workflow.catalog.sheet import read_sheet


def test_a_chinese_export_says_names_and_reads_back_unchanged(
    env: Path, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "权责清单.csv"
    code, out = run("list", "export", str(path), "--chinese")
    assert code == 0, out
    with path.open(encoding="utf-8-sig") as f:
        rows = {r["事项编码"]: r for r in csv.DictReader(f)}
    ga03 = rows["GA-03"]
    assert ga03["责任部门"] == "公安市南分局" and ga03["流程"] != "local"
    assert ga03["时限单位"] == "工作日"
    agency = next(r for r in rows.values() if r["街道承办机构"])
    assert agency["街道承办机构"] in ("综合执法", "司法所", "派出所", "市场监管所")
    whistled = next(r for r in rows.values() if r["吹哨部门"])
    assert "D-" not in whistled["吹哨部门"]
    with sessions() as s:
        sheet = read_sheet(path.read_bytes(), path.name, session=s)
        assert sheet.problems == ()
        assert list(sheet.items) == published(s)
    code, out = run("list", "import", str(path))
    assert code == 0, out
    assert "0 added, 0 removed, 0 changed" in out
